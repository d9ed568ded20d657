"""Deadline reminders: each job with a fixed `now` across the 2026 calendar, the outbox, e-mail on a real SMTP
server on loopback, and the inbox and deadline pages.

The jobs run on the test's own connection (every commit of theirs is a savepoint, all rolled back afterwards).
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import threading

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from compliance.jobs import JOBS, run_job
from compliance.jobs.checks import calendar_check, funds_check
from compliance.jobs.delivery import deliver_outbox
from compliance.jobs.digest import daily_digest
from compliance.jobs.sweep import sweep_deadlines
from compliance.models import Case, Deadline, InboxMessage, Jurisdiction, OutboxMessage, Reminder, Role, User
from compliance.operations.cases import fire_trigger
from compliance.operations.reminders import clear_ready
from workflows.deadlines import DEFAULT_RULES

BEIJING = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "correct horse battery"


def at(day: str, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A Beijing moment on `day` (ISO date)."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=BEIJING)


# ----------------------------------------------------------------------------------------------- fixtures

class LoopbackSMTP(Controller):
    """aiosmtpd on 127.0.0.1, port chosen by the OS (port 0); every accepted message kept in `messages`."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []
        self._lock = threading.Lock()
        super().__init__(self, hostname="127.0.0.1", port=0, ready_timeout=10)

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.envelopes.append(envelope)
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]   # the port the OS gave
        super()._trigger_server()


@pytest.fixture
def smtp_server():
    server = LoopbackSMTP()
    server.start()
    yield server
    server.stop()


def refusing_port() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def only_this_tests_rows(request):
    """The jobs read the whole database, not just the test's rows: whatever is already there (a developer's
    database, a test that committed) is closed and deactivated inside this test's transaction, which is rolled
    back after it, so a job sees only what the test made."""
    if "session" not in request.fixturenames:
        return
    session = request.getfixturevalue("session")
    from sqlalchemy import update
    session.execute(update(Deadline.__table__).where(Deadline.__table__.c.status == "open").values(status="met"))
    session.execute(update(Case.__table__).where(Case.__table__.c.closed_at.is_(None))
                    .values(closed_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)))
    session.execute(update(User.__table__).values(is_active=False))


@pytest.fixture
def jobs(session):
    """A session factory for the jobs on the test's connection."""
    session.flush()
    return sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def deadline_for(session, make_case, now):
    """An open deadline of a (new) case falling due on `due`, as a ladder step stores it."""
    def make(due: str, *, case=None, rule_key="visit_rectification", provisional=False, status="open"):
        case = case or make_case()
        rule = DEFAULT_RULES[rule_key]
        due_on = dt.date.fromisoformat(due)
        row = Deadline(case_id=case.id, rule_key=rule.key, label=rule.label, period=rule.period,
                       counting=rule.counting.value, legal_basis=rule.legal_basis,
                       start_on=due_on - dt.timedelta(days=rule.period), due_on=due_on, is_provisional=provisional,
                       explanation=f"{rule.label}：测试用计算说明。", status=status, created_at=now)
        session.add(row)
        session.flush()
        return row
    return make


def reminders(session, *, kind: str | None = None, deadline: Deadline | None = None) -> list[tuple]:
    """(kind, recipient id) of the reminders sent, oldest first."""
    query = select(Reminder.kind, Reminder.recipient_id).order_by(Reminder.id)
    if kind is not None:
        query = query.where(Reminder.kind == kind)
    if deadline is not None:
        query = query.where(Reminder.deadline_id == deadline.id)
    return [tuple(r) for r in session.execute(query)]


def outbox(session, **where) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)))


# --------------------------------------------------------------------------------------------------- sweep

def test_approaching_due_and_overdue_each_once_on_working_days(session, jobs, deadline_for, supervisor):
    deadline = deadline_for("2026-11-26")   # a Thursday
    # Friday before: Thursday is the fourth working day ahead, not yet "approaching" (lead 3 working days).
    assert sweep_deadlines(jobs, at("2026-11-20"))["reminders"] == {}
    summary = sweep_deadlines(jobs, at("2026-11-23"))   # Monday: three working days before
    assert summary["reminders"] == {"approaching": 1}
    assert reminders(session, deadline=deadline) == [("approaching", supervisor.id)]
    sweep_deadlines(jobs, at("2026-11-24"))
    sweep_deadlines(jobs, at("2026-11-25", 23, 59))
    assert reminders(session, deadline=deadline) == [("approaching", supervisor.id)]   # nothing twice
    assert sweep_deadlines(jobs, at("2026-11-26", 0, 5))["reminders"] == {"due": 1}
    assert sweep_deadlines(jobs, at("2026-11-26", 17))["reminders"] == {}
    assert sweep_deadlines(jobs, at("2026-11-27"))["reminders"] == {"overdue": 1}
    assert sweep_deadlines(jobs, at("2026-11-30"))["reminders"] == {}
    assert reminders(session, deadline=deadline) == [
        ("approaching", supervisor.id), ("due", supervisor.id), ("overdue", supervisor.id)]
    # Each reminder went to the inbox queue once (no e-mail: SMTP is not configured in the tests by default).
    assert [m.channel for m in outbox(session, recipient_id=supervisor.id)] == ["inbox"] * 3


def test_a_make_up_saturday_counts_as_a_working_day(session, jobs, deadline_for):
    deadline = deadline_for("2026-10-13")   # Tuesday after National Day; Saturday 10 October 2026 is a 调休 workday
    # Thursday 8 October: Fri 9, Sat 10 (working) and Mon 12 are the three working days ahead: not yet.
    assert sweep_deadlines(jobs, at("2026-10-08"))["reminders"] == {}
    assert sweep_deadlines(jobs, at("2026-10-09"))["reminders"] == {"approaching": 1}
    [row] = outbox(session, reminder_id=session.scalar(select(Reminder.id).where(Reminder.deadline_id == deadline.id)))
    assert "还有3个工作日" in row.body and "2026年10月13日（星期二）" in row.body
    assert sweep_deadlines(jobs, at("2026-10-10"))["reminders"] == {}


def test_the_lead_is_configured_per_rule(app, session, jobs, deadline_for, monkeypatch):
    monkeypatch.setitem(app.config, "REMINDER_LEAD_DAYS", {"opinion_reply": 5})
    opinion = deadline_for("2026-11-30", rule_key="opinion_reply")      # Monday
    visit = deadline_for("2026-11-30")
    sweep_deadlines(jobs, at("2026-11-23"))   # five working days before Monday 30th
    assert reminders(session, deadline=opinion) and not reminders(session, deadline=visit)
    sweep_deadlines(jobs, at("2026-11-25"))   # three working days before
    assert reminders(session, deadline=visit)


def test_a_wrong_lead_is_refused_with_the_key_named(app, jobs, monkeypatch):
    monkeypatch.setitem(app.config, "REMINDER_LEAD_DAYS", {"no_such_rule": 2})
    with pytest.raises(ValueError, match="no_such_rule"):
        sweep_deadlines(jobs, at("2026-11-23"))


def test_after_downtime_only_what_applies_now_is_sent_once(session, jobs, deadline_for, supervisor):
    deadline = deadline_for("2026-11-23")
    # The scheduler was down from the 18th to the 25th: it comes back and sends the overdue reminder only.
    assert sweep_deadlines(jobs, at("2026-11-25"))["reminders"] == {"overdue": 1}
    assert sweep_deadlines(jobs, at("2026-11-25", 10, 5))["reminders"] == {}
    assert reminders(session, deadline=deadline) == [("overdue", supervisor.id)]


def test_overdue_flags_the_case_ready_and_a_step_clears_it(session, jobs, deadline_for, supervisor, now):
    deadline = deadline_for("2026-11-23")
    case = session.get(Case, deadline.case_id)
    sweep_deadlines(jobs, at("2026-11-23"))
    session.expire_all()
    assert case.ready_since is None
    summary = sweep_deadlines(jobs, at("2026-11-24"))
    assert summary["flagged"] == 1
    session.expire_all()
    assert case.ready_since == at("2026-11-24").astimezone(dt.timezone.utc)
    version = case.version
    assert version == session.get(Case, case.id).version   # the flag is not a change of the case's facts
    clear_ready(case)
    session.flush()
    session.expire_all()
    assert session.get(Case, case.id).ready_since is None


def test_closed_and_met_deadlines_are_left_alone(session, jobs, deadline_for):
    deadline_for("2026-11-23", status="met")
    deadline_for("2026-11-23", status="superseded")
    assert sweep_deadlines(jobs, at("2026-11-24"))["deadlines"] == 0


def test_a_deadline_from_a_real_step_is_swept(session, jobs, make_case, supervisor, send_letters):
    from compliance.testing import serve_issued
    case = make_case()
    fire_trigger(session, case.id, "record_visit", {"visited_on": "2026-11-20", "findings": "职工80人，未建会",
                                                    "supervisors": ["王芳", "李强"]},
                 actor=supervisor, now=at("2026-11-20"))
    [deadline] = session.scalars(select(Deadline).where(Deadline.case_id == case.id)).all()
    # 待送达: the visit letter's period has not started, so it is never approaching, due or overdue
    assert (deadline.status, deadline.due_on) == ("awaiting_service", None)
    assert sweep_deadlines(jobs, at("2027-06-01"))["deadlines"] == 0
    send_letters(case.id, at("2026-11-20"))
    serve_issued(session, case.id, actor=supervisor, served_on=dt.date(2026, 11, 20), now=at("2026-11-20"))
    assert deadline.due_on == dt.date(2026, 12, 21)   # 30 days: Sunday 20 December moves to Monday the 21st
    assert sweep_deadlines(jobs, at("2026-12-16"))["reminders"] == {"approaching": 1}


# ------------------------------------------------------------------------------------------------ recipients

@pytest.fixture
def places(session):
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    city = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110000"))
    return {"chaoyang": chaoyang, "haidian": haidian, "city": city}


def test_overdue_reaches_the_leaders_of_the_case_committee_and_district_only(session, jobs, deadline_for, supervisor,
                                                                          make_user, approver, places, jurisdiction):
    street_chair = make_user(name="街道主任", roles={Role.APPROVER}, jurisdiction=jurisdiction)
    other_district = make_user(name="海淀主任", roles={Role.APPROVER}, jurisdiction=places["haidian"])
    city_chair = make_user(name="市级主任", roles={Role.APPROVER}, jurisdiction=places["city"])
    retired = make_user(name="已停用", roles={Role.APPROVER}, jurisdiction=places["chaoyang"])
    retired.is_active = False
    deadline = deadline_for("2026-11-26")
    sweep_deadlines(jobs, at("2026-11-23"))
    sweep_deadlines(jobs, at("2026-11-26"))
    assert {r for k, r in reminders(session, deadline=deadline)} == {supervisor.id}   # approaching, due: the supervisor
    sweep_deadlines(jobs, at("2026-11-27"))
    overdue = {r for _k, r in reminders(session, kind="overdue", deadline=deadline)}
    assert overdue == {supervisor.id, street_chair.id, approver.id}
    assert not overdue & {other_district.id, city_chair.id, retired.id}
    [leader_mail] = [m for m in outbox(session, recipient_id=approver.id)]
    assert "审批领导" in leader_mail.body and "可进入下一步" in leader_mail.body


def test_a_case_nobody_is_assigned_to_reminds_its_leaders(session, jobs, make_case, deadline_for, approver):
    case = make_case()
    case.assignments.clear()
    session.flush()
    deadline = deadline_for("2026-11-26", case=case)
    sweep_deadlines(jobs, at("2026-11-23"))
    assert reminders(session, deadline=deadline) == [("approaching", approver.id)]


def test_a_supervisor_moved_out_of_the_jurisdiction_is_not_reminded(session, jobs, deadline_for, supervisor,
                                                                     places, approver):
    deadline = deadline_for("2026-11-26")
    supervisor.jurisdiction = places["haidian"]
    session.flush()
    sweep_deadlines(jobs, at("2026-11-23"))
    assert supervisor.id not in {r for _k, r in reminders(session, deadline=deadline)}


# ---------------------------------------------------------------------------------------------------- digest

def test_the_digest_goes_out_on_working_days_only(session, jobs, deadline_for, supervisor):
    deadline_for("2026-10-10")   # a last day on the make-up Saturday itself
    for rest_day in ("2026-10-01", "2026-10-04", "2026-10-11", "2026-11-28"):   # holiday, holiday Sunday, Sun, Sat
        assert daily_digest(jobs, at(rest_day, 8, 30))["skipped"] == "rest day", rest_day
    assert daily_digest(jobs, at("2026-10-09", 8, 29))["skipped"] == "before 08:30"
    assert reminders(session, kind="digest") == []
    # The make-up Saturday is a working day: the digest goes out.
    assert daily_digest(jobs, at("2026-10-10", 8, 30))["reminders"] == {"digest": 1}
    assert daily_digest(jobs, at("2026-10-10", 15))["reminders"] == {"digest": 0}
    assert reminders(session, kind="digest") == [("digest", supervisor.id)]


def test_the_digest_lists_overdue_this_week_and_provisional(session, jobs, make_case, deadline_for, supervisor,
                                                             approver):
    case = make_case()
    deadline_for("2026-11-20", case=case)                                     # overdue
    deadline_for("2026-11-26", case=case, rule_key="opinion_reply")           # this week
    deadline_for("2027-01-05", case=case, rule_key="payment_demand", provisional=True)
    deadline_for("2026-12-15", case=case, rule_key="listing_followup")        # later: not listed
    assert daily_digest(jobs, at("2026-11-24", 8, 30))["people"] == 2        # the supervisor and the leader
    [mine] = outbox(session, recipient_id=supervisor.id)
    assert mine.subject == "【每日提醒】2026年11月24日：已逾期1项，本周到期1项，暂定1项"
    assert case.reference in mine.body and "已逾期4天" in mine.body and "2027年1月5日" in mine.body
    assert "跟进信用惩戒" not in mine.body
    [leader] = outbox(session, recipient_id=approver.id)
    assert "已逾期1项，本周到期0项" in leader.subject   # the leader hears of the overdue item only


# ----------------------------------------------------------------------------------------------- funds check

def test_funds_check_after_the_due_day_once_a_month(session, jobs, make_case, supervisor):
    funds = make_case(violations=("unpaid_funds",))
    make_case(violations=("no_union",))
    assert funds_check(jobs, at("2026-11-13"))["skipped"].startswith("due day")
    assert funds_check(jobs, at("2026-11-15"))["skipped"].startswith("due day")
    assert funds_check(jobs, at("2026-11-21"))["skipped"] == "rest day"        # a Saturday
    assert funds_check(jobs, at("2026-11-16"))["reminders"] == {"funds_check": 1}
    assert funds_check(jobs, at("2026-11-17"))["reminders"] == {"funds_check": 0}
    assert funds_check(jobs, at("2026-12-16"))["reminders"] == {"funds_check": 1}
    rows = session.execute(select(Reminder.case_id, Reminder.occasion).where(Reminder.kind == "funds_check")
                           .order_by(Reminder.id)).all()
    assert rows == [(funds.id, f"funds-{funds.id}-2026-11"), (funds.id, f"funds-{funds.id}-2026-12")]
    [first, _] = outbox(session, recipient_id=supervisor.id)
    assert "第五十五条第二款" in first.body and "2026年11月" in first.subject


# -------------------------------------------------------------------------------------------- calendar check

def test_calendar_check_warns_city_admins_from_november_while_next_year_is_missing(
        session, jobs, deadline_for, city_admin, make_user, places, now):
    from compliance.operations.holidays import enter_holiday_year
    from workflows.calendar import DayKind, HolidayOverride
    district_admin = make_user(roles={Role.ADMIN}, jurisdiction=places["chaoyang"])
    deadline_for("2027-01-05", provisional=True)
    deadline_for("2026-12-29")
    assert calendar_check(jobs, at("2026-10-30"))["missing"] == []
    summary = calendar_check(jobs, at("2026-11-02"))
    assert summary["missing"] == [2027] and summary["reminders"] == {"calendar_check": 1}
    assert summary["provisional"] >= 1
    assert calendar_check(jobs, at("2026-11-04"))["reminders"] == {"calendar_check": 0}   # once a week
    assert calendar_check(jobs, at("2026-11-09"))["reminders"] == {"calendar_check": 1}
    assert {r for _k, r in reminders(session, kind="calendar_check")} == {city_admin.id}
    assert district_admin.id not in {m.recipient_id for m in outbox(session)}
    [mail, _] = outbox(session, recipient_id=city_admin.id)
    assert "2027年" in mail.subject and "暂定" in mail.body
    enter_holiday_year(session, year=2027, days=[HolidayOverride(dt.date(2027, 1, 1), DayKind.HOLIDAY, "元旦")],
                       source="国务院办公厅关于2027年部分节假日安排的通知", actor=city_admin, now=now)
    assert calendar_check(jobs, at("2026-11-16"))["missing"] == []


# ---------------------------------------------------------------------------------------------------- twice

def test_every_job_twice_sends_nothing_twice(app, session, jobs, make_case, deadline_for, city_admin, monkeypatch,
                                             smtp_server, supervisor):
    supervisor.email = "liu.yang@union.example.cn"
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    monkeypatch.setitem(app.config, "SMTP_SECURITY", "none")
    case = make_case(violations=("unpaid_funds",))
    deadline_for("2026-11-16", case=case)
    moment = at("2026-11-17", 9, 30)
    for name in JOBS:
        run_job(name, jobs, moment)
    first = len(outbox(session)), len(smtp_server.messages)
    for name in JOBS:
        run_job(name, jobs, moment)
    assert (len(outbox(session)), len(smtp_server.messages)) == first
    assert first[1] >= 3   # overdue, digest, funds check by e-mail at least


# -------------------------------------------------------------------------------------------------- delivery

@pytest.fixture
def mail_config(app, monkeypatch):
    def configure(port: int):
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "SMTP_SECURITY", "none")
        monkeypatch.setitem(app.config, "MAIL_FROM", "提醒 <reminders@union.example.cn>")
        monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://jiandu.example.cn")
    return configure


def test_mails_reach_a_real_smtp_server_in_chinese(session, jobs, deadline_for, supervisor, smtp_server, mail_config):
    mail_config(smtp_server.port)
    supervisor.email = "liu.yang@union.example.cn"
    deadline = deadline_for("2026-11-24", rule_key="opinion_reply")
    case = session.get(Case, deadline.case_id)
    sweep_deadlines(jobs, at("2026-11-24"))
    summary = deliver_outbox(jobs, at("2026-11-24"))
    assert summary == {"inbox": 1, "email_sent": 1, "email_retry": 0, "email_failed": 0}
    [mail] = smtp_server.messages
    assert smtp_server.envelopes[0].rcpt_tos == ["liu.yang@union.example.cn"]
    assert mail["Subject"] == (f"【今日到期】{case.reference} {case.enterprise.name}："
                               "企业书面答复监督意见书期限今日届满")
    body = mail.get_content()
    for text in (case.reference, case.enterprise.name, "企业书面答复监督意见书期限", "2026年11月24日",
                 "第二十八条第一款", f"https://jiandu.example.cn/cases/{case.id}", "不会自行制发任何法律文书"):
        assert text in body, text
    [message] = session.scalars(select(InboxMessage).where(InboxMessage.user_id == supervisor.id)).all()
    assert message.title == mail["Subject"] and message.link == f"/cases/{case.id}" and message.read_at is None
    assert deliver_outbox(jobs, at("2026-11-24", 11)) == {"inbox": 0, "email_sent": 0, "email_retry": 0,
                                                          "email_failed": 0}
    assert len(smtp_server.messages) == 1


def test_a_refusing_server_leaves_the_mail_pending_and_a_later_run_delivers_it(session, jobs, deadline_for,
                                                                               supervisor, smtp_server, mail_config):
    supervisor.email = "liu.yang@union.example.cn"
    deadline_for("2026-11-24")
    mail_config(refusing_port())
    sweep_deadlines(jobs, at("2026-11-24"))
    summary = deliver_outbox(jobs, at("2026-11-24"))
    assert summary["email_retry"] == 1 and summary["inbox"] == 1
    [mail] = outbox(session, channel="email")
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert "无法连接邮件服务器" in mail.last_error
    assert mail.next_attempt_at == at("2026-11-24", 10, 1).astimezone(dt.timezone.utc)   # 60 s later
    mail_config(smtp_server.port)
    assert deliver_outbox(jobs, at("2026-11-24", 10, 0))["email_sent"] == 0   # not before its time
    assert deliver_outbox(jobs, at("2026-11-24", 10, 2))["email_sent"] == 1
    [mail] = outbox(session, channel="email")
    assert (mail.status, mail.attempts, mail.last_error) == ("sent", 2, "")
    assert len(smtp_server.messages) == 1


def test_after_the_last_attempt_a_mail_is_failed_and_an_admin_sees_why(app, session, jobs, deadline_for, supervisor,
                                                                      mail_config, monkeypatch):
    supervisor.email = "liu.yang@union.example.cn"
    deadline_for("2026-11-24")
    mail_config(refusing_port())
    sweep_deadlines(jobs, at("2026-11-24"))
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    moment = at("2026-11-24")
    for _ in range(3):
        deliver_outbox(jobs, moment)
        moment += dt.timedelta(hours=1)
    [mail] = outbox(session, channel="email")
    assert (mail.status, mail.attempts) == ("failed", 3)
    assert deliver_outbox(jobs, moment + dt.timedelta(days=2))["email_retry"] == 0   # given up


def test_smtp_authentication_and_tls_settings_are_used(app, monkeypatch):
    from compliance.jobs.settings import ReminderSettings
    settings = ReminderSettings.from_config({"SMTP_HOST": "mail.example.cn", "SMTP_SECURITY": "tls"})
    assert (settings.smtp_port, settings.email_enabled) == (465, True)
    assert ReminderSettings.from_config({"SMTP_HOST": "h", "SMTP_SECURITY": "STARTTLS"}).smtp_port == 587
    with pytest.raises(ValueError, match="SMTP_SECURITY"):
        ReminderSettings.from_config({"SMTP_SECURITY": "ssl3"})
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        ReminderSettings.from_config({"PUBLIC_BASE_URL": "javascript:alert(1)"})


def test_starttls_and_login_are_asked_for_and_a_server_without_them_is_named(smtp_server):
    from types import SimpleNamespace

    from compliance.jobs.delivery import _send_all
    from compliance.jobs.settings import ReminderSettings
    row = SimpleNamespace(id=1, address="a@example.cn", subject="主题", body="正文", attempts=1)
    for settings in (ReminderSettings(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="starttls"),
                     ReminderSettings(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none",
                                      smtp_username="u", smtp_password="p")):
        [(_, error)] = _send_all([row], settings, at("2026-11-24"))
        assert error.startswith("邮件服务器不支持所需的功能"), error
    assert smtp_server.messages == []   # nothing went out in the clear when TLS or a login was asked for
    plain = ReminderSettings(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none")
    assert _send_all([row], plain, at("2026-11-24")) == [(row, None)]
    assert smtp_server.messages[0]["Message-ID"] == "<compliance-outbox-1@localhost>"


# ----------------------------------------------------------------------------------------------------- pages

def login(client, user):
    assert client.post("/login", data={"login": user.login, "password": PASSWORD}).status_code == 302
    return client


def real_today() -> dt.date:
    from compliance.clock import business_date, utcnow
    return business_date(utcnow())


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_inbox_lists_messages_and_the_header_counts_the_unread(app, session, jobs, deadline_for, supervisor,
                                                                   make_user):
    today = real_today()
    deadline = deadline_for(today.isoformat())
    case = session.get(Case, deadline.case_id)
    moment = dt.datetime.combine(today, dt.time(10), tzinfo=BEIJING)
    sweep_deadlines(jobs, moment)
    deliver_outbox(jobs, moment)
    other = make_user()
    session.commit()
    client = login(app.test_client(), supervisor)
    page = text(client.get("/inbox"))
    assert f"【今日到期】{case.reference}" in page and "未读 1 条" in page
    assert '消息<span class="badge">1</span>' in page
    assert f'href="/cases/{case.id}"' in page
    [message] = session.scalars(select(InboxMessage).where(InboxMessage.user_id == supervisor.id)).all()
    # Someone else cannot mark it read: as absent as no message at all.
    intruder = login(app.test_client(), other)
    assert intruder.post("/inbox/read", data={"id": str(message.id)}).status_code == 404
    assert intruder.post("/inbox/read", data={"id": "x"}).status_code == 404
    assert intruder.post("/inbox/read", data={"id": "99999999999"}).status_code == 404
    session.expire_all()
    assert session.get(InboxMessage, message.id).read_at is None
    assert "消息，" not in text(intruder.get("/cases"))
    res = client.post("/inbox/read", data={"id": str(message.id)})
    assert res.status_code == 302 and res.headers["Location"].endswith("/inbox")
    session.expire_all()
    assert session.get(InboxMessage, message.id).read_at is not None
    page = text(client.get("/inbox"))
    assert 'class="badge"' not in page and "没有未读消息" in page


def test_mark_all_read_and_older_pages(app, session, supervisor):
    from compliance.clock import utcnow
    for n in range(35):
        session.add(InboxMessage(user_id=supervisor.id, title=f"消息{n}", body="正文", link="", created_at=utcnow()))
    session.commit()
    client = login(app.test_client(), supervisor)
    first = text(client.get("/inbox"))
    assert "消息34" in first and "消息4<" not in first and "更早的消息" in first
    assert '<span class="badge">35</span>' in first
    older = session.scalars(select(InboxMessage.id).where(InboxMessage.user_id == supervisor.id)
                            .order_by(InboxMessage.id)).all()[5]
    page = text(client.get(f"/inbox?before={older}"))
    assert "消息4" in page and "消息0" in page and "消息34" not in page
    assert client.get("/inbox?before=abc").status_code == 200
    res = client.post("/inbox/read-all")
    assert res.status_code == 302
    assert "已将 35 条消息标为已读" in text(client.get("/inbox"))
    assert session.scalar(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.user_id == supervisor.id, InboxMessage.read_at.is_(None))) == 0


def test_the_deadlines_page_lists_open_deadlines_in_scope_by_due_date(app, session, jobs, make_case, deadline_for,
                                                                     supervisor, make_user, places, make_enterprise):
    today = real_today()
    day = dt.timedelta(days=1)
    mine = make_case()
    late = deadline_for((today - 3 * day).isoformat(), case=mine)
    soon = deadline_for((today + 40 * day).isoformat(), case=mine, rule_key="opinion_reply", provisional=True)
    replaced = deadline_for((today + 10 * day).isoformat(), case=mine, rule_key="payment_demand",
                            status="superseded")
    replaced.closed_at = dt.datetime.combine(today, dt.time(9), tzinfo=BEIJING)
    colleague = make_user()
    theirs = make_case(enterprise=make_enterprise())
    theirs.assignments[0].user_id = colleague.id
    theirs_deadline = deadline_for((today + 1 * day).isoformat(), case=theirs)
    haidian_user = make_user(jurisdiction=places["haidian"])
    from compliance.operations.cases import open_case
    away = open_case(session, enterprise=make_enterprise(jurisdiction=places["haidian"]), violations=["no_union"],
                     opened_by=haidian_user, supervisors=[haidian_user],
                     now=dt.datetime.combine(today, dt.time(9), tzinfo=BEIJING))
    away_deadline = deadline_for(today.isoformat(), case=away)
    sweep_deadlines(jobs, dt.datetime.combine(today, dt.time(10), tzinfo=BEIJING))   # flags `mine` ready
    session.commit()
    client = login(app.test_client(), supervisor)
    page = text(client.get("/deadlines"))
    assert page.index(late.label) < page.index(theirs.reference) < page.index(soon.label)   # by due date
    assert away.reference not in page and str(away_deadline.due_on.day) and "已被替代" not in page
    assert late.legal_basis in page and f'href="/cases/{mine.id}"' in page
    assert "已逾期3天" in page and "可进入下一步" in page and "暂定" in page
    mine_only = text(client.get("/deadlines?mine=1"))
    assert mine.reference in mine_only and theirs.reference not in mine_only
    overdue = text(client.get("/deadlines?show=overdue"))
    assert late.label in overdue and soon.label not in overdue and theirs.reference not in overdue
    provisional = text(client.get("/deadlines?show=provisional"))
    assert soon.label in provisional and late.label not in provisional
    week = text(client.get("/deadlines?show=week"))
    assert soon.label not in week
    closed = text(client.get("/deadlines?show=closed"))
    assert "已被替代" in closed and "已结束" not in closed and f"原定{replaced.due_on.year}年" in closed
    assert "被后续程序替代" in closed and late.label not in closed
    for junk in ("/deadlines?show=<script>", "/deadlines?after=garbage", "/deadlines?mine=2&after=" + "x" * 5000):
        assert client.get(junk).status_code == 200
    assert theirs_deadline.id   # in scope: the colleague's case is listed without the "mine" filter
    auditor = make_user(roles={Role.AUDITOR})
    admin = make_user(roles={Role.ADMIN})
    session.commit()
    assert login(app.test_client(), auditor).get("/deadlines").status_code == 200
    assert login(app.test_client(), admin).get("/deadlines").status_code == 403


def test_the_deadlines_page_pages_by_due_date(app, session, make_case, deadline_for, supervisor):
    today = real_today()
    case = make_case()
    for n in range(55):
        deadline_for((today + dt.timedelta(days=n)).isoformat(), case=case)
    session.commit()
    client = login(app.test_client(), supervisor)
    first = text(client.get("/deadlines"))
    assert "第 1–50 条" in first and "共 55 条" in first
    import re
    cursor = re.search(r'href="/deadlines\?after=([^"&]+)"', first).group(1)
    second = text(client.get(f"/deadlines?after={cursor}"))
    assert "第 51–55 条" in second


def test_the_outbox_page_shows_failures_with_their_error_to_admins_in_scope(
        app, session, jobs, deadline_for, supervisor, mail_config, city_admin, make_user, places, monkeypatch):
    supervisor.email = "liu.yang@union.example.cn"
    deadline_for("2026-11-24")
    mail_config(refusing_port())
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    sweep_deadlines(jobs, at("2026-11-24"))
    deliver_outbox(jobs, at("2026-11-24"))
    [mail] = outbox(session, channel="email")
    assert mail.status == "failed"
    haidian_admin = make_user(roles={Role.ADMIN}, jurisdiction=places["haidian"])
    session.commit()
    client = login(app.test_client(), city_admin)
    page = text(client.get("/admin/outbox"))
    assert "发送失败（1 条）" in page and "无法连接邮件服务器" in page and "liu.yang@union.example.cn" in page
    other = login(app.test_client(), haidian_admin)
    assert "liu.yang@union.example.cn" not in text(other.get("/admin/outbox"))
    assert other.post("/admin/outbox/retry", data={"id": str(mail.id)}).status_code == 404   # not theirs
    assert login(app.test_client(), supervisor).get("/admin/outbox").status_code == 403
    res = client.post("/admin/outbox/retry", data={"id": str(mail.id)})
    assert res.status_code == 302
    session.expire_all()
    mail = session.get(OutboxMessage, mail.id)
    assert mail.status == "pending"
    assert client.post("/admin/outbox/retry", data={"id": "nope"}).status_code == 404


def test_pages_carry_no_inline_script_or_style(app, session, supervisor, city_admin):
    session.commit()
    for user, paths in ((supervisor, ("/inbox", "/deadlines")), (city_admin, ("/admin/outbox", "/inbox"))):
        client = login(app.test_client(), user)
        for path in paths:
            page = text(client.get(path))
            assert "<script>" not in page and "style=" not in page and "javascript:" not in page, path


def test_funds_check_on_the_due_day_when_a_payment_that_day_is_late(app, session, jobs, make_case, supervisor):
    """UNION_FUNDS_DUE_DAY_ON_TIME = False (a payment on the 15th counts as late, as the arrears then count it):
    the check asks on the 15th itself, still once a month."""
    make_case(violations=("unpaid_funds",))
    app.config["UNION_FUNDS_DUE_DAY_ON_TIME"] = False
    try:
        assert funds_check(jobs, at("2026-12-14"))["skipped"].startswith("due day")
        assert funds_check(jobs, at("2026-12-15"))["reminders"] == {"funds_check": 1}    # a Tuesday
        assert funds_check(jobs, at("2026-12-16"))["reminders"] == {"funds_check": 0}
    finally:
        app.config["UNION_FUNDS_DUE_DAY_ON_TIME"] = True
