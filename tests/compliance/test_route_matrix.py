"""Every route × every role × a target in scope / out of scope, and anonymous.

Each route is classified here by hand; a route added without a line in ROUTES fails
test_every_route_is_classified. A refused request answers 302 to the login page (anonymous), 403 (the role may not)
or 404 (the target lies outside the user's jurisdiction, exactly as an absent id), and changes nothing in the
database or the document store (the same comparison as the operations' matrix).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from compliance.models import Jurisdiction, Notice, Role
from compliance.operations.attachments import attach_evidence
from compliance.operations.cases import fire_trigger, open_case
from compliance.operations.tokens import create_token
from compliance.testing import VISIT, issue_drafts, refuse_after_visit
from tests.compliance.test_authorization import database_state

PASSWORD = "correct horse battery"

#: endpoint → (who may use it, the kind of id in its URL or None). "public": anyone; "account": any logged-in
#: user; "view": roles that read case files; "admin": roles that manage users or letterheads.
ROUTES = {
    "static": ("public", None), "auth.login": ("public", None), "auth.logout": ("public", None),
    "language.switch": ("public", None),   # sets the language cookie only (compliance/web/language.py)
    "web.healthz": ("public", None), "notices.verify": ("public", None), "notices.verify_upload": ("public", None),
    "auth.password": ("account", None), "auth.sign_out_others": ("account", None), "web.index": ("account", None),
    "web.cases": ("view", None), "web.enterprises": ("view", None), "web.case_detail": ("view", "case_id"),
    "notices.pdf": ("view", "issued_id"), "notices.preview": ("view", "draft_id"),
    "notices.edit": ("edit", "draft_id"), "notices.submit": ("edit", "draft_id"), "notices.approvals": ("approve", None),
    "notices.approval": ("approve", "draft_id"), "notices.approved": ("issue", None),
    "notices.issue": ("issue", "draft_id"), "notices.issue_selected": ("issue", None),
    "notices.withdraw": ("issue", "issued_id"), "notices.service": ("work", "issued_id"),
    "web.dashboard": ("view", None), "web.enterprise_detail": ("view", "enterprise_id"),
    "web.export_cases": ("view", None), "web.export_enterprises": ("view", None),
    "evidence.case_evidence": ("view", "case_id"), "evidence.upload": ("work", "case_id"),
    "evidence.download": ("view", "attachment_id"),
    "casework.new_enterprise": ("work", None), "casework.open_case": ("work", "enterprise_id"),
    "casework.step": ("work", "case_id"), "casework.assign": ("work", "case_id"),
    "casework.funds": ("work", "case_id"), "casework.ladder": ("account", None),
    "admin.users": ("admin", None), "admin.new_user": ("admin", None), "admin.issuers": ("admin", None),
    "admin.locks": ("admin", None), "admin.audit": ("admin", None), "admin.unlock": ("admin", None),
    "admin.user": ("admin", "user_id"), "admin.activate": ("admin", "user_id"),
    "admin.deactivate": ("admin", "user_id"), "admin.reset_password": ("admin", "user_id"),
    "admin.sign_out": ("admin", "user_id"), "admin.unlock_user": ("admin", "user_id"),
    "admin.issuer": ("admin", "jurisdiction_id"),
    "reminders.inbox": ("account", None), "reminders.read": ("account", None), "reminders.read_all": ("account", None),
    "reminders.deadlines": ("view", None), "reminders.outbox": ("admin", None), "reminders.retry": ("admin", None),
    "tokens.own": ("account", None), "tokens.of_user": ("admin", "user_id"), "tokens.revoke": ("admin", "token_id"),
    "imports.index": ("work", None), "imports.upload": ("work", None), "imports.confirm": ("work", None),
    "imports.bad_rows": ("work", None), "imports.template_file": ("work", None),
    "imports.listing_batch": ("view", None),
}
#: The REST API (/api/v1), by token: endpoint → (who, the kind of id it acts on: in the URL, or for the two that
#: create, in the body). A refusal is 401 without a valid token (the session cookie is not one), 404 out of scope
#: (before the role is looked at, as the operations do), 403 for a role in scope that may not.
API_ROUTES = {
    "api_docs.openapi_json": ("public", None), "api_docs.docs_page": ("public", None),
    "api_docs.docs_asset": ("public", None),
    "api.me": ("account", None), "api.list_reminders": ("account", None), "api.read_reminder": ("account", "message_id"),
    "api.list_enterprises": ("view", None), "api.get_enterprise": ("view", "enterprise_id"),
    "api.create_enterprise": ("work", "jurisdiction_id"),
    "api.list_cases": ("view", None), "api.get_case": ("view", "case_id"), "api.create_case": ("work", "enterprise_id"),
    "api.list_transitions": ("view", "case_id"), "api.fire_transition": ("work", "case_id"),
    "api.list_deadlines": ("view", "case_id"), "api.list_all_deadlines": ("view", None), "api.list_events": ("view", "case_id"),
    "api.list_notices": ("view", "case_id"), "api.get_notice": ("view", "issued_id"),
    "api.notice_pdf": ("view", "issued_id"), "api.notice_preview": ("view", "draft_id"), "api.update_draft": ("edit", "draft_id"),
    "api.submit_notice": ("edit", "draft_id"), "api.approve_notice": ("approve", "draft_id"),
    "api.issue_notice": ("issue", "draft_id"), "api.return_notice": ("approve", "draft_id"),
    "api.withdraw_notice": ("issue", "issued_id"),
    "api.record_service": ("work", "issued_id"), "api.correct_service": ("work", "issued_id"),
    "api.list_attachments": ("view", "case_id"), "api.upload_attachment": ("work", "case_id"),
    "api.get_attachment": ("view", "attachment_id"), "api.attachment_content": ("view", "attachment_id"),
    "api.import_file": ("work", None), "api.export_cases": ("view", None), "api.export_enterprises": ("view", None),
    "api.export_listing_batch": ("view", None),
}
#: Which roles hold each class (by hand, as the federation's policy says).
HOLDERS = {"view": {Role.SUPERVISOR, Role.APPROVER, Role.AUDITOR}, "work": {Role.SUPERVISOR}, "admin": {Role.ADMIN},
           # Notices: complete a draft; approve or send back; issue (and withdraw) — compliance/access.py.
           "edit": {Role.SUPERVISOR, Role.APPROVER}, "approve": {Role.APPROVER}, "issue": {Role.SUPERVISOR, Role.APPROVER}}
#: What a POST sends (never enough to succeed where it is refused; valid where the route needs fields).
FORMS = {"admin.user": {"name": "改名", "roles": "auditor"}, "admin.reset_password": {"password": "Temporary-pass-42"},
         "admin.new_user": {"login": "made.by.route", "name": "新", "password": "Temporary-pass-42",
                            "roles": "supervisor"},
         "admin.issuer": {"committee_name": "伪造委员会", "chair": "伪造"},
         "admin.unlock": {"scope": "account", "key": "nobody"}}


def test_every_route_is_classified(app):
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(ROUTES) | set(API_ROUTES)


@pytest.fixture
def targets(session, make_user, make_enterprise, supervisor, approver, store, now, jurisdiction):
    """The same kinds of row at home (朝阳 test street) and away (海淀)."""
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))

    def build(place, who, chair):
        case = open_case(session, enterprise=make_enterprise(jurisdiction=place), violations=["no_union"],
                         opened_by=who, supervisors=[who], now=now)
        fire_trigger(session, case.id, "record_visit", VISIT, actor=who, now=now)
        issue_drafts(session, case.id, approver=chair, now=now, store=store)
        refuse_after_visit(session, case.id, actor=who, now=now)  # the visit letter's period has not run
        [draft] = fire_trigger(session, case.id, "issue_opinion", {}, actor=who, now=now).notices
        issued = session.scalars(select(Notice).where(Notice.case_id == case.id, Notice.status == "issued")).one()
        evidence = attach_evidence(session, case.id, data=b"%PDF-1.4\n%%EOF\n", filename=f"{place.code}.pdf",
                                   actor=who, now=now, store=store)
        token, _secret = create_token(session, actor=who, name=f"矩阵{place.code}", now=now)
        return {"case_id": case.id, "draft_id": draft.id, "issued_id": issued.id, "attachment_id": evidence.id,
                "enterprise_id": case.enterprise_id, "token_id": token.id,
                "user_id": make_user(jurisdiction=place).id, "jurisdiction_id": place.id}

    home = build(jurisdiction, supervisor, approver)
    away = build(haidian, make_user(jurisdiction=haidian), make_user(jurisdiction=haidian, roles={Role.APPROVER}))
    session.commit()   # a refused request rolls the shared session back: keep the rows
    return {"in_scope": home, "out_of_scope": away}


def _url(app, endpoint, ids):
    kind = ROUTES[endpoint][1]
    with app.test_request_context():
        from flask import url_for
        if endpoint == "static":
            return url_for("static", filename="app.css")
        if endpoint == "notices.verify":
            return url_for(endpoint, code="NOSUCHCODE")
        if endpoint == "language.switch":
            return url_for(endpoint, choice="en")
        if kind is None:
            return url_for(endpoint)
        arg = {"case_id": "case_id", "draft_id": "notice_id", "issued_id": "notice_id", "user_id": "user_id",
               "jurisdiction_id": "jurisdiction_id", "attachment_id": "attachment_id",
               "enterprise_id": "enterprise_id", "token_id": "token_id"}[kind]
        extra = {"trigger": "withdraw"} if endpoint == "casework.step" else {}
        return url_for(endpoint, **{arg: ids[kind]}, **extra)


def _methods(app, endpoint):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


@pytest.mark.parametrize("where", ["in_scope", "out_of_scope"])
@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.APPROVER, Role.ADMIN, Role.AUDITOR], ids=lambda r: r.value)
def test_route_matrix(app, session, make_user, targets, store, role, where):
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    user = make_user(roles={role}, jurisdiction=chaoyang)
    session.commit()
    client = app.test_client()
    assert client.post("/login", data={"login": user.login, "password": PASSWORD}).status_code == 302
    ids = targets[where]
    for endpoint, (who, kind) in ROUTES.items():
        if who in ("public", "account") or endpoint == "auth.logout":
            continue
        allowed = role in HOLDERS[who]
        for method in _methods(app, endpoint):
            if method == "POST" and allowed and (where == "in_scope" or kind is None):
                continue   # a permitted change: its own tests cover it (test_admin_web.py)
            before = database_state(session, store.root)
            res = client.open(_url(app, endpoint, ids), method=method, data=FORMS.get(endpoint, {}))
            if not allowed:
                expected = 403
            elif kind is not None and where == "out_of_scope":
                expected = 404
            else:
                expected = 200
            if endpoint == "admin.unlock" and allowed:
                expected = 404   # no such lock (nothing to unlock); the point is that nothing changed
            if endpoint == "imports.bad_rows" and allowed:
                expected = 404   # no upload named: nothing to download
            assert res.status_code == expected, (endpoint, method, role.value, where, res.status_code)
            if method == "POST" or expected != 200:
                session.expire_all()
                assert database_state(session, store.root) == before, (endpoint, method)


def test_anonymous_is_sent_to_login_for_everything_but_the_public_pages(app, session, targets, store):
    client = app.test_client()
    ids = targets["in_scope"]
    for endpoint, (who, _kind) in ROUTES.items():
        for method in _methods(app, endpoint):
            before = database_state(session, store.root)
            res = client.open(_url(app, endpoint, ids), method=method, data=FORMS.get(endpoint, {}))
            if who == "public":
                assert res.status_code in (200, 302, 404), (endpoint, method, res.status_code)
            else:
                assert res.status_code == 302 and "/login" in res.headers["Location"], (endpoint, method)
            session.expire_all()
            assert database_state(session, store.root) == before, (endpoint, method)


# ------------------------------------------------------------------------------------------------ the API

#: What each changing API call sends: valid in shape (so the refusal is the scope's or the role's, not the
#: schema's), never enough to succeed where it is refused.
def _api_body(endpoint, ids):
    import io
    bodies = {
        "api.create_enterprise": {"uscc": "91110105MA0MTR4X7" + "K", "name": "北京矩阵测试有限公司",
                                  "jurisdiction_id": ids["jurisdiction_id"]},
        "api.create_case": {"enterprise_id": ids["enterprise_id"], "violations": ["unpaid_funds"]},
        "api.fire_transition": {"trigger": "withdraw", "inputs": {"reason": "企业注销"}},
        "api.update_draft": {"facts": {"findings": ["职工120人，未建会。"]}},
        "api.submit_notice": {}, "api.approve_notice": {"sign_as": "chair"}, "api.issue_notice": {},
        "api.return_notice": {"reason": "请补充走访时间"}, "api.withdraw_notice": {"reason": "文书送达对象有误"},
        "api.record_service": {"method": "direct", "served_on": "2026-11-24"},
        "api.correct_service": {"method": "direct", "served_on": "2026-11-24", "reason": "日期记错"},
    }
    if endpoint == "api.import_file":
        return {"data": {"file": (io.BytesIO("统一社会信用代码,企业名称\r\n".encode()), "x.csv"), "dry_run": "false"},
                "content_type": "multipart/form-data"}
    if endpoint == "api.upload_attachment":
        return {"data": {"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "x.pdf")}, "content_type": "multipart/form-data"}
    return {"json": bodies[endpoint]} if endpoint in bodies else {}


def _api_url(app, endpoint, ids):
    kind = API_ROUTES[endpoint][1]
    arg = {"case_id": "case_id", "draft_id": "notice_id", "issued_id": "notice_id", "enterprise_id": "enterprise_id",
           "attachment_id": "attachment_id", "message_id": "message_id", "jurisdiction_id": None}.get(kind)
    with app.test_request_context():
        from flask import url_for
        if endpoint == "api_docs.docs_asset":
            return url_for(endpoint, filename="swagger-ui.css")
        if endpoint == "api.read_reminder":
            return url_for(endpoint, message_id=2**31 - 1)
        if endpoint == "api.import_file":
            return url_for(endpoint, kind="enterprises")
        if arg is None or endpoint in ("api.create_case",):
            return url_for(endpoint)
        return url_for(endpoint, **{arg: ids[kind]})


@pytest.mark.parametrize("where", ["in_scope", "out_of_scope"])
@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.APPROVER, Role.ADMIN, Role.AUDITOR], ids=lambda r: r.value)
def test_api_route_matrix(app, session, make_user, targets, store, role, where):
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    user = make_user(roles={role}, jurisdiction=chaoyang)
    _token, secret = create_token(session, actor=user, name="矩阵", now=_real_now())
    session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    ids = targets[where]
    for endpoint, (who, kind) in API_ROUTES.items():
        if who == "public":
            continue
        allowed = who == "account" or role in HOLDERS[who]
        for method in _methods(app, endpoint):
            if method != "GET" and allowed and (where == "in_scope" or kind is None):
                continue   # a permitted change: tests/compliance/test_api.py covers it
            if endpoint == "api.read_reminder":
                expected = 404   # no such message of this user's; the point is that nothing changed
            elif kind is not None and where == "out_of_scope":
                expected = 404
            elif not allowed:
                expected = 403
            else:
                expected = 200
            before = database_state(session, store.root)
            res = client.open(_api_url(app, endpoint, ids), method=method, headers=headers,
                              **(_api_body(endpoint, ids) if method != "GET" else {}))
            assert res.status_code == expected, (endpoint, method, role.value, where, res.status_code,
                                                 res.get_data(as_text=True)[:300])
            if expected != 200:
                assert res.mimetype == "application/problem+json", endpoint
            if method != "GET" or expected != 200:
                session.expire_all()
                assert database_state(session, store.root) == before, (endpoint, method)


def _real_now():
    import datetime as dt
    return dt.datetime.now(dt.timezone.utc)


def test_api_without_a_token_is_401_even_with_a_signed_in_cookie(app, session, make_user, targets, store):
    user = make_user(roles={Role.SUPERVISOR})
    session.commit()
    anonymous, signed_in = app.test_client(), app.test_client()
    assert signed_in.post("/login", data={"login": user.login, "password": PASSWORD}).status_code == 302
    ids = targets["in_scope"]
    for endpoint, (who, _kind) in API_ROUTES.items():
        for method in _methods(app, endpoint):
            for client in (anonymous, signed_in):
                before = database_state(session, store.root)
                res = client.open(_api_url(app, endpoint, ids), method=method,
                                  **(_api_body(endpoint, ids) if method != "GET" else {}))
                if who == "public":
                    assert res.status_code == 200, (endpoint, res.status_code)
                    continue
                assert res.status_code == 401 and res.mimetype == "application/problem+json", (endpoint, method)
                session.expire_all()
                assert database_state(session, store.root) == before, (endpoint, method)
