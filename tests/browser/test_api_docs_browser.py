"""The API in a real browser: make a token on the account page (shown once), then use it from the Swagger UI
page, whose files are the app's own and which must run under the app's CSP without a console error."""
from __future__ import annotations

import re

from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS
from tests.browser.test_casework_e2e import log_in


def test_token_page_then_swagger_ui_calls_the_api(live_server, browse):
    tab = browse("api")
    log_in(tab, live_server.logins["colleague"])
    tab.goto("/account/tokens")
    tab.page.get_by_label("名称（用在哪个系统）").fill("浏览器测试")
    tab.page.get_by_role("button", name="创建令牌").click()
    tab.page.wait_for_load_state("load")
    secret = tab.page.locator("code.secret").inner_text().strip()
    assert re.fullmatch(r"cmpl_[A-Za-z0-9_-]{40,}", secret)
    tab.shoot("api-token-created")
    tab.goto("/account/tokens")
    assert secret not in tab.page.content()   # shown once

    tab.goto("/api/v1/docs")
    page = tab.page
    page.get_by_text("/api/v1/cases/{case_id}/transitions").first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    page.locator("input[type=text], input[type=password]").last.fill(secret)
    page.locator(".auth-btn-wrapper button.authorize").first.click()
    page.locator(".auth-btn-wrapper button.btn-done, .modal-ux .close-modal").first.click()
    me = page.locator("#operations-api-me")
    me.locator(".opblock-summary").first.click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    me.locator(".live-responses-table tbody .response-col_status").first.wait_for(timeout=TIMEOUT_MS)
    assert "200" in me.locator(".live-responses-table tbody .response-col_status").first.inner_text()
    assert "zhaomin" in me.locator(".live-responses-table").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs-desktop.png"), full_page=False)
    tab.check()   # no console error: no CSP violation, no script error
