"""Spreadsheet files of lists, for the web pages and the command line: CSV (UTF-8 with BOM, CRLF) and XLSX
(openpyxl's write-only mode: rows go to disk as they come, memory stays flat), and the credit-listing batch.

A cell that a spreadsheet would read as a formula (starting with = + - @, or a tab or carriage return) gets a
leading apostrophe, so an enterprise name cannot run anything on the reader's machine (CSV/formula injection).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import IO, Any, Iterable, Iterator

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


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def write_csv(out: IO[bytes], header: list[str], rows: Iterable[list], *, cap: int = EXPORT_CAP) -> bool:
    """UTF-8 with a byte-order mark, so Excel reads the Chinese; CRLF line ends. Returns whether it was capped."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    capped = Capped(rows, cap)
    for row in capped:
        writer.writerow([text_of(safe_cell(v)) for v in row])
    if capped.truncated:
        writer.writerow([truncation_note(cap)])
    text.flush()
    text.detach()   # hand the binary file on without closing it
    return capped.truncated


def write_xlsx(out: IO[bytes], sheet: str, header: list[str], rows: Iterable[list], *, cap: int = EXPORT_CAP,
               widths: list[int] | None = None) -> bool:
    """A workbook in openpyxl's write-only mode, header bold and frozen. Returns whether it was capped."""
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
    workbook.save(out)
    return capped.truncated


# ------------------------------------------------------------------------------------- credit-listing batch

#: The published fields of a credit listing (what the 诚信档案 and the 公示系统 publish), in their order.
LISTING_HEADER = ["企业名称", "统一社会信用代码", "企业住所", "法定代表人", "违法事实", "处理情况"]
LISTING_WIDTHS = [34, 22, 40, 12, 60, 60]


def listing_batch_rows(session, scope) -> Iterator[list]:
    """One row per case whose listing was requested or recorded and still stands (requested, listed, or
    rectified but not yet repaired), in the scope, oldest request first: the published fields, taken from the
    issued 提请函 where there is one (what the authority received), else from the register."""
    from sqlalchemy import and_, or_, select

    from compliance.models import Case, CaseEvent, Notice, NoticeStatus
    from workflows.ladder import State, Violation

    standing = or_(Case.state.in_([State.LISTING_REQUESTED.value, State.LISTED.value]),
                   and_(Case.was_listed.is_(True), Case.closed_at.is_(None)))
    ids = list(session.scalars(select(Case.id).where(scope.where(Case), standing)
                               .order_by(Case.opened_at, Case.id)))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(chunk)))}
        letters: dict[int, Notice] = {}
        for n in session.scalars(select(Notice).where(Notice.case_id.in_(chunk),
                                                      Notice.notice_type == "listing_request",
                                                      Notice.status == NoticeStatus.ISSUED.value)
                                 .order_by(Notice.issued_at)):
            letters[n.case_id] = n   # the latest issued request
        recorded: dict[int, dict] = {}
        for case_id, details in session.execute(select(CaseEvent.case_id, CaseEvent.details)
                                                .where(CaseEvent.case_id.in_(chunk),
                                                       CaseEvent.trigger == "record_listing")
                                                .order_by(CaseEvent.seq)):
            recorded[case_id] = (details or {}).get("inputs") or {}
        for case_id in chunk:
            case = cases[case_id]
            e = case.enterprise
            letter = letters.get(case_id)
            snap = (letter.snapshot or {}) if letter is not None else {}
            sent = snap.get("enterprise") or {}
            violations = "、".join(v.label for v in sorted(case.violations, key=list(Violation).index))
            findings = snap.get("findings") or []
            facts = "；".join(str(f) for f in (findings if isinstance(findings, list) else [findings]) if f)
            facts = facts or case.summary or ""
            if snap.get("refusal"):
                facts = f"{facts}。{snap['refusal']}" if facts else str(snap["refusal"])
            facts = f"{violations}：{facts}" if facts else violations
            handling = []
            if letter is not None:
                addressee = (snap.get("addressee") or {}).get("name") or "有关部门"
                issuer = (snap.get("issuer") or {}).get("name") or case.jurisdiction.committee_name
                handling.append(f"{issuer}于{_day(snap.get('issued_on'))}以{letter.number}提请{addressee}"
                                "纳入劳动保障守法诚信档案及企业信用信息公示系统")
            else:
                handling.append(f"{case.jurisdiction.committee_name}已提请纳入信用档案（案件 {case.reference}）")
            listing = recorded.get(case_id)
            if listing:
                handling.append(f"{listing.get('authority', '')}于{_day(listing.get('listed_on'))}纳入"
                                f"（{listing.get('reference', '')}）")
            yield [sent.get("name") or e.name, e.identifier, sent.get("address") or e.address,
                   sent.get("legal_representative") or e.legal_representative, facts, "；".join(handling)]


def _day(value) -> str:
    """An ISO date as people write it (2026年11月24日); anything else as it is."""
    from workflows.states import cn_date
    try:
        return cn_date(dt.date.fromisoformat(str(value)))
    except ValueError:
        return str(value or "")
