"""Errors as RFC 9457 problem details (`application/problem+json`), each with a stable `type`.

Every refusal of the API goes through `problem()`: the domain's errors (compliance.errors), HTTP errors raised by
Flask or by request parsing (with the fields at fault), and unexpected errors (logged; a Chinese 500 that says
nothing was saved). The `type` values are listed in docs/api.md and never change meaning.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from compliance.db import db
from compliance.errors import DomainError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:compliance:problem:"

#: status → (type slug, title): the default for a status; a domain error's code may name a finer one.
BY_STATUS = {
    400: ("bad-request", "请求格式有误"),
    401: ("unauthorized", "需要有效的 API 令牌"),
    403: ("forbidden", "无权操作"),
    404: ("not-found", "找不到该资源"),
    405: ("method-not-allowed", "不支持该请求方式"),
    406: ("not-acceptable", "无法以所要求的格式回答"),
    409: ("conflict", "与当前状态冲突"),
    413: ("payload-too-large", "请求内容过大"),
    415: ("unsupported-media-type", "不支持该内容类型"),
    422: ("validation", "提交的内容未通过校验"),
    429: ("rate-limited", "请求过于频繁"),
    500: ("server-error", "系统出错"),
    503: ("unavailable", "服务暂时不可用"),
}
#: compliance.errors codes → their type slug and title.
BY_CODE = {
    "conflict": ("stale-version", "记录已被他人修改"),
    "not_allowed": ("not-allowed", "当前不允许此操作"),
    "invalid": ("validation", "提交的内容未通过校验"),
    "not_found": ("not-found", "找不到该资源"),
    "forbidden": ("forbidden", "无权操作"),
    "idempotency_key_reused": ("idempotency-key-reused", "幂等键已用于另一个请求"),
    "throttled": ("rate-limited", "请求过于频繁"),
}
DETAILS = {
    400: "请求无法解析（例如 JSON 格式有误），未做任何更改。",
    401: "请在 Authorization 头中提供有效的 API 令牌（Bearer）。令牌可能已过期或已被撤销。",
    403: "您的角色不能执行此操作。",
    404: "您要找的内容不存在，或不在您的辖区范围内。",
    405: "该地址不支持此请求方式。",
    406: "此接口只能以 JSON 回答。",
    413: "请求内容超过上限，未保存任何内容。",
    415: "请以 application/json 提交。",
    429: "请求过于频繁，请稍后再试。",
    500: "系统处理时出错，未保存任何更改。错误已记录，请稍后重试或联系管理员。",
}


def problem(status: int, detail: str | None = None, *, slug: str | None = None, title: str | None = None,
            errors: dict | None = None, headers: dict | None = None, **extra: Any) -> Response:
    default_slug, default_title = BY_STATUS.get(status, ("error", "请求无法完成"))
    body: dict[str, Any] = {"type": TYPE_BASE + (slug or default_slug), "title": title or default_title,
                            "status": status, "detail": detail or DETAILS.get(status, default_title)}
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None and k not in body})
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_domain_error(err: DomainError) -> Response:
    """A refusal of an operation: 404 out of scope, 403 role, 409 stale or refused step (with the reason), 422."""
    slug, title = BY_CODE.get(err.code, BY_STATUS.get(err.status, ("error", "请求无法完成")))
    errors = {err.field: [err.message]} if err.field else None
    extra = {k: v for k, v in err.details.items() if k not in ("type", "title", "status", "detail", "errors")}
    return problem(err.status, err.message, slug=slug, title=title, errors=errors, **extra)


def _field_errors(messages: Any) -> dict[str, list[str]]:
    """webargs' nested {location: {field: [messages]}} flattened to {"field" or "field.sub": [messages]}."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.setdefault(prefix or "_", []).extend(value)
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                walk(f"{prefix}.{i}", sub)
        else:
            out.setdefault(prefix or "_", []).append(str(value))

    if isinstance(messages, dict):
        for location, fields in messages.items():   # webargs: {"json": {...}, "query": {...}}
            walk("" if location in ("json", "query", "form", "files", "headers", "json_or_form") else location,
                 fields)
    return out


def from_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    db.session.rollback()
    data = getattr(exc, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    if getattr(exc, "retry_after", None):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 422 and "messages" in data:
        errors = _field_errors(data["messages"])
        return problem(422, "提交的内容未通过校验：" + "；".join(f"{k}：{' '.join(v)}" for k, v in errors.items())[:500],
                       errors=errors, headers=headers)
    if status == 400 and "messages" in data:
        return problem(400, "请求体不是有效的 JSON，未做任何更改。", errors=_field_errors(data["messages"]),
                       headers=headers)
    if status == 413:
        limit = request.max_content_length or current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return problem(413, f"请求内容过大：上限为 {limit:,} 字节，未保存任何内容。", headers=headers)
    return problem(status, DETAILS.get(status) or BY_STATUS.get(status, ("", "请求无法完成"))[1], headers=headers)


def from_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return from_http_error(exc)
    if isinstance(exc, DomainError):
        db.session.rollback()
        return from_domain_error(exc)
    if current_app.config.get("PROPAGATE_EXCEPTIONS") or current_app.testing:
        raise exc
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    try:
        db.session.rollback()
    except Exception:
        current_app.logger.exception("rollback after an unhandled error failed")
    return problem(500)
