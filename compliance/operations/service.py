"""Record the service (送达) of an issued notice, or correct it. A period that runs from the letter's receipt
(the opinion's reply, the visit letter's rectification, the demand's payment, the court's acceptance of our
application) waits as 待送达 until this is recorded, then runs from the service date.

One current service record per notice. A wrong record is corrected, not edited: `correct_service` keeps the old
record (marked superseded) and writes a new one with a reason; the period is recounted from the new date while it
is still running (once it has ended, the case moved on on its basis, and only the record is corrected). The
database holds to it (migration 0011, both engines): a service record is never deleted, and the only change it
ever takes is being marked superseded, once.
"""
from __future__ import annotations

import datetime as dt
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.access import Permission, in_scope, permissions, require
from compliance.clock import business_date
from compliance.errors import NotAllowed, NotFound, ValidationFailed
from compliance.models import (Attachment, Case, CaseEvent, Deadline, DeadlineStatus, Notice, NoticeService,
                               NoticeStatus, ServiceMethod, User)
from compliance.operations.cases import next_event_seq, set_started
from compliance.snapshots import plain
from workflows.issuing import RESTARTS, restart_keys, start_on_service

#: Bounds of the free-text inputs.
MAX_RECIPIENT, MAX_TRACKING, MAX_NOTE = 100, 50, 500
#: Characters no input may hold: controls, invisible format characters, separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_MAX_ID = 2**31 - 1


def _text(value, label: str, field: str, limit: int, *, required: bool = False) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(f"{label}应为文字", field=field)
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"请填写{label}", field=field)
    if len(value) > limit:
        raise ValidationFailed(f"{label}不能超过{limit}字（现有{len(value)}字）", field=field)
    if any(unicodedata.category(c) in _INVISIBLE for c in value):
        raise ValidationFailed(f"{label}含有不可见的控制字符，请删除后重试", field=field)
    return value


def _method(value) -> ServiceMethod:
    for method in ServiceMethod:
        if value in (method.value, method.label):
            return method
    choices = "、".join(m.label for m in ServiceMethod)
    raise ValidationFailed(f"送达方式应为{choices}之一", field="method")


def _date(value, today: dt.date, issued_on: dt.date) -> dt.date:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationFailed("送达日期应为“年-月-日”格式，例如2026-11-24", field="served_on") from None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationFailed("请填写送达日期", field="served_on")
    if value > today:
        raise ValidationFailed(f"送达日期（{value.isoformat()}）不能晚于今天（{today.isoformat()}）", field="served_on")
    if value < issued_on:
        raise ValidationFailed(f"送达日期（{value.isoformat()}）不能早于文书签发日期（{issued_on.isoformat()}）",
                               field="served_on")
    return value


def _lock(session: Session, notice_id: int) -> tuple[Notice, Case]:
    if not isinstance(notice_id, int) or not 0 < notice_id <= _MAX_ID:
        raise NotFound(f"文书 {notice_id} 不存在")
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"文书 {notice_id} 不存在")
    query = select(Case).where(Case.id == notice.case_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Case)
    case = session.scalars(query).unique().one()
    session.refresh(notice)
    return notice, case


def _check(session: Session, notice: Notice, case: Case, *, actor: User, now: dt.datetime, method, served_on,
           served_by: User | None, tracking_number, proof_attachment_id, recipient, note) -> dict:
    # Whoever works the case records how its letters reached the addressee (a district's letter is often handed
    # over by the street's supervisors): the case's scope decides, as for every step of the case.
    require(actor, Permission.WORK_CASE, case.jurisdiction, absent=f"文书 {notice.id} 不存在")
    if notice.status != NoticeStatus.ISSUED.value:
        raise NotAllowed(f"只能记录已签发文书的送达，该文书{NoticeStatus(notice.status).label}")
    method = _method(method)
    served_on = _date(served_on, business_date(now), business_date(notice.issued_at))
    if served_by is None:
        raise ValidationFailed("请填写送达人", field="served_by")
    if not (served_by.is_active and Permission.WORK_CASE in permissions(served_by)
            and in_scope(served_by, case.jurisdiction)):
        raise ValidationFailed(f"{served_by.name} 不能作为送达人（须为本案所在辖区或上级的在职监督员）", field="served_by")
    tracking = _text(tracking_number, "邮寄单号", "tracking_number", MAX_TRACKING,
                     required=method is ServiceMethod.MAIL) or None
    if tracking is not None and method is not ServiceMethod.MAIL:
        raise ValidationFailed("只有邮寄送达需要填写邮寄单号", field="tracking_number")
    proof = None
    if proof_attachment_id not in (None, ""):
        try:
            proof_id = int(proof_attachment_id)
        except (TypeError, ValueError):
            raise ValidationFailed("送达证明应为本案证据材料的编号", field="proof_attachment_id") from None
        proof = session.get(Attachment, proof_id) if 0 < proof_id <= _MAX_ID else None
        if proof is None or proof.case_id != case.id:
            raise ValidationFailed("送达证明须为本案已上传的证据材料（送达回证或照片）", field="proof_attachment_id")
    return dict(method=method.value, served_on=served_on, served_by_id=served_by.id,
                tracking_number=tracking, proof_attachment_id=proof.id if proof else None,
                recipient=_text(recipient, "签收人", "recipient", MAX_RECIPIENT),
                note=_text(note, "备注", "note", MAX_NOTE))


def _start(session: Session, notice: Notice, case: Case, served_on: dt.date, *, deadline_id: int | None = None,
           policy) -> tuple[Deadline | None, dict | None]:
    """Start the notice's waiting period from the service date (or recount the one a corrected service started)."""
    if notice.notice_type not in RESTARTS:
        return None, None
    if deadline_id is not None:
        row = session.get(Deadline, deadline_id)
        if row is None or row.status != DeadlineStatus.OPEN.value:
            return None, None   # the period has ended: the case moved on on its basis
    else:
        row = session.scalars(select(Deadline).where(
            Deadline.case_id == case.id, Deadline.rule_key.in_(restart_keys(notice.notice_type)),
            Deadline.status == DeadlineStatus.AWAITING_SERVICE.value).order_by(Deadline.id.desc()).limit(1)).first()
        if row is None:
            return None, None
    rule = row.rule()
    facts, due = start_on_service(case.facts(), notice.notice_type, served_on, rule, policy.calendar)
    case.apply_facts(facts)
    set_started(row, due)
    return row, {"rule": row.rule_key, "deadline_id": row.id, "served_on": served_on.isoformat(),
                 "due": due.due.isoformat()}


def record_service(session: Session, notice_id: int, *, actor: User, now: dt.datetime, method: str,
                   served_on: dt.date | str, served_by: User | None, tracking_number: str | None = None,
                   proof_attachment_id: int | None = None, recipient: str = "", note: str = "",
                   policy=None) -> NoticeService:
    """Record how and when an issued notice was served; start the period that waits for it (待送达 → running).

    Refuses a second record for the same notice (use correct_service). Flushes; the caller commits.
    """
    from compliance.policy import load_policy
    notice, case = _lock(session, notice_id)
    values = _check(session, notice, case, actor=actor, now=now, method=method, served_on=served_on,
                    served_by=served_by, tracking_number=tracking_number, proof_attachment_id=proof_attachment_id,
                    recipient=recipient, note=note)
    if current_service(session, notice.id) is not None:
        raise NotAllowed("该文书已记录送达；如记录有误，请更正送达记录")
    row, started = _start(session, notice, case, values["served_on"], policy=policy or load_policy(session))
    return _write(session, notice, case, values, actor=actor, now=now, started=row, details=started,
                  action="notice.served")


def correct_service(session: Session, notice_id: int, *, actor: User, now: dt.datetime, reason: str, method: str,
                    served_on: dt.date | str, served_by: User | None, tracking_number: str | None = None,
                    proof_attachment_id: int | None = None, recipient: str = "", note: str = "",
                    policy=None) -> NoticeService:
    """Replace the notice's current service record with a corrected one (the old one stays, superseded)."""
    from compliance.policy import load_policy
    notice, case = _lock(session, notice_id)
    values = _check(session, notice, case, actor=actor, now=now, method=method, served_on=served_on,
                    served_by=served_by, tracking_number=tracking_number, proof_attachment_id=proof_attachment_id,
                    recipient=recipient, note=note)
    reason = _text(reason, "更正理由", "reason", MAX_NOTE, required=True)
    old = current_service(session, notice.id)
    if old is None:
        raise NotAllowed("该文书尚未记录送达，无需更正")
    old.superseded_at = now
    session.flush()   # the partial unique index allows the new current record only once the old one is superseded
    row, started = (None, None)
    if old.deadline_id is not None:
        row, started = _start(session, notice, case, values["served_on"], deadline_id=old.deadline_id,
                              policy=policy or load_policy(session))
    # The record names the deadline its service rests on: the recounted one, or the one the old record started
    # (a service record is never updated afterwards: migration 0011).
    return _write(session, notice, case, values, actor=actor, now=now, started=row, details=started,
                  action="notice.service_corrected", reason=reason, supersedes=old,
                  deadline_id=row.id if row is not None else old.deadline_id)


def _write(session: Session, notice: Notice, case: Case, values: dict, *, actor: User, now: dt.datetime,
           started: Deadline | None, details: dict | None, action: str, reason: str = "",
           supersedes: NoticeService | None = None, deadline_id: int | None = None) -> NoticeService:
    event = CaseEvent(case_id=case.id, seq=next_event_seq(case), actor_id=actor.id, action=action, trigger=None,
                      from_state=case.state, to_state=case.state, reason=reason, created_at=now,
                      details=plain({"notice_id": notice.id, "notice_type": notice.notice_type,
                                     "number": notice.number, "method": values["method"],
                                     "served_on": values["served_on"].isoformat(),
                                     "served_by_id": values["served_by_id"],
                                     "tracking_number": values["tracking_number"],
                                     "proof_attachment_id": values["proof_attachment_id"],
                                     "supersedes": supersedes.id if supersedes else None,
                                     "started": details}))
    session.add(event)
    session.flush()
    service = NoticeService(notice_id=notice.id, case_id=case.id, event_id=event.id, recorded_by_id=actor.id,
                            recorded_at=now, deadline_id=started.id if started is not None else deadline_id,
                            supersedes_id=supersedes.id if supersedes else None, **values)
    session.add(service)
    session.flush()
    return service


def current_service(session: Session, notice_id: int) -> NoticeService | None:
    """The notice's service record in force (None: not served yet)."""
    return session.scalars(select(NoticeService).where(NoticeService.notice_id == notice_id,
                                                       NoticeService.superseded_at.is_(None))).first()


def service_history(session: Session, notice_id: int) -> list[NoticeService]:
    return list(session.scalars(select(NoticeService).where(NoticeService.notice_id == notice_id)
                                .order_by(NoticeService.id)))
