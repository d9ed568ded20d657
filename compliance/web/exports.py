"""Spreadsheet exports of the filtered lists: CSV (UTF-8 with BOM) and XLSX (openpyxl's write-only mode), both
written to a temporary file as the rows are read, a chunk at a time, then streamed from it.

A cell that a spreadsheet would read as a formula (starting with = + - @, or a tab or carriage return) gets a
leading apostrophe, so an enterprise name cannot run anything on the reader's machine (CSV/formula injection).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from typing import IO, Any, Iterable, Iterator
from urllib.parse import quote

from flask import Response, request
from werkzeug.wsgi import wrap_file

#: The most rows one export holds (the list pages say so).
EXPORT_CAP = 100_000
#: Rows fetched per round trip while exporting.
CHUNK = 1000

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should hold it: text that would start a formula is quoted."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class Capped:
    """Iterate at most `cap` rows of `rows`; afterwards `truncated` says whether more were left."""

    def __init__(self, rows: Iterable[list], cap: int = EXPORT_CAP):
        self._rows, self.cap, self.truncated = rows, cap, False

    def __iter__(self) -> Iterator[list]:
        for n, row in enumerate(self._rows):
            if n == self.cap:
                self.truncated = True
                return
            yield row


def truncation_note(cap: int) -> str:
    return f"（导出上限 {cap:,} 条，本文件只含前 {cap:,} 条，请缩小筛选范围后分批导出）"


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _send(spool: IO[bytes], filename: str, mimetype: str) -> Response:
    """Stream a finished export from its temporary file: the database work is over before the first byte goes
    out, so a slow download never holds a connection or a transaction open (and the file never sits in memory)."""
    size = spool.tell()
    spool.seek(0)
    response = Response(wrap_file(request.environ, spool), mimetype=mimetype, direct_passthrough=True,
                        headers={"Content-Disposition": _disposition(filename), "Content-Length": str(size)})
    if mimetype == "text/csv":
        response.content_type = "text/csv; charset=utf-8"
    return response


def csv_response(filename: str, header: list[str], rows: Iterable[list], *, cap: int = EXPORT_CAP) -> Response:
    """UTF-8 with a byte-order mark, so Excel reads the Chinese; CRLF line ends."""
    spool = tempfile.TemporaryFile()
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    capped = Capped(rows, cap)
    for row in capped:
        writer.writerow([_text(safe_cell(v)) for v in row])
    if capped.truncated:
        writer.writerow([truncation_note(cap)])
    text.flush()
    text.detach()   # hand the binary file on without closing it
    return _send(spool, filename, "text/csv")


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(filename: str, sheet: str, header: list[str], rows: Iterable[list], *,
                  cap: int = EXPORT_CAP, widths: list[int] | None = None) -> Response:
    """A workbook in openpyxl's write-only mode (rows go to disk as they come, memory stays flat)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(sheet)
    for i, width in enumerate(widths or [], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for title in header:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    capped = Capped(rows, cap)
    for row in capped:
        ws.append([safe_cell(v) for v in row])
    if capped.truncated:
        ws.append([truncation_note(cap)])
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0, os.SEEK_END)
    return _send(spool, filename, XLSX_TYPE)
