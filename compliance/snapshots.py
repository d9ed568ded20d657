"""Plain snapshots of facts for notices (the schema is letters/examples.py): the renderer gets these
dicts, never ORM objects. A step drafts the snapshot; the supervisor completes it; approval and issue
add the signatory, the date, the number and the references to earlier notices."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.models import Case, CaseEvent, Deadline, Jurisdiction, JurisdictionLevel, Notice, NoticeStatus

#: Notices only a union at county level or above may send (监督建议书 and what follows: Beijing Measures Art 28).
COUNTY_LEVEL_TYPES = frozenset({"recommendation", "tax_referral", "payment_order", "listing_request"})

#: A notice type that cites an earlier notice of the same case: (fact key, the cited type).
REFERENCES = {
    "recommendation": ("opinion_ref", "opinion"),
    "listing_request": ("opinion_ref", "opinion"),
    "tax_referral": ("demand_ref", "payment_demand"),
    "payment_order": ("demand_ref", "payment_demand"),
}

#: Months of arrears a payment demand lists by default (the supervisor corrects them on the draft).
DEFAULT_ARREARS_MONTHS = 6


def plain(value):
    """Dates to ISO strings, Decimals to strings, containers to lists/dicts: a value a JSON column keeps."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def issuer_for(case: Case, notice_type: str) -> Jurisdiction:
    """The committee that signs: the case's own, or its district's for county-level notices."""
    j = case.jurisdiction
    if notice_type in COUNTY_LEVEL_TYPES and j.level == JurisdictionLevel.STREET.value:
        return j.parent
    return j


def _district(j: Jurisdiction) -> Jurisdiction:
    while j.level == JurisdictionLevel.STREET.value and j.parent is not None:
        j = j.parent
    return j


def addressee_for(case: Case, notice_type: str) -> dict[str, str]:
    """Default addressee; a supervisor can correct it on the draft before approval."""
    district = _district(case.jurisdiction)
    place = "北京市" if district.level == JurisdictionLevel.CITY.value else f"北京市{district.name}"
    if notice_type in ("recommendation", "listing_request"):
        name = f"{place}人力资源和社会保障局"
        if notice_type == "listing_request":
            name += f"、{place}市场监督管理局"
        return {"name": name}
    if notice_type == "tax_referral":
        return {"name": f"国家税务总局{place}税务局"}
    if notice_type == "payment_order":
        return {"name": f"{place}人民法院"}
    return {"name": case.enterprise.name}


def _last_inputs(session: Session, case: Case, trigger: str, current=None) -> dict[str, Any]:
    """The inputs of the case's latest `trigger` step (the step being taken, when it is that one)."""
    if current is not None and current[0] == trigger:
        return plain(dict(current[1]))
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger == trigger)
                            .order_by(CaseEvent.seq.desc()).limit(1)).first()
    return dict(event.details.get("inputs", {})) if event is not None else {}


def _due(session: Session, case: Case, rule_key: str, started: list[Deadline]) -> str | None:
    for d in reversed(started):
        if d.rule_key == rule_key:
            return d.due_on.isoformat()
    due = session.scalar(select(Deadline.due_on).where(Deadline.case_id == case.id, Deadline.rule_key == rule_key)
                         .order_by(Deadline.id.desc()).limit(1))
    return due.isoformat() if due else None


def _arrears(case: Case, today: dt.date) -> dict[str, Any]:
    """The last full months at the enterprise's recorded payroll: a starting point, edited on the draft."""
    payroll = case.enterprise.monthly_payroll
    months = []
    year, month = today.year, today.month
    for _ in range(DEFAULT_ARREARS_MONTHS):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        months.insert(0, {"month": f"{year:04d}-{month:02d}", "payroll": str(payroll if payroll is not None else "")})
    return {"computed_on": today.isoformat(), "months": months if payroll is not None else []}


def issuer_facts(issuer: Jurisdiction, notice_type: str, facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a notice prints about its issuer, from the letterhead as it is now (approval takes it again, so a
    letterhead corrected after drafting is the one that goes out)."""
    head = issuer.letterhead or {}
    out: dict[str, Any] = {
        "issuer": {"name": issuer.committee_name, "code": issuer.issuer_code, "mark": issuer.committee_name,
                   "address": head.get("address", ""), "contact": head.get("contact", "")},
        "printed_by": f"{issuer.committee_name}办公室",
    }
    if notice_type == "payment_demand":
        out["bank"] = dict(head.get("bank") or {})
    if notice_type == "payment_order":
        applicant = dict((facts or {}).get("applicant") or {})
        applicant["name"] = issuer.federation_name
        applicant.setdefault("address", head.get("address", ""))
        if not applicant.get("representative"):
            applicant["representative"] = head.get("federation_chair", "")
        out["applicant"] = applicant
    return out


def _common(case: Case, issuer: Jurisdiction, notice_type: str) -> dict[str, Any]:
    e = case.enterprise
    return {
        **issuer_facts(issuer, notice_type),
        "addressee": addressee_for(case, notice_type),
        "enterprise": {"name": e.name, "uscc": e.identifier, "address": e.address,
                       "legal_representative": e.legal_representative},
        "case": {"reference": case.reference, "violations": [v.label for v in sorted(case.violations)],
                 "opened_on": case.opened_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()},
        "cc": [issuer.parent.committee_name] if issuer.parent is not None else [],
    }


_NEEDS_VISIT = frozenset({"visit", "opinion", "recommendation", "listing_request"})
_NEEDS_REFUSAL = frozenset({"recommendation", "listing_request"})


def draft_snapshot(session: Session, case: Case, notice_type: str, *, issuer: Jurisdiction,
                   started: list[Deadline], today: dt.date, current=None) -> dict[str, Any]:
    """The facts a notice of this type is rendered from, as far as the case file knows them now."""
    facts = _common(case, issuer, notice_type)
    # Earlier steps' inputs are read only for the types that print them (this runs inside every step).
    visit = _last_inputs(session, case, "record_visit", current) if notice_type in _NEEDS_VISIT else {}
    findings = [visit["findings"]] if visit.get("findings") else []
    visit_facts = {"visited_on": visit.get("visited_on"), "supervisors": visit.get("supervisors", []),
                   "place": case.enterprise.address}
    refusal = _last_inputs(session, case, "record_refusal", current) if notice_type in _NEEDS_REFUSAL else {}
    head = issuer.letterhead or {}
    if notice_type == "visit":
        facts.update(visit=visit_facts, findings=findings,
                     rectification_due=_due(session, case, "visit_rectification", started))
    elif notice_type == "opinion":
        facts.update(visit=visit_facts, findings=findings,
                     rectification_due=_due(session, case, "visit_rectification", started),
                     reply_due=_due(session, case, "opinion_reply", started))
    elif notice_type == "recommendation":
        response = (f"你单位于{refusal['refused_on']}明确拒绝整改：{refusal.get('summary', '')}" if refusal
                    else "该单位逾期未作书面答复，亦未进行整改")
        facts.update(findings=findings, enterprise_response=response,
                     requests=["依法责令该单位限期改正；",
                               "自作出处理决定之日起15个工作日内将处理结果书面告知本会。"],
                     attachments=["工会劳动法律监督意见书及送达回证", "走访记录"])
    elif notice_type in ("payment_demand", "tax_referral", "payment_order"):
        facts.update(arrears=_arrears(case, today))
        if notice_type == "payment_demand":
            facts.update(payment_due=_due(session, case, "payment_demand", started))
        elif notice_type == "tax_referral":
            facts.update(attachments=["工会经费催缴通知书及送达回证", "欠缴工会经费及滞纳金计算表"])
        else:
            facts.update(applicant={"name": issuer.federation_name, "address": head.get("address", ""),
                                    "representative": head.get("federation_chair", ""), "representative_title": "主席",
                                    "phone": head.get("phone", "")},
                         evidence=["工会经费催缴通知书及送达回证", "欠缴工会经费及滞纳金计算表", "被申请人营业执照信息"])
    elif notice_type == "listing_request":
        facts.update(findings=findings,
                     refusal=(f"截至{refusal['refused_on']}，该单位仍拒不改正" if refusal else "该单位至今仍拒不改正"),
                     attachments=["工会劳动法律监督意见书", "走访记录"])
    elif notice_type == "credit_repair":
        listing = _last_inputs(session, case, "record_listing", current)
        rect = _last_inputs(session, case, "rectify", current)
        facts.update(listing={k: listing.get(k) for k in ("authority", "listed_on", "reference")},
                     rectified_on=rect.get("rectified_on"), rectification=[rect["action_taken"]] if rect else [],
                     repair={"earliest_on": _due(session, case, "credit_repair_wait", started), "wait": ""})
    elif notice_type == "rectification_closing":
        rect = _last_inputs(session, case, "rectify", current)
        facts.update(rectified_on=rect.get("rectified_on"), rectification=[rect.get("action_taken", "")],
                     evidence=[rect.get("attachment_ref", "")])
    return plain(facts)


def resolve_references(session: Session, notice: Notice) -> dict[str, Any] | None:
    """The earlier issued notice this one cites ({number, issued_on}), or None when it is not issued yet."""
    ref = REFERENCES.get(notice.notice_type)
    if ref is None:
        return {}
    key, cited_type = ref
    cited = session.scalars(select(Notice).where(Notice.case_id == notice.case_id, Notice.notice_type == cited_type,
                                                 Notice.status == NoticeStatus.ISSUED.value)
                            .order_by(Notice.issued_at.desc()).limit(1)).first()
    if cited is None:
        return None
    return {key: {"number": cited.number, "issued_on": cited.snapshot.get("issued_on")}}
