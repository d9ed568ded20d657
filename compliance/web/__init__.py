"""The web side: one blueprint per area, error pages in Chinese, security headers, safe ids and redirects."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, ValidationError

from compliance.access import permissions
from compliance.clock import to_beijing
from compliance.db import db
from compliance.errors import Conflict, DomainError, NotAllowed

#: Largest id a route accepts: the columns are 32-bit integers; a bigger one is simply not there (404, not 500).
MAX_ID = 2**31 - 1

#: Pages a person reads: (title, explanation). Everything the service refuses speaks Chinese (or English, when
#: the user chose it: compliance.web.language).
ERROR_PAGES = {
    400: (_l("请求有误"), _l("提交的内容无法处理，请返回检查后重试。")),
    401: (_l("请先登录"), _l("此操作需要登录。")),
    403: (_l("无权操作"), _l("您的账号没有执行此操作的权限。")),
    404: (_l("找不到该页面"), _l("您要找的内容不存在，或不在您的辖区范围内。")),
    405: (_l("不支持该请求方式"), _l("请从页面上的按钮或链接进入。")),
    413: (_l("文件过大"), _l("上传的文件超过上限，未保存任何内容。")),
    429: (_l("尝试过于频繁"), _l("请稍后再试。")),
    503: (_l("服务暂时不可用"), _l("请稍候几秒后重试。")),
    500: (_l("系统出错"), _l("系统处理时出错，未保存任何更改。错误已记录，请稍后重试或联系管理员。")),
}

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
])


class IdConverter(BaseConverter):
    """`<id:notice_id>`: a positive 32-bit integer; anything else does not match (404)."""

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def register(app: Flask) -> None:
    """Blueprints, handlers, headers and filters, in the order a request meets them."""
    from compliance.web import admin, auth, cases, casework, evidence, imports, language, notices, reminders, tokens
    app.url_map.converters["id"] = IdConverter
    for module in (auth, language, cases, casework, notices, evidence, admin, reminders, tokens, imports):
        app.register_blueprint(module.bp)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
    from sqlalchemy.orm.exc import StaleDataError
    app.register_error_handler(StaleDataError, handle_stale_data)
    from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeout, handle_database_unavailable)
    from sqlalchemy.exc import PendingRollbackError
    app.register_error_handler(PendingRollbackError, handle_pending_rollback)
    app.after_request(security_headers)
    app.jinja_env.filters["beijing"] = beijing_time
    app.jinja_env.filters["state_label"] = state_label
    app.jinja_env.filters["notice_title"] = notice_title
    app.jinja_env.filters["number_label"] = number_label
    from compliance.web.labels import tr
    from compliance.web.language import chosen_language
    app.jinja_env.filters["tr"] = tr
    app.jinja_env.globals["page_language"] = chosen_language
    app.jinja_env.globals["user_permissions"] = lambda user: {p.value for p in permissions(user)}
    trusted = int(app.config.get("TRUSTED_PROXIES") or 0)
    if trusted:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted, x_port=trusted,
                                x_prefix=trusted)


def safe_next(target: str | None, default: str) -> str:
    """A redirect target only when it is a path of this site; anything else gives `default`.

    Browsers drop tabs and newlines and read a backslash as a slash, so "/%09/evil.example" and "/\\evil.example"
    both reach another host: any control character or backslash is refused outright.
    """
    if not target or len(target) > 2000:
        return default
    if any(ord(c) < 32 or ord(c) == 127 or c == "\\" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _error_response(status: int, message: str, *, title: str | None = None, code: str | None = None, **details):
    if request.path.startswith("/api/"):   # outside the API's routes (no such path, method): problem+json too
        from compliance.api.problems import problem
        return problem(status, str(message)), status
    if wants_json():
        body = {"error": code or str(status), "message": str(message)}
        body.update({k: v for k, v in details.items() if v is not None})
        return jsonify(body), status
    title = str(title or ERROR_PAGES.get(status, ERROR_PAGES[400])[0])
    return render_template("error.html", title=title, message=message, status=status), status


def handle_domain_error(err: DomainError):
    """One handler for every refusal: JSON for API clients, a page for people; nothing half-written stays."""
    db.session.rollback()
    extra = {"field": err.field, **err.details}
    return _error_response(err.status, err.message, title=_("无法完成此操作"), code=err.code, **extra)


def handle_stale_data(_exc):
    """Two writers raced past the version check (the loser's flush found the row changed): a conflict."""
    return handle_domain_error(Conflict(_("记录已被他人修改，请刷新后重试")))


#: Seconds a client is asked to wait before trying again while the database is unreachable.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = (_l("服务暂时不可用"), _l("数据库暂时无法连接，本次操作未保存任何更改。请稍候几秒后重试。"))


def handle_database_error(exc):
    """A database error: the archive refused a change (compliance/protection.py: a Chinese 409), the database is
    unreachable (down, restarting, connection lost: 503, try again), or a bug (500)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from compliance.protection import is_refusal, refusal_message
    if is_refusal(exc):
        current_app.logger.warning("archive protection refused %s %s: %s", request.method, request.path,
                                   str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else exc)
        return handle_domain_error(NotAllowed(refusal_message(exc)))
    if isinstance(exc, (OperationalError, InterfaceError)) or getattr(exc, "connection_invalidated", False):
        return handle_database_unavailable(exc)
    return handle_unexpected(exc)


def handle_pending_rollback(exc):
    """The session's connection was invalidated by an error something caught and went on from (the header's
    unread count does, so that a page still renders): the database went away mid-request, a 503 too."""
    if "invalid transaction" in str(exc):
        return handle_database_unavailable(exc)
    return handle_unexpected(exc)


def _database_free_page(title: str, message: str, status: int, headers: dict | None = None):
    """A page rendered straight from its template, without the context processors: Flask-Login's would load
    current_user, which needs the database."""
    page = current_app.jinja_env.get_template("unavailable.html").render(title=title, message=message,
                                                                          request=request, url_for=url_for)
    return page, status, {**(headers or {}), "Content-Type": "text/html; charset=utf-8"}


def handle_database_unavailable(exc):
    """The database cannot be reached: a Chinese 503 with Retry-After, never a 500. The pool checks each
    connection before use (pool_pre_ping), so the requests after the database is back succeed again."""
    current_app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                               str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__)
    try:
        db.session.rollback()
    except Exception:  # the connection is what failed
        pass
    title, message = map(str, UNAVAILABLE)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        body = {"type": "about:blank", "title": title, "status": 503, "detail": message,
                "code": "database_unavailable"}
        response = jsonify(body)
        response.status_code = 503
        response.headers.update(headers)
        response.mimetype = "application/problem+json"
        return response
    if wants_json():
        response, status = _error_response(503, message, title=title, code="database_unavailable")
        return response, status, headers
    return _database_free_page(title, message, 503, headers)


def handle_http_error(exc: HTTPException):
    status = exc.code or 500
    if status in (301, 302, 303, 307, 308):
        return exc
    db.session.rollback()
    if status == 400 and exc.__class__.__name__ == "CSRFError":
        return _error_response(400, _("表单已过期或来源无效（安全校验未通过）。请刷新页面后重新提交，未保存任何更改。"),
                               title=_("表单已过期"), code="csrf")
    if status == 413:
        limit = (request.max_content_length or 0) // (1024 * 1024)   # the app's, or this route's own
        return _error_response(413, _("文件过大：上传上限为 %(limit)s MB，未保存任何内容", limit=limit),
                               code="too_large")
    title, message = ERROR_PAGES.get(status, (_("错误 %(status)s", status=status), _("请求无法完成。")))
    body, status = _error_response(status, message, title=title)
    headers = {"Allow": ", ".join(exc.valid_methods)} if status == 405 and exc.valid_methods else {}
    return body, status, headers


def handle_unexpected(exc: Exception):
    """A bug: log it with its traceback, answer a Chinese 500, keep nothing of the failed request."""
    if isinstance(exc, HTTPException):
        return handle_http_error(exc)
    if current_app.config.get("PROPAGATE_EXCEPTIONS") or current_app.testing:
        raise exc  # tests must see the bug itself
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be what failed; the page must still render
        current_app.logger.exception("rollback after an unhandled error failed")
    title, message = map(str, ERROR_PAGES[500])
    try:
        return _error_response(500, message, title=title, code="server_error")
    except Exception:   # the page's header needs the database, and that may be what failed
        current_app.logger.exception("the error page itself failed on %s %s", request.method, request.path)
        return _database_free_page(title, message, 500)


def security_headers(response):
    """Headers on every response; pages and PDFs holding case data are never stored by a browser or a proxy."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def beijing_time(ts, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Template filter: a stored UTC timestamp as Beijing wall time."""
    return to_beijing(ts).strftime(fmt) if ts is not None else ""


def state_label(value: str | None) -> str:
    """Template filter: a case state (its value) by its label, in the page's language."""
    from compliance.web.labels import tr
    from workflows.ladder import State
    return tr(State(value).label) if value else "—"


def notice_title(notice_type: str) -> str:
    """Template filter: a notice type's title, in the page's language."""
    import letters
    from compliance.web.labels import tr
    return tr(letters.NOTICE_TYPES[notice_type].title)


def number_label(notice_type: str) -> str:
    """发文字号, or 登记号 for a type whose paper prints no number (the payment-order application); in Chinese,
    as templates compare it (show it with |tr)."""
    import letters
    return letters.NOTICE_TYPES[notice_type].number_label
