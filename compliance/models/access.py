"""Who is signed in where, failed logins, and the audit of account and letterhead changes."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from compliance.db import Base, UTCDateTime
from compliance.models.base import utcnow
from compliance.models.case_event import AppendOnlyViolation
from compliance.models.user import User


class UserSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored here, so a copied
    database cannot be used to sign in. Logout, a password change, deactivation or an admin ends the row."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Updated at most once a minute (the idle timeout counts from here).
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The absolute end, whatever the activity.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: logout | password_changed | deactivated | signed_out_by_admin | superseded
    ended_reason: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(lazy="joined")


class LoginThrottle(Base):
    """Failed logins counted per account (the login typed, known or not) and per client address."""

    __tablename__ = "login_throttles"

    #: "account" or "address"
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AdminEvent(Base):
    """Append-only audit of accounts, sign-ins and issuers' letterheads (who changed what, when)."""

    __tablename__ = "admin_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Dotted action, e.g. user.created, user.roles_changed, issuer.letterhead_changed, login.locked.
    action: Mapped[str] = mapped_column(String(60))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The jurisdiction the change belongs to (the target user's, or the issuer's): admins see their subtree.
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    address: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    target_user: Mapped[User | None] = relationship(foreign_keys=[target_user_id])


@event.listens_for(Session, "before_flush")
def _refuse_admin_audit_changes(session: Session, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AdminEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation("管理操作记录只能追加，不能修改或删除")
