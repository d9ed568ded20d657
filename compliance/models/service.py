"""Service (送达) of an issued notice: how, when, by whom, with what proof. A reply period runs from it."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from compliance.db import Base, UTCDateTime
from compliance.models.base import enum_check, utcnow
from compliance.models.user import User


class ServiceMethod(StrEnum):
    DIRECT = "direct"
    MAIL = "mail"
    LEFT = "left"
    ELECTRONIC = "electronic"

    @property
    def label(self) -> str:
        return {"direct": "直接送达", "mail": "邮寄送达", "left": "留置送达", "electronic": "电子送达"}[self.value]


class NoticeService(Base):
    """One record of a notice's service. A correction supersedes the current record (kept, marked superseded);
    a notice has at most one current record."""

    __tablename__ = "notice_services"
    __table_args__ = (
        enum_check("method", ServiceMethod, "method"),
        Index("uq_notice_services_current", "notice_id", unique=True,
              postgresql_where=text("superseded_at IS NULL"), sqlite_where=text("superseded_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    served_on: Mapped[dt.date] = mapped_column(Date)
    #: The supervisor who served it.
    served_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Who received it (the enterprise's signatory), as the 送达回证 names them.
    recipient: Mapped[str] = mapped_column(String(100), default="")
    #: 邮寄送达: the postal tracking number (required for that method).
    tracking_number: Mapped[str | None] = mapped_column(String(50))
    #: The 送达回证 or a photo, as an evidence attachment of the same case.
    proof_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    #: The deadline this service started (None: the notice's period was no longer waiting).
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("notice_services.id"))
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    served_by: Mapped[User] = relationship(foreign_keys=[served_by_id], lazy="joined")

    @property
    def method_label(self) -> str:
        return ServiceMethod(self.method).label

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None
