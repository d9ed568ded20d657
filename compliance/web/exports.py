"""Spreadsheet exports of the filtered lists as downloads: the file is written to a temporary file as the rows are
read, a chunk at a time (compliance.exports), then streamed from it."""
from __future__ import annotations

import os
import tempfile
from typing import IO, Iterable
from urllib.parse import quote

from flask import Response, request
from werkzeug.wsgi import wrap_file

from compliance.exports import (CHUNK, EXPORT_CAP, Capped, safe_cell, truncation_note,  # noqa: F401 (re-exported)
                                write_csv, write_xlsx)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def send_spool(spool: IO[bytes], filename: str, mimetype: str) -> Response:
    """Stream a finished file from its temporary file: the database work is over before the first byte goes
    out, so a slow download never holds a connection or a transaction open (and the file never sits in memory)."""
    spool.seek(0, os.SEEK_END)
    size = spool.tell()
    spool.seek(0)
    response = Response(wrap_file(request.environ, spool), mimetype=mimetype, direct_passthrough=True,
                        headers={"Content-Disposition": disposition(filename), "Content-Length": str(size)})
    if mimetype == "text/csv":
        response.content_type = "text/csv; charset=utf-8"
    return response


def csv_response(filename: str, header: list[str], rows: Iterable[list], *, cap: int = EXPORT_CAP) -> Response:
    """UTF-8 with a byte-order mark, so Excel reads the Chinese; CRLF line ends."""
    spool = tempfile.TemporaryFile()
    write_csv(spool, header, rows, cap=cap)
    return send_spool(spool, filename, "text/csv")


def xlsx_response(filename: str, sheet: str, header: list[str], rows: Iterable[list], *,
                  cap: int = EXPORT_CAP, widths: list[int] | None = None) -> Response:
    """A workbook in openpyxl's write-only mode (rows go to disk as they come, memory stays flat)."""
    spool = tempfile.TemporaryFile()
    write_xlsx(spool, sheet, header, rows, cap=cap, widths=widths)
    return send_spool(spool, filename, XLSX_TYPE)
