"""Plain snapshots of facts for notices (the schema is letters/examples.py): the renderer gets these
dicts, never ORM objects. A step drafts the snapshot; the supervisor completes it; approval and issue
add the signatory, the date, the number and the references to earlier notices."""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from compliance.models import (Attachment, Case, CaseEvent, Deadline, Jurisdiction, JurisdictionLevel, Notice,
                               NoticeStatus)
from letters import arrears as arrears_rules
from letters.courts import basic_court
from letters.formatting import cn_date
from workflows.deadlines import compute_due
from workflows.states import Violation

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


def _place(district: Jurisdiction) -> str:
    """北京市 for the city, 北京市朝阳区 for a district (北京经济技术开发区 as it is named)."""
    if district.level == JurisdictionLevel.CITY.value:
        return "北京市"
    return district.name if district.name.startswith("北京") else f"北京市{district.name}"


def government_for(district: Jurisdiction) -> str:
    """The people's government at the issuing committee's level (the development area: its administration)."""
    if district.level == JurisdictionLevel.CITY.value:
        return "北京市人民政府"
    if district.name.endswith("开发区"):
        return f"{district.name}管理委员会"
    return f"{_place(district)}人民政府"


def recommendation_addressees(case: Case, issuer: Jurisdiction | None = None) -> list[str]:
    """Who a 监督建议书 goes to, by the case's violations (the body with the power to order correction):

    * refused bargaining → the city or district people's government (BJM 66; TUL 54(4));
    * no union (obstruction of organising, BJM 64), unpaid funds and anything else → 人社 (BJM 21, 64);
    * both → one letter to both, each asked to act within its own powers (two 主送机关, as the listing request
      addresses 人社 and market regulation together): the case has one recommendation step and one reply period.
    """
    district = _district(issuer if issuer is not None else case.jurisdiction)
    violations = case.violations
    names = []
    if Violation.NO_BARGAINING in violations:
        names.append(government_for(district))
    if violations - {Violation.NO_BARGAINING} or not names:
        names.append(f"{_place(district)}人力资源和社会保障局")
    return names


def addressee_for(case: Case, notice_type: str, issuer: Jurisdiction | None = None) -> dict[str, str]:
    """Default addressee; a supervisor can correct it on the draft before approval."""
    district = _district(issuer if issuer is not None else case.jurisdiction)
    place = _place(district)
    if notice_type == "recommendation":
        return {"name": "、".join(recommendation_addressees(case, issuer))}
    if notice_type == "listing_request":
        return {"name": f"{place}人力资源和社会保障局、{place}市场监督管理局"}
    if notice_type == "tax_referral":
        return {"name": f"国家税务总局{place}税务局"}
    if notice_type == "payment_order":
        # The basic court where the enterprise is (SPC interpretation Art 3), read from its registered address;
        # the issuing district's court when the address names no district (the drafter can correct it).
        return {"name": basic_court(case.enterprise.address) or f"{place}人民法院"}
    return {"name": case.enterprise.name}


#: Notice types sent to a third party (an authority, a court): they speak of the enterprise as 该单位, never 你单位.
THIRD_PARTY_TYPES = frozenset({"recommendation", "listing_request", "tax_referral", "payment_order"})
_SECOND_PERSON = re.compile("你单位|贵单位|你公司|贵公司|你方|贵方")


def third_person(text: str) -> str:
    """A supervisor's sentence about the enterprise, fit for a letter to a third party (你单位 → 该单位)."""
    return _SECOND_PERSON.sub("该单位", text) if isinstance(text, str) else text


#: What a notice type prints from earlier steps (draft_snapshot below): the triggers whose latest inputs it reads,
#: the deadlines whose latest due date it reads. A step fetches them for all its drafts at once (CaseFile).
_EARLIER: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "visit": (frozenset({"record_visit"}), frozenset({"visit_rectification"})),
    "opinion": (frozenset({"record_visit"}), frozenset({"visit_rectification", "opinion_reply"})),
    "recommendation": (frozenset({"record_visit", "record_refusal"}), frozenset()),
    "listing_request": (frozenset({"record_visit", "record_refusal", "request_listing"}), frozenset()),
    "payment_demand": (frozenset(), frozenset({"payment_demand"})),
    "credit_repair": (frozenset({"record_listing", "rectify"}),
                      frozenset({"credit_repair_wait", "credit_repair_ordinary", "credit_repair_serious"})),
    "rectification_closing": (frozenset({"rectify"}), frozenset()),
}


class CaseFile:
    """Earlier steps' inputs and deadlines' due dates, as the drafts of one step need them.

    What the step supplies itself (its own inputs as `current`, the deadlines it `started`) comes from memory;
    the rest is read with one query (a scalar subquery per trigger and per rule) for all the step's notice types
    together, and none when the step holds everything. Asking for what _EARLIER does not list for the types
    read is an error, not an empty value: a draft would otherwise print blanks without anyone noticing.
    """

    def __init__(self, *, inputs: Mapping[str, Any] | None = None, dues: Mapping[str, dt.date | None] | None = None,
                 started: list[Deadline] | None = None, current=None):
        self.current = current
        self.started = started if started is not None else []
        self._inputs = dict(inputs or {})
        self._dues = dict(dues or {})

    @staticmethod
    def wanted(notice_types, current_trigger: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(triggers, deadline rules) whose earlier values drafts of these types print (the current step's own
        inputs excluded: the step has them)."""
        triggers: set[str] = set()
        rules: set[str] = set()
        for notice_type in notice_types:
            t, r = _EARLIER.get(notice_type, (frozenset(), frozenset()))
            triggers |= t
            rules |= r
        triggers.discard(current_trigger)
        return tuple(sorted(triggers)), tuple(sorted(rules))

    @classmethod
    def read(cls, session: Session, case: Case, notice_types, *, started: list[Deadline] | None = None,
             current=None) -> CaseFile:
        """The case file for drafts of these types, in one query (none when the step holds everything)."""
        triggers, rules = cls.wanted(notice_types, current[0] if current is not None else None)
        rules = tuple(r for r in rules if not any(d.rule_key == r for d in started or ()))
        if not triggers and not rules:
            return cls(started=started, current=current)
        row = session.execute(_case_file_query(triggers, rules), {"case_id": case.id}).mappings().one()
        return cls(inputs={t: (row[f"inputs_{t}"] or {}).get("inputs", {}) for t in triggers},
                   dues={r: row[f"due_{r}"] for r in rules}, started=started, current=current)

    def inputs(self, trigger: str) -> dict[str, Any]:
        """The inputs of the case's latest `trigger` step (the step being taken, when it is that one)."""
        if self.current is not None and self.current[0] == trigger:
            return plain(dict(self.current[1]))
        if trigger not in self._inputs:
            raise LookupError(f"the case file was not read for {trigger!r} inputs (see snapshots._EARLIER)")
        return dict(self._inputs[trigger])

    def due(self, rule_key: str) -> str | None:
        """The due date of the case's latest deadline of this rule (one the step starts, first)."""
        for d in reversed(self.started):
            if d.rule_key == rule_key:
                return d.due_on.isoformat() if d.due_on else None   # None: awaiting service (待送达)
        if rule_key not in self._dues:
            raise LookupError(f"the case file was not read for {rule_key!r} deadlines (see snapshots._EARLIER)")
        due = self._dues[rule_key]
        return due.isoformat() if due else None


@functools.lru_cache(maxsize=64)
def _case_file_query(triggers: tuple[str, ...], rules: tuple[str, ...]):
    """One row: the latest event details per trigger, the latest due date per rule (built once per shape)."""
    case_id = bindparam("case_id")
    events, deadlines = CaseEvent.__table__.c, Deadline.__table__.c
    return select(
        *(select(events.details).where(events.case_id == case_id, events.trigger == t)
          .order_by(events.seq.desc()).limit(1).scalar_subquery().label(f"inputs_{t}") for t in triggers),
        *(select(deadlines.due_on).where(deadlines.case_id == case_id, deadlines.rule_key == r)
          .order_by(deadlines.id.desc()).limit(1).scalar_subquery().label(f"due_{r}") for r in rules))


#: How far back a default list of months reaches for a unit without a union whose workers were helped long ago:
#: the three-year limitation plus a year, so the months just beyond it show with their flag.
MAX_DEFAULT_ARREARS_MONTHS = 48


def funds_rules(session: Session, case: Case, notice_type: str) -> arrears_rules.FundsRules:
    """What the case records for the funds rules (BJM 55(2)/(3)), the configured reading of "15日前", and, for
    the letters after the payment demand, the demand's date (it interrupted the limitation, Civil Code 195)."""
    has_union = case.has_union if case.has_union is not None else bool(case.enterprise.has_union)
    claimed_on = None
    if notice_type in ("tax_referral", "payment_order"):
        first = session.scalars(select(Notice.snapshot).where(
            Notice.case_id == case.id, Notice.notice_type == "payment_demand",
            Notice.status.in_((NoticeStatus.ISSUED.value, NoticeStatus.WITHDRAWN.value)))
            .order_by(Notice.issued_at).limit(1)).first()
        claimed_on = dt.date.fromisoformat(first["issued_on"]) if first and first.get("issued_on") else None
    return arrears_rules.FundsRules(due_day_on_time=due_day_on_time(), has_union=has_union,
                                    owed_from=None if has_union else case.union_help_started_on,
                                    claimed_on=claimed_on)


def due_day_on_time() -> bool:
    """Config UNION_FUNDS_DUE_DAY_ON_TIME: a payment made on the 15th itself is on time (default True)."""
    if has_app_context():
        return bool(current_app.config.get("UNION_FUNDS_DUE_DAY_ON_TIME", True))
    return True


def _months_back(today: dt.date, count: int) -> list[str]:
    year, month, out = today.year, today.month, []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.insert(0, f"{year:04d}-{month:02d}")
    return out


def _arrears(case: Case, today: dt.date, rules: arrears_rules.FundsRules) -> dict[str, Any]:
    """The last full months at the enterprise's recorded payroll: a starting point, edited on the draft.

    A unit with a union: the last DEFAULT_ARREARS_MONTHS months. A unit without one: the months from the one in
    which the higher union started helping its workers (BJM 55(3)), none when the case records no such day."""
    payroll = case.enterprise.monthly_payroll
    months = _months_back(today, DEFAULT_ARREARS_MONTHS)
    if rules.owes_nothing:
        months = []
    elif (first := rules.first_month_owed()) is not None:
        months = [m for m in _months_back(today, MAX_DEFAULT_ARREARS_MONTHS) if m >= first]
    rows = [{"month": m, "payroll": str(payroll)} for m in months] if payroll is not None else []
    return {"computed_on": today.isoformat(), "months": rows, "basis": rules.to_facts()}


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
        # The demand is made in the union's name (BJM 57: 基层工会或者上级工会…催缴): its header and signature.
        out["union"] = {"name": issuer.federation_name, "mark": issuer.federation_name}
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
        "addressee": addressee_for(case, notice_type, issuer),
        "enterprise": {"name": e.name, "uscc": e.identifier, "address": e.address,
                       "legal_representative": e.legal_representative},
        "case": {"reference": case.reference, "violations": [v.label for v in sorted(case.violations)],
                 # Whether TUL 43 applies to the funds (a unit with a union) or BJM 55(3) (without one).
                 "has_union": case.has_union if case.has_union is not None else bool(e.has_union),
                 "opened_on": case.opened_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()},
        "cc": [issuer.parent.committee_name] if issuer.parent is not None else [],
    }


_NEEDS_VISIT = frozenset({"visit", "opinion", "recommendation", "listing_request"})
_NEEDS_REFUSAL = frozenset({"recommendation", "listing_request"})


def draft_snapshot(session: Session, case: Case, notice_type: str, *, issuer: Jurisdiction,
                   started: list[Deadline], today: dt.date, current=None,
                   case_file: CaseFile | None = None) -> dict[str, Any]:
    """The facts a notice of this type is rendered from, as far as the case file knows them now.

    case_file: what the step has read for all its drafts (read here for this type alone when not given).
    """
    if case_file is None:
        case_file = CaseFile.read(session, case, [notice_type], started=started, current=current)
    facts = _common(case, issuer, notice_type)
    # Earlier steps' inputs are read only for the types that print them (this runs inside every step).
    visit = case_file.inputs("record_visit") if notice_type in _NEEDS_VISIT else {}
    findings = [visit["findings"]] if visit.get("findings") else []
    visit_facts = {"visited_on": visit.get("visited_on"), "supervisors": visit.get("supervisors", []),
                   "place": case.enterprise.address}
    refusal = case_file.inputs("record_refusal") if notice_type in _NEEDS_REFUSAL else {}
    head = issuer.letterhead or {}
    if notice_type == "visit":
        facts.update(visit=visit_facts, findings=findings,
                     rectification_due=case_file.due("visit_rectification"))
    elif notice_type == "opinion":
        facts.update(visit=visit_facts, findings=findings,
                     rectification_due=case_file.due("visit_rectification"),
                     reply_due=case_file.due("opinion_reply"))
    elif notice_type == "recommendation":
        summary = (refusal.get("summary") or "").strip().rstrip("。.；;")
        response = (f"该单位于{cn_date(refusal['refused_on'])}明确拒绝整改"
                    + (f"：{summary}" if summary else "") if refusal.get("refused_on")
                    else "该单位逾期未作书面答复，亦未进行整改")
        facts.update(findings=[third_person(f) for f in findings], enterprise_response=third_person(response),
                     requests=recommendation_requests(case, issuer),
                     attachments=["工会劳动法律监督意见书及送达回证", "走访记录"])
    elif notice_type in ("payment_demand", "tax_referral", "payment_order"):
        facts.update(arrears=_arrears(case, today, funds_rules(session, case, notice_type)))
        if notice_type == "payment_demand":
            facts.update(payment_due=case_file.due("payment_demand"))
        elif notice_type == "tax_referral":
            facts.update(attachments=["工会经费催缴通知书及送达回证", "欠缴工会经费及滞纳金计算表"])
        else:
            facts.update(applicant={"name": issuer.federation_name, "address": head.get("address", ""),
                                    "representative": head.get("federation_chair", ""), "representative_title": "主席",
                                    "phone": head.get("phone", "")},
                         evidence=["工会经费催缴通知书及送达回证", "欠缴工会经费及滞纳金计算表", "被申请人营业执照信息"])
    elif notice_type == "listing_request":
        # The basis the supervisor stated at the step: for unpaid funds (no listing article in BJM) the letter cites
        # it and nothing else; where BJM 64 (obstruction recorded) or 66 (refused bargaining) gives the listing,
        # the letter quotes those articles.
        basis = str(case_file.inputs("request_listing").get("legal_basis") or "").strip()
        violations = case.violations
        listing_law = (Violation.NO_UNION in violations and case.obstruction_on is not None) or \
            Violation.NO_BARGAINING in violations
        if basis and not listing_law:
            facts["listing_basis"] = basis
        facts.update(findings=[third_person(f) for f in findings],
                     refusal=(f"截至{cn_date(refusal['refused_on'])}，该单位仍拒不改正" if refusal.get("refused_on")
                              else "该单位至今仍拒不改正"),
                     attachments=["工会劳动法律监督意见书", "走访记录"])
    elif notice_type == "credit_repair":
        listing = case_file.inputs("record_listing")
        rect = case_file.inputs("rectify")
        facts.update(listing={k: listing.get(k) for k in ("authority", "listed_on", "reference")},
                     rectified_on=rect.get("rectified_on"), rectification=[rect["action_taken"]] if rect else [],
                     # the wait from the listing decision (NDRC rules), or from rectification for an old case
                     repair={"earliest_on": next(filter(None, (case_file.due(k) for k in (
                         "credit_repair_ordinary", "credit_repair_serious", "credit_repair_wait"))), None), "wait": ""})
    elif notice_type == "rectification_closing":
        rect = case_file.inputs("rectify")
        facts.update(rectified_on=rect.get("rectified_on"), rectification=[rect.get("action_taken", "")],
                     evidence=evidence_names(session, case, rect.get("attachment_ref", "")))
    return plain(facts)


def recommendation_requests(case: Case, issuer: Jurisdiction) -> list[str]:
    """What a 监督建议书 asks, by addressee (see recommendation_addressees): the government orders correction of
    refused bargaining (BJM 66, TUL 54(4)); 人社 orders correction of obstruction (BJM 64) and acts under BJM 21."""
    names = recommendation_addressees(case, issuer)
    both = len(names) > 1
    requests = []
    for name in names:
        whom = name if both else ""
        if name.endswith("人力资源和社会保障局"):
            basis = ("依照《北京市实施〈中华人民共和国工会法〉办法》第二十一条、第六十四条的规定，"
                     if Violation.NO_UNION in case.violations else
                     "依照《北京市实施〈中华人民共和国工会法〉办法》第二十一条的规定，")
            requests.append(f"{'请' + whom if whom else ''}{basis}依法责令该单位限期改正")
        else:
            requests.append(f"{'请' + whom if whom else ''}依照《中华人民共和国工会法》第五十四条第四项和"
                            "《北京市实施〈中华人民共和国工会法〉办法》第六十六条的规定，责令该单位改正，"
                            "对工会或者职工一方提出的集体协商要求给以书面答复并依法开展平等协商")
    requests.append("自作出处理决定之日起15个工作日内将处理结果书面告知本会")
    return requests


_FILE_SUFFIX = re.compile(r"\.(pdf|jpe?g|jpe|jfif|png|heic|heif|hif|docx?|xlsx?|ofd|tiff?)$", re.I)


def evidence_names(session: Session, case: Case, ref: str) -> list[str]:
    """The evidence a closing letter names: each item of the rectify step's attachment_ref ("、"-separated, as the
    step form joins the chosen attachments and the typed text) by what it is, never by a file name. A case
    attachment named in it is cited by its description; another file name loses its extension."""
    items = [item.strip() for item in re.split("[、；;\n]", ref or "") if item.strip()]
    if not items:
        return []
    described = {a.filename: a.description.strip() for a in session.scalars(
        select(Attachment).where(Attachment.case_id == case.id)) if a.description and a.description.strip()}
    names = []
    for item in items:
        name = described.get(item) or _FILE_SUFFIX.sub("", item).strip()
        if name and name not in names:
            names.append(name)
    return names


#: Notice types that print a rectification date (rectification_due).
RECTIFICATION_TYPES = frozenset({"visit", "opinion"})


def rectification_at_issue(session: Session, case: Case, notice_type: str, facts: dict, today: dt.date,
                           policy) -> str | None:
    """Reset a letter's rectification date at issue so it is never on or before the letter's own date; the new
    date (ISO), or None when the drafted one stands (or the letter prints a period in words).

    A visit letter's period restarts at issue (workflows.issuing.RESTARTS: from service under the shipped rules),
    so this applies to a visit only when nothing restarted it: then the same period is counted from the issue date
    (the period of the case's visit_rectification deadline, which may be the visit's own). An opinion whose
    rectification date (the visit's) has passed asks for rectification by its reply date (restarted at issue just
    before), or within the reply period when that runs from service. A later date, set at the visit or on the
    draft, is kept. The case's deadline rows are not moved here: a move must replay from the audit trail, which
    only workflows.issuing.RESTARTS provides.
    """
    if notice_type not in RECTIFICATION_TYPES:
        return None
    drafted = facts.get("rectification_due")
    if drafted and dt.date.fromisoformat(drafted) > today:
        return None
    if notice_type == "opinion":
        if facts.get("reply_due"):
            facts["rectification_due"] = facts["reply_due"]
        else:   # the reply period runs from service: rectify within it (the letter prints the period in words)
            facts.pop("rectification_due", None)
        return facts.get("rectification_due")
    row = session.scalars(select(Deadline).where(Deadline.case_id == case.id,
                                                 Deadline.rule_key == "visit_rectification")
                          .order_by(Deadline.id.desc()).limit(1)).first()
    rule = row.rule() if row is not None else policy.rules["visit_rectification"]
    facts["rectification_due"] = compute_due(today, rule, policy.calendar).due.isoformat()
    return facts["rectification_due"]


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
    # The committee that issued it: a district's letter may cite a street committee's (本会 only when it is the same).
    return {key: {"number": cited.number, "issued_on": cited.snapshot.get("issued_on"),
                  "issuer": (cited.snapshot.get("issuer") or {}).get("name", "")}}
