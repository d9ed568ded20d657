"""The append-only audit trail of every change to a case."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from compliance.db import Base, UTCDateTime
from compliance.models.base import utcnow
from compliance.models.user import User


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


class CaseEvent(Base):
    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    #: 1, 2, 3 … per case; the unique constraint turns a lost update into an error instead of a fork.
    seq: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Dotted action name, e.g. case.opened, case.opinion_issued.
    action: Mapped[str] = mapped_column(String(60))
    trigger: Mapped[str | None] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(String(2000), default="")
    #: Structured details: the trigger's inputs, the business date, deadlines, notice drafts.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CaseEvent {self.case_id}#{self.seq} {self.action}>"


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, CaseEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation("案件操作记录只能追加，不能修改或删除")


# The database enforces it too, against bulk UPDATE/DELETE statements: see migration 0001's triggers.
