"""Delivery: after the deciding transaction has committed, send what the outbox holds.

Inbox messages are rows in the same database: claimed, inserted into inbox_messages and marked sent in one
transaction, so each is delivered exactly once. E-mail leaves the database, so it is claimed first (attempts + 1
and a lease on next_attempt_at, committed; PostgreSQL's FOR UPDATE SKIP LOCKED lets two deliverers share the
queue, SQLite serialises writers anyway), then sent over SMTP, then marked sent or, on failure, given back with
a doubling wait; after OUTBOX_MAX_ATTEMPTS it is marked failed, where the admins' outbox page shows it with its
last error. A process that dies between the SMTP server's acceptance and the commit may send that one message
again after the lease: each mail carries a Message-ID fixed per outbox row, so a mail system can tell.
"""
from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select, update

from compliance.jobs.settings import ReminderSettings, current_settings
from compliance.models import OutboxMessage, OutboxStatus
from compliance.models.reminder import OutboxChannel
from compliance.operations.reminders import deliver_to_inbox, delivered, delivery_failed

#: Inbox rows moved per transaction; e-mails claimed per round.
INBOX_BATCH = 1000
EMAIL_BATCH = 50
#: How long a claimed e-mail stays away from other deliverers (longer than a round of SMTP timeouts).
LEASE = dt.timedelta(minutes=15)
#: Rounds per run (a run delivers at most EMAIL_ROUNDS × EMAIL_BATCH mails; the next run takes the rest).
EMAIL_ROUNDS = 40


def _due(channel: OutboxChannel, now: dt.datetime, limit: int, postgresql: bool):
    t = OutboxMessage.__table__
    query = (select(t.c.id).where(t.c.status == OutboxStatus.PENDING.value, t.c.channel == channel.value,
                                  t.c.next_attempt_at <= now)
             .order_by(t.c.next_attempt_at, t.c.id).limit(limit))
    return query.with_for_update(skip_locked=True) if postgresql else query


def deliver_outbox(session_factory, now: dt.datetime) -> dict:
    """Deliver pending inbox messages, then pending e-mails whose time has come."""
    settings = current_settings()
    inbox = _deliver_inbox(session_factory, now)
    sent, retry, failed = _deliver_email(session_factory, now, settings) if settings.email_enabled else (0, 0, 0)
    return {"inbox": inbox, "email_sent": sent, "email_retry": retry, "email_failed": failed}


def _deliver_inbox(session_factory, now: dt.datetime) -> int:
    done = 0
    while True:
        with session_factory() as session:
            postgresql = session.get_bind().dialect.name == "postgresql"
            t = OutboxMessage.__table__
            ids = session.scalars(_due(OutboxChannel.INBOX, now, INBOX_BATCH, postgresql)).all()
            if not ids:
                return done
            rows = session.execute(select(t.c.id, t.c.recipient_id, t.c.subject, t.c.body, t.c.link)
                                   .where(t.c.id.in_(ids))).all()
            deliver_to_inbox(session, rows, now=now)
            session.commit()
        done += len(rows)
        if len(rows) < INBOX_BATCH:
            return done


def _claim(session_factory, now: dt.datetime) -> list:
    """Take up to EMAIL_BATCH due e-mails: attempts + 1, leased until now + LEASE; committed before sending."""
    with session_factory() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        t = OutboxMessage.__table__
        ids = session.scalars(_due(OutboxChannel.EMAIL, now, EMAIL_BATCH, postgresql)).all()
        if not ids:
            return []
        rows = session.execute(update(t).where(t.c.id.in_(ids))
                               .values(attempts=t.c.attempts + 1, next_attempt_at=now + LEASE)
                               .returning(t.c.id, t.c.address, t.c.subject, t.c.body, t.c.attempts)).all()
        session.commit()
        return sorted(rows, key=lambda r: r.id)


def _deliver_email(session_factory, now: dt.datetime, settings: ReminderSettings) -> tuple[int, int, int]:
    sent = retry = failed = 0
    for _ in range(EMAIL_ROUNDS):
        rows = _claim(session_factory, now)
        if not rows:
            break
        outcomes = _send_all(rows, settings, now)
        with session_factory() as session:
            delivered(session, [row.id for row, error in outcomes if error is None], now=now)
            for row, error in outcomes:
                if error is None:
                    sent += 1
                elif delivery_failed(session, row.id, row.attempts, error, now=now,
                                     max_attempts=settings.max_attempts, retry_seconds=settings.retry_seconds):
                    retry += 1
                else:
                    failed += 1
            session.commit()
        if len(rows) < EMAIL_BATCH or retry or failed:
            break   # a failing server: leave the rest for the next run instead of hammering it
    return sent, retry, failed


def connect(settings: ReminderSettings) -> smtplib.SMTP:
    """An SMTP session as configured: plain, STARTTLS or TLS, logged in when credentials are set."""
    context = ssl.create_default_context()
    if settings.smtp_security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout,
                                              context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
    if settings.smtp_username:
        smtp.login(settings.smtp_username, settings.smtp_password)
    return smtp


def _describe(exc: BaseException) -> str:
    """An error as an admin reads it on the outbox page."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "收件地址被邮件服务器拒绝：" + "；".join(f"{a} {c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
                                           for a, (c, m) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"邮件服务器不支持所需的功能（请检查 SMTP_SECURITY 与登录设置）：{exc}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"邮件服务器登录失败（{exc.smtp_code}）：请检查 SMTP_USERNAME / SMTP_PASSWORD"
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"邮件服务器拒绝（{exc.smtp_code}）：{message}"
    if isinstance(exc, (ConnectionError, TimeoutError, OSError, smtplib.SMTPServerDisconnected)):
        return f"无法连接邮件服务器：{exc.__class__.__name__}: {exc}"
    return f"{exc.__class__.__name__}: {exc}"


def message_id(outbox_id: int, settings: ReminderSettings) -> str:
    domain = settings.mail_from.rsplit("@", 1)[-1].strip("<> ") or "localhost"
    return f"<compliance-outbox-{outbox_id}@{domain}>"


def build_mail(row, settings: ReminderSettings, now: dt.datetime) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = row.subject
    mail["From"] = settings.mail_from
    mail["To"] = row.address
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id(row.id, settings)
    mail.set_content(row.body, charset="utf-8")
    return mail


def _send_all(rows, settings: ReminderSettings, now: dt.datetime) -> list[tuple]:
    """(row, None) for each mail the server accepted, (row, error) for the others."""
    try:
        smtp = connect(settings)
    except Exception as exc:   # any failure to reach the server is a retry for every claimed mail
        error = _describe(exc)
        return [(row, error) for row in rows]
    outcomes = []
    try:
        for row in rows:
            try:
                smtp.send_message(build_mail(row, settings, now))
                outcomes.append((row, None))
            except smtplib.SMTPServerDisconnected as exc:
                error = _describe(exc)
                outcomes += [(r, error) for r in rows[len(outcomes):]]
                break
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                outcomes.append((row, _describe(exc)))
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
    return outcomes
