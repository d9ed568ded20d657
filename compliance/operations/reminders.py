"""Reminder operations: record what the jobs decided (reminder rows and their outbox rows, in one transaction),
flag cases ready for the next step, read the inbox, retry a message.

Recording is INSERT … ON CONFLICT DO NOTHING RETURNING on both engines: only the reminders that were not there yet
come back, and only they get outbox rows. A second run, a second scheduler or a restart therefore adds nothing.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import TextClause, func, insert, select, text, update
from sqlalchemy.orm import Session

from compliance.access import Permission, require
from compliance.errors import Forbidden, NotAllowed, NotFound
from compliance.models import Case, InboxMessage, OutboxMessage, OutboxStatus, User
from compliance.models.reminder import OutboxChannel, ReminderKind

#: Rows per INSERT statement (PostgreSQL takes at most 65,535 parameters in one; SQLite 32,766).
INSERT_BATCH = 1000


@dataclass(frozen=True)
class Planned:
    """A reminder a job wants sent, and how to word it if it is new."""

    kind: ReminderKind
    recipient_id: int
    email: str | None
    case_id: int | None
    compose: Callable[[], object]   #: () -> messages.Message; called only for reminders not sent before
    deadline_id: int | None = None
    occasion: str | None = None
    due_on: dt.date | None = None

    @property
    def key(self) -> tuple:
        return (self.deadline_id, self.kind.value, self.recipient_id, self.occasion)


#: PostgreSQL types of the columns written in bulk (for the unnest() arrays).
_PG_TYPES = {"kind": "text", "recipient_id": "integer", "deadline_id": "integer", "case_id": "integer",
             "occasion": "text", "due_on": "date", "created_at": "timestamptz", "reminder_id": "integer",
             "channel": "text", "address": "text", "subject": "text", "body": "text", "link": "text",
             "status": "text", "attempts": "integer", "next_attempt_at": "timestamptz", "last_error": "text"}
_REMINDER_COLUMNS = ("kind", "recipient_id", "deadline_id", "case_id", "occasion", "due_on", "created_at")
_REMINDER_KEY = "id, deadline_id, kind, recipient_id, occasion"
_OUTBOX_COLUMNS = ("reminder_id", "channel", "recipient_id", "address", "subject", "body", "link", "status",
                   "attempts", "next_attempt_at", "last_error", "created_at")


@functools.cache
def _unnest_insert(table: str, columns: tuple[str, ...], tail: str) -> TextClause:
    """PostgreSQL: INSERT … SELECT FROM unnest(one array per column): one short statement for a thousand rows,
    where a multi-row VALUES list costs more to send, parse and plan than to write."""
    arrays = ", ".join(f"CAST(:{c} AS {_PG_TYPES[c]}[])" for c in columns)
    return text(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) {tail}")


@functools.cache
def _sqlite_insert(table: str, columns: tuple[str, ...], tail: str) -> TextClause:
    return text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) {tail}")


def _bulk(session: Session, table: str, columns: tuple[str, ...], rows: list[dict], tail: str = ""):
    """Insert rows (dicts holding `columns`); returns the result (its RETURNING rows when `tail` asks for them)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(_unnest_insert(table, columns, tail), {c: [r[c] for r in rows] for c in columns})
    if "RETURNING" in tail:
        # SQLite: one statement per row (in-process, no round trips), RETURNING each row that went in.
        statement = _sqlite_insert(table, columns, tail)
        return [row for r in rows for row in session.execute(statement, _sqlite_values(r))]
    return session.execute(_sqlite_insert(table, columns, tail), [_sqlite_values(r) for r in rows])


def _sqlite_values(row: dict) -> dict:
    """Text statements skip the column types: store timestamps as UTCDateTime does on SQLite."""
    out = {}
    for key, value in row.items():
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[key] = value
    return out


def record_reminders(session: Session, planned: Sequence[Planned], *, now: dt.datetime,
                     email: bool) -> list[Planned]:
    """Insert the reminders that do not exist yet and, for those only, their outbox rows (inbox always, e-mail
    when `email` and the recipient has an address). Returns the new ones. Flushes nothing else; the caller commits."""
    unique = list({p.key: p for p in planned}.values())
    new: list[Planned] = []
    for start in range(0, len(unique), INSERT_BATCH):
        batch = unique[start:start + INSERT_BATCH]
        by_key = {p.key: p for p in batch}
        outbox = []
        # RETURNING brings back the rows that went in, in no particular order: they are matched by their key.
        rows = _bulk(session, "reminders", _REMINDER_COLUMNS, [
            {"kind": p.kind.value, "recipient_id": p.recipient_id, "deadline_id": p.deadline_id, "case_id": p.case_id,
             "occasion": p.occasion, "due_on": p.due_on, "created_at": now} for p in batch],
            f"ON CONFLICT DO NOTHING RETURNING {_REMINDER_KEY}")
        for reminder_id, deadline_id, kind, recipient_id, occasion in rows:
            p = by_key[(deadline_id, kind, recipient_id, occasion)]
            new.append(p)
            message = p.compose()
            row = {"reminder_id": reminder_id, "recipient_id": p.recipient_id, "subject": message.subject,
                   "body": message.body, "link": message.link, "status": OutboxStatus.PENDING.value, "attempts": 0,
                   "next_attempt_at": now, "last_error": "", "created_at": now}
            outbox.append({**row, "channel": OutboxChannel.INBOX.value, "address": None})
            if email and p.email:
                outbox.append({**row, "channel": OutboxChannel.EMAIL.value, "address": p.email})
        if outbox:
            _bulk(session, "outbox", _OUTBOX_COLUMNS, outbox)
    return new


def flag_ready(session: Session, case_ids: Iterable[int], *, now: dt.datetime) -> int:
    """Mark open cases "ready for the next step" (an overdue deadline); returns how many were newly marked.

    A plain UPDATE of the one column: not a change of the case's facts, so its version (and a supervisor's open
    form) stays as it is.
    """
    ids = sorted(set(case_ids))
    if not ids:
        return 0
    t = Case.__table__
    result = session.execute(update(t).where(t.c.id.in_(ids), t.c.ready_since.is_(None), t.c.closed_at.is_(None))
                             .values(ready_since=now))
    return result.rowcount or 0


def clear_ready(case: Case) -> None:
    """A step was taken: the case is no longer waiting for one (call from fire_trigger, on the locked case)."""
    case.ready_since = None


# ---------------------------------------------------------------------------------------------------- inbox

def _account(actor: User | None) -> User:
    if actor is None or not actor.is_active:
        raise Forbidden("须以有效账号操作")
    return actor


def mark_read(session: Session, message_id: int, *, actor: User, now: dt.datetime) -> InboxMessage:
    """Mark one of the actor's own messages read (someone else's is as absent as none)."""
    actor = _account(actor)
    message = session.get(InboxMessage, message_id)
    if message is None or message.user_id != actor.id:
        raise NotFound(f"消息 {message_id} 不存在")
    if message.read_at is None:
        message.read_at = now
    session.flush()
    return message


def mark_all_read(session: Session, *, actor: User, now: dt.datetime) -> int:
    """Mark every unread message of the actor read; returns how many."""
    actor = _account(actor)
    t = InboxMessage.__table__
    result = session.execute(update(t).where(t.c.user_id == actor.id, t.c.read_at.is_(None)).values(read_at=now))
    return result.rowcount or 0


def unread_count(session: Session, user: User, cap: int = 100) -> int:
    """Unread messages, counted no further than `cap` (the header shows "99+")."""
    ids = select(InboxMessage.id).where(InboxMessage.user_id == user.id, InboxMessage.read_at.is_(None)).limit(cap)
    return session.scalar(select(func.count()).select_from(ids.subquery())) or 0


# --------------------------------------------------------------------------------------------------- outbox

def retry_delivery(session: Session, outbox_id: int, *, actor: User, now: dt.datetime) -> OutboxMessage:
    """An admin sends a failed (or waiting) message again at the next delivery run."""
    require(actor, Permission.MANAGE_USERS, absent="")
    row = session.get(OutboxMessage, outbox_id)
    absent = f"消息 {outbox_id} 不存在"
    if row is None:
        raise NotFound(absent)
    require(actor, Permission.MANAGE_USERS, session.get(User, row.recipient_id).jurisdiction, absent=absent)
    if row.status == OutboxStatus.SENT.value:
        raise NotAllowed("该消息已发送，无需重发")
    row.status, row.next_attempt_at = OutboxStatus.PENDING.value, now
    session.flush()
    return row


def delivered(session: Session, outbox_ids: Sequence[int], *, now: dt.datetime) -> None:
    """Mark messages sent."""
    if outbox_ids:
        t = OutboxMessage.__table__
        session.execute(update(t).where(t.c.id.in_(list(outbox_ids)))
                        .values(status=OutboxStatus.SENT.value, sent_at=now, last_error=""))


def delivery_failed(session: Session, outbox_id: int, attempts: int, error: str, *, now: dt.datetime,
                    max_attempts: int, retry_seconds: int) -> bool:
    """Record a failed try: retried after a doubling wait (capped at a day), failed for good after the last one.
    Returns True when it will be retried."""
    retry = attempts < max_attempts
    wait = dt.timedelta(seconds=min(retry_seconds * 2 ** max(attempts - 1, 0), 86400))
    t = OutboxMessage.__table__
    session.execute(update(t).where(t.c.id == outbox_id).values(
        status=OutboxStatus.PENDING.value if retry else OutboxStatus.FAILED.value,
        next_attempt_at=now + wait, last_error=error[:500]))
    return retry


def deliver_to_inbox(session: Session, rows: Sequence, *, now: dt.datetime) -> None:
    """Put claimed inbox-channel outbox rows into their users' inboxes and mark them sent (same transaction)."""
    if not rows:
        return
    session.execute(insert(InboxMessage.__table__), [
        {"user_id": r.recipient_id, "outbox_id": r.id, "title": r.subject, "body": r.body, "link": r.link,
         "created_at": now} for r in rows])
    delivered(session, [r.id for r in rows], now=now)
