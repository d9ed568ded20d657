"""Helpers shared by the model modules."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC (the only clock models use as a default)."""
    return dt.datetime.now(dt.timezone.utc)


def enum_check(column: str, enum: type[StrEnum], name: str) -> CheckConstraint:
    """A CHECK constraint that keeps a string column within an enum's values."""
    values = ", ".join(f"'{m.value}'" for m in enum)
    return CheckConstraint(f"{column} IN ({values})", name=name)
