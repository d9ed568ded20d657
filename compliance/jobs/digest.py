"""The daily digest: at 08:30 Beijing time on working days (调休 Saturdays included, holidays not), each person
gets one message listing what is overdue, what falls due this week and what is provisional in their cases.

One digest per person per day (a reminder row with the date as its occasion): run it again, or on two
schedulers, and nobody gets a second one; start a scheduler at 10:00 after a night's downtime and the day's
digest still goes out, once.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import or_, select

from compliance.clock import BEIJING, business_date
from compliance.jobs import messages, recipients
from compliance.jobs.settings import current_settings
from compliance.models import Case, Deadline, DeadlineStatus, Enterprise, Jurisdiction
from compliance.models.reminder import ReminderKind
from compliance.operations.reminders import Planned, record_reminders
from compliance.policy import load_policy

#: When the digest goes out (Beijing time).
DIGEST_AT = dt.time(8, 30)
#: Case ids per IN (…) list when reading supervisors.
_IDS_PER_QUERY = 5000


def _week_end(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=6 - today.weekday())


def daily_digest(session_factory, now: dt.datetime) -> dict:
    """Queue today's digest for everyone with something open, if today is a working day and it is 08:30 or later."""
    settings = current_settings()
    today = business_date(now)
    with session_factory() as session:
        calendar = load_policy(session).calendar
        if not calendar.is_working_day(today):
            return {"today": today.isoformat(), "skipped": "rest day"}
        if now.astimezone(BEIJING).time() < DIGEST_AT:
            return {"today": today.isoformat(), "skipped": f"before {DIGEST_AT:%H:%M}"}
        sunday = _week_end(today)
        digests = _collect(session, today, sunday)
    names = digests.pop("_names")
    planned = []
    for person_id, digest in digests.items():
        if not digest:
            continue
        person = names[person_id]
        planned.append(Planned(
            kind=ReminderKind.DIGEST, recipient_id=person.id, email=person.email, case_id=None,
            occasion=today.isoformat(),
            compose=_composer(digest, person.name, today, sunday, settings.public_base_url)))
    sent = 0
    for start in range(0, len(planned), settings.chunk):
        with session_factory() as session:
            sent += len(record_reminders(session, planned[start:start + settings.chunk], now=now,
                                         email=settings.email_enabled))
            session.commit()
    return {"today": today.isoformat(), "people": len(planned), "reminders": {ReminderKind.DIGEST.value: sent}}


def _composer(digest, name, today, sunday, base_url):
    return lambda: messages.digest_message(digest, name=name, today=today, sunday=sunday, base_url=base_url)


def _collect(session, today: dt.date, sunday: dt.date) -> dict:
    """recipient id → Digest, plus "_names": recipient id → Recipient."""
    d, c, e, j = Deadline.__table__, Case.__table__, Enterprise.__table__, Jurisdiction.__table__
    rows = session.execute(
        select(d.c.case_id, d.c.label, d.c.due_on, d.c.is_provisional, c.c.reference, e.c.name.label("enterprise"),
               c.c.jurisdiction_id, j.c.level, j.c.parent_id, j.c.path)
        .select_from(d).join(c, c.c.id == d.c.case_id).join(e, e.c.id == c.c.enterprise_id)
        .join(j, j.c.id == c.c.jurisdiction_id)
        .where(d.c.status == DeadlineStatus.OPEN.value, c.c.closed_at.is_(None),
               or_(d.c.due_on <= sunday, d.c.is_provisional.is_(True)))
        .order_by(d.c.due_on, d.c.id)).all()
    case_ids = sorted({row.case_id for row in rows})
    supervisors: dict[int, list] = {}
    for start in range(0, len(case_ids), _IDS_PER_QUERY):
        supervisors.update(recipients.assigned_supervisors(session, case_ids[start:start + _IDS_PER_QUERY]))
    leaders = recipients.Leaders(session)
    digests: dict = defaultdict(messages.Digest)
    names: dict[int, recipients.Recipient] = {}
    for row in rows:
        place = recipients.CasePlace(case_id=row.case_id, jurisdiction_id=row.jurisdiction_id, level=row.level,
                                     parent_id=row.parent_id, path=row.path)
        overdue = row.due_on < today
        # The same people as the sweep's: overdue items reach the leaders too.
        kind = ReminderKind.OVERDUE if overdue else ReminderKind.DUE
        item = messages.DigestItem(case_id=row.case_id, reference=row.reference, enterprise=row.enterprise,
                                   label=row.label, due_on=row.due_on, is_provisional=row.is_provisional)
        for person in recipients.for_case(kind, place, supervisors.get(row.case_id, []), leaders):
            names[person.id] = person
            digest = digests[person.id]
            if overdue:
                digest.overdue.append(item)
            elif row.due_on <= sunday:
                digest.this_week.append(item)
            if row.is_provisional:
                digest.provisional.append(item)
    digests["_names"] = names
    return digests
