"""The REST API's own rows: personal API tokens and the idempotency keys of retried requests."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from compliance.db import Base, UTCDateTime
from compliance.models.base import utcnow
from compliance.models.user import User


class ApiToken(Base):
    """A personal API token: acts as its user (same roles, same jurisdiction), until it expires or is revoked.

    The secret is shown once when the token is made; only its SHA-256 is stored (the secret has 256 bits of
    entropy, so a fast hash is as safe as a slow one and lets a request find its token by an indexed lookup).
    `prefix` is the token's first characters, shown in lists so a user can tell their tokens apart.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who made it: the user, or an admin of their jurisdiction.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Updated at most once a minute (compliance.operations.tokens.TOUCH_EVERY).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def is_live(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}… of user {self.user_id}>"


class IdempotencyKey(Base):
    """A request made with an `Idempotency-Key`, and the answer it got.

    One row per (user, key), made in the same transaction as the change the request makes: a retry finds the
    row and gets the stored answer; two requests racing with one key meet at the unique index, and the second
    waits for the first's commit and then reads its answer. A refused request's answer is kept too.
    """

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    #: "POST /api/v1/cases/12/transitions"
    request: Mapped[str] = mapped_column(String(300))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    #: The JSON answer exactly as first sent.
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
