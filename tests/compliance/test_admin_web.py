"""The admin pages through the test client: scope, permissions, refusals that change nothing, escaping.

Setup is committed before requests are made: a refused request rolls the shared session back, and must not take
the test's own rows with it (the outer transaction is still rolled back after each test).
"""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from compliance.clock import utcnow
from compliance.models import (
    AdminEvent,
    Jurisdiction,
    LoginThrottle,
    Role,
    User,
    UserRole,
    UserSession,
)
from compliance.operations.accounts import LETTERHEAD_FIELDS, letterhead_values

PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def login(client, user_login, password=PASSWORD):
    return client.post("/login", data={"login": user_login, "password": password})


def place(session, code):
    return session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))


def counts(session):
    """Rows of every table an admin page could write to: equal before and after proves nothing changed."""
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (User, UserRole, AdminEvent, UserSession, LoginThrottle)}


def events(session, action, user=None):
    query = select(AdminEvent).where(AdminEvent.action == action)
    if user is not None:
        query = query.where(AdminEvent.target_user_id == user.id)
    return session.scalars(query.order_by(AdminEvent.id)).all()


def text(response):
    return response.get_data(as_text=True)


def user_data(user, **changes):
    """The edit form as the page fills it for this user, with some values changed."""
    data = {"name": user.name, "email": user.email or "", "supervisor_number": user.supervisor_number or "",
            "jurisdiction": str(user.jurisdiction_id), "roles": sorted(r.value for r in user.roles)}
    return {**data, **changes}


def new_user_data(where, **changes):
    data = {"login": f"new_{uuid.uuid4().hex[:8]}", "name": "王芳", "jurisdiction": str(where.id),
            "roles": ["supervisor"], "supervisor_number": f"J{uuid.uuid4().hex[:8]}", "email": "wangfang@example.cn",
            "password": "Qiuyue-2026-lake"}
    return {**data, **changes}


def letterhead_data(issuer, **changes):
    """The letterhead form as the page fills it ("bank.bank" is posted as bank_bank)."""
    return {**{key.replace(".", "_"): value for key, value in letterhead_values(issuer).items()}, **changes}



@pytest.fixture
def admin(session, make_user):
    """A district admin of 朝阳区 (the test street lies below it)."""
    return make_user(name="管理员甲", roles={Role.ADMIN}, jurisdiction=place(session, "110105"))


@pytest.fixture
def admin_client(client, session, admin):
    session.commit()
    assert login(client, admin.login).status_code == 302
    return client


@pytest.fixture
def haidian_user(session, make_user):
    user = make_user(name="海淀的人", jurisdiction=place(session, "110108"))
    session.commit()
    return user


@pytest.fixture
def target(session, make_user):
    """A supervisor of the test street, in the district admin's scope; the login has capitals on purpose."""
    user = make_user(login=f"WangLi_{uuid.uuid4().hex[:6]}", name="王丽")
    session.commit()
    return user


# ------------------------------------------------------------------------------------------- scope, 403

def test_district_admin_lists_only_users_in_scope(admin_client, target, haidian_user):
    page = text(admin_client.get("/admin/users"))
    assert target.login in page and "王丽" in page and "监督员" in page
    assert haidian_user.login not in page
    found = text(admin_client.get("/admin/users", query_string={"q": target.login.lower()[:8]}))
    assert target.login in found
    missing = admin_client.get("/admin/users", query_string={"q": haidian_user.login})
    assert f"/admin/users/{haidian_user.id}" not in text(missing) and "没有符合条件的用户" in text(missing)
    assert admin_client.get("/admin/users", query_string={"q": "x" * 5000, "page": "99999999999"}).status_code == 200


def test_new_user_page_offers_only_jurisdictions_in_scope(admin_client, jurisdiction):
    page = text(admin_client.get("/admin/users/new"))
    assert jurisdiction.name in page and "朝阳区" in page and "海淀区" not in page
    assert "首次登录时须先修改" in page and 'maxlength="64"' in page


def test_admin_creates_a_user_who_must_change_the_password(admin_client, session, jurisdiction):
    before = counts(session)
    data = new_user_data(jurisdiction, roles=["supervisor", "approver"])
    res = admin_client.post("/admin/users/new", data=data)
    assert res.status_code == 302
    user = session.scalar(select(User).where(User.login == data["login"]))
    assert res.headers["Location"] == f"/admin/users/{user.id}"
    assert user.must_change_password and user.roles == {Role.SUPERVISOR, Role.APPROVER}
    assert user.jurisdiction_id == jurisdiction.id and user.supervisor_number == data["supervisor_number"]
    [event] = events(session, "user.created", user)
    assert event.details["login"] == data["login"]
    after = counts(session)
    assert after["User"] == before["User"] + 1 and after["AdminEvent"] == before["AdminEvent"] + 1
    assert "首次登录时须修改初始密码" in text(admin_client.get(res.headers["Location"]))


@pytest.mark.parametrize("changes,message", [
    ({"roles": []}, "至少需要一个角色"), ({"password": "1234567890"}, "常见弱密码"),
    ({"login": "bad login!"}, "用户名只能含"), ({"email": "no-at-sign"}, "电子邮箱格式不正确"),
    ({"jurisdiction": ""}, "请选择辖区"), ({"name": ""}, "请填写姓名")])
def test_refused_new_user_saves_nothing(admin_client, session, jurisdiction, changes, message):
    before = counts(session)
    res = admin_client.post("/admin/users/new", data=new_user_data(jurisdiction, **changes))
    assert res.status_code == 422 and message in text(res)
    assert counts(session) == before


def test_duplicate_login_is_refused(admin_client, session, jurisdiction, target):
    before = counts(session)
    res = admin_client.post("/admin/users/new", data=new_user_data(jurisdiction, login=target.login))
    assert res.status_code == 422 and "已存在" in text(res)
    assert counts(session) == before


def test_users_outside_scope_answer_404_and_change_nothing(admin_client, session, haidian_user):
    before = counts(session)
    uid = haidian_user.id
    assert admin_client.get(f"/admin/users/{uid}").status_code == 404
    assert admin_client.post(f"/admin/users/{uid}", data=user_data(haidian_user, name="改掉")).status_code == 404
    for action in ("deactivate", "activate", "unlock", "sign-out"):
        assert admin_client.post(f"/admin/users/{uid}/{action}").status_code == 404
    assert admin_client.post(f"/admin/users/{uid}/password", data={"password": "Tmp-pass-8812x"}).status_code == 404
    haidian = place(session, "110108")
    assert admin_client.get(f"/admin/issuers/{haidian.id}").status_code == 404
    assert admin_client.get("/admin/users/2147483647").status_code == 404
    session.expire_all()
    assert haidian_user.name == "海淀的人" and haidian_user.is_active
    assert counts(session) == before


def test_admin_cannot_move_a_user_or_create_one_outside_scope(admin_client, session, target, jurisdiction):
    before = counts(session)
    haidian = place(session, "110108")
    assert admin_client.post(f"/admin/users/{target.id}",
                             data=user_data(target, jurisdiction=str(haidian.id))).status_code == 404
    assert admin_client.post("/admin/users/new",
                             data=new_user_data(jurisdiction, jurisdiction=str(haidian.id))).status_code == 404
    session.expire_all()
    assert target.jurisdiction_id == jurisdiction.id and counts(session) == before


def admin_pages(user_id, jurisdiction_id):
    """Every admin route with the method it answers."""
    gets = ["/admin/users", "/admin/users/new", f"/admin/users/{user_id}", "/admin/issuers",
            f"/admin/issuers/{jurisdiction_id}", "/admin/locks", "/admin/audit"]
    posts = ["/admin/users/new", f"/admin/users/{user_id}", f"/admin/issuers/{jurisdiction_id}",
             "/admin/locks/unlock"] + [f"/admin/users/{user_id}/{a}"
                                       for a in ("deactivate", "activate", "password", "unlock", "sign-out")]
    return [("GET", url) for url in gets] + [("POST", url) for url in posts]


def test_supervisor_gets_403_on_every_admin_page(client, session, supervisor, target, haidian_user, jurisdiction):
    session.commit()
    login(client, supervisor.login)
    before = counts(session)
    for uid in (target.id, haidian_user.id):
        for method, url in admin_pages(uid, jurisdiction.id):
            res = client.open(url, method=method, data={"password": "Tmp-pass-8812x"})
            assert res.status_code == 403, (method, url)
            assert "不能管理用户" in text(res) or "不能管理文书抬头" in text(res)
    assert counts(session) == before


def test_admin_pages_need_login(client, target, jurisdiction):
    for method, url in admin_pages(target.id, jurisdiction.id):
        res = client.open(url, method=method)
        assert res.status_code == 302 and "/login" in res.headers["Location"], (method, url)


# ----------------------------------------------------------------------------------- account actions

def test_edit_user_saves_and_audits(admin_client, session, target):
    data = user_data(target, name="王丽华", roles=["supervisor", "auditor"], email="wl@example.cn")
    res = admin_client.post(f"/admin/users/{target.id}", data=data)
    assert res.status_code == 302
    session.expire_all()
    assert target.name == "王丽华" and target.roles == {Role.SUPERVISOR, Role.AUDITOR}
    [event] = events(session, "user.updated", target)
    assert event.details["changes"]["name"] == ["王丽", "王丽华"]
    page = text(admin_client.get(f"/admin/users/{target.id}"))
    assert "姓名：王丽 → 王丽华" in page and "角色：监督员 → 审计、监督员" in page


def test_deactivate_ends_the_users_sessions(app, admin_client, session, target):
    other = app.test_client()
    login(other, target.login)
    assert other.get("/cases").status_code == 200
    assert "Werkzeug" in text(admin_client.get(f"/admin/users/{target.id}"))   # the live session is listed
    res = admin_client.post(f"/admin/users/{target.id}/deactivate")
    assert res.status_code == 302 and "已停用" in text(admin_client.get(res.headers["Location"]))
    res = other.get("/cases")
    assert res.status_code == 302 and "/login" in res.headers["Location"]
    session.expire_all()
    assert not target.is_active
    assert events(session, "user.deactivated", target)[0].details["sessions_ended"] == 1
    assert admin_client.post(f"/admin/users/{target.id}/activate").status_code == 302
    assert login(other, target.login).status_code == 302 and other.get("/cases").status_code == 200


def test_sign_out_everywhere_ends_the_users_sessions(app, admin_client, session, target):
    other = app.test_client()
    login(other, target.login)
    assert admin_client.post(f"/admin/users/{target.id}/sign-out").status_code == 302
    assert other.get("/cases").status_code == 302
    assert admin_client.get("/admin/users").status_code == 200        # the admin's own session stays
    assert events(session, "user.signed_out_everywhere", target)[0].details["sessions_ended"] == 1


def test_reset_password_forces_a_change(app, admin_client, session, target):
    other = app.test_client()
    res = admin_client.post(f"/admin/users/{target.id}/password", data={"password": "Linshi-mima-77"})
    assert res.status_code == 302
    assert events(session, "user.password_reset", target)
    assert login(other, target.login).status_code == 200               # the old password no longer works
    assert login(other, target.login, "Linshi-mima-77").status_code == 302
    for url in ("/cases", "/enterprises", "/"):
        res = other.get(url)
        assert res.status_code == 302 and res.headers["Location"] == "/account/password", url
    res = other.post("/account/password", data={"current": "Linshi-mima-77", "password": "Ziji-de-mima-99",
                                                "confirm": "Ziji-de-mima-99"})
    assert res.status_code == 302
    assert other.get("/cases").status_code == 200


def test_weak_temporary_password_is_refused(admin_client, session, target):
    before = counts(session)
    res = admin_client.post(f"/admin/users/{target.id}/password", data={"password": "short"})
    assert res.status_code == 422 and "密码至少" in text(res)
    session.expire_all()
    assert not target.must_change_password and counts(session) == before


def test_unlock_after_ten_wrong_passwords(app, admin_client, session, target, monkeypatch):
    # No delays between the ten failures (the lock itself is what is tested, not the waiting before it).
    monkeypatch.setitem(app.config, "LOGIN_FREE_FAILURES", 10)
    other = app.test_client()
    for _ in range(10):
        assert login(other, target.login, "wrong password 1").status_code == 200
    assert login(other, target.login).status_code == 429
    assert events(session, "login.locked", target)
    assert "已锁定至" in text(admin_client.get("/admin/users", query_string={"q": target.login}))
    assert target.login in text(admin_client.get("/admin/locks"))
    assert "解除登录限制" in text(admin_client.get(f"/admin/users/{target.id}"))
    res = admin_client.post(f"/admin/users/{target.id}/unlock")
    assert res.status_code == 302
    assert events(session, "login.unlocked", target)[0].details["failures"] == 10
    assert login(other, target.login).status_code == 302


def lock(session, scope, key):
    now = utcnow()
    session.add(LoginThrottle(scope=scope, key=key, failures=10, first_failure_at=now, last_failure_at=now,
                              locked_until=now + dt.timedelta(minutes=15)))
    session.commit()


def test_locks_page_shows_what_the_admin_may_unlock(app, admin_client, session, make_user, target, haidian_user):
    lock(session, "account", target.login.lower())
    lock(session, "account", haidian_user.login.lower())
    lock(session, "address", "203.0.113.9")
    page = text(admin_client.get("/admin/locks"))
    assert target.login in page and haidian_user.login not in page and "203.0.113.9" not in page
    before = counts(session)
    for scope, key in (("address", "203.0.113.9"), ("account", haidian_user.login.lower()), ("account", "nobody")):
        assert admin_client.post("/admin/locks/unlock", data={"scope": scope, "key": key}).status_code == 404
    assert counts(session) == before

    city_admin = make_user(roles={Role.ADMIN}, jurisdiction=place(session, "110000"))
    session.commit()
    city = app.test_client()
    login(city, city_admin.login)
    page = text(city.get("/admin/locks"))
    assert target.login in page and haidian_user.login in page and "203.0.113.9" in page
    assert city.post("/admin/locks/unlock", data={"scope": "address", "key": "203.0.113.9"}).status_code == 302
    assert session.get(LoginThrottle, ("address", "203.0.113.9")) is None
    assert "203.0.113.9" in text(city.get("/admin/audit"))


def test_admin_cannot_deactivate_themselves_or_drop_their_admin_role(admin_client, session, admin):
    before = counts(session)
    res = admin_client.post(f"/admin/users/{admin.id}/deactivate")
    assert res.status_code == 409 and "不能停用自己的账号" in text(res)
    res = admin_client.post(f"/admin/users/{admin.id}", data=user_data(admin, roles=["supervisor"]))
    assert res.status_code == 409 and "不能取消自己的管理员角色" in text(res)
    session.expire_all()
    assert admin.is_active and admin.roles == {Role.ADMIN}
    assert counts(session) == before
    assert admin_client.get("/admin/users").status_code == 200


# ------------------------------------------------------------------------------------------ max lengths

NEW_USER_LIMITS = [("login", "用户名", 64), ("name", "姓名", 50), ("supervisor_number", "监督员证号", 32),
                   ("email", "电子邮箱", 200), ("password", "初始密码", 128)]


@pytest.mark.parametrize("field,label,limit", NEW_USER_LIMITS)
def test_over_long_new_user_field_is_refused(admin_client, session, jurisdiction, field, label, limit):
    before = counts(session)
    value = "a" * (limit - 6) + "@b.cn" + "x" * 2 if field == "email" else "a" * (limit + 1)
    res = admin_client.post("/admin/users/new", data=new_user_data(jurisdiction, **{field: value}))
    assert res.status_code == 422 and f"{label}不能超过{limit}个字符" in text(res)
    assert counts(session) == before


@pytest.mark.parametrize("field,label,limit", NEW_USER_LIMITS[1:4])
def test_over_long_edit_field_is_refused(admin_client, session, target, field, label, limit):
    before = counts(session)
    value = "a" * (limit - 6) + "@b.cn" + "x" * 2 if field == "email" else "a" * (limit + 1)
    res = admin_client.post(f"/admin/users/{target.id}", data=user_data(target, **{field: value}))
    assert res.status_code == 422 and f"{label}不能超过{limit}个字符" in text(res)
    session.expire_all()
    assert (target.name, target.email, target.supervisor_number) == ("王丽", None, None)
    assert counts(session) == before


def test_name_at_its_limit_is_accepted(admin_client, session, target):
    assert admin_client.post(f"/admin/users/{target.id}", data=user_data(target, name="张" * 50)).status_code == 302
    session.expire_all()
    assert target.name == "张" * 50


def test_over_long_temporary_password_is_refused(admin_client, session, target):
    before = counts(session)
    res = admin_client.post(f"/admin/users/{target.id}/password", data={"password": "Ab3-" * 33})
    assert res.status_code == 422 and "临时密码不能超过128个字符" in text(res)
    session.expire_all()
    assert not target.must_change_password and counts(session) == before


@pytest.mark.parametrize("key,label,limit", LETTERHEAD_FIELDS)
def test_over_long_letterhead_field_is_refused(admin_client, session, jurisdiction, key, label, limit):
    before, head = counts(session), letterhead_values(jurisdiction)
    data = letterhead_data(jurisdiction, **{key.replace(".", "_"): "工" * (limit + 1)})
    res = admin_client.post(f"/admin/issuers/{jurisdiction.id}", data=data)
    assert res.status_code == 422 and f"{label}不能超过{limit}个字符" in text(res)
    session.expire_all()
    assert letterhead_values(jurisdiction) == head and counts(session) == before


# ------------------------------------------------------------------------------------------- letterhead

COMPLETE = {"chair": "李建华", "address": "北京市朝阳区测试路1号", "contact": "赵敏 010-65000000",
            "bank_account_name": "朝阳区测试街道总工会", "bank_bank": "中国工商银行北京朝阳支行",
            "bank_account_no": "0200001234567890123"}


def test_letterhead_change_is_audited_with_before_and_after(admin_client, session, jurisdiction):
    url, fixture_chair = f"/admin/issuers/{jurisdiction.id}", letterhead_values(jurisdiction)["chair"]
    assert admin_client.post(url, data=letterhead_data(jurisdiction, chair="")).status_code == 302
    assert "未填：委员会主任（签发人）" in text(admin_client.get("/admin/issuers"))
    session.expire_all()
    res = admin_client.post(url, data=letterhead_data(jurisdiction, **COMPLETE))
    assert res.status_code == 302 and res.headers["Location"] == url
    session.expire_all()
    assert letterhead_values(jurisdiction)["chair"] == "李建华"
    cleared, filled = events(session, "issuer.letterhead_changed")[-2:]
    assert cleared.jurisdiction_id == filled.jurisdiction_id == jurisdiction.id
    assert cleared.details["changes"]["chair"] == [fixture_chair, ""]
    assert filled.details["changes"]["chair"] == ["", "李建华"]
    audit = text(admin_client.get("/admin/audit"))
    assert "修改文书抬头" in audit and "委员会主任（签发人）：（空） → 李建华" in audit
    assert f"委员会主任（签发人）：{fixture_chair} → （空）" in audit
    assert "未填" not in text(admin_client.get("/admin/issuers"))
    assert "已签发的文书保留签发时的抬头" in text(admin_client.get(url))


def test_letterhead_with_an_emoji_is_refused(admin_client, session, jurisdiction):
    before, head = counts(session), letterhead_values(jurisdiction)
    res = admin_client.post(f"/admin/issuers/{jurisdiction.id}",
                            data=letterhead_data(jurisdiction, **{**COMPLETE, "chair": "李建华😀"}))
    assert res.status_code == 422
    assert "无法排印的字符" in text(res) and "😀" in text(res) and "U+1F600" in text(res)
    session.expire_all()
    assert letterhead_values(jurisdiction) == head and counts(session) == before


# ---------------------------------------------------------------------------------------------- escaping

def test_script_in_a_name_is_escaped_on_the_list_and_the_audit(admin_client, session, jurisdiction, target):
    data = new_user_data(jurisdiction, name=XSS)
    assert admin_client.post("/admin/users/new", data=data).status_code == 302
    assert admin_client.post(f"/admin/users/{target.id}", data=user_data(target, name=XSS)).status_code == 302
    for url in ("/admin/users", "/admin/audit", f"/admin/users/{target.id}"):
        page = text(admin_client.get(url))
        assert XSS not in page and XSS_ESCAPED in page, url
    assert f"姓名：王丽 → {XSS_ESCAPED}" in text(admin_client.get("/admin/audit"))


def test_audit_names_every_action_in_chinese():
    from compliance.web.admin import ACTIONS
    assert set(ACTIONS.values()) == {"创建账号", "修改账号", "启用账号", "停用账号", "重置密码", "修改密码",
                                     "退出全部登录", "登录锁定", "解除锁定", "修改文书抬头", "批量导入企业",
                                     "批量导入案件"}
