"""Plain snapshots of facts for notices: the renderer gets these dicts, never ORM objects."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from compliance.models import Case, Jurisdiction, JurisdictionLevel

#: Notices only a union at county level or above may send (监督建议书 and what follows: Beijing Measures Art 28).
COUNTY_LEVEL_TYPES = frozenset({"recommendation", "tax_referral", "payment_order", "listing_request"})


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


def addressee_for(case: Case, notice_type: str, issuer: Jurisdiction) -> dict[str, str]:
    """Default addressee; a supervisor can correct it on the draft before approval."""
    district = _district(case.jurisdiction)
    place = "北京市" if district.level == JurisdictionLevel.CITY.value else f"北京市{district.name}"
    if notice_type in ("recommendation", "listing_request"):
        name = f"{place}人力资源和社会保障局"
        if notice_type == "listing_request":
            name += f"、{place}市场监督管理局"
        return {"name": name, "kind": "authority"}
    if notice_type == "tax_referral":
        return {"name": f"国家税务总局{place}税务局", "kind": "authority"}
    if notice_type == "payment_order":
        return {"name": f"{place}人民法院", "kind": "court"}
    return {"name": case.enterprise.name, "kind": "enterprise"}


def draft_snapshot(case: Case, notice_type: str, *, issuer: Jurisdiction, step, deadlines, today: dt.date) -> dict[str, Any]:
    """The facts a notice of this type is rendered from, as they stand when the step drafts it."""
    e = case.enterprise
    return {
        "notice_type": notice_type,
        "issuer": {"name": issuer.committee_name, "federation": issuer.federation_name, "code": issuer.issuer_code,
                   "mark": issuer.committee_name},
        "addressee": addressee_for(case, notice_type, issuer),
        "enterprise": {"name": e.name, "uscc": e.identifier, "address": e.address,
                       "legal_representative": e.legal_representative,
                       "monthly_payroll": str(e.monthly_payroll) if e.monthly_payroll is not None else None,
                       "employee_count": e.employee_count, "member_count": e.member_count},
        "case": {"reference": case.reference, "violations": [v.label for v in sorted(case.violations)],
                 "violation_keys": sorted(v.value for v in case.violations),
                 "opened_on": case.opened_at.date().isoformat() if case.opened_at else None},
        "step": {"trigger": step.trigger, "inputs": plain(step.inputs)},
        "deadlines": [{"key": d.rule_key, "label": d.label, "period": d.period, "counting": d.counting,
                       "legal_basis": d.legal_basis, "start": d.start_on.isoformat(), "due": d.due_on.isoformat(),
                       "provisional": d.is_provisional} for d in deadlines],
        "drafted_on": today.isoformat(),
    }


def plain(value):
    """Dates to ISO strings and containers to lists/dicts, so a value can go into a JSON column."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value
