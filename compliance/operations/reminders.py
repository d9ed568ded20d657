"""Reminder operations: record what the jobs decided (reminder rows and their outbox rows, in one transaction),
flag cases ready for the next step, read the inbox, retry a message.

A deadline's reminder row holds the due date its recipient was last told of. Recording one is an upsert on both
engines: `INSERT … ON CONFLICT (deadline_id, kind, recipient_id) DO UPDATE SET due_on = … WHERE the stored date
differs … RETURNING`; reminders about no one deadline are `INSERT … ON CONFLICT DO NOTHING RETURNING`. Only the
rows that went in or changed their date come back, and only they get outbox rows: a second run, a second scheduler
or a restart adds nothing, and a deadline that moved is reminded again for its new date, once.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import TextClause, func, insert, select, text, update
from sqlalchemy.orm import Session

from compliance.access import Permission, require
from compliance.db import id_in
from compliance.errors import Forbidden, NotAllowed, NotFound
from compliance.models import Case, InboxMessage, OutboxMessage, OutboxStatus, User
from compliance.models.reminder import OutboxChannel, ReminderKind

#: Rows per INSERT statement (SQLite takes one statement per row; PostgreSQL one unnest() per batch).
INSERT_BATCH = 1000


class Planned(NamedTuple):
    """A reminder a job wants sent, and how to word it if it is new (a tuple: a sweep makes thousands)."""

    kind: ReminderKind
    recipient_id: int
    email: str | None
    case_id: int | None
    compose: Callable[[], object]   #: () -> messages.Message; called only for reminders not sent before
    deadline_id: int | None = None
    occasion: str | None = None
    #: A deadline reminder: the due date it tells of (a moved deadline is reminded again for its new date).
    due_on: dt.date | None = None

    @property
    def key(self) -> tuple:
        # A StrEnum member hashes and compares as its value: the key matches the RETURNING row's plain text.
        return (self.deadline_id, self.kind, self.recipient_id, self.occasion)


#: PostgreSQL types of the columns written in bulk (for the unnest() arrays).
_PG_TYPES = {"kind": "text", "recipient_id": "integer", "deadline_id": "integer", "case_id": "integer",
             "occasion": "text", "due_on": "date"}
_DEADLINE_COLUMNS = ("kind", "recipient_id", "deadline_id", "case_id", "due_on")
_OCCASION_COLUMNS = ("kind", "recipient_id", "case_id", "occasion")
_RETURNING = "RETURNING id, deadline_id, kind, recipient_id, occasion"
#: A deadline's reminder to one person is sent again only when the date it told of is no longer the deadline's.
_DEADLINE_CONFLICT = ("ON CONFLICT (deadline_id, kind, recipient_id) DO UPDATE SET due_on = excluded.due_on "
                      "WHERE reminders.due_on {distinct} excluded.due_on " + _RETURNING)
_OCCASION_CONFLICT = "ON CONFLICT DO NOTHING " + _RETURNING
_OUTBOX_COLUMNS = ("reminder_id", "channel", "recipient_id", "address", "subject", "body", "link", "status",
                   "attempts", "next_attempt_at", "last_error", "created_at")


@functools.cache
def _unnest_insert(columns: tuple[str, ...], tail: str) -> TextClause:
    """PostgreSQL: INSERT … SELECT FROM unnest(one array per column): one short statement, whatever the number of
    rows, where a multi-row VALUES list costs more to send, parse and plan than to write."""
    arrays = ", ".join(f"CAST(:{c} AS {_PG_TYPES[c]}[])" for c in columns)
    return text(f"INSERT INTO reminders ({', '.join(columns)}, created_at) "
                f"SELECT *, CAST(:created_at AS timestamptz) FROM unnest({arrays}) {tail}")


@functools.cache
def _sqlite_insert(columns: tuple[str, ...], tail: str) -> TextClause:
    return text(f"INSERT INTO reminders ({', '.join(columns)}, created_at) "
                f"VALUES ({', '.join(':' + c for c in columns)}, :created_at) {tail}")


def _insert_reminders(session: Session, batch: list[Planned], now: dt.datetime) -> list[tuple]:
    """Insert (or re-date) a batch of reminders of one sort; returns the RETURNING rows of those that took."""
    columns = _DEADLINE_COLUMNS if batch[0].deadline_id is not None else _OCCASION_COLUMNS
    # One list per column; kinds as plain text (a driver may write an Enum by its name).
    values = {"kind": [str(p.kind) for p in batch], "recipient_id": [p.recipient_id for p in batch],
              "deadline_id": [p.deadline_id for p in batch], "case_id": [p.case_id for p in batch],
              "occasion": [p.occasion for p in batch], "due_on": [p.due_on for p in batch]}
    if _postgresql(session):
        tail = (_DEADLINE_CONFLICT.format(distinct="IS DISTINCT FROM") if batch[0].deadline_id is not None
                else _OCCASION_CONFLICT)
        params = {c: values[c] for c in columns}
        return session.execute(_unnest_insert(columns, tail), {**params, "created_at": now}).all()
    # SQLite: one statement per row (in-process, no round trips), RETURNING each row that went in.
    tail = _DEADLINE_CONFLICT.format(distinct="IS NOT") if batch[0].deadline_id is not None else _OCCASION_CONFLICT
    statement = _sqlite_insert(columns, tail)
    created = _sqlite_value(now)
    return [row for i in range(len(batch))
            for row in session.execute(statement, {**{c: _sqlite_value(values[c][i]) for c in columns},
                                                   "created_at": created})]


def _write_outbox(session: Session, rows: Iterable[tuple]) -> None:
    """Outbox rows (tuples in _OUTBOX_COLUMNS order). Nothing here can collide, so PostgreSQL takes them by COPY
    on the session's own connection (the same transaction), the fastest way rows enter a table; the rows may be
    composed as they are written, so the server stores one block while the next is being worded."""
    if _postgresql(session):
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY outbox ({', '.join(_OUTBOX_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    statement = text(f"INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) "
                     f"VALUES ({', '.join(':' + c for c in _OUTBOX_COLUMNS)})")
    values = [{c: _sqlite_value(v) for c, v in zip(_OUTBOX_COLUMNS, row)} for row in rows]
    if values:
        session.execute(statement, values)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _sqlite_value(value):
    """Text statements skip the column types: store dates and timestamps as Date and UTCDateTime do on SQLite."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def record_reminders(session: Session, planned: Sequence[Planned], *, now: dt.datetime,
                     email: bool) -> list[Planned]:
    """Insert the reminders that do not exist yet, re-date those whose deadline moved since, and for those only
    write their outbox rows (inbox always, e-mail when `email` and the recipient has an address). Returns them.
    Flushes nothing else; the caller commits."""
    unique = list({p.key: p for p in planned}.values())
    taken: list[tuple[int, Planned]] = []
    for sort in ([p for p in unique if p.deadline_id is not None], [p for p in unique if p.deadline_id is None]):
        for start in range(0, len(sort), INSERT_BATCH):
            batch = sort[start:start + INSERT_BATCH]
            by_key = {p.key: p for p in batch}
            # RETURNING brings back the rows that took, in no particular order: they are matched by their key.
            for reminder_id, deadline_id, kind, recipient_id, occasion in _insert_reminders(session, batch, now):
                taken.append((reminder_id, by_key[(deadline_id, kind, recipient_id, occasion)]))
    if taken:
        _write_outbox(session, _outbox_rows(taken, now=now, email=email))
    return [p for _id, p in taken]


def _outbox_rows(taken: list[tuple[int, Planned]], *, now: dt.datetime, email: bool):
    """Each new reminder's message, worded now: to the inbox, and by e-mail when there is an address."""
    pending, inbox, mail = OutboxStatus.PENDING.value, OutboxChannel.INBOX.value, OutboxChannel.EMAIL.value
    for reminder_id, p in taken:
        message = p.compose()
        yield (reminder_id, inbox, p.recipient_id, None, message.subject, message.body, message.link, pending, 0,
               now, "", now)
        if email and p.email:
            yield (reminder_id, mail, p.recipient_id, p.email, message.subject, message.body, message.link, pending,
                   0, now, "", now)


def flag_ready(session: Session, case_ids: Iterable[int], *, now: dt.datetime) -> int:
    """Mark open cases "ready for the next step" (an overdue deadline); returns how many were newly marked.

    A plain UPDATE of the one column: not a change of the case's facts, so its version (and a supervisor's open
    form) stays as it is.
    """
    ids = sorted(set(case_ids))
    if not ids:
        return 0
    t = Case.__table__
    result = session.execute(update(t).where(id_in(session, t.c.id, ids), t.c.ready_since.is_(None),
                                             t.c.closed_at.is_(None))
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
