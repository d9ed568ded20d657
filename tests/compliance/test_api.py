"""The REST API (/api/v1): token auth, scope, problem+json errors, idempotency, keyset pages, throttling."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from compliance.models import ApiToken, CaseEvent, IdempotencyKey, Jurisdiction, Role
from compliance.operations import tokens as token_ops
from compliance.testing import VISIT

PROBLEM = "application/problem+json"


@pytest.fixture
def make_token(session, now):
    def factory(user, days=30):
        _token, secret = token_ops.create_token(session, actor=user, name="测试客户端", days=days,
                                                now=dt.datetime.now(dt.timezone.utc))
        session.commit()
        return secret
    return factory


@pytest.fixture
def api(app, make_token, supervisor):
    """A client that sends the supervisor's token."""
    return ApiClient(app.test_client(), make_token(supervisor))


class ApiClient:
    def __init__(self, client, token):
        self.client, self.token = client, token

    def open(self, method, path, *, headers=None, **kw):
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kw)

    def get(self, path, **kw):
        return self.open("GET", path, **kw)

    def post(self, path, **kw):
        return self.open("POST", path, **kw)

    def patch(self, path, **kw):
        return self.open("PATCH", path, **kw)


def _problem(res, status, slug):
    assert res.status_code == status, res.get_data(as_text=True)
    assert res.mimetype == PROBLEM
    body = res.get_json(force=True)
    assert body["type"] == f"urn:compliance:problem:{slug}" and body["status"] == status and body["detail"]
    return body


def test_me_says_who_the_token_is(api, supervisor):
    res = api.get("/me")
    assert res.status_code == 200
    body = res.get_json()
    assert body["login"] == supervisor.login and body["roles"] == ["supervisor"]
    assert body["jurisdiction"]["id"] == supervisor.jurisdiction_id


def test_no_token_bad_token_and_the_session_cookie_all_answer_401(app, client, session, supervisor, make_token):
    session.commit()
    _problem(client.get("/api/v1/me"), 401, "unauthorized")
    _problem(client.get("/api/v1/me", headers={"Authorization": "Bearer cmpl_nope"}), 401, "unauthorized")
    session.commit()
    assert client.post("/login", data={"login": supervisor.login, "password": "correct horse battery"}).status_code == 302
    assert client.get("/cases").status_code == 200      # the cookie works for the pages …
    res = client.get("/api/v1/me")                          # … never for the API
    _problem(res, 401, "unauthorized")
    assert res.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_or_expired_token_is_refused_at_once(app, session, supervisor, now):
    client = app.test_client()
    real_now = dt.datetime.now(dt.timezone.utc)
    token, secret = token_ops.create_token(session, actor=supervisor, name="CI", days=1, now=real_now)
    session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    token_ops.revoke_token(session, token.id, actor=supervisor, now=real_now)
    session.commit()
    _problem(client.get("/api/v1/me", headers=headers), 401, "unauthorized")
    old, old_secret = token_ops.create_token(session, actor=supervisor, name="old", days=1,
                                             now=real_now - dt.timedelta(days=2))
    session.commit()
    _problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_secret}"}), 401, "unauthorized")


def test_only_the_hash_of_a_token_is_stored(session, supervisor, now):
    token, secret = token_ops.create_token(session, actor=supervisor, name="x", now=now)
    assert secret.startswith("cmpl_") and len(secret) > 40
    assert token.token_sha256 == token_ops.token_hash(secret) and secret not in token.token_sha256
    assert secret.startswith("cmpl_" + token.prefix)


def test_another_districts_case_is_404_like_an_absent_one(app, session, make_user, make_case, make_token, now):
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    away_supervisor = make_user(jurisdiction=haidian)
    case = make_case()
    session.commit()
    away = ApiClient(app.test_client(), make_token(away_supervisor))
    out_of_scope = _problem(away.get(f"/cases/{case.id}"), 404, "not-found")
    absent = _problem(away.get("/cases/2147483000"), 404, "not-found")
    assert out_of_scope["title"] == absent["title"]
    for path in (f"/cases/{case.id}/transitions", f"/cases/{case.id}/events", f"/cases/{case.id}/deadlines",
                 f"/cases/{case.id}/notices", f"/cases/{case.id}/attachments",
                 f"/enterprises/{case.enterprise_id}"):
        _problem(away.get(path), 404, "not-found")
    _problem(away.post(f"/cases/{case.id}/transitions", json={"trigger": "record_visit", "inputs": VISIT}),
             404, "not-found")
    assert away.get("/cases").get_json()["items"] == []


def test_transitions_say_what_is_allowed_why_not_and_the_inputs(api, make_case, session):
    case = make_case()
    session.commit()
    body = api.get(f"/cases/{case.id}/transitions").get_json()
    assert body["state"] == "registered" and body["version"] == case.version
    by_trigger = {t["trigger"]: t for t in body["triggers"]}
    visit = by_trigger["record_visit"]
    assert visit["allowed"] and {i["name"] for i in visit["inputs"]} >= {"visited_on", "findings", "supervisors"}
    refused = [t for t in body["triggers"] if not t["allowed"]]
    assert refused and all(t["reason"] for t in refused)


def test_a_transition_posted_twice_with_one_key_changes_the_case_once(api, make_case, session):
    case = make_case()
    session.commit()
    events = lambda: session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
    before = events()
    body = {"trigger": "record_visit", "inputs": VISIT, "expected_version": case.version}
    first = api.post(f"/cases/{case.id}/transitions", json=body, headers={"Idempotency-Key": "visit-1"})
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["case"]["state"] == "visited"
    second = api.post(f"/cases/{case.id}/transitions", json=body, headers={"Idempotency-Key": "visit-1"})
    assert second.status_code == 201 and second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    session.expire_all()
    assert events() == before + 1
    other = api.post(f"/cases/{case.id}/transitions", json={**body, "reason": "另一次"},
                     headers={"Idempotency-Key": "visit-1"})
    _problem(other, 422, "idempotency-key-reused")
    session.expire_all()
    assert events() == before + 1


def test_a_refused_transition_is_409_with_the_reason_and_is_kept_under_its_key(api, make_case, session):
    case = make_case()
    session.commit()
    res = api.post(f"/cases/{case.id}/transitions", json={"trigger": "issue_opinion"},
                   headers={"Idempotency-Key": "k-refused"})
    body = _problem(res, 409, "not-allowed")
    assert body["trigger"] == "issue_opinion"
    again = api.post(f"/cases/{case.id}/transitions", json={"trigger": "issue_opinion"},
                     headers={"Idempotency-Key": "k-refused"})
    assert again.status_code == 409 and again.get_json(force=True) == body


def test_a_stale_version_is_409(api, make_case, session):
    case = make_case()
    session.commit()
    res = api.post(f"/cases/{case.id}/transitions",
                   json={"trigger": "record_visit", "inputs": VISIT, "expected_version": case.version + 5})
    body = _problem(res, 409, "stale-version")
    assert body["current_version"] == case.version


def test_validation_errors_name_their_fields(api, make_case, session):
    case = make_case()
    session.commit()
    body = _problem(api.post(f"/cases/{case.id}/transitions", json={"trigger": "no_such", "extra": 1}), 422,
                    "validation")
    assert set(body["errors"]) == {"trigger", "extra"}
    body = _problem(api.post(f"/cases/{case.id}/transitions",
                             json={"trigger": "record_visit", "inputs": {**VISIT, "visited_on": "2026-13-01"}}),
                    422, "validation")
    assert "visited_on" in body["errors"]
    _problem(api.post(f"/cases/{case.id}/transitions", data="{not json", content_type="application/json"),
             400, "bad-request")


def test_a_body_over_the_limit_is_413(api, make_case, session, app):
    case = make_case()
    session.commit()
    big = {"trigger": "record_visit", "reason": "x" * (app.config.get("API_MAX_BODY", 1024 * 1024) + 10)}
    _problem(api.post(f"/cases/{case.id}/transitions", json=big), 413, "payload-too-large")


def test_unknown_paths_and_methods_under_the_api_are_problems_too(api):
    _problem(api.get("/nothing-here"), 404, "not-found")
    _problem(api.open("DELETE", "/cases"), 405, "method-not-allowed")


def test_case_list_pages_by_cursor_with_the_web_filters(api, make_case, session):
    made = [make_case() for _ in range(3)]
    closed_filter = api.get("/cases?stage=closed").get_json()
    assert closed_filter["items"] == []
    seen, cursor = [], None
    for _ in range(5):
        res = api.get("/cases?limit=2&sort=reference" + (f"&after={cursor}" if cursor else ""))
        assert res.status_code == 200
        page = res.get_json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert {c.id for c in made} <= set(seen) and len(seen) == len(set(seen))
    _problem(api.get("/cases?stage=nonsense"), 422, "validation")


def test_throttled_per_token(app, api):
    from compliance.api.auth import Throttle
    original = app.extensions["compliance.api.throttle"]
    app.extensions["compliance.api.throttle"] = Throttle(type("A", (), {"config": {"API_RATE_LIMIT": "3/minute"}})())
    try:
        assert [api.get("/me").status_code for _ in range(3)] == [200, 200, 200]
        res = api.get("/me")
        _problem(res, 429, "rate-limited")
        assert int(res.headers["Retry-After"]) >= 1
    finally:
        app.extensions["compliance.api.throttle"] = original


def test_notice_draft_edit_approve_issue_and_pdf(app, session, make_case, supervisor, approver, make_token, send_letters,
                                                 now):
    case = make_case()
    from compliance.operations.cases import fire_trigger
    [draft] = fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now).notices
    session.commit()
    work = ApiClient(app.test_client(), make_token(supervisor))
    lead = ApiClient(app.test_client(), make_token(approver))
    got = work.get(f"/notices/{draft.id}").get_json()
    assert got["status"] == "draft" and got["pdf_url"] is None
    _problem(work.get(f"/notices/{draft.id}/pdf"), 404, "not-found")
    preview = work.get(f"/notices/{draft.id}/preview")
    assert preview.status_code == 200 and preview.data.startswith(b"%PDF")
    _problem(work.post(f"/notices/{draft.id}/approve", json={}), 403, "forbidden")
    approved = lead.post(f"/notices/{draft.id}/approve", json={"sign_as": "chair"})
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.get_json()["status"] == "approved"
    issued = work.post(f"/notices/{draft.id}/issue", json={}, headers={"Idempotency-Key": "issue-1"})
    assert issued.status_code == 200, issued.get_data(as_text=True)
    body = issued.get_json()
    assert body["status"] == "issued" and body["number"]
    again = work.post(f"/notices/{draft.id}/issue", json={}, headers={"Idempotency-Key": "issue-1"})
    assert again.get_json() == body
    _problem(work.get(f"/notices/{draft.id}/preview"), 404, "not-found")
    pdf = work.get(f"/notices/{draft.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.headers["X-Content-SHA256"] == body["sha256"]


def test_a_leader_who_edited_a_draft_cannot_approve_it_through_the_api(app, session, make_case, supervisor, approver,
                                                                       make_user, make_token, now):
    case = make_case()
    from compliance.models import Notice
    from compliance.operations.cases import fire_trigger
    [draft] = fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now).notices
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    vice = make_user(roles={Role.APPROVER}, jurisdiction=chaoyang)
    session.commit()
    lead = ApiClient(app.test_client(), make_token(approver))
    edited = lead.patch(f"/notices/{draft.id}/draft", json={"facts": {"findings": ["职工186人，尚未建立工会。"]}})
    assert edited.status_code == 200, edited.get_data(as_text=True)
    body = _problem(lead.post(f"/notices/{draft.id}/approve", json={"sign_as": "chair"}), 409, "not-allowed")
    assert body["detail"] == "您修改过此文书草稿的内容：文书须由未起草、未修改过它的审批领导审批"
    session.expire_all()
    assert session.get(Notice, draft.id).status == "draft"
    approved = ApiClient(app.test_client(), make_token(vice)).post(f"/notices/{draft.id}/approve", json={})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"


def test_attachments_upload_list_and_download(api, make_case, session):
    case = make_case()
    session.commit()
    pdf = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
           b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")
    import io
    res = api.post(f"/cases/{case.id}/attachments", data={"file": (io.BytesIO(pdf), "现场.pdf"), "description": "照片"},
                   content_type="multipart/form-data")
    assert res.status_code == 201, res.get_data(as_text=True)
    attachment = res.get_json()
    assert [a["id"] for a in api.get(f"/cases/{case.id}/attachments").get_json()["items"]] == [attachment["id"]]
    content = api.get(f"/attachments/{attachment['id']}/content")
    assert content.status_code == 200 and content.data == pdf
    bad = api.post(f"/cases/{case.id}/attachments", data={"file": (io.BytesIO(b"hello"), "a.txt")},
                   content_type="multipart/form-data")
    _problem(bad, 422, "validation")


def test_an_upload_retried_with_one_key_is_stored_once_and_another_file_is_refused(api, make_case, session):
    import io
    case = make_case()
    session.commit()
    pdf = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
    send = lambda data: api.post(f"/cases/{case.id}/attachments", data={"file": (io.BytesIO(data), "a.pdf")},
                                 content_type="multipart/form-data", headers={"Idempotency-Key": "upload-1"})
    first = send(pdf)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = send(pdf)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    _problem(send(pdf.replace(b"Catalog", b"Catalog ")), 422, "idempotency-key-reused")
    assert len(api.get(f"/cases/{case.id}/attachments").get_json()["items"]) == 1


def test_without_a_token_nothing_else_is_said(app):
    _problem(app.test_client().get("/api/v1/me?unknown=1"), 401, "unauthorized")


def test_the_deadlines_list_pages_by_due_date_with_the_pages_filters(api, make_case, supervisor, session, now):
    from compliance.operations.cases import fire_trigger
    from compliance.testing import start_visit_period
    for _ in range(3):
        case = make_case()
        fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
        start_visit_period(session, case, now.date())   # the visit letter's period runs from its service
    session.commit()
    seen, cursor = [], None
    for _ in range(10):
        page = api.get("/deadlines?mine=true&limit=2" + (f"&after={cursor}" if cursor else "")).get_json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) >= 3 and len({d["id"] for d in seen}) == len(seen)
    assert [(d["due_on"], d["id"]) for d in seen] == sorted((d["due_on"], d["id"]) for d in seen)
    assert all(d["status"] == "open" and d["reference"] for d in seen)
    assert api.get("/deadlines?show=closed&mine=true").get_json()["items"] == []


def test_a_nul_character_is_refused_not_a_server_error(api, make_case, session):
    case = make_case()
    session.commit()
    body = _problem(api.post(f"/cases/{case.id}/transitions", json={"trigger": "withdraw", "reason": "a\x00b"}),
                    422, "validation")
    assert "reason" in body["errors"]
    _problem(api.get("/cases?q=%00"), 422, "validation")


def test_the_web_lists_ignore_a_nul_in_the_search_too(app, client, session, supervisor):
    """Found by the API fuzzing on PostgreSQL: the lists' shared search code dropped nothing, and PostgreSQL
    refuses NUL in text (a 500). The search now drops it, for the pages as for the API."""
    session.commit()
    client.post("/login", data={"login": supervisor.login, "password": "correct horse battery"})
    assert client.get("/cases?q=a%00b").status_code == 200
    assert client.get("/enterprises?q=%00").status_code == 200


def test_the_api_needs_no_csrf_token_while_the_pages_still_do(app, api, make_case, session, supervisor):
    case = make_case()
    session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        res = api.post(f"/cases/{case.id}/transitions", json={"trigger": "record_visit", "inputs": VISIT})
        assert res.status_code == 201, res.get_data(as_text=True)
        page = app.test_client()
        assert page.post("/login", data={"login": supervisor.login, "password": "x"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
