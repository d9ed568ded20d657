"""The English pages in a real browser: the header's switch turns a tab English (and back), the choice holds
across pages and the login, and the English pages fit a 390 px phone without console or CSP errors."""
from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD
from tests.browser.test_casework_e2e import fresh_uscc

pytestmark = pytest.mark.browser


def _a_case(live_server) -> int:
    """A case of the colleague's street with a visit recorded (deadlines, a draft notice, the trail)."""
    from compliance.clock import utcnow
    from compliance.models import Enterprise, Jurisdiction, User
    from compliance.operations.cases import fire_trigger, open_case
    from compliance.testing import VISIT

    def work(s):
        street = s.get(Jurisdiction, live_server.ids["street"])
        colleague = s.get(User, live_server.ids["colleague"])
        supervisor = s.get(User, live_server.ids["supervisor"])
        enterprise = Enterprise(uscc=fresh_uscc(), name="北京英文界面测试有限公司", jurisdiction=street,
                                employee_count=80, address="北京市朝阳区酒仙桥路10号", legal_representative="周明")
        s.add(enterprise)
        s.flush()
        case = open_case(s, enterprise=enterprise, violations=["no_union"], opened_by=colleague,
                         supervisors=[colleague, supervisor], now=utcnow())
        fire_trigger(s, case.id, "record_visit", VISIT, actor=colleague, now=utcnow())
        return case.id
    return live_server.run(work)


def test_the_switch_turns_the_pages_english_at_phone_width(live_server, browse):
    case_id = _a_case(live_server)
    tab = browse("english")
    page = tab.page
    tab.goto("/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Log in").count() == 1
    tab.shoot("english-login")

    page.get_by_label("Login").first.fill(live_server.logins["colleague"])
    page.get_by_label("Password").first.fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="My dashboard").count() == 1   # the choice outlived the login
    tab.shoot("english-dashboard")

    for path, heading in (("/cases", "Cases"), ("/enterprises", "Enterprises"), ("/deadlines", "Deadlines"),
                          ("/inbox", "Messages")):
        tab.goto(path)
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("h1").first.inner_text() == heading, path
        tab.shoot("english-" + path.strip("/"))

    tab.goto(f"/cases/{case_id}")
    assert page.get_by_role("heading", name="Next steps").count() == 1
    assert page.get_by_text("Visited", exact=True).count() >= 1   # the state's label, from the web layer's table
    tab.shoot("english-case")

    page.get_by_role("link", name="中文").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.url.endswith(f"/cases/{case_id}")   # back on the page the switch was on
    assert page.get_by_role("heading", name="下一步").count() == 1
    tab.check()
