"""Holiday data an admin enters from the State Council's yearly notice (chinesecalendar stops at 2026)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from compliance.db import Base, UTCDateTime
from compliance.models.base import enum_check, utcnow
from workflows.calendar import DayKind


class HolidayOverrideRow(Base):
    """One day: a statutory holiday, or a make-up working day (调休)."""

    __tablename__ = "holiday_overrides"
    __table_args__ = (enum_check("kind", DayKind, "kind"),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(50), default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HolidayYear(Base):
    """A year whose whole arrangement has been entered, so its deadlines are no longer provisional."""

    __tablename__ = "holiday_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The notice it came from, e.g. 国务院办公厅关于2027年部分节假日安排的通知.
    source: Mapped[str] = mapped_column(String(200), default="")
    is_complete: Mapped[bool] = mapped_column(Boolean, default=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
