"""Who is calling: a personal API token in `Authorization: Bearer …`, never the browser's session cookie.

Each request is throttled per token (and requests without a valid token per client address) with the `limits`
library's moving window. The counts live in API_RATE_LIMIT_STORAGE: "memory://" by default, which counts per
process; with several gunicorn workers give a shared store (e.g. "redis://…") for one count across them.
"""
from __future__ import annotations

import time

from flask import current_app, g, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from compliance.api.problems import problem
from compliance.clock import utcnow
from compliance.db import db
from compliance.operations.tokens import authenticate

DEFAULT_RATE_LIMIT = "300/minute"
#: Requests with a token that is not valid (unknown, expired, revoked), per client address: guessing a 256-bit
#: token is hopeless, this keeps a misconfigured client's lookups cheap. Requests without a token cost no lookup.
DEFAULT_FAILED_AUTH_LIMIT = "60/minute"


class Throttle:
    """A moving-window limiter bound to an app (its storage and limits read once from the config)."""

    def __init__(self, app) -> None:
        self.storage = storage_from_string(app.config.get("API_RATE_LIMIT_STORAGE", "memory://"))
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.per_token = parse(app.config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT))
        self.failed_auth = parse(app.config.get("API_FAILED_AUTH_LIMIT", DEFAULT_FAILED_AUTH_LIMIT))

    def hit(self, item, *keys: str) -> int | None:
        """None when allowed; else the seconds until the next request may pass."""
        if self.limiter.hit(item, *keys):
            return None
        reset, _remaining = self.limiter.get_window_stats(item, *keys)
        return max(1, int(reset - time.time()) + 1)


def throttle() -> Throttle:
    return current_app.extensions["compliance.api.throttle"]


def _client_address() -> str:
    return (request.remote_addr or "unknown")[:45]


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def authenticate_request():
    """before_request of the API: set g.api_user and g.api_token, or answer 401/429."""
    limiter = throttle()
    secret = bearer_token()
    if secret is None:   # nothing to look up: no guess to slow down
        return problem(401, headers={"WWW-Authenticate": 'Bearer realm="compliance-api"'})
    token = authenticate(db.session, secret, now=utcnow())
    if token is None:
        wait = limiter.hit(limiter.failed_auth, "address", _client_address())
        if wait is not None:
            return problem(429, f"未通过认证的请求过于频繁，请 {wait} 秒后再试。", headers={"Retry-After": str(wait)})
        return problem(401, headers={"WWW-Authenticate": 'Bearer realm="compliance-api"'})
    user = token.user
    if db.session.dirty:
        db.session.commit()    # last_used_at moved (at most once a minute)
    wait = limiter.hit(limiter.per_token, "token", str(token.id))
    if wait is not None:
        return problem(429, f"该令牌的请求过于频繁（上限 {limiter.per_token}），请 {wait} 秒后再试。",
                       headers={"Retry-After": str(wait)})
    g.api_token, g.api_user = token, user
    return None
