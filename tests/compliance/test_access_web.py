"""Sessions, logins, redirects, headers and bad input, as a browser (or an attacker's script) meets them."""
from __future__ import annotations

import datetime as dt
import re
import statistics
import time

import pytest
from sqlalchemy import func, select

from compliance.models import AdminEvent, Case, Jurisdiction, LoginThrottle, Role, UserSession
from compliance.operations.accounts import (AccessRules, LoginRefused, LoginThrottled, attempt_login, resume_session,
                                            start_session)

PASSWORD = "correct horse battery"


def login(client, user_login, password=PASSWORD, **kw):
    return client.post("/login", data={"login": user_login, "password": password}, **kw)


def cookie(client):
    found = client.get_cookie("compliance_session")
    return found.value if found else None


# ------------------------------------------------------------------------------------------------- sessions

def test_a_cookie_saved_before_logout_opens_nothing_after(app, client, supervisor):
    login(client, supervisor.login)
    saved = cookie(client)
    assert client.get("/cases").status_code == 200
    client.post("/logout")
    assert client.get("/cases").status_code == 302
    replay = app.test_client()
    replay.set_cookie("compliance_session", saved)
    res = replay.get("/cases")
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_sign_out_everywhere_ends_the_other_browsers_only(app, client, supervisor, session):
    phone = app.test_client()
    login(client, supervisor.login)
    login(phone, supervisor.login)
    assert client.post("/account/sign-out-everywhere").status_code == 302
    assert client.get("/cases").status_code == 200
    assert phone.get("/cases").status_code == 302


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, supervisor, session):
    other = app.test_client()
    login(client, supervisor.login)
    login(other, supervisor.login)
    res = client.post("/account/password", data={"current": PASSWORD, "password": "a-new-Passw0rd-26",
                                                 "confirm": "a-new-Passw0rd-26"})
    assert res.status_code == 302
    assert client.get("/cases").status_code == 200
    assert other.get("/cases").status_code == 302
    assert session.scalar(select(func.count(AdminEvent.id)).where(AdminEvent.action == "user.password_changed",
                                                                  AdminEvent.target_user_id == supervisor.id)) == 1


@pytest.mark.parametrize("new, message", [("short", "密码至少10位"), ("password123", "常见弱密码"),
                                          ("x" * 129, "密码过长")])
def test_a_weak_new_password_is_refused_and_the_old_one_still_works(app, client, supervisor, new, message):
    login(client, supervisor.login)
    res = client.post("/account/password", data={"current": PASSWORD, "password": new, "confirm": new})
    assert res.status_code == 200 and message in res.get_data(as_text=True)
    client.post("/logout")
    assert login(client, supervisor.login).status_code == 302


def test_the_password_may_not_contain_the_login(app, client, make_user):
    user = make_user(login="wangfang")
    login(client, user.login)
    res = client.post("/account/password", data={"current": PASSWORD, "password": "WangFang-2026!x",
                                                 "confirm": "WangFang-2026!x"})
    assert "密码不能包含用户名" in res.get_data(as_text=True)


def test_idle_timeout_and_absolute_lifetime(session, supervisor, now):
    rules = AccessRules(idle=dt.timedelta(minutes=30), max_age=dt.timedelta(hours=12))
    token = start_session(session, supervisor, address="127.0.0.1", user_agent="t", now=now, rules=rules)
    # Active every 20 minutes: alive until the absolute end, then gone.
    moment = now
    while moment + dt.timedelta(minutes=20) < now + dt.timedelta(hours=12):
        moment += dt.timedelta(minutes=20)
        assert resume_session(session, token, now=moment, rules=rules) is not None, moment
    assert resume_session(session, token, now=now + dt.timedelta(hours=12, minutes=1), rules=rules) is None
    idle = start_session(session, supervisor, address="127.0.0.1", user_agent="t", now=now, rules=rules)
    assert resume_session(session, idle, now=now + dt.timedelta(minutes=31), rules=rules) is None
    assert resume_session(session, idle, now=now + dt.timedelta(minutes=32), rules=rules) is None   # ended stays ended
    ended = session.scalar(select(UserSession.ended_reason).where(UserSession.user_id == supervisor.id)
                           .order_by(UserSession.id.desc()).limit(1))
    assert ended == "idle"


def test_deactivation_ends_a_live_session(app, client, supervisor, session):
    login(client, supervisor.login)
    supervisor.is_active = False
    session.flush()
    assert client.get("/cases").status_code == 302


def test_the_csrf_token_is_new_after_login_and_the_old_one_is_refused(database_url, tmp_path):
    """With CSRF on (as in production): the token of the login page cannot be replayed once logged in."""
    from sqlalchemy import delete

    from compliance import create_app
    from compliance.db import db
    from compliance.models import User, UserRole
    from compliance.operations.users import create_user
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x", "DOCUMENT_STORE": str(tmp_path),
                      "TESTING": True})
    with app.app_context():
        city = db.session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110000"))
        user_id = create_user(db.session, login="csrf.tester", name="测试", password=PASSWORD, jurisdiction=city,
                              roles={Role.AUDITOR}).id
        db.session.commit()
    try:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        old_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        with client.session_transaction() as before:
            old_secret = before["csrf_token"]
        res = client.post("/login", data={"login": "csrf.tester", "password": PASSWORD, "csrf_token": old_token})
        assert res.status_code == 302
        with client.session_transaction() as after:
            assert after.get("csrf_token") != old_secret and after.get("sid")
        stale = client.post("/logout", data={"csrf_token": old_token})
        assert stale.status_code == 400 and "表单已过期" in stale.get_data(as_text=True)
        assert client.get("/cases").status_code == 200      # the stale form changed nothing: still logged in
    finally:
        with app.app_context():
            db.session.execute(delete(UserSession).where(UserSession.user_id == user_id))
            db.session.execute(delete(UserRole).where(UserRole.user_id == user_id))
            db.session.execute(delete(User).where(User.id == user_id))
            db.session.commit()


# ---------------------------------------------------------------------------------------------------- logins

def test_thirty_wrong_passwords_are_slowed_then_locked_and_the_right_one_waits(app, client, supervisor, session):
    answers = [login(client, supervisor.login, "wrong-password").status_code for _ in range(30)]
    assert answers[:3] == [200, 200, 200]            # three free tries …
    assert set(answers[3:]) == {429}                 # … then every attempt must wait
    right = login(client, supervisor.login)
    assert right.status_code == 429 and "请" in right.get_data(as_text=True)
    assert int(right.headers["Retry-After"]) >= 1
    assert client.get("/cases").status_code == 302


def test_the_account_locks_after_ten_failures_and_an_admin_sees_it(session, supervisor, now):
    rules = AccessRules()
    moment = now
    for _ in range(10):   # spaced out so each attempt is past its delay
        with pytest.raises(LoginRefused):
            attempt_login(session, login=supervisor.login, password="wrong", address="10.0.0.9", now=moment,
                          rules=rules)
        moment += dt.timedelta(seconds=61)
    with pytest.raises(LoginThrottled, match="已临时锁定"):
        attempt_login(session, login=supervisor.login, password=PASSWORD, address="10.0.0.9", now=moment,
                      rules=rules)
    lock = session.get(LoginThrottle, ("account", supervisor.login.lower()))
    assert lock.locked_until is not None
    event = session.scalar(select(AdminEvent).where(AdminEvent.action == "login.locked"))
    assert event.target_user_id == supervisor.id and event.jurisdiction_id == supervisor.jurisdiction_id
    # The lock is temporary.
    later = lock.locked_until + dt.timedelta(seconds=1)
    assert attempt_login(session, login=supervisor.login, password=PASSWORD, address="10.0.0.9", now=later,
                         rules=rules) == supervisor


def test_unknown_and_known_logins_get_the_same_answer(client, supervisor):
    known = login(client, supervisor.login, "wrong-password")
    unknown = login(client, "no.such.user", "wrong-password")
    strip = lambda r: re.sub(r'name="csrf_token"[^>]*', "", r.get_data(as_text=True)).replace(  # noqa: E731
        supervisor.login, "").replace("no.such.user", "")
    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)


def test_an_address_is_throttled_across_accounts(session, make_user, now):
    rules = AccessRules(address_free_failures=5, address_lock_failures=8)
    users = [make_user() for _ in range(8)]
    for user in users:     # one failure each: no account throttle, but one address
        with pytest.raises(LoginRefused):
            attempt_login(session, login=user.login, password="wrong", address="192.0.2.7", now=now, rules=rules)
        now += dt.timedelta(seconds=61)
    with pytest.raises(LoginThrottled, match="网络地址"):
        attempt_login(session, login=users[0].login, password=PASSWORD, address="192.0.2.7", now=now, rules=rules)
    assert attempt_login(session, login=users[0].login, password=PASSWORD, address="192.0.2.8", now=now,
                         rules=rules) == users[0]


@pytest.mark.slow
def test_an_unknown_login_takes_as_long_as_a_known_one_with_a_wrong_password(session, make_user, now, monkeypatch):
    """Which logins exist cannot be told by timing: production-cost argon2 for both (median within 20 %)."""
    from argon2 import PasswordHasher

    import compliance.passwords as passwords
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher())
    user = make_user(password=PASSWORD)
    rules = AccessRules(free_failures=10**6, lock_failures=10**6, address_free_failures=10**6,
                        address_lock_failures=10**6)

    def timed(name):
        started = time.perf_counter()
        with pytest.raises(LoginRefused):
            attempt_login(session, login=name, password="not-the-password", address="127.0.0.1", now=now,
                          rules=rules)
        return time.perf_counter() - started

    timed(user.login), timed("nobody.here")   # warm both paths (the dummy hash is made once)
    known, unknown = [], []
    for _ in range(15):
        known.append(timed(user.login))
        unknown.append(timed("nobody.here"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.8 <= ratio <= 1.2, (statistics.median(known), statistics.median(unknown))


# ------------------------------------------------------------------------------------------- redirects, headers

@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0d%0a/evil.example", "/%5C%5Cevil.example",
                                    "//evil.example", "http://evil.example", "///evil.example", "/\\/evil.example"])
def test_login_never_leaves_the_site(client, supervisor, target):
    res = client.post(f"/login?next={target}", data={"login": supervisor.login, "password": PASSWORD})
    assert res.status_code == 302 and res.headers["Location"] == "/"


def test_security_headers_on_pages_pdfs_and_errors(client, supervisor, session, make_case, send_letters, now):
    from compliance.operations.cases import fire_trigger
    from compliance.testing import VISIT
    case = make_case()
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
    [notice] = send_letters(case.id, now)
    login(client, supervisor.login)
    for url in ("/login", "/cases", f"/cases/{case.id}", f"/notices/{notice.id}.pdf", "/cases/999999", "/verify"):
        res = client.get(url)
        csp = res.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, url
        assert res.headers["X-Content-Type-Options"] == "nosniff", url
        assert res.headers["Referrer-Policy"] == "same-origin", url
        assert res.headers["Cache-Control"] == "no-store", url


def test_pages_have_no_inline_script_or_style(client, supervisor, session, make_case):
    case = make_case()
    login(client, supervisor.login)
    for url in ("/login", "/cases", f"/cases/{case.id}", "/enterprises", "/account/password", "/nope"):
        html = client.get(url).get_data(as_text=True)
        assert "<script" not in html and " style=" not in html and "javascript:" not in html, url


# --------------------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("url", ["/cases?page=9223372036854775807", "/enterprises?page=99999999999999999999",
                                 "/cases?page=-3", "/cases?page=abc", "/enterprises?page=999"])
def test_out_of_range_pages_show_a_real_page(client, supervisor, url):
    login(client, supervisor.login)
    res = client.get(url)
    assert res.status_code == 200
    page = res.get_data(as_text=True)
    # Keyset pages have no page number: ?page= is ignored, the first page shows what it holds (issue 8).
    assert re.search(r"第 1–\d+ 条|没有符合条件的记录，共 0 条", page) and not re.search(r"第 \d+ / \d+ 页", page)


@pytest.mark.parametrize("url", ["/cases/99999999999999999999", "/cases/2147483648", "/cases/0", "/cases/abc",
                                 "/notices/99999999999999999999.pdf", "/notices/-1/preview.pdf",
                                 "/verify/" + "A" * 5000])
def test_malformed_ids_are_not_found(client, supervisor, url):
    login(client, supervisor.login)
    res = client.get(url)
    assert res.status_code == 404
    assert "找不到" in res.get_data(as_text=True) or "未找到" in res.get_data(as_text=True) or "核验" in res.get_data(
        as_text=True)


def test_error_pages_speak_chinese(client, supervisor):
    login(client, supervisor.login)
    assert "找不到该页面" in client.get("/no/such/page").get_data(as_text=True)
    res = client.put("/cases")
    assert res.status_code == 405 and "不支持该请求方式" in res.get_data(as_text=True)


def test_a_bug_answers_a_chinese_500_and_keeps_nothing(database_url, tmp_path):
    from compliance import create_app
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x", "DOCUMENT_STORE": str(tmp_path)})

    @app.route("/boom")
    def boom():
        raise RuntimeError("a bug")

    res = app.test_client().get("/boom")
    assert res.status_code == 500
    body = res.get_data(as_text=True)
    assert "系统出错" in body and "RuntimeError" not in body and "Traceback" not in body
    assert res.headers["X-Content-Type-Options"] == "nosniff"


def test_behind_an_https_proxy_cookies_are_secure_and_the_client_address_is_the_proxys_view(database_url, tmp_path):
    from compliance import create_app
    from compliance.testing import prepare_database  # noqa: F401  (the session database is ready already)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x", "DOCUMENT_STORE": str(tmp_path),
                      "PUBLIC_BASE_URL": "https://jiandu.example.org", "TRUSTED_PROXIES": 1,
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    res = client.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert res.status_code == 200
    res = client.post("/login", data={"login": "nobody.at.all", "password": "wrong-password"},
                      headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    set_cookie = res.headers.get("Set-Cookie", "")
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert res.headers["Strict-Transport-Security"].startswith("max-age=")
    from compliance.db import db
    with app.app_context():
        row = db.session.get(LoginThrottle, ("address", "203.0.113.9"))
        assert row is not None and row.failures == 1
        db.session.delete(row)
        db.session.delete(db.session.get(LoginThrottle, ("account", "nobody.at.all")))
        db.session.commit()


def test_a_40000_character_summary_is_refused_and_no_case_is_opened(session, make_enterprise, supervisor, now):
    from compliance.errors import ValidationFailed
    from compliance.operations.cases import open_case
    enterprise = make_enterprise()
    with pytest.raises(ValidationFailed, match="案情摘要不能超过2000字"):
        open_case(session, enterprise=enterprise, violations=["no_union"], opened_by=supervisor, now=now,
                  summary="案" * 40000)
    assert session.scalar(select(func.count(Case.id)).where(Case.enterprise_id == enterprise.id)) == 0


def test_oversized_step_inputs_are_refused_naming_the_field(session, make_case, supervisor, now):
    from compliance.errors import ValidationFailed
    from compliance.operations.cases import fire_trigger
    case = make_case()
    with pytest.raises(ValidationFailed, match="走访发现的问题不能超过2000字") as refusal:
        fire_trigger(session, case.id, "record_visit", {"visited_on": "2026-11-20", "findings": "查" * 2001,
                                                        "supervisors": "王芳、李强"}, actor=supervisor, now=now)
    assert refusal.value.field == "findings"
    assert session.get(Case, case.id).state == "registered"


def test_cli_refuses_a_forged_issuer_and_an_out_of_scope_edit(runner, session, make_case, supervisor, make_user, now):
    from compliance.cli import main
    from compliance.operations.cases import fire_trigger
    from compliance.testing import VISIT
    case = make_case()
    [notice] = fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now).notices
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    stranger = make_user(jurisdiction=haidian)
    session.commit()   # the command's refusals roll back its own session: keep the test's rows
    before = dict(notice.snapshot)
    forged = runner.invoke(main, ["notices", "edit", str(notice.id), "--by", supervisor.login, "--set",
                                  'issuer={"name":"伪造机关","code":"X","mark":"伪造"}'])
    assert forged.exit_code == 1 and "“发文机关”由系统填写，不能修改" in forged.output
    unknown = runner.invoke(main, ["notices", "edit", str(notice.id), "--by", supervisor.login, "--set",
                                   "zzz_unknown=1"])
    assert unknown.exit_code == 1 and "zzz_unknown" in unknown.output and "查明的事实" in unknown.output
    away = runner.invoke(main, ["notices", "edit", str(notice.id), "--by", stranger.login, "--set",
                                'findings=["改写"]'])
    assert away.exit_code == 1 and f"文书 {notice.id} 不存在" in away.output
    session.expire_all()
    assert session.get(type(notice), notice.id).snapshot == before
    listed = runner.invoke(main, ["notices", "edit", str(notice.id), "--by", supervisor.login, "--set",
                                  "visit.supervisors=王芳、李强，赵敏；钱七 孙八"])
    assert listed.exit_code == 0, listed.output
    session.expire_all()
    assert session.get(type(notice), notice.id).snapshot["visit"]["supervisors"] == ["王芳", "李强", "赵敏", "钱七",
                                                                                      "孙八"]


def test_cli_refuses_to_open_a_case_outside_the_users_scope(runner, session, make_enterprise, make_user):
    from compliance.cli import main
    enterprise = make_enterprise()
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    stranger = make_user(jurisdiction=haidian, roles={Role.SUPERVISOR})
    session.commit()
    out = runner.invoke(main, ["case", "open", enterprise.uscc, "--violation", "unpaid_funds", "--by",
                               stranger.login])
    assert out.exit_code == 1 and "该企业不存在" in out.output
    assert session.scalar(select(func.count(Case.id)).where(Case.enterprise_id == enterprise.id)) == 0


def test_housekeeping_forgets_spent_login_counters_but_keeps_live_ones(session, supervisor, make_user, now):
    """The nightly job drops counters that no longer throttle anyone, never a live lock or a fresh count."""
    from sqlalchemy.orm import sessionmaker

    from compliance.jobs import JOBS
    from compliance.jobs.housekeeping import purge_login_throttles
    rules = AccessRules()
    locked, stale, fresh = supervisor, make_user(), make_user()
    moment = now
    for _ in range(10):
        with pytest.raises(LoginRefused):
            attempt_login(session, login=locked.login, password="wrong", address="10.0.0.1", now=moment, rules=rules)
        moment += dt.timedelta(seconds=61)
    with pytest.raises(LoginRefused):
        attempt_login(session, login=stale.login, password="wrong", address="10.0.0.2", now=now, rules=rules)
    night = moment + rules.window - dt.timedelta(minutes=1)   # the lock (15 min) is long over, the window not
    with pytest.raises(LoginRefused):
        attempt_login(session, login=fresh.login, password="wrong", address="10.0.0.3", now=night, rules=rules)
    locked_row = session.get(LoginThrottle, ("account", locked.login.lower()))
    locked_row.locked_until = night + dt.timedelta(hours=1)   # an admin-set long lock still holds at night
    session.flush()
    jobs = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)

    summary = purge_login_throttles(jobs, night + dt.timedelta(minutes=2))

    session.expire_all()
    left = {(row.scope, row.key) for row in session.scalars(select(LoginThrottle))}
    assert ("account", stale.login.lower()) not in left and ("address", "10.0.0.2") not in left
    assert ("account", locked.login.lower()) in left          # its lock has not expired
    assert ("account", fresh.login.lower()) in left           # still inside its window
    assert ("address", "10.0.0.1") not in left                # the locked login's address count is spent
    assert summary["purged_login_throttles"] == 3
    assert "purge_login_throttles" in JOBS
    # A purged login starts from nothing: the next failure is its first, with no delay.
    with pytest.raises(LoginRefused):
        attempt_login(session, login=stale.login, password="wrong", address="10.0.0.2", now=night, rules=rules)
    assert session.get(LoginThrottle, ("account", stale.login.lower())).failures == 1
