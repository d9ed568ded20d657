"""The REST API at /api/v1: personal API tokens, JSON in and out, errors as problem+json.

The OpenAPI 3 document is generated from the code (flask-smorest reads the routes and their marshmallow
schemas) and served at /api/v1/openapi.json; /api/v1/docs shows it with Swagger UI, whose files come from the
pinned swagger-ui-bundle package (nothing is fetched from elsewhere; the page runs under the app's CSP).

The browser's session cookie never authenticates the API and the API is exempt from CSRF (no cookie, nothing to
forge): every request carries `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import http

from flask import Blueprint, Flask, current_app, jsonify, render_template, request, send_from_directory
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from compliance.api.problems import MEDIA_TYPE, from_domain_error, from_http_error, from_unexpected
from compliance.errors import DomainError

API_PREFIX = "/api/v1"
#: The largest JSON body the API reads (uploads of evidence have their own limit, EVIDENCE_MAX_BYTES).
DEFAULT_MAX_BODY = 1024 * 1024


class ComplianceApi(Api):
    """flask-smorest's Api, adapted: errors documented as problem+json, and no app-wide handlers or pages of its
    own (the web keeps its Chinese error pages; the API blueprint answers its own errors)."""

    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self):
        pass

    def _register_doc_blueprint(self):
        pass

    def _register_responses(self):
        from flask_smorest.spec import prepare_response

        from compliance.api.schemas import ProblemSchema
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = ProblemSchema
            prepare_response(response, self.spec, MEDIA_TYPE if status >= 400 else self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "问题详情（application/problem+json）", "schema": ProblemSchema}
        prepare_response(response, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


docs_bp = Blueprint("api_docs", __name__, url_prefix=API_PREFIX)


@docs_bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI document, generated from the routes and schemas (public: it holds no data)."""
    return jsonify(current_app.extensions["compliance.api"].spec.to_dict())


@docs_bp.get("/docs")
def docs_page():
    """Swagger UI over the document; its scripts and styles are files of this app."""
    return render_template("api/docs.html")


@docs_bp.get("/docs/assets/<path:filename>")
def docs_asset(filename: str):
    import swagger_ui_bundle
    if filename not in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                        "favicon-32x32.png"):
        from werkzeug.exceptions import NotFound
        raise NotFound()
    response = send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
    return response


def register(app: Flask) -> None:
    """Bind the API to the app: its blueprint, the document, token auth and throttling, its errors."""
    from compliance.api import views
    from compliance.api.auth import Throttle
    from compliance.extensions import csrf
    from compliance.web import IdConverter, MAX_ID

    app.config.setdefault("API_TITLE", "劳动法律监督执法案件管理 API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "个人 API 令牌认证（Authorization: Bearer …），JSON 输入输出，错误为 "
                               "application/problem+json。详见 docs/api.md。"},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "description": "个人 API 令牌（cmpl_…）"}}},
        "security": [{"bearerAuth": []}],
    })
    api = ComplianceApi(app)
    api.register_converter(IdConverter, lambda _c: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
    api.register_blueprint(views.bp)
    _operation_ids(app, api)
    app.register_blueprint(docs_bp)
    csrf.exempt(views.bp)
    app.extensions["compliance.api"] = api
    app.extensions["compliance.api.throttle"] = Throttle(app)


def _operation_ids(app: Flask, api: Api) -> None:
    """Each operation's operationId is its view's name (list_cases, fire_transition …): stable names for clients
    generated from the document."""
    import re
    paths = api.spec._paths
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths.get(path, {}).get(method.lower())
            if operation is not None:
                operation.setdefault("operationId", rule.endpoint.removeprefix("api."))


def setup_blueprint(bp) -> None:
    """The API blueprint's hooks (once, when compliance.api.views is imported): body limit, token auth, errors."""
    from sqlalchemy.orm.exc import StaleDataError

    from compliance.api.auth import authenticate_request
    bp.before_request(authenticate_request)   # first: without a valid token nothing else is said
    bp.before_request(_limit_body)
    bp.register_error_handler(DomainError, _domain_error)
    bp.register_error_handler(HTTPException, from_http_error)
    bp.register_error_handler(StaleDataError, _stale)
    bp.register_error_handler(Exception, from_unexpected)


def _domain_error(err: DomainError):
    from compliance.db import db
    db.session.rollback()
    return from_domain_error(err)


def _stale(_exc):
    from compliance.errors import Conflict
    return _domain_error(Conflict("记录已被他人修改，请刷新后重试"))


#: The operations that read query parameters (their schemas refuse unknown ones); the others take none.
QUERY_ENDPOINTS = frozenset({"api.list_enterprises", "api.list_cases", "api.list_reminders",
                             "api.list_all_deadlines", "api.export_cases", "api.export_enterprises",
                             "api.export_listing_batch"})


def _nul_field() -> str | None:
    """The first query parameter or JSON member holding a NUL character (PostgreSQL text cannot store one, and no
    person types it); None when there is none. Read after the size check has bounded the body."""
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "")[:40] or "query"
    if not request.is_json:
        return None
    data = request.get_json(silent=True)   # bounded by request.max_content_length (413 beyond it)
    stack = [("body", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            return where
        if isinstance(value, dict):
            for key, sub in value.items():
                if "\x00" in key:
                    return where
                stack.append((key[:40] if where == "body" else f"{where}.{key[:40]}", sub))
        elif isinstance(value, list):
            stack.extend((where, sub) for sub in value)
    return None


def _limit_body():
    """413 for a body over the API's limit (evidence uploads: the evidence limit), before anything reads it;
    422 for query parameters given to an operation that takes none (a typo is said, not ignored)."""
    if request.args and request.endpoint not in QUERY_ENDPOINTS:
        from compliance.api.problems import problem
        names = sorted(request.args)[:20]
        return problem(422, "此接口不接受查询参数：" + "、".join(n[:40] for n in names),
                       errors={n[:40]: ["未知的参数"] for n in names})
    limit = int(current_app.config.get("API_MAX_BODY", DEFAULT_MAX_BODY))
    if request.endpoint == "api.upload_attachment":
        limit = int(current_app.config.get("EVIDENCE_MAX_BYTES", 15 * 1024 * 1024)) + 64 * 1024
    elif request.endpoint == "api.import_file":
        from compliance.operations.imports import settings
        limit = settings(current_app.config)["max_bytes"] + 64 * 1024
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        from werkzeug.exceptions import RequestEntityTooLarge
        raise RequestEntityTooLarge()
    nul = _nul_field()
    if nul is not None:
        from compliance.api.problems import problem
        return problem(422, f"{nul} 含有 NUL 字符（\\u0000），不能保存", errors={nul: ["含有 NUL 字符"]})
    return None
