"""Legal deadlines a case's steps start: period, counting mode, basis and due date."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from compliance.db import Base, UTCDateTime
from compliance.models.base import enum_check, utcnow
from workflows.deadlines import NATURES, Counting, PeriodRule

_Nature = StrEnum("_Nature", {key: key for key in NATURES})


class DeadlineStatus(StrEnum):
    OPEN = "open"
    #: The period runs from the letter's receipt and its service is not recorded yet: no start, no due date.
    #: Never overdue, never approaching; guards do not treat it as lapsed (issue 10).
    AWAITING_SERVICE = "awaiting_service"
    MET = "met"               # the act happened in time (reply received, paid, rectified)
    SUPERSEDED = "superseded"  # the case moved on (escalated, withdrawn)

    @property
    def label(self) -> str:
        return {"open": "进行中", "awaiting_service": "待送达", "met": "已履行", "superseded": "已被替代"}[self.value]


#: The statuses of a deadline that is still pending (running, or waiting for its letter's service).
PENDING_STATUSES = (DeadlineStatus.OPEN.value, DeadlineStatus.AWAITING_SERVICE.value)


class Deadline(Base):
    __tablename__ = "deadlines"
    __table_args__ = (
        enum_check("status", DeadlineStatus, "status"),
        enum_check("counting", Counting, "counting"),
        enum_check("nature", _Nature, "nature"),
        # The scheduler's "what falls due" query only ever looks at open rows; the case list sorted by due date
        # reads it in (due_on, case_id) order (case_id added by migration 0004).
        Index("ix_deadlines_open_due", "due_on", "case_id", postgresql_where=text("status = 'open'"),
              sqlite_where=text("status = 'open'")),
        # A case's open deadlines (its first one, overdue, provisional) read from the index alone (migration 0004).
        Index("ix_deadlines_open_case", "case_id", "due_on", "id", "is_provisional",
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        Index("ix_deadlines_open_provisional", "due_on", postgresql_where=text("status = 'open' AND is_provisional"),
              sqlite_where=text("status = 'open' AND is_provisional")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    rule_key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    period: Mapped[int] = mapped_column(Integer)
    counting: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str] = mapped_column(String(300))
    #: statutory (法定期限), committee (本会确定的期限), diary (本会跟进提醒) or authority (责令改正文书确定的期限).
    nature: Mapped[str] = mapped_column(String(20), default="statutory", server_default="statutory")
    #: The day of the act that starts the period; it is not counted. None while awaiting service.
    start_on: Mapped[dt.date | None] = mapped_column(Date)
    #: None while awaiting service (待送达).
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The raw last day when it fell on a rest day and the deadline moved to the next working day.
    extended_from: Mapped[dt.date | None] = mapped_column(Date)
    #: Computed for a year without official holiday data (weekends only); recomputed when the year is entered.
    is_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    explanation: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default=DeadlineStatus.OPEN.value)
    opened_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    closed_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def rule(self) -> PeriodRule:
        """The rule this deadline was counted with (as stored: a visit may have set its own period)."""
        return PeriodRule(key=self.rule_key, label=self.label, period=self.period, counting=Counting(self.counting),
                          legal_basis=self.legal_basis, nature=self.nature or "statutory",
                          starts="service" if self.is_awaiting_service else "event")

    @property
    def is_open(self) -> bool:
        return self.status == DeadlineStatus.OPEN.value

    @property
    def is_awaiting_service(self) -> bool:
        return self.status == DeadlineStatus.AWAITING_SERVICE.value

    @property
    def nature_label(self) -> str:
        return NATURES.get(self.nature or "statutory", "")

    def __repr__(self) -> str:
        return f"<Deadline {self.case_id} {self.rule_key} {self.due_on}>"
