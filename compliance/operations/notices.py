"""Notice operations: edit a draft, submit it, approve (four eyes) or send it back, issue with a gapless number,
withdraw.

Issuing is one transaction per batch: lock the notices and their cases, take the numbers (the counter
row stays locked until commit), render, store the PDFs, write the audit events. Any failure rolls all of
it back, numbers included, so the next notice gets the number. Rendering can be handed to processes.
"""
from __future__ import annotations

import copy
import datetime as dt
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

import letters
from letters.notices import SYSTEM_FACTS, lookup, system_fact
from compliance.access import Permission, require
from compliance.clock import business_date, to_beijing
from compliance.documents import DocumentStore, unwritable
from compliance.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from compliance.models import (PENDING_STATUSES, Case, CaseEvent, Deadline, DeadlineStatus, Jurisdiction, Notice,
                               NoticeStatus, StoredDocument, User, next_seq)
from compliance.operations.cases import next_event_seq
from compliance.policy import load_policy
from compliance.operations.accounts import unprintable
from compliance.snapshots import (RECTIFICATION_TYPES, REFERENCES, issuer_facts, plain, rectification_at_issue,
                                  resolve_references)
from workflows.issuing import RESTARTS, restart_keys, restart_on_issue, rule_at_issue
from workflows.ladder import LADDER_VERSION

#: The longest reason for sending back or withdrawing a notice.
MAX_REASON = 1000
#: Characters a comment may not hold: controls, invisible format characters (a right-to-left override reorders
#: what the page shows), lone surrogates, Unicode line separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Unambiguous characters for verification codes (no 0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10

FACT_LABELS = {
    "addressee.name": "收文单位", "enterprise.uscc": "统一社会信用代码", "findings": "查明的事实",
    "rectification_due": "整改期限", "reply_due": "书面答复期限", "signatory.name": "签发人",
    "arrears.months": "欠缴月份及工资总额", "payment_due": "缴纳期限", "bank.account_no": "收款账号",
    "opinion_ref": "所依据的监督意见书", "demand_ref": "所依据的催缴通知书", "order_ref": "人社部门责令改正文书",
    "listing.authority": "列入机关", "listing.reference": "列入文号", "rectified_on": "整改完成日期",
    "applicant.representative": "申请人法定代表人", "applicant.address": "申请人住所",
    "enterprise.address": "企业住所", "enterprise.legal_representative": "企业法定代表人", "visit.visited_on": "走访日期", "visit.supervisors": "监督员",
}

Renderer = Callable[[Sequence[tuple[str, dict, str | None, letters.Verification | None]]], list[bytes]]


def render_serially(jobs) -> list[bytes]:
    """Render in this process, one after another."""
    return [letters.render(key, facts, number=number, verification=verification) for key, facts, number, verification in jobs]


def _lock(session: Session, model, ids: Sequence[int]) -> dict[int, Any]:
    query = select(model).where(model.id.in_(ids)).order_by(model.id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=model)
    rows = {row.id: row for row in session.scalars(query).unique()}
    missing = set(ids) - set(rows)
    if missing:
        raise NotFound(f"{'文书' if model is Notice else '案件'} {'、'.join(map(str, sorted(missing)))} 不存在")
    return rows


def _lock_notice(session: Session, notice_id: int) -> Notice:
    return _lock(session, Notice, [notice_id])[notice_id]


def _check_version(session: Session, notice: Notice, expected_version: int | None) -> None:
    """The form was shown for this version, or a Conflict naming who changed it and when (after the scope check,
    so an id outside the actor's scope never tells who worked on it)."""
    if expected_version is None or notice.version == expected_version:
        return
    last = _last_notice_event(session, notice)
    if last is not None:
        who = last.actor.name if last.actor is not None else "系统"
        message = f"此文书已由 {who} 于 {to_beijing(last.created_at):%Y-%m-%d %H:%M} 修改，请刷新后重试（本次未作任何更改）"
    else:
        message = "此文书已被他人修改，请刷新后重试（本次未作任何更改）"
    raise Conflict(message, expected_version=expected_version, current_version=notice.version)


def _last_notice_event(session: Session, notice: Notice) -> CaseEvent | None:
    """The newest audit event about this notice (they live in its case's trail, the notice id in the details)."""
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == notice.case_id,
                                                     CaseEvent.action.like("notice.%"))
                             .order_by(CaseEvent.seq.desc()).limit(200))
    return next((e for e in events if (e.details or {}).get("notice_id") == notice.id), None)


def _audit(session: Session, case: Case, actor: User | None, action: str, now: dt.datetime, notice: Notice,
           reason: str = "", **details) -> CaseEvent:
    event = CaseEvent(case_id=case.id, seq=next_event_seq(case), actor_id=actor.id if actor else None,
                      action=action, trigger=None, from_state=case.state, to_state=case.state, reason=reason,
                      created_at=now, details=plain({"notice_id": notice.id, "notice_type": notice.notice_type,
                                                     **details}))
    session.add(event)
    return event


def _authorize(session: Session, actor: User, permission: Permission, notice: Notice, case: Case | None = None) -> None:
    """The actor may act on this notice: its case and its issuing committee both in scope (else: not found)."""
    case = case if case is not None else session.get(Case, notice.case_id)
    require(actor, permission, case.jurisdiction, session.get(Jurisdiction, notice.issuer_id),
            absent=f"文书 {notice.id} 不存在")


def fact_label(notice_type: str, dotted: str) -> str:
    """A required fact's Chinese name: the type's own label, then the shared names, then the system fact's."""
    for fact in letters.NOTICE_TYPES[notice_type].editable:
        if fact.key == dotted:
            return fact.label
    if dotted in FACT_LABELS:
        return FACT_LABELS[dotted]
    prefix = system_fact(dotted)
    return SYSTEM_FACTS[prefix] if prefix else dotted


def _title(notice: Notice) -> str:
    return letters.NOTICE_TYPES[notice.notice_type].title


def _check_renderable(notice_type: str, facts: Mapping) -> None:
    """Every required fact present and every character covered by a bundled font, or a clear refusal."""
    kind = letters.NOTICE_TYPES[notice_type]
    missing = letters.missing_facts(kind, facts)
    if missing:
        raise ValidationFailed(f"{kind.title}缺少：{'、'.join(fact_label(notice_type, m) for m in missing)}",
                               field="snapshot", missing=list(missing))
    try:
        letters.check_glyphs(facts)
    except letters.MissingGlyph as exc:
        raise ValidationFailed(f"{kind.title}含有无法排印的字符：{unprintable(exc)}。请核对后修改（未占用文号）",
                               field="snapshot") from None


def _check_template(notice_type: str, facts: Mapping) -> None:
    """The letter's text can be laid out from these facts (a dry run of the template, no PDF): a group of facts
    filled only in part would otherwise fail at issue, after the number was taken."""
    from jinja2.exceptions import UndefinedError
    try:
        letters.render_html(notice_type, facts, number="—", verification=None)
    except UndefinedError:
        partial = "、".join(fact_label(notice_type, key) for key in _partial_groups(notice_type, facts))
        raise ValidationFailed(f"{letters.NOTICE_TYPES[notice_type].title}有的项目只填写了一部分"
                               f"{f'（还缺：{partial}）' if partial else ''}，请填写完整后再审批",
                               field="snapshot") from None


def update_draft(session: Session, notice_id: int, changes: Mapping[str, Any], *, actor: User, now: dt.datetime,
                 expected_version: int | None = None) -> Notice:
    """Complete or correct the facts a draft's type declares editable; system facts and unknown keys are refused.

    A draft waiting in the approvers' queue leaves it when edited (what they would approve has changed): the
    drafter submits it again. The approver's last comment stays.
    """
    from compliance.drafts import apply_changes, normalise_changes
    notice = _lock_notice(session, notice_id)
    case = _lock(session, Case, [notice.case_id])[notice.case_id]
    _authorize(session, actor, Permission.EDIT_DRAFT, notice, case)
    _check_version(session, notice, expected_version)
    if notice.status != NoticeStatus.DRAFT.value:
        raise NotAllowed(f"文书{NoticeStatus(notice.status).label}，不能再修改")
    normalised = normalise_changes(notice.notice_type, changes)
    if not normalised:
        raise ValidationFailed("没有要修改的内容", field="snapshot")
    snapshot = apply_changes(notice.snapshot, normalised)
    try:
        letters.check_glyphs(snapshot)
    except letters.MissingGlyph as exc:
        raise ValidationFailed(f"含有文书字体无法排印的字符：{unprintable(exc)}。请改用规范汉字",
                               field=_field_of(normalised, exc)) from None
    changed = sorted(k for k, v in normalised.items() if lookup(notice.snapshot, k) != v)
    notice.snapshot = snapshot
    unsubmitted = notice.submitted_at is not None
    notice.submitted_at = notice.submitted_by_id = None
    _audit(session, case, actor, "notice.draft_updated", now, notice, changed=changed,
           values={k: normalised[k] for k in changed}, **({"left_queue": True} if unsubmitted else {}))
    session.flush()
    return notice


def _field_of(normalised: Mapping[str, Any], exc: letters.MissingGlyph) -> str:
    """The changed fact holding an uncovered character (so a form can show the refusal next to it)."""
    for key, value in normalised.items():
        try:
            letters.check_glyphs({"value": value})
        except letters.MissingGlyph:
            return key
    return "snapshot"


#: Who signs: the issuing committee's chair by default, its vice-chair when the approver says so.
SIGNATORIES = {"chair": "主任", "vice_chair": "副主任"}


def signatories(issuer: Jurisdiction) -> dict[str, str]:
    """sign_as → "主任 王秀英" for each signatory the issuer's letterhead names (the approval form's choices)."""
    head = issuer.letterhead or {}
    return {key: f"{title} {head[key].strip()}" for key, title in SIGNATORIES.items()
            if isinstance(head.get(key), str) and head[key].strip()}


def _approval_facts(session: Session, notice: Notice, issuer: Jurisdiction, signatory: Mapping[str, str],
                    today: dt.date | None) -> dict | None:
    """The facts as approval would fix them (cited letter, letterhead, signatory, date); None while the cited
    letter is not issued yet."""
    facts = copy.deepcopy(notice.snapshot)
    references = resolve_references(session, notice)
    if references is None:
        return None
    facts.update(references)
    facts.update(issuer_facts(issuer, notice.notice_type, facts))
    facts["signatory"] = dict(signatory)
    facts.setdefault("issued_on", today.isoformat() if today else "—")
    return facts


def _cited_title(notice: Notice) -> str:
    return letters.NOTICE_TYPES[REFERENCES[notice.notice_type][1]].title


def draft_missing(session: Session, notice: Notice) -> dict[str, Any]:
    """What still stands between a draft and its approval, for the draft form and the approvers' page.

    facts: [(key, label)] the drafter can still fill (or a system fact that is empty: the letterhead, the case);
    cited: the title of the earlier letter of this case that must be issued first, or None.
    Signatory and date are the approval's own, so they never count as missing here.
    """
    issuer = session.get(Jurisdiction, notice.issuer_id)
    facts = _approval_facts(session, notice, issuer, {"name": "—", "title": "—"}, None)
    cited = None
    if facts is None:
        cited = _cited_title(notice)
        facts = copy.deepcopy(notice.snapshot)
        facts.update(issuer_facts(issuer, notice.notice_type, facts))
        facts["signatory"] = {"name": "—"}
        facts.setdefault("issued_on", "—")
    kind = letters.NOTICE_TYPES[notice.notice_type]
    missing = [(key, fact_label(notice.notice_type, key)) for key in letters.missing_facts(kind, facts)
               if cited is None or system_fact(key) not in (REFERENCES[notice.notice_type][0],)]
    return {"facts": missing, "cited": cited}


def submit_notice(session: Session, notice_id: int, *, actor: User, now: dt.datetime,
                  expected_version: int | None = None) -> Notice:
    """The drafter puts a complete draft in the approvers' queue; refused, listing them, while facts are missing."""
    notice = _lock_notice(session, notice_id)
    case = _lock(session, Case, [notice.case_id])[notice.case_id]
    _authorize(session, actor, Permission.EDIT_DRAFT, notice, case)
    _check_version(session, notice, expected_version)
    if notice.status != NoticeStatus.DRAFT.value:
        raise NotAllowed(f"文书{NoticeStatus(notice.status).label}，不能提交审批")
    if notice.submitted_at is not None:
        raise NotAllowed("文书已提交审批，正在等待审批")
    missing = draft_missing(session, notice)["facts"]
    if missing:
        raise ValidationFailed(f"{_title(notice)}还缺少：{'、'.join(label for _key, label in missing)}。"
                               "请填写后再提交审批", field="snapshot", missing=[key for key, _label in missing])
    notice.submitted_at, notice.submitted_by_id = now, actor.id
    _audit(session, case, actor, "notice.submitted", now, notice)
    session.flush()
    return notice


def approve_notice(session: Session, notice_id: int, *, approver: User, now: dt.datetime,
                   expected_version: int | None = None, sign_as: str = "chair") -> Notice:
    """A leader who did not draft it approves; the issuer's own chair (or vice-chair) signs; facts must be complete.

    A draft need not have been submitted (the command line approves directly); the queue shows submitted ones.
    """
    notice = _lock_notice(session, notice_id)
    case = _lock(session, Case, [notice.case_id])[notice.case_id]
    _authorize(session, approver, Permission.APPROVE_NOTICE, notice, case)
    _check_version(session, notice, expected_version)
    if notice.status != NoticeStatus.DRAFT.value:
        raise NotAllowed(f"只有草稿可以审批，该文书{NoticeStatus(notice.status).label}")
    if notice.drafted_by_id == approver.id:
        raise NotAllowed("您是此文书的起草人：文书须由起草人以外的审批领导审批")
    if sign_as not in SIGNATORIES:
        raise ValidationFailed("签发人应为委员会主任或副主任", field="sign_as")
    issuer = session.get(Jurisdiction, notice.issuer_id)
    signer = ((issuer.letterhead or {}).get(sign_as) or "").strip()
    if not signer:
        raise NotAllowed(f"{issuer.committee_name}的文书抬头尚未填写{SIGNATORIES[sign_as]}姓名，"
                         "请管理员在“管理 › 文书抬头”中填写后再审批")
    signatory = {"name": signer, "title": SIGNATORIES[sign_as]}
    facts = _approval_facts(session, notice, issuer, signatory, business_date(now))  # date checked now, set at issue
    if facts is None:
        raise NotAllowed(f"须先签发本案的{_cited_title(notice)}，才能审批此文书")
    _check_renderable(notice.notice_type, facts)
    _check_template(notice.notice_type, facts)
    facts.pop("issued_on")
    notice.snapshot = facts
    notice.status = NoticeStatus.APPROVED.value
    notice.approved_by_id, notice.approved_at = approver.id, now
    _audit(session, case, approver, "notice.approved", now, notice, signatory=facts["signatory"])
    session.flush()
    return notice


def return_notice(session: Session, notice_id: int, *, approver: User, reason: str, now: dt.datetime,
                  expected_version: int | None = None) -> Notice:
    """Send a draft (or an approved notice not yet issued) back to its drafter as a draft, with a comment.

    It leaves the queue and keeps the comment (rejection_reason), which the drafter sees on the draft form and the
    case page; it never got a number, so no gap appears.
    """
    notice = _lock_notice(session, notice_id)
    case = _lock(session, Case, [notice.case_id])[notice.case_id]
    _authorize(session, approver, Permission.APPROVE_NOTICE, notice, case)
    _check_version(session, notice, expected_version)
    reason = _reason(reason, "退回")
    if notice.status not in (NoticeStatus.DRAFT.value, NoticeStatus.APPROVED.value):
        raise NotAllowed(f"该文书{NoticeStatus(notice.status).label}，不能退回")
    if notice.status == NoticeStatus.APPROVED.value:
        # The approval's signatory goes with it; the next approval sets it again.
        notice.snapshot = {k: v for k, v in notice.snapshot.items() if k != "signatory"}
    notice.status, notice.rejection_reason = NoticeStatus.DRAFT.value, reason
    notice.submitted_at = notice.submitted_by_id = None
    notice.approved_at = notice.approved_by_id = None
    _audit(session, case, approver, "notice.returned", now, notice, reason=reason, comment=reason)
    session.flush()
    return notice


#: The name the command line and older callers used for sending a draft back.
reject_notice = return_notice


def _reason(reason: Any, what: str, limit: int = MAX_REASON) -> str:
    """A required comment: text, at most `limit` characters, no control characters but line breaks."""
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed(f"{what}理由应为文字", field="reason")
    reason = (reason or "").replace("\r\n", "\n").strip()
    if not reason:
        raise ValidationFailed(f"{what}须说明理由", field="reason")
    if len(reason) > limit:
        raise ValidationFailed(f"{what}理由不能超过{limit}字（共{len(reason)}字）", field="reason")
    if any(c not in "\n\t" and unicodedata.category(c) in _INVISIBLE for c in reason):
        raise ValidationFailed(f"{what}理由含有不可见的控制字符，请删除后重试", field="reason")
    return reason


def _verification_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(select(Notice.id).where(Notice.verification_code == code)) is None:
            return code


def _public_base() -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "") if has_app_context() else ""
    return (base or "http://127.0.0.1:5000").rstrip("/")


def issue_notices(session: Session, notice_ids: Sequence[int], *, actor: User, now: dt.datetime,
                  store: DocumentStore, render: Renderer = render_serially,
                  public_base: str | None = None) -> list[Notice]:
    """Issue approved notices: numbers, PDFs, archive rows and audit events in the caller's one transaction."""
    if not notice_ids:
        return []
    notices = _lock(session, Notice, sorted(set(notice_ids)))
    cases = _lock(session, Case, sorted({n.case_id for n in notices.values()}))
    for notice in notices.values():
        _authorize(session, actor, Permission.ISSUE_NOTICE, notice, cases[notice.case_id])
    for notice in notices.values():
        if notice.status != NoticeStatus.APPROVED.value:
            raise NotAllowed(f"文书 {notice.id}（{_title(notice)}）{NoticeStatus(notice.status).label}，须先审批才能签发")
    # One UPDATE per case for the whole operation (one version step per audit event): no flush midway.
    with session.no_autoflush:
        ordered = _issue_locked(session, notices, cases, actor=actor, now=now, store=store, render=render,
                                public_base=public_base)
    session.flush()
    return ordered


def _issue_locked(session: Session, notices: dict, cases: dict, *, actor: User, now: dt.datetime,
                  store: DocumentStore, render: Renderer, public_base: str | None) -> list[Notice]:
    today = business_date(now)
    base = (public_base or _public_base()).rstrip("/")
    # Final facts first, checked before any number is taken.
    ordered = sorted(notices.values(), key=lambda n: (n.issuer_id, n.notice_type, n.id))
    finals = {}
    for notice in ordered:
        facts = copy.deepcopy(notice.snapshot)
        references = resolve_references(session, notice)
        if references is None:
            raise NotAllowed(f"文书 {notice.id} 所依据的文书尚未签发")
        facts.update(references)
        facts["issued_on"] = facts["printed_on"] = today.isoformat()
        _check_renderable(notice.notice_type, facts)
        finals[notice.id] = facts
    # Numbers, in a fixed (issuer, type) order so concurrent batches take counter locks alike.
    jobs = []
    restarts: dict[int, dict] = {}
    for notice in ordered:
        issuer = session.get(Jurisdiction, notice.issuer_id)
        kind = letters.NOTICE_TYPES[notice.notice_type]
        seq = next_seq(session, issuer.id, notice.notice_type, today.year)
        notice.year, notice.seq = today.year, seq
        notice.number = letters.format_number(issuer.issuer_code, kind.type_code, today.year, seq)
        notice.verification_code = _verification_code(session)
        verification = letters.Verification(code=notice.verification_code,
                                            url=f"{base}/verify/{notice.verification_code}")
        finals[notice.id]["verification"] = {"code": verification.code, "url": verification.url}
        jobs.append((notice.notice_type, finals[notice.id], notice.number, verification))
    policy = None
    for notice in ordered:
        restart = RESTARTS.get(notice.notice_type)
        if restart is None:
            continue
        policy = policy or load_policy(session)
        restarted = _restart_deadline(session, cases[notice.case_id], notice, today, policy)
        if restarted is not None:
            if restarted.get("awaiting_service"):
                # Runs from receipt: the letter prints the period in words, never a date computed before service.
                if restart.fact_key:
                    finals[notice.id].pop(restart.fact_key, None)
                if restart.period_key:
                    finals[notice.id][restart.period_key] = restarted["period"]
            elif restart.fact_key:
                finals[notice.id][restart.fact_key] = restarted["due"]
            restarts[notice.id] = restarted
    for notice in ordered:   # a rectification date never on or before the letter's own date (issue 10)
        # A visit letter whose period restarted at issue (or waits for service) already prints a fresh period.
        if notice.notice_type in RECTIFICATION_TYPES and (notice.notice_type == "opinion" or notice.id not in restarts):
            policy = policy or load_policy(session)
            rectification_at_issue(session, cases[notice.case_id], notice.notice_type, finals[notice.id], today,
                                   policy)
    pdfs = render(jobs)
    for notice, pdf in zip(ordered, pdfs, strict=True):
        try:
            # Staged: the file reaches the store's published tree only when this transaction commits.
            sha, relpath = store.stage(session, pdf)
        except OSError as exc:
            raise unwritable(exc) from exc
        if session.get(StoredDocument, sha) is None:
            session.add(StoredDocument(sha256=sha, size=len(pdf), path=relpath, created_at=now))
        # No flush here: the case row must change once per operation (one version, one audit event);
        # the unit of work inserts stored_documents before it updates notices (foreign key order).
        notice.sha256 = sha
        notice.snapshot = finals[notice.id]
        notice.template_version = letters.NOTICE_TYPES[notice.notice_type].template_version
        notice.status = NoticeStatus.ISSUED.value
        notice.issued_by_id, notice.issued_at = actor.id, now
        case = cases[notice.case_id]
        _audit(session, case, actor, "notice.issued", now, notice, number=notice.number, sha256=sha,
               restarted=restarts.get(notice.id))
        if notice.withdraws_id is not None:
            original = session.get(Notice, notice.withdraws_id)
            original.status = NoticeStatus.WITHDRAWN.value
            _audit(session, case, actor, "notice.withdrawn", now, original, number=original.number,
                   by_number=notice.number, superseded=_stop_period(session, case, original))
    return ordered


def _stop_period(session: Session, case: Case, original: Notice) -> dict | None:
    """A withdrawn letter no longer runs a period: the pending deadline its issue started (waiting for service or
    running) is superseded. What stopped, for the audit and the replay; None when nothing was pending."""
    keys = restart_keys(original.notice_type)
    if not keys:
        return None
    row = session.scalars(select(Deadline).where(Deadline.case_id == case.id, Deadline.rule_key.in_(keys),
                                                 Deadline.status.in_(PENDING_STATUSES))
                          .order_by(Deadline.id.desc()).limit(1)).first()
    if row is None:
        return None
    row.status = DeadlineStatus.SUPERSEDED.value
    return {"rule": row.rule_key, "deadline_id": row.id}


def _restart_deadline(session: Session, case: Case, notice: Notice, today: dt.date, policy) -> dict | None:
    """The period the notice's step opened, as its issue leaves it: awaiting service (待送达, no due date) when it
    runs from the letter's receipt, else restarted from the issue date; None when it is no longer pending."""
    keys = restart_keys(notice.notice_type)
    row = session.scalars(select(Deadline).where(Deadline.case_id == case.id, Deadline.rule_key.in_(keys),
                                                 Deadline.status.in_(PENDING_STATUSES))
                          .order_by(Deadline.id.desc()).limit(1)).first()
    if row is None:
        return None
    rule = rule_at_issue(notice.notice_type, row.rule(), policy.rules.get(row.rule_key))
    facts, due = restart_on_issue(case.facts(), notice.notice_type, today, rule, policy.calendar)
    case.apply_facts(facts)
    if due.awaiting_service:
        was = row.due_on
        row.status, row.start_on, row.due_on, row.extended_from = DeadlineStatus.AWAITING_SERVICE.value, None, None, None
        row.is_provisional, row.explanation = False, due.explain()
        return {"rule": row.rule_key, "deadline_id": row.id, "awaiting_service": True, "ladder": LADDER_VERSION,
                "issued_on": today.isoformat(),
                "period": rule.in_words(RESTARTS[notice.notice_type].document),
                "was_due": was.isoformat() if was else None}
    before = row.due_on
    row.start_on, row.due_on, row.extended_from = due.start, due.due, due.extended_from
    row.is_provisional, row.explanation = due.provisional, due.explain()
    return {"rule": row.rule_key, "deadline_id": row.id, "start": today.isoformat(), "due": due.due.isoformat(),
            "was_due": before.isoformat(), "ladder": LADDER_VERSION}


def issue_notice(session: Session, notice_id: int, *, actor: User, now: dt.datetime, store: DocumentStore,
                 expected_version: int | None = None, **kw) -> Notice:
    """Issue one approved notice."""
    notice = _lock_notice(session, notice_id)
    _authorize(session, actor, Permission.ISSUE_NOTICE, notice)
    _check_version(session, notice, expected_version)
    return issue_notices(session, [notice_id], actor=actor, now=now, store=store, **kw)[0]


def withdrawal_reason_limit() -> int:
    """The withdrawal letter's own limit on its reason (its draft form edits the same fact)."""
    return next(f.max for f in letters.NOTICE_TYPES["withdrawal"].editable if f.key == "reason")


def request_withdrawal(session: Session, notice_id: int, *, actor: User, reason: str, now: dt.datetime) -> Notice:
    """Draft a withdrawal notice (撤回/作废) for an issued notice; the original stays archived as it was.

    The withdrawal then goes the way of every letter: completed, submitted, approved by another person, issued.
    """
    original = _lock_notice(session, notice_id)
    case = _lock(session, Case, [original.case_id])[original.case_id]
    _authorize(session, actor, Permission.WITHDRAW_NOTICE, original, case)
    reason = _reason(reason, "撤回", withdrawal_reason_limit())
    if "\n" in reason:
        raise ValidationFailed("撤回理由应为一段文字，不能换行", field="reason")
    try:
        letters.check_glyphs({"reason": reason})
    except letters.MissingGlyph as exc:
        raise ValidationFailed(f"撤回理由含有文书字体无法排印的字符：{unprintable(exc)}。请改用规范汉字",
                               field="reason") from None
    if original.status != NoticeStatus.ISSUED.value:
        raise NotAllowed(f"只能撤回已签发的文书，该文书{NoticeStatus(original.status).label}")
    pending = session.scalar(select(Notice.id).where(Notice.withdraws_id == original.id,
                                                     Notice.status.in_([NoticeStatus.DRAFT.value,
                                                                        NoticeStatus.APPROVED.value])))
    if pending is not None:
        raise NotAllowed(f"该文书已有待签发的撤回通知（文书 {pending}）")
    snap = original.snapshot
    facts = {key: copy.deepcopy(snap[key]) for key in ("issuer", "addressee", "enterprise", "case", "cc", "printed_by")
             if key in snap}
    facts.update(original={"number": original.number, "title": _title(original), "issued_on": snap.get("issued_on")},
                 reason=reason)
    withdrawal = Notice(case_id=original.case_id, notice_type="withdrawal", status=NoticeStatus.DRAFT.value,
                        issuer_id=original.issuer_id, snapshot=facts, drafted_by_id=actor.id, drafted_at=now,
                        withdraws_id=original.id)
    session.add(withdrawal)
    session.flush()
    _audit(session, case, actor, "notice.withdrawal_drafted", now, withdrawal, reason=reason,
           withdraws=original.number)
    session.flush()
    return withdrawal


def preview_pdf(notice: Notice, *, today: dt.date | None = None) -> bytes:
    """A watermarked preview (草稿) of a draft or approved notice, never with a number.

    Facts still missing print as 【待填写：…】 so the drafter sees what approval will ask for. A character no
    bundled font covers (a snapshot from before the check, a name in the case file) is refused in Chinese (422).
    """
    kind = letters.NOTICE_TYPES[notice.notice_type]
    facts = copy.deepcopy(notice.snapshot)
    facts.setdefault("issued_on", (today or business_date(notice.drafted_at)).isoformat())
    missing = letters.missing_facts(kind, facts)
    # The arrears table is computed from the rows and the date: no placeholder can stand in for either, and
    # made-up amounts have no place even on a draft.
    uncomputable = [key for key in missing if key.startswith("arrears.")]
    if uncomputable:
        raise ValidationFailed(f"请先填写{'、'.join(fact_label(notice.notice_type, k) for k in uncomputable)}，"
                               f"才能预览{kind.title}（欠缴金额和滞纳金由此计算）", field=uncomputable[0])
    for dotted in missing:
        _set_dotted(facts, dotted, f"【待填写：{fact_label(notice.notice_type, dotted)}】")
    _fill_partial_groups(notice.notice_type, facts)
    try:
        return letters.render(notice.notice_type, facts, number=None, verification=None, preview=True)
    except letters.MissingGlyph as exc:
        raise ValidationFailed(f"{kind.title}含有文书字体无法排印的字符：{unprintable(exc)}，无法生成预览。"
                               "请在草稿中改用规范汉字", field="snapshot") from None


#: The empty value of each kind of editable fact, as the draft form would save a blank field.
_BLANK = {"date": None, "money": None, "paragraphs": [], "names": [], "arrears_months": []}


def _partial_groups(notice_type: str, facts: Mapping) -> list[str]:
    """Editable facts left out of a group that is otherwise there (order_ref with a number but no authority)."""
    out = []
    for fact in letters.NOTICE_TYPES[notice_type].editable:
        parent, _, leaf = fact.key.rpartition(".")
        group = lookup(facts, parent) if parent else None
        if isinstance(group, Mapping) and leaf not in group:
            out.append(fact.key)
    return out


def _fill_partial_groups(notice_type: str, facts: dict) -> None:
    """Blank values for the facts _partial_groups finds, so the preview shows the gap instead of failing."""
    kinds = {fact.key: fact.type for fact in letters.NOTICE_TYPES[notice_type].editable}
    for key in _partial_groups(notice_type, facts):
        *parents, leaf = key.split(".")
        target = facts
        for part in parents:
            target = target[part]
        target[leaf] = copy.deepcopy(_BLANK.get(kinds[key], ""))


def _set_dotted(facts: dict, dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        if not isinstance(facts.get(part), dict):
            facts[part] = {}
        facts = facts[part]
    existing = facts.get(leaf)
    facts[leaf] = [value] if isinstance(existing, list) else value
