"""The pages' language: Chinese (zh_Hans_CN) unless the user chose English with the header's switch.

The choice lives in its own cookie, not in the session: it survives logout and a new login, it works on the
login page before anyone signs in, and it needs no database column. The switch is a plain link, a GET that does
nothing but set that cookie and go back: a form with a CSRF token in every page's header would give every anonymous
visitor of the public verification page a session cookie and make the page differ per visitor, for a change that
touches no data (the worst a link from elsewhere can do is show someone the other language, with the switch back
on the page). The browser's Accept-Language is not read: office browsers are often set to English, and the
default must stay Chinese. The API (/api/) always answers in Chinese, whatever the cookie says.

Strings are marked with gettext (templates: ``{{ _('…') }}``; Python: ``gettext``/``lazy_gettext as _l`` from
flask_babel) with the Chinese text as msgid, so Chinese needs no catalogue; English comes from
compliance/translations/en/LC_MESSAGES/messages.po (see docs/i18n.md).
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, current_app, has_request_context, redirect, request, url_for
from flask_babel import format_date, get_locale
from werkzeug.exceptions import HTTPException

bp = Blueprint("language", __name__)

#: The cookie that holds the choice, and its values → Babel locale.
LANGUAGE_COOKIE = "compliance_lang"
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh"
#: A year: the choice outlives sessions (it is not a secret and carries nothing but the language).
COOKIE_MAX_AGE = 365 * 24 * 3600
#: English dates on the pages: 24 Nov 2026 (Chinese keeps 2026年11月24日).
ENGLISH_DATE = "d MMM y"


def chosen_language() -> str:
    """"zh" or "en" for this request; anything else in the cookie is ignored. Outside a request (the CLI, the
    scheduler's jobs, mails) and in the API: Chinese."""
    if not has_request_context() or request.path.startswith("/api/"):
        return DEFAULT_LANGUAGE
    value = request.cookies.get(LANGUAGE_COOKIE, "")
    return value if value in LOCALES else DEFAULT_LANGUAGE


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    return LOCALES[chosen_language()]


def is_english() -> bool:
    """True when the current request renders in English (False outside a request: CLI, jobs, mails)."""
    locale = get_locale()
    return locale is not None and locale.language == "en"


def page_date(value: dt.date) -> str:
    """A date as the page's language writes it: 2026年11月24日, or 24 Nov 2026."""
    if is_english():
        return format_date(value, ENGLISH_DATE)
    from workflows.states import cn_date
    return cn_date(value)


def page_month(value: dt.date) -> str:
    """A month as the page's language writes it: 2026年11月, or Nov 2026."""
    if is_english():
        return format_date(value, "MMM y")
    return f"{value.year}年{value.month}月"


def _page_target(path: str | None) -> str | None:
    """`path` when it is a page of this site a GET can open (a form's POST-only address is not), else None."""
    from compliance.web import safe_next
    if not path or safe_next(path, "") != path:
        return None
    try:
        current_app.url_map.bind("localhost").match(path.split("?", 1)[0], method="GET")
    except HTTPException as exc:   # 404, 405; a redirect (a missing trailing slash) still leads to a page
        if exc.code not in (301, 308):
            return None
    return path


def _back_to() -> str:
    """The page the switch was pressed on: the Referer's path and query when it is this site's (so a filtered
    list stays filtered), else the link's `next` (the page's path), else home."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc == request.host and referrer.scheme in ("http", "https"):
        target = _page_target(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
        if target:
            return target
    return _page_target(request.args.get("next")) or url_for("web.index")


@bp.route("/language/<any(zh, en):choice>")
def switch(choice: str):
    """Remember the chosen language in its cookie and go back to the page the switch was on."""
    response = redirect(_back_to())
    response.set_cookie(LANGUAGE_COOKIE, choice, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response
