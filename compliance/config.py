"""Configuration: defaults, then the instance config file, then COMPLIANCE_* environment variables."""
from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

#: Business dates are Beijing dates; timestamps are stored in UTC.
BUSINESS_TIMEZONE = "Asia/Shanghai"


class Defaults:
    TIMEZONE = BUSINESS_TIMEZONE
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = BUSINESS_TIMEZONE
    #: Uploads (evidence, spreadsheets) above this are refused with 413.
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    #: One evidence file (a phone photo, a scanned PDF) at most this big.
    EVIDENCE_MAX_BYTES = 15 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Per-rule overrides of workflows.deadlines.DEFAULT_RULES, e.g.
    #: {"opinion_reply": {"period": 15, "counting": "working_days"}}.
    DEADLINE_RULES: dict = {}
    #: Union funds are paid "每月15日前" (Beijing Measures Art 55(2)): True reads a payment made on the 15th itself as
    #: on time (late fees from the 16th), False as one day late (late fees from the 15th). See docs/funds.md.
    UNION_FUNDS_DUE_DAY_ON_TIME = True
    #: The address the public reaches the service at (https://jiandu.example.org): the QR code and verification
    #: address printed on every notice, the links in mails. Required by `serve` on PostgreSQL; unset on SQLite,
    #: `serve` uses the address it listens on (the demo) and other commands http://127.0.0.1:5000.
    PUBLIC_BASE_URL = ""
    #: gunicorn's control socket (for `gunicornc`): None, none at all; a path, this instance's own socket there.
    CONTROL_SOCKET = None
    #: Run the scheduler inside the web process (embedded default only; production runs it apart).
    SCHEDULER_IN_PROCESS = False
    #: PostgreSQL: the owner role's URL that `compliance db upgrade` / `restore` migrate with; the service itself
    #: (serve, scheduler, every other command) connects with DATABASE_URL, the application role (docs/deploy.md).
    #: None: migrate with DATABASE_URL (SQLite, or a development database with one role).
    MIGRATION_DATABASE_URL = None
    #: Where pg_dump/pg_restore live (None: the server's major version under /usr/lib/postgresql, else PATH).
    PG_BIN_DIR = None

    # Sessions live in the database (compliance.models.UserSession); the cookie only names one.
    SESSION_COOKIE_NAME = "compliance_session"
    #: None: Secure cookies exactly when PUBLIC_BASE_URL is https (set True/False to force).
    SESSION_COOKIE_SECURE = None
    #: A session ends after this long without a request …
    SESSION_IDLE_MINUTES = 30
    #: … and this long after login, whatever the activity.
    SESSION_MAX_HOURS = 12
    #: Reverse proxies in front of the service whose X-Forwarded-For/-Proto/-Host to trust (0: none).
    TRUSTED_PROXIES = 0

    # Failed logins, counted per account (the login typed, known or not) and per client address.
    #: Failures before each further attempt must wait (1 s, 2 s, 4 s … up to LOGIN_MAX_DELAY_SECONDS).
    LOGIN_FREE_FAILURES = 3
    #: Failures that lock the account for LOGIN_LOCK_MINUTES (an admin can unlock it sooner).
    LOGIN_LOCK_FAILURES = 10
    #: The same for one client address (offices share one address: set higher).
    LOGIN_ADDRESS_FREE_FAILURES = 20
    LOGIN_ADDRESS_LOCK_FAILURES = 100
    LOGIN_LOCK_MINUTES = 15
    LOGIN_MAX_DELAY_SECONDS = 60
    #: Failures older than this are forgotten.
    LOGIN_FAILURE_WINDOW_MINUTES = 60
    PASSWORD_MIN_LENGTH = 10


def configure(app, config: dict | None) -> None:
    """Fill app.config in precedence order; test config wins over everything."""
    app.config.from_object(Defaults)
    instance = Path(app.instance_path)
    app.config["DATABASE_URL"] = f"sqlite:///{instance / 'compliance.sqlite3'}"
    app.config["DOCUMENT_STORE"] = str(instance / "documents")
    app.config.from_pyfile("config.py", silent=True)
    # COMPLIANCE_DATABASE_URL → DATABASE_URL; values that parse as JSON become numbers, dicts, booleans.
    app.config.from_prefixed_env(prefix="COMPLIANCE")
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = str(app.config.get("PUBLIC_BASE_URL", "")).startswith("https://")


def _instance_secret(instance: Path) -> str:
    """A secret key kept in the instance folder, so sessions survive restarts of `make run`."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


#: Where unconfigured commands on SQLite (the demo) point their links: the demo's default address.
DEMO_BASE_URL = "http://127.0.0.1:5000"
PUBLIC_BASE_URL_HELP = ("请将 COMPLIANCE_PUBLIC_BASE_URL（或实例配置文件 config.py 中的 PUBLIC_BASE_URL）设为公众访问本系统的"
                        "地址，如 https://jiandu.example.org：通知书上的二维码和核验地址由它生成")


class PublicBaseUrlMissing(ValueError):
    """No usable public base URL for a production database; the message (Chinese) names the setting."""


def is_loopback(url: str) -> bool:
    """The URL's host is this machine only (127.0.0.0/8, ::1, localhost)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_base_url(config, *, fallback: str | None = None) -> str:
    """The configured public base URL without a trailing slash, checked.

    Unset: on SQLite (the embedded demo) `fallback` or DEMO_BASE_URL; on another database (production) refused,
    as is a loopback address there — a letter's QR code must lead the public to the service, not to 127.0.0.1.
    """
    base = str(config.get("PUBLIC_BASE_URL") or "").strip().rstrip("/")
    production = not str(config.get("DATABASE_URL", "")).startswith("sqlite")
    if not base:
        if production:
            raise PublicBaseUrlMissing(f"未配置公开访问地址。{PUBLIC_BASE_URL_HELP}")
        return (fallback or DEMO_BASE_URL).rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise PublicBaseUrlMissing(f"公开访问地址 {base!r} 无效（应以 http:// 或 https:// 开头）。{PUBLIC_BASE_URL_HELP}")
    if production and is_loopback(base):
        raise PublicBaseUrlMissing(f"公开访问地址 {base} 是本机回环地址，公众无法访问。{PUBLIC_BASE_URL_HELP}")
    return base
