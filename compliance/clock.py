"""The one place that reads the clock; everything else takes `now` as an argument."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from compliance.config import BUSINESS_TIMEZONE

BEIJING = ZoneInfo(BUSINESS_TIMEZONE)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def business_date(now: dt.datetime) -> dt.date:
    """The Beijing calendar date of an aware timestamp (deadlines count in Beijing days)."""
    if now.tzinfo is None:
        raise ValueError("business_date needs an aware datetime")
    return now.astimezone(BEIJING).date()


def to_beijing(ts: dt.datetime | None) -> dt.datetime | None:
    return ts.astimezone(BEIJING) if ts is not None else None
