"""Keyset pagination: the next page is the rows that sort after the last one shown, never an OFFSET.

The cursor in `?after=` carries the last row's sort key and id, signed with the app's secret and bound to the
list and sort it came from. Anything that does not verify (edited, truncated, from another sort) is ignored and
the first page shown. The cursor only says where to start: the user's scope and filters are applied to every
query, so no cursor, however made, can show a row the user may not see.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import ColumnElement, literal, tuple_

SALT = "compliance.list-cursor"
#: Longer `after=` values are not ours (a key holding a 200-character name encodes to under 1,000).
MAX_CURSOR = 3000


@dataclass(frozen=True)
class Cursor:
    key: tuple            #: the last shown row's sort key, the id last
    shown: int            #: rows shown before the page that starts after it (for "第 51–100 条")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def encode(list_name: str, sort: str, key: Sequence[Any], shown: int) -> str:
    return _serializer().dumps({"l": list_name, "s": sort, "k": [_plain(v) for v in key], "n": shown})


def decode(raw: str | None, list_name: str, sort: str, parsers: Sequence[Callable[[Any], Any]]) -> Cursor | None:
    """The cursor, or None for anything that is not a cursor this list handed out for this sort."""
    if not raw or len(raw) > MAX_CURSOR:
        return None
    try:
        data = _serializer().loads(raw)
        if not isinstance(data, dict) or data.get("l") != list_name or data.get("s") != sort:
            return None
        values, shown = data["k"], data["n"]
        if not isinstance(values, list) or len(values) != len(parsers):
            return None
        if not isinstance(shown, int) or isinstance(shown, bool) or not 0 < shown < 10**9:
            return None
        return Cursor(key=tuple(parse(v) for parse, v in zip(parsers, values)), shown=shown)
    except (BadData, KeyError, TypeError, ValueError, OverflowError):
        return None


# Parsers for the values a cursor may carry: each raises ValueError/TypeError on anything else.

def as_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -2**31 <= value < 2**31:
        raise ValueError("not a 32-bit integer")
    return value


def as_text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 300:
        raise ValueError("not a short string")
    return value


def as_datetime(value: Any) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(as_text(value))
    if parsed.tzinfo is None:
        raise ValueError("naive timestamp")
    return parsed.astimezone(dt.timezone.utc)


def as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(as_text(value))


def as_optional_date(value: Any) -> dt.date | None:
    return None if value is None else as_date(value)


def after(columns: Sequence[ColumnElement], values: Sequence[Any], descending: bool) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `columns` (all ascending or all descending).

    A row-value comparison, (a, b) > (x, y), which PostgreSQL answers from a composite index on (a, b).
    """
    right = tuple_(*(literal(v, type_=c.type) for c, v in zip(columns, values)))
    left = tuple_(*columns)
    return left < right if descending else left > right
