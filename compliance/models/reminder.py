"""Reminders the scheduler has decided to send, the outbox that delivers them, and each user's inbox.

A reminder is a row, unique per (deadline, kind, recipient), holding the date it told of — or, for reminders
about no one deadline (the daily digest, the union-funds check, the calendar check), per (kind, recipient,
occasion). The jobs insert it with ON CONFLICT DO NOTHING (the sweep: DO UPDATE of the date, only when it differs)
and write its outbox rows in the same transaction only when the row took, so running a job twice, two schedulers
at once or a restart never sends anything twice.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from compliance.db import Base, UTCDateTime
from compliance.models.base import enum_check, utcnow


class ReminderKind(StrEnum):
    APPROACHING = "approaching"        #: a deadline falls due within its lead (default 3 working days)
    DUE = "due"                        #: the last day is today
    OVERDUE = "overdue"                #: the last day has passed and the deadline is still open
    DIGEST = "digest"                  #: the 08:30 summary of a working day (occasion: the date)
    FUNDS_CHECK = "funds_check"        #: after the monthly union-funds due day (occasion: case and month)
    CALENDAR_CHECK = "calendar_check"  #: a year's holiday data is missing (occasion: year and week)

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    ReminderKind.APPROACHING: "期限临近", ReminderKind.DUE: "今日到期", ReminderKind.OVERDUE: "已逾期",
    ReminderKind.DIGEST: "每日提醒", ReminderKind.FUNDS_CHECK: "工会经费核查", ReminderKind.CALENDAR_CHECK: "节假日数据缺失",
}

#: The kinds that concern one deadline.
DEADLINE_KINDS = (ReminderKind.APPROACHING, ReminderKind.DUE, ReminderKind.OVERDUE)

_NO_DEADLINE = text("deadline_id IS NULL")


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (
        enum_check("kind", ReminderKind, "kind"),
        UniqueConstraint("deadline_id", "kind", "recipient_id"),
        # NULLs never collide in a unique constraint: reminders without a deadline are unique per occasion.
        Index("uq_reminders_occasion", "kind", "recipient_id", "occasion", unique=True,
              postgresql_where=_NO_DEADLINE, sqlite_where=_NO_DEADLINE),
        CheckConstraint("(deadline_id IS NULL) <> (occasion IS NULL)", name="subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    #: What a reminder without a deadline is about: "2026-11-24" (digest), "case-7-2026-11" (funds check) …
    occasion: Mapped[str | None] = mapped_column(String(40))
    #: The last day a deadline reminder told its recipient of. When the deadline moves (a holiday entry, a service,
    #: a letter issued again), the sweep reminds again for the new date and re-dates this row (docs/reminders.md).
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Reminder {self.kind} deadline={self.deadline_id} to={self.recipient_id}>"


class OutboxChannel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"

    @property
    def label(self) -> str:
        return {"inbox": "站内消息", "email": "电子邮件"}[self.value]


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"   #: gave up after the last attempt; an admin can retry it

    @property
    def label(self) -> str:
        return {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}[self.value]


_PENDING = text("status = 'pending'")
_FAILED = text("status = 'failed'")


class OutboxMessage(Base):
    """A message to deliver after the transaction that decided it has committed."""

    __tablename__ = "outbox"
    __table_args__ = (
        enum_check("channel", OutboxChannel, "channel"),
        enum_check("status", OutboxStatus, "status"),
        # Delivery reads the pending rows whose time has come, oldest first; sent rows stay out of the index.
        Index("ix_outbox_pending", "next_attempt_at", postgresql_where=_PENDING, sqlite_where=_PENDING),
        Index("ix_outbox_failed", "id", postgresql_where=_FAILED, sqlite_where=_FAILED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"))
    channel: Mapped[str] = mapped_column(String(10))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The e-mail address when the message was decided (e-mail only).
    address: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.channel} {self.status}>"


class InboxMessage(Base):
    """A message in a user's in-app inbox."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        Index("ix_inbox_messages_user_id_id", "user_id", "id"),
        # The unread count in every page's header reads this index only.
        Index("ix_inbox_messages_unread", "user_id", postgresql_where=text("read_at IS NULL"),
              sqlite_where=text("read_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The outbox row it was delivered from: a row is delivered into the inbox once.
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def __repr__(self) -> str:
        return f"<InboxMessage {self.id} to={self.user_id}>"
