"""The minimal pages: login, scoped lists, health check."""
import pytest
from sqlalchemy import select

from compliance.models import Jurisdiction, Role


def login(client, user_login, password="correct horse battery"):
    return client.post("/login", data={"login": user_login, "password": password})


def test_healthz_checks_the_database(client):
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.get_json() == {"status": "ok", "database": "ok"}


def test_pages_need_login(client):
    res = client.get("/cases")
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_wrong_password_is_refused(client, supervisor):
    res = login(client, supervisor.login, "wrong-password")
    assert res.status_code == 200 and "用户名或密码错误" in res.get_data(as_text=True)
    assert client.get("/cases").status_code == 302


def test_inactive_user_cannot_log_in(client, session, supervisor):
    supervisor.is_active = False
    session.flush()
    login(client, supervisor.login)
    assert client.get("/cases").status_code == 302


def test_lists_show_only_the_users_jurisdiction(client, session, make_user, make_case, make_enterprise):
    mine = make_case(enterprise=make_enterprise(name="北京堃昇科技有限公司"))
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    make_enterprise(name="海淀区的别家公司", jurisdiction=haidian)
    street_user = make_user()  # same test street as the case
    login(client, street_user.login)
    cases_page = client.get("/cases").get_data(as_text=True)
    assert mine.reference in cases_page and "北京堃昇科技有限公司" in cases_page
    enterprises_page = client.get("/enterprises").get_data(as_text=True)
    assert "北京堃昇科技有限公司" in enterprises_page
    assert "海淀区的别家公司" not in enterprises_page

    haidian_user = make_user(jurisdiction=haidian)
    client.post("/logout")
    login(client, haidian_user.login)
    assert "北京堃昇科技有限公司" not in client.get("/cases").get_data(as_text=True)
    assert "海淀区的别家公司" in client.get("/enterprises").get_data(as_text=True)


def test_city_user_sees_every_district(client, session, make_user, make_case):
    case = make_case()
    city = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110000"))
    login(client, make_user(jurisdiction=city, roles={Role.AUDITOR}).login)
    assert case.reference in client.get("/cases").get_data(as_text=True)


@pytest.mark.parametrize("target,expected", [
    ("/enterprises", "/enterprises"), ("//evil.example/x", "/"), ("http://evil.example/", "/"),
    ("/%09/evil.example", "/"), ("/%0a/evil.example", "/"), ("/%5Cevil.example", "/"), ("/\\evil.example", "/"),
    ("https:/evil.example", "/"), ("javascript:alert(1)", "/"), ("/cases?page=2", "/cases?page=2")])
def test_login_redirects_only_to_local_paths(client, supervisor, target, expected):
    res = client.post(f"/login?next={target}", data={"login": supervisor.login, "password": "correct horse battery"})
    assert res.status_code == 302 and res.headers["Location"] == expected


def test_case_page_shows_deadlines_options_and_notices(client, session, make_case, supervisor, now):
    from compliance.operations.cases import fire_trigger
    case = make_case()
    fire_trigger(session, case.id, "record_visit", {"visited_on": "2026-11-24", "findings": "未建会",
                                                    "supervisors": ["王芳", "李强"]}, actor=supervisor, now=now)
    login(client, supervisor.login)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert case.reference in page and "已走访宣讲" in page
    assert "待送达" in page                            # the visit letter's 30 days wait for its service
    assert "发出监督意见书" in page                    # the next rung, listed (blocked until the period or a refusal)
    assert "工会劳动法律监督宣讲告知书" in page and "预览" in page


def test_case_page_out_of_scope_is_404(client, session, make_case, make_user):
    case = make_case()
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    login(client, make_user(jurisdiction=haidian).login)
    assert client.get(f"/cases/{case.id}").status_code == 404
