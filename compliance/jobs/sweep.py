"""The deadline sweep: approaching, due today and overdue reminders, and the "ready for the next step" flag.

One indexed query per chunk reads the open deadlines due up to the furthest approaching horizon that have no
reminder yet of the kind they call for now, for their current due date. Because it reads everything up to `now`,
a scheduler restarted after downtime sends what fell due while it was away, once, and only the kind that applies
today (a deadline that passed while nobody swept gets its overdue reminder, not a stale "approaching" one).
Because it compares due dates, a deadline that moved after its reminder (a year's holidays entered, a letter
served or issued again) is reminded again for its new date, once, and the message says the date changed.
Each chunk — its reminders, their outbox rows and the cases it flags — is one transaction: a crash loses nothing
and repeats nothing. The sweep never issues a notice: an overdue deadline only flags the case and tells the people.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import bindparam, case, exists, func, literal, select, tuple_

from compliance.clock import business_date
from compliance.jobs import messages, recipients
from compliance.jobs.settings import current_settings
from compliance.models import Case, Deadline, DeadlineStatus, Enterprise, Jurisdiction, Reminder
from compliance.models.reminder import ReminderKind
from compliance.operations.reminders import Planned, flag_ready, record_reminders
from compliance.policy import load_policy
from workflows.calendar import WorkCalendar


_APPROACHING, _OVERDUE = ReminderKind.APPROACHING, ReminderKind.OVERDUE
_KINDS = {kind.value: kind for kind in ReminderKind}


def nth_working_day_after(day: dt.date, n: int, calendar: WorkCalendar) -> dt.date:
    """The n-th working day after `day` (`day` itself for n = 0)."""
    for _ in range(n):
        day = calendar.next_working_day(day)
    return day


def working_days_between(today: dt.date, due: dt.date, calendar: WorkCalendar) -> int:
    """Working days after today up to and including `due`."""
    count, day = 0, today
    while day < due:
        day = calendar.next_working_day(day)
        count += 1
    return count


def _candidates(horizons: dict[str, dt.date], default_horizon: dt.date, furthest: dt.date, keyset: bool):
    """Open deadlines of open cases that call for a reminder today and have none of that kind for their current
    due date yet, with the date an earlier reminder of that kind told of (told_due_on) when the deadline moved."""
    d, c, e, j, r = (Deadline.__table__, Case.__table__, Enterprise.__table__, Jurisdiction.__table__,
                     Reminder.__table__)
    today = bindparam("today", type_=d.c.due_on.type)
    kind = case((d.c.due_on < today, literal(ReminderKind.OVERDUE.value)),
                (d.c.due_on == today, literal(ReminderKind.DUE.value)),
                else_=literal(ReminderKind.APPROACHING.value))
    if horizons:
        horizon = case({key: literal(day, type_=d.c.due_on.type) for key, day in horizons.items()},
                       value=d.c.rule_key, else_=literal(default_horizon, type_=d.c.due_on.type))
    else:
        horizon = literal(default_horizon, type_=d.c.due_on.type)
    told = select(func.max(r.c.due_on)).where(r.c.deadline_id == d.c.id, r.c.kind == kind).scalar_subquery()
    query = (select(d.c.id, d.c.case_id, d.c.label, d.c.legal_basis, d.c.due_on, d.c.is_provisional,
                    d.c.explanation, kind.label("kind"), told.label("told_due_on"), c.c.reference,
                    e.c.name.label("enterprise"),
                    c.c.jurisdiction_id, j.c.level, j.c.parent_id, j.c.path)
             .select_from(d).join(c, c.c.id == d.c.case_id).join(e, e.c.id == c.c.enterprise_id)
             .join(j, j.c.id == c.c.jurisdiction_id)
             .where(d.c.status == DeadlineStatus.OPEN.value,
                    d.c.due_on <= literal(furthest, type_=d.c.due_on.type),
                    d.c.due_on <= horizon,
                    c.c.closed_at.is_(None),
                    ~exists().where(r.c.deadline_id == d.c.id, r.c.kind == kind, r.c.due_on == d.c.due_on))
             .order_by(d.c.due_on, d.c.id).limit(bindparam("chunk")))
    if keyset:
        query = query.where(tuple_(d.c.due_on, d.c.id) > tuple_(bindparam("after_due", type_=d.c.due_on.type),
                                                               bindparam("after_id")))
    return query


def sweep_deadlines(session_factory, now: dt.datetime) -> dict:
    """Decide and queue every deadline reminder due at `now`; flag the cases with an overdue deadline."""
    settings = current_settings()
    today = business_date(now)
    with session_factory() as session:
        calendar = load_policy(session).calendar
    horizons = {key: nth_working_day_after(today, days, calendar) for key, days in settings.lead_days.items()}
    default_horizon = nth_working_day_after(today, settings.default_lead_days, calendar)
    furthest = max([default_horizon, today, *horizons.values()])
    summary: Counter = Counter()
    leaders = recipients.Leaders(None)   # read once per committee for the whole sweep
    after: tuple | None = None
    while True:
        with session_factory() as session:
            query = _candidates(horizons, default_horizon, furthest, keyset=after is not None)
            params = {"today": today, "chunk": settings.chunk}
            if after is not None:
                params.update(after_due=after[0], after_id=after[1])
            rows = session.execute(query, params).all()
            if not rows:
                break
            planned = _plan(session, rows, today, calendar, settings, leaders.using(session))
            new = record_reminders(session, planned, now=now, email=settings.email_enabled)
            overdue_cases = [row.case_id for row in rows if row.kind == _OVERDUE]
            summary["flagged"] += flag_ready(session, overdue_cases, now=now)
            session.commit()
        summary["deadlines"] += len(rows)
        summary.update(str(p.kind) for p in new)
        after = (rows[-1].due_on, rows[-1].id)
        if len(rows) < settings.chunk:
            break
    return {"today": today.isoformat(), "deadlines": summary.pop("deadlines", 0), "flagged": summary.pop("flagged", 0),
            "reminders": dict(summary)}


def _plan(session, rows, today: dt.date, calendar: WorkCalendar, settings,
          leaders: recipients.Leaders) -> list[Planned]:
    """Who gets what for one chunk of deadlines (two queries at most, however long the chunk)."""
    supervisors = recipients.assigned_supervisors(session, {row.case_id for row in rows})
    # The committees this chunk needs that the sweep has not read yet, in one query.
    leaders.load({c for row in rows for c in recipients.committees_of(recipients.CasePlace(
        row.case_id, row.jurisdiction_id, row.level, row.parent_id, row.path))})
    base_url = settings.public_base_url
    planned = []
    # Unpacked in _candidates' column order: a chunk is thousands of rows, and a row's attributes cost more.
    for (deadline_id, case_id, label, basis, due_on, provisional, explanation, kind, told, reference, enterprise,
         jurisdiction_id, level, parent_id, path) in rows:
        kind = _KINDS[kind]
        place = recipients.CasePlace(case_id, jurisdiction_id, level, parent_id, path)
        facts = messages.DeadlineFacts(deadline_id, case_id, reference, enterprise, label, basis, due_on,
                                       provisional, explanation or "", told)
        left = working_days_between(today, due_on, calendar) if kind is _APPROACHING else 0
        for person in recipients.for_case(kind, place, supervisors.get(case_id, []), leaders):
            planned.append(Planned(kind, person.id, person.email, case_id,
                                   _composer(kind, facts, person, today, left, base_url),
                                   deadline_id=deadline_id, due_on=due_on))
    return planned


def _composer(kind, facts, person, today, left, base_url):
    return lambda: messages.deadline_message(kind, facts, name=person.name,
                                             as_leader=person.role == recipients.LEADER, today=today,
                                             working_days_left=left, base_url=base_url)
