"""Service (送达) of issued notices: the operation, its checks, corrections, the page and the CLI.

A period that runs from the letter's receipt waits as 待送达 (no due date, never overdue) until the service is
recorded; then it runs from the service date, and replay reproduces it.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from compliance.cli import main
from compliance.errors import Forbidden, NotAllowed, NotFound, ValidationFailed
from compliance.models import CaseEvent, Deadline, Jurisdiction, Notice, NoticeService, Role
from compliance.operations.attachments import attach_evidence
from compliance.operations.cases import case_deadlines, fire_trigger, replay_case, stored_replay
from compliance.operations.service import correct_service, current_service, record_service, service_history
from compliance.testing import VISIT
from tests.compliance.test_authorization import database_state

BEIJING = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "correct horse battery"
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n" \
      b"trailer <</Root 1 0 R>>\n%%EOF\n"


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=BEIJING).astimezone(dt.timezone.utc)


@pytest.fixture
def visited(session, make_case, supervisor, send_letters):
    """A case visited on Friday 20 November 2026 whose visit letter was issued the same day (not yet served)."""
    case = make_case(at=at("2026-11-19"))
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=at("2026-11-20"))
    [letter] = send_letters(case.id, at("2026-11-20"))
    return case, letter


def visit_deadline(session, case) -> Deadline:
    [row] = [d for d in case_deadlines(session, case.id) if d.rule_key == "visit_rectification"]
    return row


def test_the_period_waits_for_service_then_runs_from_it(session, visited, supervisor):
    case, letter = visited
    row = visit_deadline(session, case)
    assert (row.status, row.start_on, row.due_on, case.visit_rectification_due) == ("awaiting_service", None, None,
                                                                                    None)
    service = record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                             served_on="2026-11-23", served_by=supervisor, recipient="企业行政主管 林玥")
    # Received Monday 23 Nov + 30 days = Wednesday 23 Dec 2026, a working day.
    assert (row.status, row.start_on, row.due_on) == ("open", dt.date(2026, 11, 23), dt.date(2026, 12, 23))
    assert case.visit_rectification_due == dt.date(2026, 12, 23)
    assert (service.method_label, service.deadline_id, service.is_current) == ("直接送达", row.id, True)
    event = session.get(CaseEvent, service.event_id)
    assert event.action == "notice.served" and event.details["started"] == {
        "rule": "visit_rectification", "deadline_id": row.id, "served_on": "2026-11-23", "due": "2026-12-23"}
    assert event.seq == case.last_event_seq and case.version == event.seq
    assert replay_case(session, case.id) == stored_replay(session, case)


def test_a_proof_must_be_the_cases_own_evidence(session, visited, supervisor, make_case, store):
    case, letter = visited
    other = make_case()
    theirs = attach_evidence(session, other.id, data=PDF, filename="别案.pdf", actor=supervisor, now=at("2026-11-24"),
                             store=store)
    ours = attach_evidence(session, case.id, data=PDF, filename="送达回证.pdf", actor=supervisor, now=at("2026-11-24"),
                           store=store)
    with pytest.raises(ValidationFailed) as refused:
        record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                       served_on="2026-11-23", served_by=supervisor, proof_attachment_id=theirs.id)
    assert refused.value.field == "proof_attachment_id" and "本案" in refused.value.message
    service = record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                             served_on="2026-11-23", served_by=supervisor, proof_attachment_id=ours.id)
    assert service.proof_attachment_id == ours.id


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"served_on": "2026-11-19"}, "served_on", "不能早于文书签发日期"),     # before the issue (20 Nov)
    ({"served_on": "2026-11-25"}, "served_on", "不能晚于今天"),             # tomorrow
    ({"served_on": "2026/11/23"}, "served_on", "年-月-日"),
    ({"served_on": None}, "served_on", "请填写送达日期"),
    ({"method": "pigeon"}, "method", "直接送达"),
    ({"method": "mail"}, "tracking_number", "请填写邮寄单号"),
    ({"method": "mail", "tracking_number": "9" * 51}, "tracking_number", "不能超过50字"),
    ({"tracking_number": "1234"}, "tracking_number", "只有邮寄送达"),
    ({"recipient": "林" * 101}, "recipient", "不能超过100字"),
    ({"note": "a\u202eb"}, "note", "不可见的控制字符"),
    ({"served_by": None}, "served_by", "请填写送达人"),
    ({"proof_attachment_id": "abc"}, "proof_attachment_id", "证据材料"),
])
def test_bad_inputs_are_refused_in_chinese_and_change_nothing(session, visited, supervisor, store, changes, field,
                                                              words):
    case, letter = visited
    inputs = dict(method="direct", served_on="2026-11-23", served_by=supervisor) | changes
    before = database_state(session, store.root)
    with pytest.raises(ValidationFailed) as refused:
        record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), **inputs)
    assert refused.value.field == field and words in refused.value.message, refused.value.message
    assert database_state(session, store.root) == before


def test_the_server_must_work_the_case(session, visited, supervisor, make_user):
    case, letter = visited
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    for server in (make_user(jurisdiction=haidian), make_user(roles={Role.AUDITOR})):
        with pytest.raises(ValidationFailed) as refused:
            record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                           served_on="2026-11-23", served_by=server)
        assert refused.value.field == "served_by"


def test_only_issued_notices_and_only_once(session, visited, supervisor):
    case, letter = visited
    with pytest.raises(NotAllowed, match="尚未记录送达"):
        correct_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), reason="更正", method="direct",
                        served_on="2026-11-23", served_by=supervisor)
    fire_trigger(session, case.id, "record_refusal", {"refused_on": "2026-11-24", "summary": "拒绝"},
                 actor=supervisor, now=at("2026-11-24"))
    [opinion] = fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=at("2026-11-24")).notices
    with pytest.raises(NotAllowed, match="只能记录已签发文书的送达"):
        record_service(session, opinion.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                       served_on="2026-11-24", served_by=supervisor)
    record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                   served_on="2026-11-23", served_by=supervisor)
    with pytest.raises(NotAllowed, match="已记录送达"):
        record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                       served_on="2026-11-24", served_by=supervisor)


def test_a_correction_supersedes_and_recounts_a_running_period(session, visited, supervisor):
    case, letter = visited
    first = record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                           served_on="2026-11-23", served_by=supervisor)
    with pytest.raises(ValidationFailed, match="请填写更正理由"):
        correct_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), reason=" ", method="mail",
                        served_on="2026-11-20", served_by=supervisor, tracking_number="1175512345678")
    second = correct_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), reason="按邮件签收记录更正",
                             method="mail", served_on="2026-11-21", served_by=supervisor,
                             tracking_number="1175512345678")
    session.refresh(first)
    assert first.superseded_at is not None and second.supersedes_id == first.id
    assert current_service(session, letter.id).id == second.id
    assert [s.id for s in service_history(session, letter.id)] == [first.id, second.id]
    # Received Saturday 21 Nov + 30 days = Monday 21 Dec 2026.
    row = visit_deadline(session, case)
    assert (row.start_on, row.due_on, case.visit_rectification_due) == (dt.date(2026, 11, 21), dt.date(2026, 12, 21),
                                                                       dt.date(2026, 12, 21))
    assert replay_case(session, case.id) == stored_replay(session, case)


def test_a_correction_after_the_period_ended_leaves_the_case_alone(session, visited, supervisor):
    case, letter = visited
    record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                   served_on="2026-11-23", served_by=supervisor)
    fire_trigger(session, case.id, "record_refusal", {"refused_on": "2026-11-24", "summary": "拒绝"},
                 actor=supervisor, now=at("2026-11-24"))
    fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=at("2026-11-24"))  # supersedes it
    row = visit_deadline(session, case)
    before = (row.status, row.start_on, row.due_on, case.visit_rectification_due)
    correct_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), reason="日期笔误", method="direct",
                    served_on="2026-11-20", served_by=supervisor)
    assert (row.status, row.start_on, row.due_on, case.visit_rectification_due) == before
    assert replay_case(session, case.id) == stored_replay(session, case)


def test_who_may_record_a_service(session, visited, supervisor, make_user):
    case, letter = visited
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    with pytest.raises(NotFound, match="不存在"):
        record_service(session, letter.id, actor=make_user(jurisdiction=haidian), now=at("2026-11-24"),
                       method="direct", served_on="2026-11-23", served_by=supervisor)
    for role in (Role.APPROVER, Role.AUDITOR, Role.ADMIN):
        with pytest.raises(Forbidden):
            record_service(session, letter.id, actor=make_user(roles={role}), now=at("2026-11-24"),
                           method="direct", served_on="2026-11-23", served_by=supervisor)
    with pytest.raises(NotFound):
        record_service(session, 2**31 - 1, actor=supervisor, now=at("2026-11-24"), method="direct",
                       served_on="2026-11-23", served_by=supervisor)
    record_service(session, letter.id, actor=supervisor, now=at("2026-11-24"), method="direct",
                   served_on="2026-11-23", served_by=supervisor)
    for role in (Role.APPROVER, Role.AUDITOR):
        with pytest.raises(Forbidden):
            correct_service(session, letter.id, actor=make_user(roles={role}), now=at("2026-11-24"), reason="x",
                            method="direct", served_on="2026-11-23", served_by=supervisor)
    with pytest.raises(NotFound):
        correct_service(session, letter.id, actor=make_user(jurisdiction=haidian), now=at("2026-11-24"),
                        reason="x", method="direct", served_on="2026-11-23", served_by=supervisor)


# ------------------------------------------------------------------------------------------------ the page

def test_the_service_page_records_and_shows_waiting_and_running(app, client, session, visited, supervisor, store):
    case, letter = visited
    session.commit()
    assert client.post("/login", data={"login": supervisor.login, "password": PASSWORD}).status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "待送达" in page and f"/notices/{letter.id}/service" in page and "未记录送达" in page
    form = client.get(f"/notices/{letter.id}/service")
    assert form.status_code == 200 and "记录送达" in form.get_data(as_text=True)
    bad = client.post(f"/notices/{letter.id}/service", data={"method": "mail", "served_on": "2026-11-23",
                                                             "served_by": str(supervisor.id)})
    assert bad.status_code == 422 and "请填写邮寄单号" in bad.get_data(as_text=True)
    done = client.post(f"/notices/{letter.id}/service", data={"method": "mail", "served_on": "2026-11-23",
                                                              "served_by": str(supervisor.id),
                                                              "tracking_number": "1175512345678"})
    assert done.status_code == 302
    session.expire_all()
    assert current_service(session, letter.id).tracking_number == "1175512345678"
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "2026年12月23日" in page and "邮寄送达" in page
    shown = client.get(f"/notices/{letter.id}/service").get_data(as_text=True)
    assert "现行送达记录" in shown and "1175512345678" in shown and "更正理由" in shown
    # a correction without its reason is refused, nothing changes
    before = database_state(session, store.root)
    res = client.post(f"/notices/{letter.id}/service", data={"method": "direct", "served_on": "2026-11-22",
                                                             "served_by": str(supervisor.id)})
    assert res.status_code == 422 and "请填写更正理由" in res.get_data(as_text=True)
    session.expire_all()
    assert database_state(session, store.root) == before


def test_a_served_by_outside_the_offered_list_is_refused(app, client, session, visited, supervisor):
    case, letter = visited
    session.commit()
    client.post("/login", data={"login": supervisor.login, "password": PASSWORD})
    for chosen in ("999999999", "abc", "1" * 40):
        res = client.post(f"/notices/{letter.id}/service", data={"method": "direct", "served_on": "2026-11-23",
                                                                 "served_by": chosen})
        assert res.status_code == 422 and "请填写送达人" in res.get_data(as_text=True)


# ------------------------------------------------------------------------------------------------- the CLI

def test_cli_serves_and_corrects(runner, session, visited, supervisor):
    case, letter = visited
    session.commit()
    out = runner.invoke(main, ["notices", "serve", str(letter.id), "--method", "direct", "--on", "2026-11-23",
                               "--by", supervisor.login, "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["deadline"] == {"rule": "visit_rectification", "start": "2026-11-23",
                                                  "due": "2026-12-23", "status": "open"}
    again = runner.invoke(main, ["notices", "serve", str(letter.id), "--method", "direct", "--on", "2026-11-23",
                                 "--by", supervisor.login], catch_exceptions=False)
    assert again.exit_code == 1 and len(again.output.strip().splitlines()) == 1 and "已记录送达" in again.output
    fixed = runner.invoke(main, ["notices", "serve", str(letter.id), "--method", "mail", "--on", "2026-11-21",
                                 "--tracking", "1175512345678", "--by", supervisor.login, "--correct", "按邮件签收记录更正"],
                          catch_exceptions=False)
    assert fixed.exit_code == 0 and "2026-12-21" in fixed.output, fixed.output
    assert session.scalar(select(func.count(NoticeService.id)).where(NoticeService.notice_id == letter.id)) == 2


def test_cli_refuses_a_bad_date_in_one_line(runner, session, visited, supervisor):
    case, letter = visited
    session.commit()
    out = runner.invoke(main, ["notices", "serve", str(letter.id), "--method", "direct", "--on", "23/11/2026",
                               "--by", supervisor.login], catch_exceptions=False)
    assert out.exit_code == 1 and len(out.output.strip().splitlines()) == 1 and "年-月-日" in out.output
    assert session.scalar(select(func.count(Notice.id)).where(Notice.case_id == case.id)) == 1
