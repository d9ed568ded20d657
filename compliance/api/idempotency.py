"""`Idempotency-Key`: a retried request gets the first answer and changes nothing more.

The key's row is inserted in the transaction of the change itself, before the operation runs, with INSERT … ON
CONFLICT DO NOTHING on the unique (user, key) index. Two requests racing with one key: the second's insert waits
for the first transaction (PostgreSQL blocks on the index entry; SQLite's BEGIN IMMEDIATE already serialises
writers), then finds the row and answers what the first answered. The operation runs in a savepoint: a refusal
(409, 422, …) is rolled back and its answer kept under the key like a success; an unexpected error, or a refusal
that passes (503: the document store cannot be written), rolls back the key too, so the request may be retried.
"""
from __future__ import annotations

import hashlib
import json
from typing import Callable

from flask import Response, g, request
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError

from compliance.api.problems import from_domain_error, problem
from compliance.clock import utcnow
from compliance.db import db
from compliance.errors import Conflict, DomainError
from compliance.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY = 100

#: The OpenAPI description of the header (documented on the operations that accept it).
PARAMETER = {"in": "header", "name": HEADER, "required": False,
             "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": "^[\\x21-\\x7e]+$"},
             "description": "任意不重复的字符串（如 UUID）。用同一个键重试，返回第一次的结果且不再做任何更改；"
                            "同一个键用于不同的请求内容则 422。"}


def _body_hash() -> str:
    """The request's content: JSON as parsed (key order and spacing do not matter); a form with its files'
    names and bytes (an upload retried with another file is another request)."""
    if request.is_json:
        data = request.get_json(silent=True)
        raw = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    elif request.files or request.form:
        digest = hashlib.sha256()
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(json.dumps(["form", name, value], ensure_ascii=False).encode("utf-8"))
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            content = upload.stream.read()
            upload.stream.seek(0)
            digest.update(json.dumps(["file", name, upload.filename or "",
                                      hashlib.sha256(content).hexdigest()]).encode("utf-8"))
        return digest.hexdigest()
    else:
        raw = request.get_data(cache=True)
    return hashlib.sha256(raw).hexdigest()


def _json(status: int, body: str, *, replayed: bool = False) -> Response:
    mimetype = "application/problem+json" if status >= 400 else "application/json"
    response = Response(body, status=status, mimetype=mimetype)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _insert_key(row: dict) -> bool:
    """Insert the key's row; False when the user already holds that key (after waiting for its writer)."""
    session = db.session
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.scalar(dialect.insert(IdempotencyKey).values(**row)
                              .on_conflict_do_nothing(index_elements=["user_id", "key"])
                              .returning(IdempotencyKey.id))
    return inserted is not None


def _stored(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                          IdempotencyKey.key == key)
                             .execution_options(populate_existing=True))


def _replay(row: IdempotencyKey, what: str, body_hash: str) -> Response:
    key, request_, body_sha256, status, response = row.key, row.request, row.body_sha256, row.status, row.response
    db.session.rollback()
    if request_ != what or body_sha256 != body_hash:
        return problem(422, f"幂等键“{key}”已用于另一个请求（{request_}），请为新的请求换一个键。",
                       slug="idempotency-key-reused", title="幂等键已用于另一个请求",
                       errors={HEADER: ["已用于内容不同的请求"]})
    return _json(status, response, replayed=True)


def run(operation: Callable[[], tuple[int, dict]]) -> Response:
    """Run a changing operation (returning status and JSON body) once per Idempotency-Key, and commit."""
    key = request.headers.get(HEADER)
    if key is None:
        return _run_once(operation, None)
    if not 0 < len(key) <= MAX_KEY or not all(0x21 <= ord(c) <= 0x7e for c in key):
        return problem(422, f"{HEADER} 应为1至{MAX_KEY}个可打印的 ASCII 字符（不含空格）",
                       errors={HEADER: ["格式不正确"]})
    user = g.api_user
    what = f"{request.method} {request.path}"[:300]
    body_hash = _body_hash()
    row = _stored(user.id, key)
    if row is not None:
        return _replay(row, what, body_hash)
    inserted = _insert_key({"user_id": user.id, "token_id": g.api_token.id, "key": key, "request": what,
                            "body_sha256": body_hash, "status": 0, "response": "", "created_at": utcnow()})
    if not inserted:
        row = _stored(user.id, key)
        if row is None:    # the other writer rolled back between our insert and read: let the client retry
            db.session.rollback()
            return problem(409, "同一幂等键的另一个请求刚刚失败，请重试。", slug="conflict")
        return _replay(row, what, body_hash)
    return _run_once(operation, (user.id, key))


def _run_once(operation: Callable[[], tuple[int, dict]], stored: tuple[int, str] | None) -> Response:
    session = db.session
    try:
        with session.begin_nested():
            status, body = operation()
        text = json.dumps(body, ensure_ascii=False)
    except (DomainError, StaleDataError) as exc:
        err = exc if isinstance(exc, DomainError) else Conflict("记录已被他人修改，请刷新后重试")
        if stored is None or err.status >= 500:
            # A 5xx refusal (the document store cannot be written) is passing: the key goes too, so a retry runs.
            session.rollback()
            return from_domain_error(err)
        refused = from_domain_error(err)
        status, text = refused.status_code, refused.get_data(as_text=True)
    if stored is not None:
        user_id, key = stored
        session.execute(update(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
                        .values(status=status, response=text))
    session.commit()
    return _json(status, text)
