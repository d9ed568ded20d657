"""One domain error type; the web layer turns it into 409/422 in one handler."""
from __future__ import annotations


class DomainError(Exception):
    """A refusal a user can understand; `message` is Chinese and shown as is."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, **details):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict:
        out = {"error": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        out.update({k: v for k, v in self.details.items() if v is not None})
        return out


class ValidationFailed(DomainError):
    status = 422
    code = "invalid"


class NotAllowed(DomainError):
    """The action is not allowed in the case's current state (or by the law's guards)."""

    status = 409
    code = "not_allowed"


class Conflict(DomainError):
    """Someone else changed the record since it was read (stale version)."""

    status = 409
    code = "conflict"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
