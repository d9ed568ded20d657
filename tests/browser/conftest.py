"""The real-browser harness: the app served on 127.0.0.1 with its own SQLite database, driven by Playwright
through Debian's `chromium` (`make test` installs it with apt-get when missing; nothing downloads a browser).

These tests run once, on SQLite: they are marked `browser`, never `db`, so the PostgreSQL pass
(`-m "db or postgres"`) leaves them out. Their fixtures deliberately avoid the names tests/conftest.py reads as
database use (app, session, client, runner, database_url, empty_database_url).

Without chromium they skip with the reason on a developer's machine, and FAIL in CI (CI=true): a browser test
that silently does not run proves nothing.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("COMPLIANCE_TEST_CHROMIUM", "/usr/bin/chromium")
#: Headless, and quiet: without the background-networking flags Chromium keeps calling home, which on a closed
#: network is a flood of refused connections.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: Every wait in a browser test is bounded by this (milliseconds).
TIMEOUT_MS = 15_000
PASSWORD = "correct horse battery"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the served app in headless Chromium (SQLite only, once)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


#: Set once this run has taken screenshots (so the summary never points at an earlier run's).
_shot_this_run: list[bool] = []


def pytest_terminal_summary(terminalreporter):
    if _shot_this_run and SCREENSHOTS.is_dir():
        count = len(list(SCREENSHOTS.glob("*.png")))
        terminalreporter.write_line(f"browser screenshots ({count}, desktop 1280×900 and phone 390×844): {SCREENSHOTS}")


def _unavailable(reason: str):
    if in_ci():
        pytest.fail(f"{reason} — CI=true, so the browser tests must run (make test installs chromium as root)",
                    pytrace=False)
    pytest.skip(f"{reason}; `make test` as root installs it with apt-get (in CI this fails instead of skipping)")


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium (Debian's), launched once for the run."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is missing (Debian package `chromium`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the `playwright` package is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        yield browser
        browser.close()


@dataclass
class LiveServer:
    """The served app: its address, its database, and the people of the scenario."""
    url: str
    database_url: str
    flask_app: object
    logins: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def run(self, work):
        """Call work(session) in a transaction of its own (committed), as a second office would."""
        from sqlalchemy.orm import Session
        with Session(self.flask_app.extensions["compliance.db"].engine) as s:
            result = work(s)
            s.commit()
            return result


def _people(session, *, street_name: str) -> tuple[dict[str, str], dict[str, int]]:
    """One 朝阳 street with a complete letterhead; its new supervisor (must set a password at first login) and a
    colleague for the visit, its approver (the committee chair's office) and its admin."""
    from sqlalchemy import select

    from compliance.models import Jurisdiction, JurisdictionLevel, Role
    from compliance.operations.users import create_user
    from compliance.seed import add_jurisdiction
    from compliance.testing import complete_letterheads
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    street = add_jurisdiction(session, code="110105E2E", name=street_name, level=JurisdictionLevel.STREET,
                              parent=chaoyang, federation_name=f"朝阳区{street_name}总工会", issuer_code="京朝酒工监")
    complete_letterheads(session)
    logins = {"supervisor": "liuyang", "colleague": "zhaomin", "approver": "zhangguodong", "admin": "wangfang"}
    supervisor = create_user(session, login=logins["supervisor"], name="刘洋", password=PASSWORD, jurisdiction=street,
                             roles={Role.SUPERVISOR}, supervisor_number="京朝监0231")
    supervisor.must_change_password = True   # a new account: the first login sets the person's own password
    # A visit takes two supervisors: the colleague who goes along.
    colleague = create_user(session, login=logins["colleague"], name="赵敏", password=PASSWORD, jurisdiction=street,
                            roles={Role.SUPERVISOR}, supervisor_number="京朝监0187")
    approver = create_user(session, login=logins["approver"], name="张国栋", password=PASSWORD, jurisdiction=street,
                           roles={Role.APPROVER})
    admin = create_user(session, login=logins["admin"], name="王芳", password=PASSWORD, jurisdiction=street,
                        roles={Role.ADMIN})
    session.flush()
    return logins, {"street": street.id, "chaoyang": chaoyang.id, "supervisor": supervisor.id,
                    "colleague": colleague.id, "approver": approver.id, "admin": admin.id}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, chromium):
    """The app on 127.0.0.1 (a free port), threaded, CSRF on, over a fresh migrated SQLite database."""
    from sqlalchemy.orm import Session
    from werkzeug.serving import WSGIRequestHandler, make_server

    from compliance import create_app
    from compliance.db import make_engine
    from compliance.testing import prepare_database

    root = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{root / 'browser.sqlite3'}"
    prepare_database(database_url)
    engine = make_engine(database_url)
    with Session(engine) as s:
        logins, ids = _people(s, street_name="酒仙桥街道")
        s.commit()
    engine.dispose()

    flask_app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(32),
                            "DOCUMENT_STORE": str(root / "documents"), "WTF_CSRF_ENABLED": True,
                            "SESSION_COOKIE_SECURE": False})

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    server = make_server("127.0.0.1", 0, flask_app, threaded=True, request_handler=Quiet)
    base = f"http://127.0.0.1:{server.server_port}"
    flask_app.config["PUBLIC_BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name="browser-live-server")
    thread.start()
    try:
        yield LiveServer(url=base, database_url=database_url, flask_app=flask_app, logins=logins, ids=ids)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        flask_app.extensions["compliance.db"].engine.dispose()


@pytest.fixture(scope="session")
def screenshot_dir():
    """test-output/screenshots/, emptied at the start of the run (git-ignored)."""
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    _shot_this_run.append(True)
    return SCREENSHOTS


class Browsing:
    """One person's browser tab, watching for what a user would suffer without the test noticing: console
    errors (CSP violations are reported there), uncaught script errors, server errors, horizontal scrolling on
    a phone. `shoot(name)` saves the page at desktop and phone width and checks all of those."""

    def __init__(self, context, base: str, folder: Path, who: str, counter):
        self.context, self.base, self.folder, self.who, self._counter = context, base, folder, who, counter
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"script error: {exc}"))
        self.page.on("response", self._response)

    def _console(self, msg):
        if msg.type == "error":
            self.problems.append(f"console error on {self.page.url}: {msg.text}")

    def _response(self, response):
        if response.status >= 500:
            self.problems.append(f"server error {response.status} for {response.url}")

    def goto(self, path: str):
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 400, f"{path}: HTTP {response and response.status}"
        return response

    def check(self):
        assert not self.problems, "\n".join(self.problems)

    def shoot(self, name: str) -> None:
        """Desktop and phone screenshots of the page as it is; fail on console/CSP errors or a phone page wider
        than the phone."""
        n = next(self._counter)
        page = self.page
        page.wait_for_load_state("load")
        self.folder.mkdir(parents=True, exist_ok=True)   # another run in this checkout may have just emptied it
        page.screenshot(path=str(self.folder / f"{n:02d}-{self.who}-{name}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        try:
            width = page.evaluate("document.documentElement.scrollWidth")
            page.screenshot(path=str(self.folder / f"{n:02d}-{self.who}-{name}-phone.png"), full_page=True)
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > 391).slice(0, 5)
                .map(e => e.tagName.toLowerCase() + (e.getAttribute('class') ? '.' + e.getAttribute('class').split(' ').join('.') : '')
                     + ' (right edge ' + Math.round(e.getBoundingClientRect().right) + ' px)')""")
        finally:
            page.set_viewport_size(DESKTOP)
        assert width <= PHONE["width"], f"{name}: {width} px wide on a 390 px phone (too wide: {wide})"
        self.check()


@pytest.fixture(scope="session")
def browse(chromium, live_server, screenshot_dir):
    """browse(who) → a fresh tab of its own (cookies apart) for that person; closed at the end."""
    import itertools
    counter = itertools.count(1)
    contexts = []

    def open_tab(who: str) -> Browsing:
        context = chromium.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai",
                                       accept_downloads=True)
        contexts.append(context)
        return Browsing(context, live_server.url, screenshot_dir, who, counter)
    yield open_tab
    for context in contexts:
        context.close()


def beijing_today() -> dt.date:
    from compliance.clock import business_date, utcnow
    return business_date(utcnow())
