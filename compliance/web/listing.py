"""What the case and enterprise lists show: filters read from the query string, keyset pages, and the rows loaded
in a fixed number of queries however many a page holds. Read-only: nothing here changes a row.

Every query is limited to the user's jurisdiction subtree (`compliance.scoping.Scope`, the rule of `in_scope`
read once per request); filters, search and the cursor only narrow it further.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import Date, and_, cast, exists, func, literal, null, or_, select, text, tuple_
from sqlalchemy.orm import Session, aliased

from compliance.identifiers import USCC_ALPHABET
from compliance.models import (Case, CaseAssignment, CaseViolation, Deadline, DeadlineStatus, Enterprise,
                               Jurisdiction, User)
from compliance.scoping import Scope
from compliance.web import keyset
from workflows.ladder import State, Violation

PAGE_SIZE = 50
#: Counting stops here: an exact count of a district's 60,000 cases costs more than the page itself.
COUNT_CAP = 10_000
#: The longest search text read (the form says so too).
MAX_SEARCH = 100
MAX_ID = 2**31 - 1

STAGES = {"open": "未结案件", "closed": "已结案件", **{s.value: s.label for s in State}}
VIOLATIONS = {v.value: v.label for v in Violation}
#: sort → (column heading, default direction is descending)
CASE_SORTS = {"opened": ("立案日期", True), "reference": ("案件编号", False), "name": ("企业名称", False),
              "due": ("下一期限", False)}

_WHITESPACE = re.compile(r"[\s\u3000-]+")
_FULL_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}


def serial_reads(session: Session) -> None:
    """Ask PostgreSQL not to start parallel workers for the rest of this request's transaction.

    A list page reads a few dozen rows along an index. PostgreSQL plans parallel workers for some of these
    queries (a due-date page with filters, the dashboard's counts) and each worker reads ahead thousands of rows
    the page never shows: measured at a million cases, 75-125 ms against 10-15 ms read by one process. SET LOCAL
    ends with the transaction, so nothing else is affected.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def _id(raw: str | None) -> int | None:
    """A positive 32-bit id from a query parameter, or None for anything else."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def _flag(raw: str | None) -> bool:
    return raw in ("1", "on", "true", "yes")


@dataclass(frozen=True)
class Search:
    """An enterprise search: name substring, or a 统一社会信用代码 / 注册号 prefix when it looks like one."""

    text: str
    identifier: str | None = None

    @classmethod
    def parse(cls, raw: str | None) -> Search | None:
        # NUL: PostgreSQL text cannot hold it (a query with one fails); nobody searches for it.
        text = (raw or "")[:MAX_SEARCH].replace("\x00", "").strip()
        if not text:
            return None
        # Normalised as compliance.identifiers does: no spaces or hyphens, half-width, upper case. A code prefix
        # counts from 10 characters: the first 8 say only who registered it, of which kind, and where (every
        # enterprise of a district shares them), so a shorter "prefix" would select the whole district.
        code = _WHITESPACE.sub("", text).translate(_FULL_WIDTH).upper()
        looks_like_code = (10 <= len(code) <= 18 and all(c in USCC_ALPHABET for c in code)
                           and sum(c.isdigit() for c in code) >= 2)
        return cls(text=text, identifier=code if looks_like_code else None)

    def matches(self, model=Enterprise):
        """The condition on an enterprise (or an alias of it)."""
        escaped = self.text.replace("/", "//").replace("%", "/%").replace("_", "/_")
        pattern = f"%{escaped}%"
        # Chinese has no case: a plain LIKE compares bytes, several times faster than ILIKE's case folding.
        folds = any(c.isascii() and c.isalpha() for c in self.text)
        conditions = [model.name.ilike(pattern, escape="/") if folds else model.name.like(pattern, escape="/")]
        code = self.identifier
        if code is not None:
            # A prefix as a range, which any btree index on the column answers under any collation: every code
            # starting with `code` lies between it and it padded with "Z" (above every character a code may hold).
            conditions.append(and_(model.uscc >= code, model.uscc <= code + "Z" * (18 - len(code))))
            if code.isdigit() and len(code) <= 15:
                conditions.append(and_(model.registration_number >= code,
                                       model.registration_number <= code + "9" * (15 - len(code))))
        return or_(*conditions)


def _search_condition(search: Search, enterprise_id_column, scope: Scope):
    """Cases of the enterprises the search finds among those registered in the scope (the search reads the
    scope's enterprises, not the country's; a case follows its enterprise's jurisdiction when it is opened)."""
    e = aliased(Enterprise)
    return enterprise_id_column.in_(select(e.id).where(scope.where(e), search.matches(e)))


# ------------------------------------------------------------------------------------------------------ cases

@dataclass(frozen=True)
class CaseFilters:
    search: Search | None = None
    stage: str = ""
    violation: str = ""
    place: Jurisdiction | None = None
    #: "me" or a user id as typed; `supervisor_id` is what the query uses.
    supervisor: str = ""
    supervisor_id: int | None = None
    overdue: bool = False
    provisional: bool = False
    sort: str = "opened"
    descending: bool = True

    @classmethod
    def from_args(cls, args: Mapping[str, str], *, user: User, scope: Scope) -> CaseFilters:
        """Whatever the query string holds: unknown values are dropped, never an error."""
        stage = args.get("stage", "")
        violation = args.get("violation", "")
        supervisor, supervisor_id = args.get("supervisor", ""), None
        if supervisor == "me":
            supervisor_id = user.id
        elif (supervisor_id := _id(supervisor)) is None:
            supervisor = ""
        sort = args.get("sort", "")
        sort = sort if sort in CASE_SORTS else "opened"
        direction = args.get("dir", "")
        descending = direction == "desc" if direction in ("asc", "desc") else CASE_SORTS[sort][1]
        return cls(search=Search.parse(args.get("q")), stage=stage if stage in STAGES else "",
                   violation=violation if violation in VIOLATIONS else "",
                   place=scope.by_id().get(_id(args.get("place"))),
                   supervisor=supervisor, supervisor_id=supervisor_id, overdue=_flag(args.get("overdue")),
                   provisional=_flag(args.get("provisional")), sort=sort, descending=descending)

    @property
    def sort_token(self) -> str:
        return f"{self.sort}.{'desc' if self.descending else 'asc'}"

    def params(self, **override: Any) -> dict[str, str]:
        """The query string that shows these filters again (links, exports), without a cursor."""
        out = {"q": self.search.text if self.search else "", "stage": self.stage, "violation": self.violation,
               "place": str(self.place.id) if self.place else "", "supervisor": self.supervisor,
               "overdue": "1" if self.overdue else "", "provisional": "1" if self.provisional else "",
               "sort": self.sort if self.sort != "opened" else "",
               "dir": "" if self.descending == CASE_SORTS[self.sort][1] else ("desc" if self.descending else "asc")}
        out.update({k: v for k, v in override.items()})
        return {k: v for k, v in out.items() if v}

    def sort_link(self, sort: str) -> dict[str, str]:
        """The parameters of a column heading: the same column flips its direction, another starts at its default."""
        descending = not self.descending if sort == self.sort else CASE_SORTS[sort][1]
        return self.params(sort=sort if sort != "opened" else "",
                           dir="" if descending == CASE_SORTS[sort][1] else ("desc" if descending else "asc"))

    @property
    def is_filtered(self) -> bool:
        return any((self.search, self.stage, self.violation, self.place, self.supervisor_id, self.overdue,
                    self.provisional))

    @property
    def more_filters(self) -> int:
        """How many choices beyond the search are set (the folded part of the form opens when any is)."""
        return sum(map(bool, (self.stage, self.violation, self.place, self.supervisor_id, self.overdue,
                              self.provisional, self.sort != "opened" or not self.descending)))


def _open_deadline(alias):
    return alias.status == DeadlineStatus.OPEN.value


def case_conditions(f: CaseFilters, today: dt.date, scope: Scope) -> list:
    """The scope (narrowed to the district or street chosen) and the filters, as WHERE clauses on Case."""
    if f.place is not None:
        scope = scope.within(f.place)
    conditions = [scope.where(Case)]
    if f.stage == "open":
        conditions.append(Case.closed_at.is_(None))
    elif f.stage == "closed":
        conditions.append(Case.closed_at.is_not(None))
    elif f.stage:
        conditions.append(Case.state == f.stage)
    if f.violation:
        cv = aliased(CaseViolation)
        conditions.append(exists().where(cv.case_id == Case.id, cv.violation == f.violation))
    if f.supervisor_id is not None:
        ca = aliased(CaseAssignment)
        conditions.append(exists().where(ca.case_id == Case.id, ca.user_id == f.supervisor_id))
    if f.overdue:
        d = aliased(Deadline)
        conditions.append(exists().where(d.case_id == Case.id, _open_deadline(d), d.due_on < today))
    if f.provisional:
        d = aliased(Deadline)
        conditions.append(exists().where(d.case_id == Case.id, _open_deadline(d), d.is_provisional))
    if f.search is not None:
        conditions.append(_search_condition(f.search, Case.enterprise_id, scope))
    return conditions


@dataclass
class NextDue:
    due_on: dt.date
    label: str
    is_provisional: bool
    is_overdue: bool
    any_provisional: bool = False


@dataclass
class CaseRow:
    case: Case
    next_due: NextDue | None
    supervisors: list[str] = field(default_factory=list)


@dataclass
class Page:
    rows: list
    shown_before: int                 #: rows on the pages before this one
    total: int | None                 #: None when not counted; capped at COUNT_CAP + 1
    next_cursor: str | None = None
    last_key: tuple | None = None     #: for the export's next chunk

    @property
    def first(self) -> int:
        return self.shown_before + 1 if self.rows else self.shown_before

    @property
    def last(self) -> int:
        return self.shown_before + len(self.rows)

    @property
    def over_cap(self) -> bool:
        return self.total is not None and self.total > COUNT_CAP


def _case_sort_columns(sort: str) -> list:
    return {"opened": [Case.opened_at, Case.id], "reference": [Case.jurisdiction_id, Case.year, Case.seq, Case.id],
            "name": [Enterprise.name, Case.id]}[sort]


CASE_CURSOR_PARSERS = {
    "opened": (keyset.as_datetime, keyset.as_int),
    "reference": (keyset.as_int, keyset.as_int, keyset.as_int, keyset.as_int),
    "name": (keyset.as_text, keyset.as_int),
    "due": (keyset.as_int, keyset.as_optional_date, keyset.as_int),
}


def decode_case_cursor(raw: str | None, f: CaseFilters) -> keyset.Cursor | None:
    cursor = keyset.decode(raw, "cases", f.sort_token, CASE_CURSOR_PARSERS[f.sort])
    if cursor is not None and f.sort == "due" and (cursor.key[0] not in (0, 1) or
                                                  (cursor.key[0] == 0) != (cursor.key[1] is not None)):
        return None
    return cursor


def _case_keys(session: Session, f: CaseFilters, conditions: list, cursor: keyset.Cursor | None,
               limit: int) -> list[tuple]:
    """The sort keys (id last) of the next `limit` cases: one query."""
    if f.sort == "due":
        return _due_keys(session, f, conditions, cursor, limit)
    columns = _case_sort_columns(f.sort)
    query = select(*columns).where(*conditions)
    if f.sort == "name":
        query = query.join(Enterprise, Enterprise.id == Case.enterprise_id)
    if cursor is not None:
        query = query.where(keyset.after(columns, cursor.key, f.descending))
    query = query.order_by(*(c.desc() if f.descending else c.asc() for c in columns)).limit(limit)
    return [tuple(row) for row in session.execute(query)]


def _due_keys(session: Session, f: CaseFilters, conditions: list, cursor: keyset.Cursor | None,
              limit: int) -> list[tuple]:
    """Sorted by the next open deadline; the cases without one follow, by id. Always two queries.

    Each case appears once: through its first open deadline (segment 0, read in due-date order from the open
    deadlines' index), or, having none, in segment 1. Segment 1 is asked only for the rows the page still lacks
    (LIMIT 0 when segment 0 filled it), and not at all when a filter needs an open deadline.
    """
    first, earlier = aliased(Deadline), aliased(Deadline)
    order = (lambda c: c.desc()) if f.descending else (lambda c: c.asc())
    segment = cursor.key[0] if cursor is not None else 0
    keys: list[tuple] = []
    if segment == 0:
        is_first_open = ~exists().where(earlier.case_id == first.case_id, _open_deadline(earlier),
                                        tuple_(earlier.due_on, earlier.id) < tuple_(first.due_on, first.id))
        query = (select(literal(0), first.due_on, first.case_id).select_from(first)
                 .join(Case, Case.id == first.case_id).where(_open_deadline(first), is_first_open, *conditions))
        if cursor is not None:
            query = query.where(keyset.after([first.due_on, first.case_id], cursor.key[1:], f.descending))
        keys = [tuple(row) for row in session.execute(
            query.order_by(order(first.due_on), order(first.case_id)).limit(limit))]
    wanted = 0 if f.overdue or f.provisional else limit - len(keys)
    none_open = aliased(Deadline)
    query = select(literal(1), cast(null(), Date), Case.id).where(
        ~exists().where(none_open.case_id == Case.id, _open_deadline(none_open)), *conditions)
    if segment == 1:
        query = query.where(keyset.after([Case.id], cursor.key[2:], f.descending))
    keys += [tuple(row) for row in session.execute(query.order_by(order(Case.id)).limit(wanted))]
    return keys


def count_capped(session: Session, ids_query) -> int:
    """How many rows the query gives, counting no further than COUNT_CAP + 1."""
    return session.scalar(select(func.count()).select_from(ids_query.limit(COUNT_CAP + 1).subquery()))


def next_deadlines(session: Session, case_ids: list[int], today: dt.date) -> dict[int, NextDue]:
    """Each case's earliest open deadline: one query for the page."""
    out: dict[int, NextDue] = {}
    if not case_ids:
        return out
    rows = session.execute(select(Deadline.case_id, Deadline.due_on, Deadline.label, Deadline.is_provisional)
                           .where(Deadline.case_id.in_(case_ids), _open_deadline(Deadline))
                           .order_by(Deadline.case_id, Deadline.due_on, Deadline.id))
    for case_id, due_on, label, provisional in rows:
        if case_id not in out:
            out[case_id] = NextDue(due_on=due_on, label=label, is_provisional=provisional,
                                   is_overdue=due_on < today, any_provisional=provisional)
        elif provisional:
            out[case_id].any_provisional = True
    return out


def load_case_rows(session: Session, ids: list[int], today: dt.date, *, supervisors: bool = False) -> list[CaseRow]:
    """The cases with enterprise and jurisdiction (joined), violations (one selectin), next deadline (one query),
    and, when asked, the assigned supervisors' names (one query): the same number of queries for 1 row or 1,000."""
    if not ids:
        return []
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids)))}
    due = next_deadlines(session, ids, today)
    names: dict[int, list[str]] = {}
    if supervisors:
        for case_id, name in session.execute(select(CaseAssignment.case_id, User.name)
                                             .join(User, User.id == CaseAssignment.user_id)
                                             .where(CaseAssignment.case_id.in_(ids))
                                             .order_by(CaseAssignment.case_id, User.name)):
            names.setdefault(case_id, []).append(name)
    return [CaseRow(case=cases[i], next_due=due.get(i), supervisors=names.get(i, [])) for i in ids if i in cases]


def case_page(session: Session, scope: Scope, f: CaseFilters, today: dt.date, cursor: keyset.Cursor | None = None,
              *, size: int = PAGE_SIZE, count: bool = True, supervisors: bool = False) -> Page:
    """One page of the case list after `cursor`."""
    conditions = case_conditions(f, today, scope)
    keys = _case_keys(session, f, conditions, cursor, size + 1)
    more, keys = len(keys) > size, keys[:size]
    shown_before = cursor.shown if cursor is not None else 0
    total = None
    if count:
        total = count_capped(session, select(Case.id).where(*conditions))
    rows = load_case_rows(session, [k[-1] for k in keys], today, supervisors=supervisors)
    page = Page(rows=rows, shown_before=shown_before, total=total, last_key=keys[-1] if keys else None)
    if more:
        page.next_cursor = keyset.encode("cases", f.sort_token, keys[-1], shown_before + len(keys))
    return page


def next_chunk_cursor(page: Page) -> keyset.Cursor | None:
    """For the export: the cursor after a page, without encoding it."""
    return keyset.Cursor(key=page.last_key, shown=page.last) if page.last_key is not None else None


# ------------------------------------------------------------------------------------------------- enterprises

@dataclass(frozen=True)
class EnterpriseFilters:
    search: Search | None = None
    place: Jurisdiction | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str], *, scope: Scope) -> EnterpriseFilters:
        return cls(search=Search.parse(args.get("q")), place=scope.by_id().get(_id(args.get("place"))))

    sort_token = "name.asc"

    def params(self, **override: Any) -> dict[str, str]:
        out = {"q": self.search.text if self.search else "", "place": str(self.place.id) if self.place else ""}
        out.update(override)
        return {k: v for k, v in out.items() if v}

    @property
    def is_filtered(self) -> bool:
        return bool(self.search or self.place)


@dataclass
class EnterpriseRow:
    enterprise: Enterprise
    open_cases: int = 0
    all_cases: int = 0


ENTERPRISE_CURSOR_PARSERS = (keyset.as_text, keyset.as_int)


def decode_enterprise_cursor(raw: str | None) -> keyset.Cursor | None:
    return keyset.decode(raw, "enterprises", EnterpriseFilters.sort_token, ENTERPRISE_CURSOR_PARSERS)


def _enterprise_conditions(f: EnterpriseFilters, scope: Scope) -> list:
    conditions = [(scope.within(f.place) if f.place is not None else scope).where(Enterprise)]
    if f.search is not None:
        conditions.append(f.search.matches())
    return conditions


def enterprise_page(session: Session, scope: Scope, f: EnterpriseFilters, cursor: keyset.Cursor | None = None,
                    *, size: int = PAGE_SIZE, count: bool = True) -> Page:
    """One page of enterprises by name (one query) with their case counts (one). Their jurisdictions are the
    scope's, already in the session: reading `enterprise.jurisdiction` costs no query."""
    conditions = _enterprise_conditions(f, scope)
    columns = [Enterprise.name, Enterprise.id]
    query = select(Enterprise).where(*conditions)
    if cursor is not None:
        query = query.where(keyset.after(columns, cursor.key, False))
    found = list(session.scalars(query.order_by(*columns).limit(size + 1)))
    more, found = len(found) > size, found[:size]
    shown_before = cursor.shown if cursor is not None else 0
    total = None
    if count:
        total = count_capped(session, select(Enterprise.id).where(*conditions))
    counts: dict[int, tuple[int, int]] = {}
    if found:
        open_count = func.count(Case.id).filter(Case.closed_at.is_(None))
        for enterprise_id, open_n, all_n in session.execute(
                select(Case.enterprise_id, open_count, func.count(Case.id))
                .where(scope.where(Case), Case.enterprise_id.in_([e.id for e in found])).group_by(Case.enterprise_id)):
            counts[enterprise_id] = (open_n, all_n)
    rows = [EnterpriseRow(e, *counts.get(e.id, (0, 0))) for e in found]
    last_key = (found[-1].name, found[-1].id) if found else None
    page = Page(rows=rows, shown_before=shown_before, total=total, last_key=last_key)
    if more:
        page.next_cursor = keyset.encode("enterprises", EnterpriseFilters.sort_token, last_key,
                                         shown_before + len(found))
    return page


def supervisors_in_scope(session: Session, scope: Scope, limit: int = 500) -> list[tuple[int, str]]:
    """Active supervisors of the user's subtree, by name (the supervisor filter's choices)."""
    from compliance.models import Role, UserRole
    return [tuple(r) for r in session.execute(
        select(User.id, User.name).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.SUPERVISOR.value, User.is_active, scope.where(User))
        .order_by(User.name, User.id).limit(limit))]

