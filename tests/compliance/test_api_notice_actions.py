"""Notice actions through the REST API: recording and correcting the service (送达) of an issued notice, sending a
draft back to its drafter, drafting the withdrawal of an issued notice — the same operations as the pages, with
Idempotency-Key and problem+json refusals."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from compliance.models import Jurisdiction, Notice, NoticeService
from compliance.operations.attachments import attach_evidence
from compliance.operations.cases import fire_trigger
from compliance.testing import VISIT
from tests.compliance.test_api import ApiClient, _problem, make_token  # noqa: F401 (fixture)

BEIJING = dt.timezone(dt.timedelta(hours=8))
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def at(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(10), tzinfo=BEIJING).astimezone(dt.timezone.utc)


@pytest.fixture
def api(app, make_token, supervisor):
    return ApiClient(app.test_client(), make_token(supervisor))


@pytest.fixture
def letter(session, make_case, supervisor, send_letters):
    """The visit letter of a case visited on Friday 20 November 2026, issued that day and not yet served."""
    case = make_case(at=at("2026-11-19"))
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=at("2026-11-20"))
    [notice] = send_letters(case.id, at("2026-11-20"))
    session.commit()
    return notice


def _services(session, notice_id: int) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(NoticeService).where(NoticeService.notice_id == notice_id))


def _visit_deadline(api, case_id: int) -> dict:
    [row] = [d for d in api.get(f"/cases/{case_id}/deadlines").get_json() if d["rule_key"] == "visit_rectification"]
    return row


# ------------------------------------------------------------------------------------------------ service

def test_recording_the_service_starts_the_waiting_period_from_the_service_date(api, letter, supervisor):
    waiting = _visit_deadline(api, letter.case_id)
    assert (waiting["status"], waiting["start_on"], waiting["due_on"]) == ("awaiting_service", None, None)
    got = api.get(f"/notices/{letter.id}").get_json()
    assert got["service"] is None and got["services"] == []

    res = api.post(f"/notices/{letter.id}/service",
                   json={"method": "direct", "served_on": "2026-11-23", "recipient": "企业行政主管 林玥"})
    assert res.status_code == 201, res.get_data(as_text=True)
    body = res.get_json()
    # Received Monday 23 Nov + 30 days = Wednesday 23 Dec 2026, a working day.
    assert (body["deadline"]["status"], body["deadline"]["start_on"], body["deadline"]["due_on"]) == (
        "open", "2026-11-23", "2026-12-23")
    service = body["service"]
    assert (service["method"], service["method_label"], service["served_on"], service["recipient"]) == (
        "direct", "直接送达", "2026-11-23", "企业行政主管 林玥")
    assert service["served_by"] == {"id": supervisor.id, "name": supervisor.name}   # default: the token's user
    assert service["is_current"] and service["deadline_id"] == body["deadline"]["id"]
    assert body["notice"]["service"] == service and body["notice"]["services"] == [service]

    running = _visit_deadline(api, letter.case_id)
    assert (running["status"], running["start_on"], running["due_on"]) == ("open", "2026-11-23", "2026-12-23")
    assert api.get(f"/cases/{letter.case_id}").get_json()["facts"]["visit_rectification_due"] == "2026-12-23"
    assert api.get(f"/notices/{letter.id}").get_json()["service"] == service
    events = api.get(f"/cases/{letter.case_id}/events").get_json()
    assert events[-1]["action"] == "notice.served" and events[-1]["id"] == service["event_id"]


def test_mail_needs_its_tracking_number(api, letter, session):
    body = _problem(api.post(f"/notices/{letter.id}/service", json={"method": "mail", "served_on": "2026-11-23"}),
                    422, "validation")
    assert body["errors"] == {"tracking_number": ["请填写邮寄单号"]}
    assert _services(session, letter.id) == 0
    res = api.post(f"/notices/{letter.id}/service",
                   json={"method": "mail", "served_on": "2026-11-23", "tracking_number": "1175512345678"})
    assert res.status_code == 201, res.get_data(as_text=True)
    assert res.get_json()["service"]["tracking_number"] == "1175512345678"


@pytest.mark.parametrize(("served_on", "words"), [("2026-11-19", "不能早于文书签发日期（2026-11-20）"),
                                                  ("2099-01-01", "不能晚于今天")])
def test_a_date_before_the_issue_or_in_the_future_is_refused_with_the_reason(api, letter, session, served_on, words):
    body = _problem(api.post(f"/notices/{letter.id}/service", json={"method": "direct", "served_on": served_on}),
                    422, "validation")
    assert words in body["detail"] and list(body["errors"]) == ["served_on"]
    assert _services(session, letter.id) == 0
    assert _visit_deadline(api, letter.case_id)["status"] == "awaiting_service"


def test_the_body_is_checked_against_the_document_and_the_operation(api, letter, session, make_case, supervisor,
                                                                    store, make_user):
    send = lambda **kw: api.post(f"/notices/{letter.id}/service",
                                 json={"method": "direct", "served_on": "2026-11-23", **kw})
    assert set(_problem(send(method="pigeon", extra=1), 422, "validation")["errors"]) == {"method", "extra"}
    assert "recipient" in _problem(send(recipient="林" * 101), 422, "validation")["errors"]
    assert _problem(send(tracking_number="1234"), 422, "validation")["errors"] == {
        "tracking_number": ["只有邮寄送达需要填写邮寄单号"]}
    theirs = attach_evidence(session, make_case().id, data=PDF, filename="别案.pdf", actor=supervisor,
                             now=at("2026-11-24"), store=store)
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    away = make_user(jurisdiction=haidian)
    session.commit()
    assert "proof_attachment_id" in _problem(send(proof_attachment_id=theirs.id), 422, "validation")["errors"]
    # Someone outside the caller's scope is as unknown as nobody; the operation's own refusal names the same field.
    assert _problem(send(served_by_id=away.id), 422, "validation")["detail"] == f"用户 {away.id} 不存在"
    assert _problem(send(served_by_id=2**31 - 1), 422, "validation")["detail"] == f"用户 {2**31 - 1} 不存在"
    assert _services(session, letter.id) == 0


def test_another_supervisor_of_the_case_may_be_named_with_the_proof(api, letter, session, supervisor, make_user,
                                                                     store):
    colleague = make_user(name="李强")
    proof = attach_evidence(session, letter.case_id, data=PDF, filename="送达回证.pdf", actor=supervisor,
                            now=at("2026-11-24"), store=store)
    session.commit()
    res = api.post(f"/notices/{letter.id}/service", json={"method": "left", "served_on": "2026-11-23",
                                                          "served_by_id": colleague.id,
                                                          "proof_attachment_id": proof.id, "note": "拒收，留置于前台"})
    assert res.status_code == 201, res.get_data(as_text=True)
    service = res.get_json()["service"]
    assert service["served_by"] == {"id": colleague.id, "name": "李强"} and service["proof_attachment_id"] == proof.id
    assert service["recorded_by"] == {"id": supervisor.id, "name": supervisor.name}


def test_another_districts_notice_is_404_like_an_absent_one(app, letter, session, make_user, make_token):
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    away = ApiClient(app.test_client(), make_token(make_user(jurisdiction=haidian)))
    body = {"method": "direct", "served_on": "2026-11-23"}
    for path in (f"/notices/{letter.id}/service", "/notices/2147483000/service"):
        _problem(away.post(path, json=body), 404, "not-found")
        _problem(away.open("PUT", path, json={**body, "reason": "更正"}), 404, "not-found")
        _problem(away.post(path, json={**body, "served_by_id": 2**31 - 1}), 404, "not-found")  # scope before body
    assert _services(session, letter.id) == 0


def test_a_retry_with_one_key_records_one_service_and_answers_the_same(api, letter, session):
    body = {"method": "direct", "served_on": "2026-11-23"}
    first = api.post(f"/notices/{letter.id}/service", json=body, headers={"Idempotency-Key": "serve-1"})
    assert first.status_code == 201, first.get_data(as_text=True)
    again = api.post(f"/notices/{letter.id}/service", json=body, headers={"Idempotency-Key": "serve-1"})
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _services(session, letter.id) == 1
    _problem(api.post(f"/notices/{letter.id}/service", json={**body, "served_on": "2026-11-24"},
                      headers={"Idempotency-Key": "serve-1"}), 422, "idempotency-key-reused")
    # Without the key a second record is refused by the operation: a served notice is corrected, not served again.
    refused = _problem(api.post(f"/notices/{letter.id}/service", json=body), 409, "not-allowed")
    assert "更正" in refused["detail"]
    assert _services(session, letter.id) == 1


def test_a_correction_supersedes_the_record_and_recounts_the_running_period(api, letter, session):
    body = {"method": "direct", "served_on": "2026-11-23"}
    not_yet = _problem(api.open("PUT", f"/notices/{letter.id}/service", json={**body, "reason": "更正"}),
                       409, "not-allowed")
    assert "尚未记录送达" in not_yet["detail"]
    first = api.post(f"/notices/{letter.id}/service", json=body).get_json()["service"]
    assert "reason" in _problem(api.open("PUT", f"/notices/{letter.id}/service", json=body), 422,
                                "validation")["errors"]
    assert _problem(api.open("PUT", f"/notices/{letter.id}/service", json={**body, "reason": "  "}), 422,
                    "validation")["errors"] == {"reason": ["请填写更正理由"]}
    res = api.open("PUT", f"/notices/{letter.id}/service",
                   json={"method": "mail", "served_on": "2026-11-24", "tracking_number": "1175512345678",
                         "reason": "实为邮寄，次日签收"}, headers={"Idempotency-Key": "correct-1"})
    assert res.status_code == 200, res.get_data(as_text=True)
    out = res.get_json()
    assert (out["deadline"]["start_on"], out["deadline"]["due_on"]) == ("2026-11-24", "2026-12-24")
    assert out["service"]["supersedes_id"] == first["id"] and out["service"]["correction_reason"] == "实为邮寄，次日签收"
    services = api.get(f"/notices/{letter.id}").get_json()["services"]
    assert [(s["id"], s["is_current"]) for s in services] == [(first["id"], False), (out["service"]["id"], True)]
    assert services[0]["superseded_at"] is not None
    again = api.open("PUT", f"/notices/{letter.id}/service",
                     json={"method": "mail", "served_on": "2026-11-24", "tracking_number": "1175512345678",
                           "reason": "实为邮寄，次日签收"}, headers={"Idempotency-Key": "correct-1"})
    assert again.get_json() == out and _services(session, letter.id) == 2
    assert _visit_deadline(api, letter.case_id)["due_on"] == "2026-12-24"


def test_only_an_issued_notice_is_served_and_only_by_who_works_the_case(app, api, session, make_case, supervisor,
                                                                          approver, make_token, letter):
    case = make_case()
    [draft] = fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=at("2026-11-24")).notices
    session.commit()
    refused = _problem(api.post(f"/notices/{draft.id}/service", json={"method": "direct", "served_on": "2026-11-24"}),
                       409, "not-allowed")
    assert "只能记录已签发文书的送达" in refused["detail"]
    chair = ApiClient(app.test_client(), make_token(approver))
    _problem(chair.post(f"/notices/{letter.id}/service", json={"method": "direct", "served_on": "2026-11-23"}),
             403, "forbidden")
    assert _services(session, letter.id) == 0


# ------------------------------------------------------------------------------------------------ send back

def test_an_approver_sends_a_draft_back_with_a_comment(app, api, session, make_case, supervisor, approver, make_token):
    case = make_case()
    [draft] = fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=at("2026-11-24")).notices
    session.commit()
    assert api.post(f"/notices/{draft.id}/submit", json={}).status_code == 200
    _problem(api.post(f"/notices/{draft.id}/return", json={"reason": "自己退回"}), 403, "forbidden")
    chair = ApiClient(app.test_client(), make_token(approver))
    assert _problem(chair.post(f"/notices/{draft.id}/return", json={"reason": " "}), 422,
                    "validation")["errors"] == {"reason": ["退回须说明理由"]}
    assert "reason" in _problem(chair.post(f"/notices/{draft.id}/return", json={}), 422, "validation")["errors"]
    version = chair.get(f"/notices/{draft.id}").get_json()["version"]
    _problem(chair.post(f"/notices/{draft.id}/return", json={"reason": "请补充", "expected_version": version + 3}),
             409, "stale-version")
    res = chair.post(f"/notices/{draft.id}/return", json={"reason": "请补充走访时在场的企业人员",
                                                          "expected_version": version},
                     headers={"Idempotency-Key": "return-1"})
    assert res.status_code == 200, res.get_data(as_text=True)
    body = res.get_json()
    assert (body["status"], body["submitted_at"], body["rejection_reason"]) == ("draft", None, "请补充走访时在场的企业人员")
    again = chair.post(f"/notices/{draft.id}/return", json={"reason": "请补充走访时在场的企业人员",
                                                            "expected_version": version},
                       headers={"Idempotency-Key": "return-1"})
    assert again.get_json() == body
    assert api.get(f"/notices/{draft.id}").get_json()["rejection_reason"] == "请补充走访时在场的企业人员"
    returned = [e for e in api.get(f"/cases/{case.id}/events").get_json() if e["action"] == "notice.returned"]
    assert len(returned) == 1


# ------------------------------------------------------------------------------------------------ withdraw

def _withdrawals(session, notice_id: int) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Notice).where(Notice.withdraws_id == notice_id))


def test_withdrawing_an_issued_notice_drafts_its_withdrawal_once(api, letter, session, make_case, supervisor):
    assert "reason" in _problem(api.post(f"/notices/{letter.id}/withdraw", json={}), 422, "validation")["errors"]
    assert _problem(api.post(f"/notices/{letter.id}/withdraw", json={"reason": "第一行\n第二行"}), 422,
                    "validation")["errors"] == {"reason": ["撤回理由应为一段文字，不能换行"]}
    body = {"reason": "送达对象有误，应为该企业的分公司"}
    res = api.post(f"/notices/{letter.id}/withdraw", json=body, headers={"Idempotency-Key": "withdraw-1"})
    assert res.status_code == 201, res.get_data(as_text=True)
    withdrawal = res.get_json()
    assert (withdrawal["notice_type"], withdrawal["status"], withdrawal["withdraws_id"]) == (
        "withdrawal", "draft", letter.id)
    assert withdrawal["facts"]["reason"] == body["reason"] and withdrawal["facts"]["original"]["number"] == letter.number
    again = api.post(f"/notices/{letter.id}/withdraw", json=body, headers={"Idempotency-Key": "withdraw-1"})
    assert again.status_code == 201 and again.get_json() == withdrawal
    assert _withdrawals(session, letter.id) == 1
    pending = _problem(api.post(f"/notices/{letter.id}/withdraw", json=body), 409, "not-allowed")
    assert f"文书 {withdrawal['id']}" in pending["detail"]
    assert _withdrawals(session, letter.id) == 1
    # The original stays issued until the withdrawal itself is approved and issued.
    assert api.get(f"/notices/{letter.id}").get_json()["status"] == "issued"
    case = make_case()
    [draft] = fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=at("2026-11-24")).notices
    session.commit()
    assert "只能撤回已签发的文书" in _problem(api.post(f"/notices/{draft.id}/withdraw", json=body), 409,
                                            "not-allowed")["detail"]
