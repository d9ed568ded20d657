"""Two periodic checks: the monthly union-funds check and the yearly holiday-data check."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, select

from compliance.clock import business_date
from compliance.jobs import messages, recipients
from compliance.jobs.settings import current_settings
from compliance.models import Case, CaseViolation, Deadline, DeadlineStatus, Enterprise, Jurisdiction
from compliance.models.reminder import ReminderKind
from compliance.operations.reminders import Planned, record_reminders
from compliance.policy import load_policy
from workflows.ladder import Violation

#: From this month on, next year's holiday data is expected (the State Council publishes it in Nov or Dec).
CALENDAR_CHECK_FROM_MONTH = 11


def funds_check(session_factory, now: dt.datetime) -> dict:
    """On the first working day after the monthly union-funds due day, ask the supervisors of every open
    unpaid-funds case to check whether the enterprise paid this month (once per case and month)."""
    settings = current_settings()
    today = business_date(now)
    with session_factory() as session:
        calendar = load_policy(session).calendar
    # "每月15日前" (BJM 55(2)): a payment on the due day itself is on time unless configured otherwise, as the
    # arrears count it (UNION_FUNDS_DUE_DAY_ON_TIME); the check asks once the day has passed without payment.
    on_time_day = settings.union_funds_due_day if settings.union_funds_due_day_on_time \
        else settings.union_funds_due_day - 1
    if today.day <= on_time_day:
        return {"today": today.isoformat(), "skipped": f"due day {settings.union_funds_due_day} not passed"}
    if not calendar.is_working_day(today):
        return {"today": today.isoformat(), "skipped": "rest day"}
    month = f"{today:%Y-%m}"
    c, e, j, v = Case.__table__, Enterprise.__table__, Jurisdiction.__table__, CaseViolation.__table__
    query = (select(c.c.id, c.c.reference, e.c.name.label("enterprise"), c.c.jurisdiction_id, j.c.level,
                    j.c.parent_id, j.c.path)
             .select_from(c).join(e, e.c.id == c.c.enterprise_id).join(j, j.c.id == c.c.jurisdiction_id)
             .where(c.c.closed_at.is_(None),
                    exists().where(v.c.case_id == c.c.id, v.c.violation == Violation.UNPAID_FUNDS.value))
             .order_by(c.c.id).limit(settings.chunk))
    cases = sent = 0
    after = 0
    while True:
        with session_factory() as session:
            rows = session.execute(query.where(c.c.id > after)).all()
            if not rows:
                break
            supervisors = recipients.assigned_supervisors(session, [row.id for row in rows])
            leaders = recipients.Leaders(session)
            planned = []
            for row in rows:
                place = recipients.CasePlace(case_id=row.id, jurisdiction_id=row.jurisdiction_id, level=row.level,
                                             parent_id=row.parent_id, path=row.path)
                facts = messages.FundsFacts(case_id=row.id, reference=row.reference, enterprise=row.enterprise)
                for person in recipients.for_case(ReminderKind.FUNDS_CHECK, place, supervisors.get(row.id, []),
                                                  leaders):
                    planned.append(Planned(
                        kind=ReminderKind.FUNDS_CHECK, recipient_id=person.id, email=person.email, case_id=row.id,
                        occasion=f"funds-{row.id}-{month}",
                        compose=_funds_composer(facts, person.name, today, settings)))
            sent += len(record_reminders(session, planned, now=now, email=settings.email_enabled))
            session.commit()
        cases += len(rows)
        after = rows[-1].id
        if len(rows) < settings.chunk:
            break
    return {"today": today.isoformat(), "month": month, "cases": cases,
            "reminders": {ReminderKind.FUNDS_CHECK.value: sent}}


def _funds_composer(facts, name, today, settings):
    return lambda: messages.funds_message(facts, name=name, today=today, due_day=settings.union_funds_due_day,
                                          base_url=settings.public_base_url)


def missing_years(today: dt.date, calendar) -> list[int]:
    """This year when it has no holiday data; next year too from November on."""
    years = [today.year] if not calendar.is_known_year(today.year) else []
    if today.month >= CALENDAR_CHECK_FROM_MONTH and not calendar.is_known_year(today.year + 1):
        years.append(today.year + 1)
    return years


def calendar_check(session_factory, now: dt.datetime) -> dict:
    """Warn the city's admins, once a week, while a year's holiday data is missing, with the number of open
    deadlines that are provisional because of it."""
    settings = current_settings()
    today = business_date(now)
    with session_factory() as session:
        calendar = load_policy(session).calendar
        years = missing_years(today, calendar)
        if not years:
            return {"today": today.isoformat(), "missing": []}
        provisional = session.scalar(select(func.count(Deadline.id)).where(
            Deadline.status == DeadlineStatus.OPEN.value, Deadline.is_provisional.is_(True),
            Deadline.due_on >= dt.date(years[0], 1, 1))) or 0
        week = today.isocalendar()
        occasion = f"calendar-{'-'.join(map(str, years))}-{week.year}W{week.week:02d}"
        planned = [Planned(kind=ReminderKind.CALENDAR_CHECK, recipient_id=admin.id, email=admin.email, case_id=None,
                           occasion=occasion,
                           compose=_calendar_composer(years, provisional, admin.name, today, settings))
                   for admin in recipients.holiday_admins(session)]
        sent = len(record_reminders(session, planned, now=now, email=settings.email_enabled))
        session.commit()
    return {"today": today.isoformat(), "missing": years, "provisional": provisional,
            "reminders": {ReminderKind.CALENDAR_CHECK.value: sent}}


def _calendar_composer(years, provisional, name, today, settings):
    return lambda: messages.calendar_message(years, provisional, name=name, today=today,
                                             base_url=settings.public_base_url)
