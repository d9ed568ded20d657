"""The pages in English (compliance/web/language.py, docs/i18n.md): the catalogue matches the sources, every page
a supervisor, an approver or an admin uses renders in English with no catalogue string left untranslated, the
switch holds across requests and logins, and Chinese stays the default.

The catalogue tests need no database; the page tests render real pages over a real case (a visit letter issued
and served, a refusal, an opinion submitted for approval, an approved letter waiting to be issued, evidence).
"""
from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from compliance.models import Jurisdiction, Notice, Role
from compliance.web.language import LANGUAGE_COOKIE

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "compliance" / "translations"
POT = TRANSLATIONS / "messages.pot"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
PASSWORD = "correct horse battery"
HAN = re.compile(r"[\u4e00-\u9fff]")


# ------------------------------------------------------------------------------------------- the catalogue

def _keywords() -> dict:
    """Babel's default keywords plus the Makefile's BABEL_KEYWORDS (one place says which names mark a string)."""
    line = re.search(r"^BABEL_KEYWORDS\s*:=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert line, "Makefile: BABEL_KEYWORDS is gone"
    return {**DEFAULT_KEYWORDS, **parse_keywords(re.findall(r"-k\s+(\S+)", line.group(1)))}


def _read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _ids(catalog) -> set[tuple[str | None, str]]:
    return {(m.context, m.id) for m in catalog if m.id}


def test_the_template_holds_exactly_the_strings_of_the_sources():
    """messages.pot is not stale: `make messages` after marking a string (the extraction is redone here)."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {(context, message) for _file, _line, message, _comments, context
             in extract_from_dir(str(ROOT), method_map, options_map, keywords=_keywords())}
    stored = _ids(_read(POT))
    assert not found - stored, f"marked in the sources, missing from messages.pot (run make messages): {found - stored}"
    assert not stored - found, f"in messages.pot, no longer in the sources (run make messages): {stored - found}"


def test_the_english_catalogue_translates_every_string_and_keeps_its_placeholders():
    catalog = _read(PO)
    assert _ids(catalog) == _ids(_read(POT)), "messages.po and messages.pot differ: run make messages"
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert not untranslated, f"no English yet (or fuzzy) in messages.po: {untranslated}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems
    for m in catalog:
        if m.id:
            assert sorted(re.findall(r"%\(\w+\)[sd]", m.id)) == sorted(re.findall(r"%\(\w+\)[sd]", m.string)), m.id
            assert not HAN.search(m.string.replace("王芳、李强", "").replace("错误原因", "").replace("原行号", "")
                                  .replace("条件", "")), f"Chinese left in the English of {m.id!r}: {m.string!r}"
            # Templates insert a translation as it is (newstyle gettext marks it safe; only the values placed in it
            # are escaped), in text and in attributes: no markup, no straight double quote (“…” instead).
            assert not re.search(r'[<>&"]', m.string), f"markup or a straight quote in the English of {m.id!r}"


def test_the_compiled_catalogue_is_the_po_compiled():
    """The committed .mo is what `make translations` makes of the .po (the app reads the .mo)."""
    fresh = io.BytesIO()
    write_mo(fresh, _read(PO))
    fresh.seek(0)
    with MO.open("rb") as f:
        assert gettext.GNUTranslations(f)._catalog == gettext.GNUTranslations(fresh)._catalog, \
            "messages.mo is stale: run make translations"


def _label_tables() -> dict[str, list[str]]:
    """Every label the pages take from workflows/, letters/ and the models, by where it comes from."""
    import letters
    from compliance.imports import KIND_LABELS
    from compliance.models import JurisdictionLevel, NoticeStatus
    from compliance.models.deadline import DeadlineStatus
    from compliance.models.reminder import OutboxChannel, OutboxStatus, ReminderKind
    from compliance.models.service import ServiceMethod
    from compliance.operations.accounts import LETTERHEAD_FIELDS
    from compliance.operations.attachments import KINDS
    from compliance.operations.enterprises import TEXT_FIELDS
    from compliance.operations.imports import MODES
    from compliance.web.listing import CASE_SORTS, STAGES
    from workflows.deadlines import DEFAULT_RULES, NATURES
    from workflows.states import TRIGGERS, State, Violation
    inputs = [f for t in TRIGGERS.values() for f in t.fields]
    return {
        "states": [s.label for s in State], "violations": [v.label for v in Violation],
        "steps": [t.label for t in TRIGGERS.values()],
        "step inputs": [f.label for f in inputs] + [label for f in inputs for _v, label in f.choices]
        + [f.help for f in inputs if f.help],
        "notice types": [k.title for k in letters.NOTICE_TYPES.values()]
        + [k.number_label for k in letters.NOTICE_TYPES.values()],
        "deadline rules": [r.label for r in DEFAULT_RULES.values()] + list(NATURES.values()),
        "model enums": [e.label for enum in (Role, NoticeStatus, DeadlineStatus, ServiceMethod, JurisdictionLevel,
                                             ReminderKind, OutboxChannel, OutboxStatus) for e in enum],
        "evidence types": [k.label for k in KINDS.values()],
        "letterhead": [label for _key, label, _limit in LETTERHEAD_FIELDS],
        "enterprise fields": [label for label, _limit in TEXT_FIELDS.values()],
        "imports": list(KIND_LABELS.values()) + list(MODES.values()),
        "case list": list(STAGES.values()) + [label for label, _desc in CASE_SORTS.values()],
    }


@pytest.mark.parametrize("table", list(_label_tables()))
def test_every_label_of_the_ladder_and_the_models_has_its_english(table):
    """The labels stay Chinese in workflows/ and the models; the web layer lists them (compliance/web/labels.py)
    so that they are extracted, and the catalogue translates them. A label added there fails here first."""
    translated = {m.id for m in _read(PO) if m.id and m.string and not m.context}
    missing = [label for label in _label_tables()[table] if label not in translated]
    assert not missing, f"add these to compliance/web/labels.py, then make messages and translate them: {missing}"


# --------------------------------------------------------------------------------------------- the pages

class _Texts(HTMLParser):
    """What a reader meets on a page: text between tags and the attributes read aloud or shown. Left out: elements
    of class "basis", the law's own words (a deadline's legal basis and how it was counted), and elements declared
    Chinese (lang="zh-CN": the ladder's drawing), which stay Chinese in English too."""

    SHOWN = ("title", "placeholder", "aria-label", "data-label", "alt")
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._open: list[bool] = []   # per open element: is its content left out?

    def _skipping(self) -> bool:
        return any(self._open)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        chinese = values.get("lang") == "zh-CN" and tag != "html"
        if not self._skipping() and not chinese:
            self.chunks += [value for name, value in attrs if name in self.SHOWN and value]
        if tag not in self.VOID:
            self._open.append(tag in ("script", "style") or chinese
                              or "basis" in (values.get("class") or "").split())

    def handle_endtag(self, tag):
        if tag not in self.VOID and self._open:
            self._open.pop()

    def handle_data(self, data):
        if not self._skipping() and data.strip():
            self.chunks.append(data)


#: Where a rendered text may join a label to something else ("label：text", "✓ step", "a · b").
_SEPARATORS = re.compile(r"：|\s·\s|\s→\s|^[✓✗↻]\s")


def _pieces(chunk: str) -> list[str]:
    return [p.strip() for p in [chunk, *_SEPARATORS.split(chunk)] if p and p.strip()]


def _msgid_patterns() -> list[tuple[str, re.Pattern]]:
    """Each Chinese msgid as a pattern for a whole text (its placeholders stand for anything)."""
    patterns = []
    for m in _read(PO):
        if not m.id or not HAN.search(m.id):
            continue
        body = re.escape(m.id.replace("%%", "%"))
        body = re.sub(r"%\\\(\w+\\\)[sd]", ".+", body)
        patterns.append((m.id, re.compile(body)))
    return patterns


PATTERNS = _msgid_patterns()


def _letters_own_words() -> set[str]:
    """The letters' fact names and their system-filled facts: the content of a Chinese document, shown as such."""
    import letters
    from compliance.operations.notices import FACT_LABELS
    return set(FACT_LABELS.values()) | {f.label for k in letters.NOTICE_TYPES.values() for f in k.editable}


def untranslated(page: str) -> list[tuple[str, str]]:
    """(text on the page, the msgid it is): catalogue strings an English page shows in Chinese. A whole text is
    compared with every msgid (placeholders stand for anything); its pieces around "：", " · ", " → " with
    the msgids without placeholders."""
    parser = _Texts()
    parser.feed(page)
    allowed = _letters_own_words()
    found = []
    for chunk in parser.chunks:
        for n, piece in enumerate(_pieces(chunk)):
            if piece in allowed or not HAN.search(piece):
                continue
            hit = next((msgid for msgid, pattern in PATTERNS
                        if (n == 0 or "%(" not in msgid) and pattern.fullmatch(piece)), None)
            if hit is not None:
                found.append((piece, hit))
    return found


def english(client, path: str, expect: tuple[str, ...] = (), status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page, path
    left = untranslated(page)
    assert not left, f"{path}: shown in Chinese on the English page: {left}"
    for words in expect:
        assert words in page, (path, words)
    return page


@pytest.fixture
def world(session, make_user, make_case, supervisor, approver, store, now, jurisdiction):
    """A case worked as far as an opinion waiting for approval, with evidence; an approved letter of another case;
    an admin of the street."""
    from compliance.operations.attachments import attach_evidence
    from compliance.operations.cases import fire_trigger
    from compliance.operations.notices import submit_notice
    from compliance.testing import VISIT, approved_letters, issue_drafts, refuse_after_visit, serve_issued
    case = make_case()
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
    issue_drafts(session, case.id, approver=approver, now=now, store=store)
    serve_issued(session, case.id, actor=supervisor, served_on=dt.date(2026, 11, 24), now=now)
    refuse_after_visit(session, case.id, actor=supervisor, now=now)
    [opinion] = fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=now).notices
    submit_notice(session, opinion.id, actor=supervisor, now=now)
    evidence = attach_evidence(session, case.id, data=b"%PDF-1.4\n%%EOF\n", filename="visit.pdf", actor=supervisor,
                               now=now, store=store)
    issued = session.scalars(select(Notice).where(Notice.case_id == case.id, Notice.status == "issued")).first()
    [waiting] = approved_letters(session, jurisdiction=jurisdiction, drafter=supervisor, approver=approver, count=1,
                                 now=now)
    admin = make_user(roles={Role.ADMIN})
    funds_case = make_case(violations=("unpaid_funds",))
    session.commit()
    return {"funds_case": funds_case, "case": case, "opinion": opinion, "issued": issued, "evidence": evidence,
            "waiting": waiting, "admin": admin, "approver": approver, "supervisor": supervisor}


def sign_in(client, user, *, lang: str | None = "en"):
    if lang:
        client.set_cookie(LANGUAGE_COOKIE, lang)
    assert client.post("/login", data={"login": user.login, "password": PASSWORD}).status_code == 302
    return client


def test_the_supervisors_pages_in_english(client, world):
    case, issued = world["case"], world["issued"]
    sign_in(client, world["supervisor"])
    english(client, "/dashboard", ("My dashboard", "My open cases", "Cases by stage", "Due this week"))
    english(client, "/cases", ("Case number", "More filters and sorting", "Visited", "Export the filtered list"))
    english(client, "/cases?stage=open&overdue=1", ("No case matches",))
    page = english(client, f"/cases/{case.id}", (
        "Next steps", "No union", "Deadlines", "Audit log", "Record the visit", "Visited on: 20 Nov 2026",
        "Issued: Supervision visit notice", "Evidence", "Supervision opinion"))
    assert re.search(r'<time datetime="2026-11-24">24 Nov 2026</time>', page), "the deadline's dates in English"
    assert not re.search(r"<time[^>]*>[^<]*年", page), "a date in Chinese on the English page"
    english(client, f"/cases/{case.id}/evidence", ("Upload evidence", "Step", "PDF file"))
    english(client, f"/cases/{world['funds_case'].id}",
            ("Union funds", "Had a union during the arrears", "Unpaid funds"))
    english(client, "/enterprises", ("Enterprises", "Cases (open/all)"))
    english(client, f"/enterprises/{case.enterprise_id}", ("Legal representative", "Open a case"))
    english(client, f"/enterprises/{case.enterprise_id}/cases/new", ("Violations", "Summary of the case", "No union"))
    english(client, "/enterprises/new", ("Register enterprise", "Unified social credit code", "Has a union"))
    english(client, "/deadlines", ("Last day", "All running", "Deadline and basis"))
    english(client, "/inbox", ("Messages",))
    english(client, f"/notices/{issued.id}/service", ("Current service record", "In person", "Method of service"))
    english(client, f"/notices/{issued.id}/withdraw", ("Draft a withdrawal notice",))
    english(client, f"/notices/{world['opinion'].id}/edit", ("Submitted for approval on",))
    english(client, "/notices/approved", ("Notices to issue (approved)", "Issue the selected notices"))
    english(client, "/account/password", ("Change password", "Current logins"))
    english(client, "/account/tokens", ("My API tokens", "Create token"))
    english(client, "/imports?kind=enterprises", ("Bulk import: Enterprises", "Import only the correct rows"))
    english(client, "/ladder", ("Enforcement ladder",))
    english(client, f"/verify/{issued.verification_code}", ("Verify a notice", "Supervision visit notice"))
    english(client, "/verify", ("Verify an uploaded PDF",))
    english(client, "/no/such/page", ("Page not found",), status=404)
    english(client, f"/cases/{2**31 - 2}", ("Page not found",), status=404)


def test_the_approvers_pages_in_english(client, world):
    sign_in(client, world["approver"])
    english(client, "/approvals", ("Notices waiting for approval", "Drafter"))
    english(client, f"/approvals/{world['opinion'].id}", ("Content of the notice", "Send back", "Approve"))
    english(client, "/notices/approved", ("Notices to issue (approved)",))


def test_the_admin_pages_in_english(client, world):
    admin = world["admin"]
    sign_in(client, admin)
    english(client, "/admin/users", ("Find by login or name", "Supervisor", "Login status"))
    english(client, f"/admin/users/{world['supervisor'].id}", ("Account details", "Reset password", "Roles"))
    english(client, "/admin/users/new", ("New account", "Initial password"))
    english(client, "/admin/issuers", ("Letterheads", "Issuer code"))
    english(client, f"/admin/issuers/{admin.jurisdiction_id}", ("Committee chair (signatory)",))
    english(client, "/admin/locks", ("Login locks", "No login limits now"))
    english(client, "/admin/audit", ("Audit log",))
    english(client, "/admin/outbox", ("Outgoing messages", "No failed messages"))
    english(client, f"/admin/users/{world['supervisor'].id}/tokens", ("API tokens of",))


def test_the_login_page_and_a_refused_login_in_english(client, supervisor, session):
    session.commit()
    client.set_cookie(LANGUAGE_COOKIE, "en")
    english(client, "/login", ("Log in", "Login", "Password"))
    page = client.post("/login", data={"login": "", "password": ""}).get_data(as_text=True)
    assert "Enter the login" in page and "Enter the password" in page and not untranslated(page)
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "Please sign in" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_forms_and_flashes_speak_english(client, world, session, jurisdiction):
    sign_in(client, world["supervisor"])
    refused = client.post("/enterprises/new", data={"uscc": "", "name": "", "jurisdiction": str(jurisdiction.id)})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Fill in the enterprise name" in page and not untranslated(page)
    response = client.post("/account/sign-out-everywhere", follow_redirects=True)
    assert "other logins signed out" in response.get_data(as_text=True)


def test_dates_follow_the_language(app):
    from flask_babel import refresh

    from compliance.web.language import page_date, page_month
    day = dt.date(2026, 11, 24)
    # Flask-Babel keeps the locale on `g`, which the test's one app context shares between these requests.
    with app.test_request_context("/", headers={"Cookie": f"{LANGUAGE_COOKIE}=en"}):
        refresh()
        assert page_date(day) == "24 Nov 2026" and page_month(day) == "Nov 2026"
    with app.test_request_context("/"):
        refresh()
        assert page_date(day) == "2026年11月24日" and page_month(day) == "2026年11月"
    with app.test_request_context("/", headers={"Cookie": f"{LANGUAGE_COOKIE}=klingon"}):
        refresh()
        assert page_date(day) == "2026年11月24日"
    refresh()
    assert page_date(day) == "2026年11月24日"   # outside a request (CLI, jobs): Chinese


# -------------------------------------------------------------------------------------------- the switch

def test_chinese_is_the_default(client, world):
    sign_in(client, world["supervisor"], lang=None)
    page = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "我的工作台" in page and "My dashboard" not in page
    assert 'href="/language/en?next=/dashboard" lang="en" hreflang="en">English</a>' in page


def test_the_switch_holds_across_requests_and_logins(client, world):
    supervisor, case = world["supervisor"], world["case"]
    sign_in(client, supervisor, lang=None)
    response = client.get("/language/en?next=/cases")
    assert response.status_code == 302 and response.headers["Location"] == "/cases"
    cookie = response.headers["Set-Cookie"]
    assert f"{LANGUAGE_COOKIE}=en" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    for path in ("/cases", "/dashboard", f"/cases/{case.id}"):
        assert '<html lang="en">' in client.get(path).get_data(as_text=True), path
    client.post("/logout")
    assert "You have signed out" in client.get("/login").get_data(as_text=True)   # the choice outlives the session
    sign_in(client, supervisor, lang=None)
    assert "My dashboard" in client.get("/dashboard").get_data(as_text=True)
    response = client.get(f"/language/zh?next=/cases/{case.id}")
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert "我的工作台" in client.get("/dashboard").get_data(as_text=True)


def test_the_switch_goes_back_to_the_page_with_its_query(client, world):
    sign_in(client, world["supervisor"], lang=None)
    response = client.get("/language/en?next=/cases",
                          headers={"Referer": "http://localhost/cases?stage=open&sort=due"})
    assert response.headers["Location"] == "/cases?stage=open&sort=due"


@pytest.mark.parametrize("next_, referer", [
    ("https://evil.example/", None),                    # another site: home
    ("//evil.example/", None),
    ("/cases/1/steps/withdraw", None),                  # a POST-only address: home, not a 405
    ("/no/such/page", None),
    (None, "https://evil.example/cases?x=1"),           # another site's Referer is not followed
])
def test_the_switch_goes_nowhere_else(client, world, next_, referer):
    sign_in(client, world["supervisor"], lang=None)
    response = client.get("/language/en", query_string={"next": next_} if next_ else {},
                          headers={"Referer": referer} if referer else {})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert f"{LANGUAGE_COOKIE}=en" in response.headers["Set-Cookie"]


def test_no_other_language_and_no_other_method(client):
    assert client.get("/language/fr").status_code == 404
    assert client.post("/language/en").status_code == 405


def test_the_public_pages_stay_the_same_for_everyone(client, world):
    """The switch is a link, not a form: a visitor of the public verification page gets no session cookie and
    no per-visitor token, and two visitors read the same page."""
    code = world["issued"].verification_code
    first, second = client.get(f"/verify/{code}"), client.application.test_client().get(f"/verify/{code}")
    assert "Set-Cookie" not in first.headers and first.get_data() == second.get_data()
    assert "csrf_token" not in first.get_data(as_text=True)


def test_the_api_stays_chinese_with_an_english_cookie(client):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and "您要找的内容不存在" in response.get_data(as_text=True)


def test_the_database_free_page_follows_the_cookie(app):
    """The 503 page reads no database: its language comes from the cookie alone."""
    from compliance.web import handle_database_unavailable
    with app.test_request_context("/cases", headers={"Cookie": f"{LANGUAGE_COOKIE}=en"}):
        body, status, _headers = handle_database_unavailable(RuntimeError("down"))
    assert status == 503 and '<html lang="en">' in body and "Service unavailable" in body and not untranslated(body)
