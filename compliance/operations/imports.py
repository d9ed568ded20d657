"""Bulk import of enterprises and cases from an uploaded spreadsheet (compliance.imports reads the file).

One call validates every row and reports each bad one with its row number and reason: a bad identifier, an
unknown district or street, a duplicate in the file or in the database, a missing or malformed field, a row
outside the actor's jurisdiction (不在您的管辖范围内). Then, unless it is a dry run:

- mode "all-or-nothing": nothing is written when any row is bad;
- mode "good-rows": the good rows are written and the bad ones come back (the caller offers them as a file).

The rules are the single-row operations' own (compliance.operations.enterprises for the fields and the
identifier, open_case's one-open-case-per-violation rule and its case.opened event), applied a file at a time:
rows are validated in Python, checked against the database with set-based queries a chunk at a time, and
written with multi-row INSERTs, not one ORM object and one flush per row. Everything happens in the caller's
transaction: the caller commits once (all rows) or rolls back (none). One AdminEvent records the import
(who, which file, how many rows) beside the case.opened event each imported case gets.
"""
from __future__ import annotations

import abc
import datetime as dt
import hashlib
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from compliance.access import Permission, in_scope, permissions, require
from compliance.clock import BEIJING, business_date
from compliance.errors import Conflict, ValidationFailed
from compliance.imports import (COLUMNS, KIND_LABELS, MAX_BYTES, MAX_CELL, MAX_ROWS, ReadError, Sheet, cell_str,
                                parse_date, read_sheet)
from compliance.models import (AdminEvent, Case, CaseAssignment, CaseEvent, CaseViolation, Enterprise, Jurisdiction,
                               JurisdictionLevel, SequenceCounter, User, next_seq)
from compliance.operations.enterprises import (_count, _duplicate, _established, _payroll, _text, parse_identifier)
from workflows.ladder import State, Violation

log = logging.getLogger(__name__)

try:   # COPY runs on the driver's connection: its errors are the driver's own
    from psycopg import IntegrityError as _DriverIntegrityError
    _INTEGRITY_ERRORS: tuple[type[Exception], ...] = (IntegrityError, _DriverIntegrityError)
except ImportError:   # pragma: no cover
    _INTEGRITY_ERRORS = (IntegrityError,)

MODES = {"all-or-nothing": "全部正确才导入", "good-rows": "只导入正确的行"}
KINDS = tuple(COLUMNS)
#: Rows per database round trip (duplicate checks and inserts).
CHUNK = 1000
#: How the scope refusal reads on a row.
OUT_OF_SCOPE = "不在您的管辖范围内"
#: How many bad rows a report keeps in full (the count is always exact).
MAX_REPORTED = 100_000

Progress = Callable[[str, int, int | None], None]


@dataclass
class BadRow:
    row: int                 #: the row number in the file
    reason: str
    cells: list[Any]         #: the row as read (for the bad-rows file)


@dataclass
class ImportReport:
    kind: str
    mode: str
    dry_run: bool
    filename: str = ""
    sha256: str = ""
    format: str = ""
    encoding: str | None = None
    header: list[str] = field(default_factory=list)
    header_row: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0            #: data rows read (blank rows not counted)
    good: int = 0            #: rows that passed every check
    imported: int = 0        #: rows written (0 on a dry run, or all-or-nothing with a bad row)
    bad: list[BadRow] = field(default_factory=list)
    imported_ids: list[int] = field(default_factory=list)   #: the new cases' ids (an enterprise import: empty)
    audit_id: int | None = None

    @property
    def written(self) -> bool:
        return self.imported > 0

    @property
    def summary(self) -> str:
        """One sentence for the page, the CLI and the API."""
        what = KIND_LABELS[self.kind]
        head = f"共读取 {self.rows:,} 行：正确 {self.good:,} 行，有误 {len(self.bad):,} 行。"
        if self.dry_run:
            return head + "（试导入，未写入任何数据）"
        if self.imported:
            return head + f"已导入{what} {self.imported:,} 条。"
        if self.bad and self.mode == "all-or-nothing":
            return head + "按“全部正确才导入”，未导入任何数据。"
        return head + "未导入任何数据。"

    def to_dict(self, *, max_bad: int | None = None) -> dict[str, Any]:
        """The report as JSON for the API: every bad row with its number and reason (at most `max_bad`)."""
        bad = self.bad if max_bad is None else self.bad[:max_bad]
        return {"kind": self.kind, "mode": self.mode, "dry_run": self.dry_run, "filename": self.filename,
                "sha256": self.sha256, "format": self.format, "encoding": self.encoding,
                "header_row": self.header_row, "ignored_columns": self.ignored_columns, "rows": self.rows,
                "good": self.good, "bad_count": len(self.bad), "imported": self.imported,
                "summary": self.summary, "bad": [{"row": b.row, "reason": b.reason} for b in bad],
                "audit_id": self.audit_id}


def settings(config: dict | None) -> dict[str, int]:
    """The limits, from the app's config when given (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS)."""
    config = config or {}
    return {"max_bytes": int(config.get("IMPORT_MAX_BYTES") or MAX_BYTES),
            "max_rows": int(config.get("IMPORT_MAX_ROWS") or MAX_ROWS)}


def import_file(session: Session, *, actor: User, kind: str, data: bytes, filename: str = "",
                mode: str = "all-or-nothing", dry_run: bool = True, now: dt.datetime,
                max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES, progress: Progress | None = None,
                address: str = "") -> ImportReport:
    """Validate (and unless dry_run, import) a spreadsheet of enterprises or cases; see the module's docstring.

    Raises ValidationFailed for a file that cannot be read as such a table (not a per-row problem), Forbidden
    for an actor whose role may not register enterprises / open cases, Conflict when another user registered
    the same code while this import ran (nothing is written then either). The caller commits.
    """
    if kind not in COLUMNS:
        raise ValidationFailed("导入类型只能是企业（enterprises）或案件（cases）", field="kind")
    permission = Permission.REGISTER_ENTERPRISE if kind == "enterprises" else Permission.OPEN_CASE
    require(actor, permission, absent="")
    if mode not in MODES:
        raise ValidationFailed("导入方式只能是“全部正确才导入”（all-or-nothing）或“只导入正确的行”（good-rows）",
                               field="mode")
    filename = (filename or "")[:200]
    sheet = read_sheet(data, kind, filename=filename, max_rows=max_rows, max_bytes=max_bytes)
    report = ImportReport(kind=kind, mode=mode, dry_run=dry_run, filename=filename,
                          sha256=hashlib.sha256(data).hexdigest(), format=sheet.format, encoding=sheet.encoding,
                          header=sheet.header, header_row=sheet.header_row, ignored_columns=sheet.ignored)
    importer = (_Enterprises if kind == "enterprises" else _Cases)(session, actor, now, report, progress)
    importer.validate(sheet)
    report.good = len(importer.good)
    report.bad.sort(key=lambda b: b.row)
    if dry_run or not importer.good or (mode == "all-or-nothing" and report.bad):
        return report
    try:
        with session.begin_nested():   # a clash at insert time leaves the caller's transaction usable
            report.imported = importer.write()
            report.imported_ids = importer.ids
            report.audit_id = _audit(session, actor, report, now, address)
    except _INTEGRITY_ERRORS:
        log.info("import of %s by %s hit a concurrent write", kind, actor.login, exc_info=True)
        report.imported, report.imported_ids = 0, []
        raise Conflict("导入期间有其他人登记了相同的企业或案件，未导入任何数据。请重新试导入后再导入") from None
    return report


def _audit(session: Session, actor: User, report: ImportReport, now: dt.datetime, address: str) -> int:
    event = AdminEvent(actor_id=actor.id, action=f"import.{report.kind}", jurisdiction_id=actor.jurisdiction_id,
                       details={"filename": report.filename, "sha256": report.sha256, "mode": report.mode,
                                "rows": report.rows, "imported": report.imported, "bad_rows": len(report.bad)},
                       address=(address or "")[:45], created_at=now)
    session.add(event)
    session.flush()
    return event.id


# ------------------------------------------------------------------------------------------------- common

class _Importer(abc.ABC):
    """One kind of row (enterprises, cases): each kind checks its rows, checks them together, writes them."""

    columns: tuple

    def __init__(self, session: Session, actor: User, now: dt.datetime, report: ImportReport,
                 progress: Progress | None):
        self.session, self.actor, self.now, self.report = session, actor, now, report
        self.progress = progress or (lambda phase, done, total: None)
        self.today = business_date(now)
        self.good: list[dict[str, Any]] = []     # each with "_row" and "_cells"
        self.ids: list[int] = []
        self.postgresql = session.get_bind().dialect.name == "postgresql"

    def bad(self, row: int, reason: str, cells: list[Any]) -> None:
        if len(self.report.bad) < MAX_REPORTED:
            self.report.bad.append(BadRow(row=row, reason=reason, cells=cells))

    def validate(self, sheet: Sheet) -> None:
        columns = sheet.columns
        labels = {c.key: c.heading for c in COLUMNS[self.report.kind]}
        total = sheet.estimated_rows
        for number, cells in sheet.rows:
            self.report.rows += 1
            try:
                values = {}
                if cells and isinstance(cells[0], ReadError):
                    raise ValidationFailed(str(cells[0]))
                for key, index in columns.items():
                    value = cells[index] if index < len(cells) else None
                    if isinstance(value, str):
                        value = value.strip()
                        if len(value) > MAX_CELL:
                            raise ValidationFailed(f"{labels[key]}超过{MAX_CELL}个字符")
                    values[key] = value
                candidate = self.check_row(values)
            except ValidationFailed as exc:
                self.bad(number, exc.message, cells)
            except Exception:   # a malformed row never stops the others: report it, log the bug
                log.exception("import row %s could not be checked", number)
                self.bad(number, "无法处理该行（内部错误，已记录），请检查该行的内容", cells)
            else:
                candidate["_row"], candidate["_cells"] = number, cells
                self.good.append(candidate)
            if self.report.rows % CHUNK == 0:
                self.progress("validate", self.report.rows, total)
        self.progress("validate", self.report.rows, self.report.rows)
        self.check_together()

    def reject(self, candidates: Iterable[dict], reasons: dict[int, str]) -> None:
        """Move the candidates whose id() has a reason from good to bad."""
        if not reasons:
            return
        kept = []
        for c in candidates:
            reason = reasons.get(id(c))
            if reason is None:
                kept.append(c)
            else:
                self.bad(c["_row"], reason, c["_cells"])
        self.good = kept

    @abc.abstractmethod
    def check_row(self, values: dict[str, Any]) -> dict[str, Any]:
        """One row's values checked and normalised (raises the row's reason)."""

    @abc.abstractmethod
    def check_together(self) -> None:
        """Checks across the good rows and the database (duplicates); moves failing rows to the bad ones."""

    @abc.abstractmethod
    def write(self) -> int:
        """Write the good rows; return how many (ids of new rows in self.ids where the kind keeps them)."""


def _as_text(value: Any) -> str:
    """A cell where text is expected: numbers typed into a text column (a phone number, a code) as written."""
    if isinstance(value, str):
        return value   # already stripped when the row was read
    return "" if value is None else cell_str(value)


def _field_text(key: str, value: Any) -> str:
    """The single-row operation's check of a text field (length, control characters, printable glyphs)."""
    text = _as_text(value)
    return _text(key, text) if text else ""


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


_SPLIT = re.compile(r"[、,，;；/\s]+")


# ---------------------------------------------------------------------------------------------- enterprises

_DISTRICT_ALIASES = {"经开区": "北京经济技术开发区", "亦庄": "北京经济技术开发区", "开发区": "北京经济技术开发区"}
_STREET_SUFFIXES = ("地区办事处", "街道办事处", "街道", "地区", "乡", "镇")
_YES = {"是", "已建", "已建会", "有", "y", "yes", "true", "1", "√", "✓"}
_NO = {"否", "未建", "未建会", "无", "没有", "n", "no", "false", "0", "×", ""}


def _place_key(name: str) -> str:
    return re.sub(r"[\s\u3000]+", "", name or "").removeprefix("北京市")


class _Places:
    """Districts and streets by the names people write (朝阳区 / 朝阳; 酒仙桥街道 / 酒仙桥)."""

    def __init__(self, session: Session):
        rows = session.scalars(select(Jurisdiction).where(Jurisdiction.level != JurisdictionLevel.CITY.value)).all()
        self.districts: dict[str, Jurisdiction] = {}
        self.streets: dict[tuple[int, str], Jurisdiction | None] = {}
        for j in rows:
            if j.level == JurisdictionLevel.DISTRICT.value:
                for alias in (j.name, j.name.removesuffix("区")):
                    self.districts.setdefault(_place_key(alias), j)
        for alias, name in _DISTRICT_ALIASES.items():
            target = self.districts.get(name)
            if target is not None:
                self.districts.setdefault(alias, target)
        for j in rows:
            if j.level == JurisdictionLevel.STREET.value and j.parent_id is not None:
                names = {j.name} | {j.name.removesuffix(s) for s in _STREET_SUFFIXES if len(j.name) - len(s) >= 2}
                for alias in names:
                    key = (j.parent_id, _place_key(alias))
                    # two streets answering to one short name: only their full names are accepted
                    self.streets[key] = j if key not in self.streets or self.streets[key] is j else None

    def find(self, district: str, street: str) -> Jurisdiction:
        d = self.districts.get(_place_key(district))
        if d is None:
            raise ValidationFailed(f"未知的区：“{district[:30]}”（应为北京市的区，如“朝阳区”）", field="district")
        if not street:
            return d
        s = self.streets.get((d.id, _place_key(street)))
        if s is None:
            raise ValidationFailed(f"{d.name}下没有名为“{street[:30]}”的街道/乡镇", field="street")
        return s


class _Enterprises(_Importer):
    def __init__(self, *args):
        super().__init__(*args)
        self.places = _Places(self.session)

    def check_row(self, v: dict[str, Any]) -> dict[str, Any]:
        if all(v.get(k) in (None, "") for k in ("uscc", "name", "district")):
            raise ValidationFailed("缺少统一社会信用代码、企业名称和所在区")
        district, street = _as_text(v.get("district")), _as_text(v.get("street"))
        if not district:
            raise ValidationFailed("请填写所在区", field="district")
        place = self.places.find(district, street)
        if not in_scope(self.actor, place):
            raise ValidationFailed(f"{OUT_OF_SCOPE}（{place.name}）", field="district")
        code, registration_number = parse_identifier(_as_text(v.get("uscc")))
        texts = {key: _field_text(key, v.get(key)) for key in (
            "name", "address", "legal_representative", "industry", "ownership_type", "contact_name",
            "contact_phone")}
        if not texts["name"]:
            raise ValidationFailed("请填写企业名称", field="name")
        employees = _count("employee_count", "职工人数", _number(v.get("employee_count")))
        members = _count("member_count", "工会会员人数", _number(v.get("member_count")))
        if employees is not None and members is not None and members > employees:
            raise ValidationFailed(f"工会会员人数（{members}）不能多于职工人数（{employees}）", field="member_count")
        return {"uscc": code, "registration_number": registration_number, "jurisdiction_id": place.id,
                "employee_count": employees, "member_count": members, "has_union": _yes_no(v.get("has_union")),
                "monthly_payroll": _payroll(_amount(v.get("monthly_payroll"))),
                "established_on": _established(parse_date(v.get("established_on"), "成立日期", "established_on"),
                                               self.today),
                **texts}

    def check_together(self) -> None:
        """Duplicates: in the file (the later rows), then against the database (chunked IN queries)."""
        first: dict[tuple[str, str], int] = {}
        reasons: dict[int, str] = {}
        for c in self.good:
            key = ("uscc", c["uscc"]) if c["uscc"] else ("registration_number", c["registration_number"])
            if key in first:
                label = "统一社会信用代码" if key[0] == "uscc" else "注册号"
                reasons[id(c)] = f"与第{first[key]}行的{label}重复：{key[1]}"
            else:
                first[key] = c["_row"]
        self.reject(self.good, reasons)
        registered = self._registered([c["uscc"] for c in self.good if c["uscc"]],
                                      [c["registration_number"] for c in self.good if c["registration_number"]])
        reasons = {}
        for c in self.good:
            existing = registered.get(c["uscc"] or c["registration_number"])
            if existing is not None:
                reasons[id(c)] = _duplicate(self.actor, existing).message
        self.reject(self.good, reasons)
        self.progress("check", len(self.good), len(self.good))

    def _registered(self, codes: list[str], numbers: list[str]) -> dict[str, Enterprise]:
        found: dict[str, Enterprise] = {}
        for column, values in ((Enterprise.uscc, codes), (Enterprise.registration_number, numbers)):
            for chunk in _chunks(values):
                for e in self.session.scalars(select(Enterprise).where(column.in_(chunk))
                                              .options(joinedload(Enterprise.jurisdiction))):
                    found[e.uscc or e.registration_number] = e
        return found

    def write(self) -> int:
        """Multi-row INSERTs a chunk at a time; on PostgreSQL one COPY FROM STDIN on the session's own connection
        (the same transaction: a failure leaves nothing), the fastest way rows enter a table."""
        table = Enterprise.__table__
        names = [c.name for c in table.columns if c.name != "id"]
        rows = ({**{k: v for k, v in c.items() if not k.startswith("_")}, "created_at": self.now,
                 "updated_at": self.now} for c in self.good)
        total = len(self.good)
        if self.postgresql:
            driver = self.session.connection().connection.driver_connection
            quoted = ", ".join(f'"{name}"' for name in names)
            with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                for done, row in enumerate(rows, start=1):
                    copy.write_row([row[name] for name in names])
                    if done % CHUNK == 0:
                        self.progress("write", done, total)
        else:
            statement = insert(table)
            for done, chunk in enumerate(_chunks(list(rows)), start=1):
                self.session.execute(statement, chunk)
                self.progress("write", min(done * CHUNK, total), total)
        self.progress("write", total, total)
        return total


def _number(value: Any) -> Any:
    """A count as a cell holds it: 120, 120.0, "120", " 1,200 "."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "").removesuffix("人").strip()
        if text.endswith(".0") and text[:-2].isdigit():
            text = text[:-2]
        return text
    return value


def _amount(value: Any) -> Any:
    from decimal import Decimal
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _yes_no(value: Any) -> bool:
    text = _as_text(value).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValidationFailed(f"已建会应填“是”或“否”，填写的是“{text[:20]}”", field="has_union")


# --------------------------------------------------------------------------------------------------- cases

_VIOLATIONS = {**{v.label: v for v in Violation}, **{v.value: v for v in Violation},
               "未建会": Violation.NO_UNION, "未建工会": Violation.NO_UNION, "不建工会": Violation.NO_UNION,
               "未协商": Violation.NO_BARGAINING, "不开展集体协商": Violation.NO_BARGAINING,
               "未缴费": Violation.UNPAID_FUNDS, "不缴纳工会经费": Violation.UNPAID_FUNDS,
               "欠缴工会经费": Violation.UNPAID_FUNDS, "未缴纳工会经费": Violation.UNPAID_FUNDS}
#: The earliest 立案日期 accepted (older paper cases are not this system's).
EARLIEST_OPENING = dt.date(2000, 1, 1)


class _Cases(_Importer):
    def __init__(self, *args):
        super().__init__(*args)
        self.enterprises: dict[str, tuple[int, int]] = {}   # code → (enterprise id, jurisdiction id)

    def check_row(self, v: dict[str, Any]) -> dict[str, Any]:
        code, registration_number = parse_identifier(_as_text(v.get("uscc")))
        words = [w for w in _SPLIT.split(_as_text(v.get("violations"))) if w]
        if not words:
            raise ValidationFailed("请填写违法情形（不建会、不协商、不缴费）", field="violations")
        unknown = [w for w in words if w not in _VIOLATIONS]
        if unknown:
            raise ValidationFailed(f"未知的违法情形：{'、'.join(unknown)[:40]}（应为不建会、不协商、不缴费）",
                                   field="violations")
        opened_on = parse_date(v.get("opened_on"), "立案日期", "opened_on") or self.today
        if opened_on > self.today:
            raise ValidationFailed("立案日期不能晚于今天", field="opened_on")
        if opened_on < EARLIEST_OPENING:
            raise ValidationFailed(f"立案日期不能早于{EARLIEST_OPENING.year}年", field="opened_on")
        summary = _as_text(v.get("summary"))
        if len(summary) > 2000:
            raise ValidationFailed(f"案情摘要不能超过2000字（现有{len(summary)}字）", field="summary")
        supervisors = [w for w in re.split(r"[、,，;；\s]+", _as_text(v.get("supervisors"))) if w]
        return {"code": code or registration_number, "violations": frozenset(_VIOLATIONS[w] for w in words),
                "opened_on": opened_on, "summary": summary, "supervisors": supervisors[:10]}

    def check_together(self) -> None:
        # The enterprises: registered and in the actor's scope (one answer for both, as for a single case).
        codes = sorted({c["code"] for c in self.good})
        scope = {j.id: j for j in self.session.scalars(select(Jurisdiction))}
        for chunk in _chunks(codes):
            for e_id, uscc, number, j_id in self.session.execute(
                    select(Enterprise.id, Enterprise.uscc, Enterprise.registration_number, Enterprise.jurisdiction_id)
                    .where(or_(Enterprise.uscc.in_(chunk), Enterprise.registration_number.in_(chunk)))):
                self.enterprises[uscc or number] = (e_id, j_id)
        reasons: dict[int, str] = {}
        for c in self.good:
            found = self.enterprises.get(c["code"])
            if found is None or not in_scope(self.actor, scope[found[1]]):
                reasons[id(c)] = f"企业未登记或{OUT_OF_SCOPE}：{c['code']}（请先导入或登记企业）"
            else:
                c["enterprise_id"], c["jurisdiction"] = found[0], scope[found[1]]
        self.reject(self.good, reasons)
        self._check_supervisors()
        # The same enterprise and violation twice in the file; then an open case in the database.
        seen: dict[tuple[int, Violation], int] = {}
        reasons = {}
        for c in self.good:
            clash = next((seen[(c["enterprise_id"], k)] for k in sorted(c["violations"])
                          if (c["enterprise_id"], k) in seen), None)
            if clash is not None:
                reasons[id(c)] = f"与第{clash}行重复：同一企业的同一违法情形只能立一个案件"
            else:
                seen.update({(c["enterprise_id"], k): c["_row"] for k in c["violations"]})
        self.reject(self.good, reasons)
        self._check_open_cases()
        self.progress("check", len(self.good), len(self.good))

    def _check_open_cases(self) -> None:
        ids = sorted({c["enterprise_id"] for c in self.good})
        open_cases: dict[tuple[int, str], str] = {}
        for chunk in _chunks(ids):
            if self.postgresql and not self.report.dry_run:
                # Serialise with open_case: nobody opens a case for these enterprises until we commit.
                self.session.execute(select(Enterprise.id).where(Enterprise.id.in_(chunk))
                                     .order_by(Enterprise.id).with_for_update())
            for e_id, violation, reference in self.session.execute(
                    select(Case.enterprise_id, CaseViolation.violation, Case.reference)
                    .join(CaseViolation, CaseViolation.case_id == Case.id)
                    .where(Case.enterprise_id.in_(chunk), Case.closed_at.is_(None))):
                open_cases.setdefault((e_id, violation), reference)
        reasons = {}
        for c in self.good:
            for k in sorted(c["violations"]):
                reference = open_cases.get((c["enterprise_id"], k.value))
                if reference is not None:
                    reasons[id(c)] = f"该企业已有未结案件 {reference}（{k.label}），请在原案件中办理"
                    break
        self.reject(self.good, reasons)

    def _check_supervisors(self) -> None:
        wanted = sorted({w for c in self.good for w in c["supervisors"]})
        people: dict[str, User] = {}
        for chunk in _chunks(wanted):
            for user in self.session.scalars(select(User).where(or_(User.login.in_([w.lower() for w in chunk]),
                                                                    User.supervisor_number.in_(chunk)))
                                             .options(joinedload(User.jurisdiction))):
                people.setdefault(user.login, user)
                if user.supervisor_number:
                    people.setdefault(user.supervisor_number, user)
        reasons = {}
        for c in self.good:
            chosen = []
            for w in c["supervisors"]:
                user = people.get(w) or people.get(w.lower())
                if user is None:
                    reasons[id(c)] = f"没有登录名或监督员证号为“{w[:30]}”的用户"
                    break
                if not (user.is_active and Permission.WORK_CASE in permissions(user)
                        and in_scope(user, c["jurisdiction"])):
                    reasons[id(c)] = f"{user.name} 不能承办该案件（须为该企业所在辖区或上级的在职监督员）"
                    break
                if user not in chosen:
                    chosen.append(user)
            c["supervisor_ids"] = [u.id for u in chosen]
        self.reject(self.good, reasons)

    def _take_numbers(self, jurisdiction_id: int, year: int, count: int) -> int:
        """Reserve `count` consecutive case numbers of a jurisdiction and year; return the first."""
        first = next_seq(self.session, jurisdiction_id, "case", year)
        if count > 1:
            self.session.execute(update(SequenceCounter).where(
                SequenceCounter.jurisdiction_id == jurisdiction_id, SequenceCounter.kind == "case",
                SequenceCounter.year == year).values(last_seq=SequenceCounter.last_seq + count - 1))
        return first

    def write(self) -> int:
        groups: dict[tuple[int, int], list[dict]] = defaultdict(list)
        for c in self.good:
            groups[(c["jurisdiction"].id, c["opened_on"].year)].append(c)
        for (j_id, year), members in sorted(groups.items()):
            first = self._take_numbers(j_id, year, len(members))
            for seq, c in enumerate(members, start=first):
                c["seq"] = seq
        actor_id = self.actor.id
        table = Case.__table__
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids: list[int] = []
        done = 0
        for chunk in _chunks(self.good):
            rows = []
            for c in chunk:
                j = c["jurisdiction"]
                opened_at = self.now if c["opened_on"] == self.today else _noon(c["opened_on"])
                c["opened_at"] = opened_at
                rows.append({"reference": f"{j.issuer_code}案〔{c['opened_on'].year}〕{c['seq']}号",
                             "year": c["opened_on"].year, "seq": c["seq"], "enterprise_id": c["enterprise_id"],
                             "jurisdiction_id": j.id, "state": State.REGISTERED.value, "summary": c["summary"],
                             "opened_at": opened_at, "opened_by_id": actor_id, "closed_at": None, "version": 1,
                             "last_event_seq": 1, "ready_since": None, "was_listed": False})
            case_ids = list(self.session.execute(statement, rows).scalars())
            ids.extend(case_ids)
            violations, assignments, events = [], [], []
            for case_id, c in zip(case_ids, chunk, strict=True):
                kinds = sorted(k.value for k in c["violations"])
                violations += [{"case_id": case_id, "violation": k} for k in kinds]
                assignments += [{"case_id": case_id, "user_id": u, "assigned_at": self.now}
                                for u in c["supervisor_ids"]]
                events.append({"case_id": case_id, "seq": 1, "actor_id": actor_id, "action": "case.opened",
                               "trigger": None, "from_state": None, "to_state": State.REGISTERED.value,
                               "reason": c["summary"], "created_at": self.now,
                               "details": {"violations": kinds, "business_date": c["opened_on"].isoformat(),
                                           "enterprise_id": c["enterprise_id"],
                                           "supervisor_ids": c["supervisor_ids"],
                                           "imported": {"filename": self.report.filename, "row": c["_row"]}}})
            self.session.execute(insert(CaseViolation.__table__), violations)
            if assignments:
                self.session.execute(insert(CaseAssignment.__table__), assignments)
            self.session.execute(insert(CaseEvent.__table__), events)
            done += len(chunk)
            self.progress("write", done, len(self.good))
        self.ids = ids
        return len(ids)


def _noon(day: dt.date) -> dt.datetime:
    """A past 立案日期 as a moment: noon in Beijing that day, stored in UTC."""
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=BEIJING).astimezone(dt.timezone.utc)
