"""Who is told what: the federation's reminder rules, in one place.

- Approaching and due-today reminders, the union-funds check and the daily digest go to the supervisors assigned
  to the case (the 监督员 who work it).
- An overdue deadline goes to them and to their leaders: the approvers (committee chair or vice-chair) of the
  case's own committee and of its district's committee, which issues the county-level letters (BJM Art 28).
- A case nobody is assigned to (or whose supervisors have all moved out of its jurisdiction) is never
  silent: its reminders go to those leaders.
- The calendar check goes to the city-level admins, the only accounts that may enter holiday data.
- Only active accounts, and only about cases inside their jurisdiction (an account moved elsewhere stops
  receiving reminders about cases it can no longer open).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.db import id_in
from compliance.models import CaseAssignment, Jurisdiction, JurisdictionLevel, Role, User, UserRole
from compliance.models.reminder import ReminderKind

_OVERDUE = ReminderKind.OVERDUE
_STREET = JurisdictionLevel.STREET.value

SUPERVISOR = "supervisor"
LEADER = "leader"
ADMIN = "admin"


@dataclass(frozen=True)
class Recipient:
    id: int
    name: str
    email: str | None
    #: The recipient's jurisdiction path, for the scope check.
    path: str
    #: Why they receive it: SUPERVISOR (assigned), LEADER (approver of the committee) or ADMIN.
    role: str = SUPERVISOR

    def sees(self, case_path: str) -> bool:
        return case_path.startswith(self.path)


class CasePlace(NamedTuple):
    """Where a case sits: what the rules need to know about its jurisdiction."""

    case_id: int
    jurisdiction_id: int
    level: str
    parent_id: int | None
    path: str


def committees_of(place: CasePlace) -> tuple[int, ...]:
    """The committees whose leaders answer for a case: its own, and its district's when it is a street's."""
    if place.level == _STREET and place.parent_id is not None:
        return (place.jurisdiction_id, place.parent_id)
    return (place.jurisdiction_id,)


def _user_columns():
    return (User.id, User.name, User.email, Jurisdiction.path)


def assigned_supervisors(session: Session, case_ids: Iterable[int]) -> dict[int, list[Recipient]]:
    """case id → its active assigned supervisors (one query)."""
    case_ids = list(case_ids)
    out: dict[int, list[Recipient]] = defaultdict(list)
    if not case_ids:
        return out
    rows = session.execute(select(CaseAssignment.case_id, *_user_columns())
                           .join(User, User.id == CaseAssignment.user_id)
                           .join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
                           .where(id_in(session, CaseAssignment.case_id, case_ids), User.is_active.is_(True))
                           .order_by(CaseAssignment.case_id, User.id))
    for case_id, user_id, name, email, path in rows:
        out[case_id].append(Recipient(user_id, name, email or None, path, SUPERVISOR))
    return out


class Leaders:
    """The active approvers of each committee, read once per committee for the length of a job."""

    def __init__(self, session: Session | None):
        self._session = session
        self._by_committee: dict[int, list[Recipient]] = {}

    def using(self, session: Session) -> Leaders:
        """Read what is still missing through `session` (a job that commits in chunks keeps what it read)."""
        self._session = session
        return self

    def load(self, committee_ids: Iterable[int]) -> None:
        wanted = {i for i in committee_ids if i not in self._by_committee}
        if not wanted:
            return
        for i in wanted:
            self._by_committee[i] = []
        rows = self._session.execute(select(User.jurisdiction_id, *_user_columns())
                                     .join(UserRole, UserRole.user_id == User.id)
                                     .join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
                                     .where(UserRole.role == Role.APPROVER.value, User.is_active.is_(True),
                                            User.jurisdiction_id.in_(wanted))
                                     .order_by(User.id))
        for committee_id, user_id, name, email, path in rows:
            self._by_committee[committee_id].append(Recipient(user_id, name, email or None, path, LEADER))

    def of(self, place: CasePlace) -> list[Recipient]:
        committees = committees_of(place)
        self.load(committees)
        return [r for c in committees for r in self._by_committee[c]]


def for_case(kind: ReminderKind, place: CasePlace, supervisors: list[Recipient], leaders: Leaders) -> list[Recipient]:
    """Who receives a reminder of `kind` about a case (each person once, supervisors first)."""
    # A supervisor moved out of the case's jurisdiction no longer works it: a case left with none is unassigned.
    chosen = [r for r in supervisors if r.sees(place.path)]
    if kind is _OVERDUE or not chosen:
        chosen += leaders.of(place)
    seen: set[int] = set()
    out = []
    for r in chosen:
        if r.id not in seen and r.sees(place.path):
            seen.add(r.id)
            out.append(r)
    return out


def holiday_admins(session: Session) -> list[Recipient]:
    """Active admins of the city federation: they alone may enter a year's holidays."""
    rows = session.execute(select(*_user_columns())
                           .join(UserRole, UserRole.user_id == User.id)
                           .join(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
                           .where(UserRole.role == Role.ADMIN.value, User.is_active.is_(True),
                                  Jurisdiction.parent_id.is_(None))
                           .order_by(User.id))
    return [Recipient(user_id, name, email or None, path, ADMIN) for user_id, name, email, path in rows]
