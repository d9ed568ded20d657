"""The ladder's vocabulary: violations, states, the facts of a case, the triggers and their inputs.

The rules that join them (guards, transitions, deadlines) are in workflows.ladder.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from workflows.calendar import as_beijing_date
from workflows.deadlines import MAX_PERIOD


class Violation(StrEnum):
    """What an enterprise gets a case for: 不建会、不协商、不缴费."""

    NO_UNION = "no_union"
    NO_BARGAINING = "no_bargaining"
    UNPAID_FUNDS = "unpaid_funds"

    @property
    def label(self) -> str:
        return _VIOLATION_LABELS[self]


_VIOLATION_LABELS = {
    Violation.NO_UNION: "不建会",
    Violation.NO_BARGAINING: "不协商",
    Violation.UNPAID_FUNDS: "不缴费",
}


class State(StrEnum):
    """Where a case stands on the ladder. Declaration order is the ladder's order."""

    REGISTERED = "registered"
    VISITED = "visited"
    OPINION_ISSUED = "opinion_issued"
    RECOMMENDATION_ISSUED = "recommendation_issued"
    ORDERED_TO_CORRECT = "ordered_to_correct"
    PAYMENT_DEMANDED = "payment_demanded"
    LITIGATION = "litigation"
    LISTING_REQUESTED = "listing_requested"
    LISTED = "listed"
    RECTIFIED = "rectified"
    WITHDRAWN = "withdrawn"
    CREDIT_REPAIRED = "credit_repaired"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_STATES


_STATE_LABELS = {
    State.REGISTERED: "已立案",
    State.VISITED: "已走访宣讲",
    State.OPINION_ISSUED: "已发监督意见书",
    State.RECOMMENDATION_ISSUED: "已发监督建议书",
    State.ORDERED_TO_CORRECT: "已责令改正",
    State.PAYMENT_DEMANDED: "税务稽查/催缴",
    State.LITIGATION: "法律诉讼/支付令",
    State.LISTING_REQUESTED: "已提请信用惩戒",
    State.LISTED: "已纳入信用档案",
    State.RECTIFIED: "整改完成",
    State.WITHDRAWN: "已撤销",
    State.CREDIT_REPAIRED: "信用已修复",
}

#: The states in which the enterprise is still being pursued: any of them can end rectified or withdrawn.
ACTIVE_STATES: frozenset[State] = frozenset(State) - {State.RECTIFIED, State.WITHDRAWN, State.CREDIT_REPAIRED}

#: States that end a case outright. RECTIFIED ends it too unless the enterprise was listed (credit repair follows).
FINAL_STATES: frozenset[State] = frozenset({State.WITHDRAWN, State.CREDIT_REPAIRED})

#: The seriousness of a credit listing: input word → stored value.
SERIOUSNESS = MappingProxyType({"一般": "ordinary", "严重": "serious"})
SERIOUSNESS_LABELS = MappingProxyType({v: k for k, v in SERIOUSNESS.items()})

NOTICE_TYPES = (
    "visit", "opinion", "recommendation", "payment_demand", "tax_referral", "payment_order", "listing_request",
    "credit_repair", "rectification_closing",
)


@dataclass(frozen=True)
class CaseFacts:
    """Everything the guards need; the operations layer stores these on the Case row.

    `replied_on` and `refused_on` answer the current stage's letter: a step into a new stage clears them (the
    audit log keeps the history), so a refusal of the recommendation is never mistaken for one after a demand.

    A due date that runs from a letter's receipt (visit_rectification_due, opinion_reply_due, payment_demand_due)
    stays None until the letter's service is recorded (待送达): no guard treats such a period as lapsed.
    """

    state: State
    violations: frozenset[Violation]
    visited_on: date | None = None
    opinion_issued_on: date | None = None
    opinion_reply_due: date | None = None
    replied_on: date | None = None
    refused_on: date | None = None
    payment_demanded_on: date | None = None
    payment_demand_due: date | None = None
    was_listed: bool = False
    rectified_on: date | None = None
    # --- issue 10: the law per violation (all optional: cases opened before keep working)
    #: The visit letter's rectification period, counted from its service.
    visit_rectification_due: date | None = None
    #: The day obstruction of union organising was found (BJM 64 needs it; a plain "no union yet" is not it).
    obstruction_on: date | None = None
    #: The union's written bargaining request: sent, received by the enterprise, answer due (20 days), answered.
    bargaining_requested_on: date | None = None
    bargaining_received_on: date | None = None
    bargaining_answer_due: date | None = None
    bargaining_answered_on: date | None = None
    #: The department's or government's decision on the 监督建议书 (starts the 15 working days of BJM 28(2)/63(2)).
    decided_on: date | None = None
    #: The order to correct (责令改正) and the last day of the period it set.
    correction_ordered_on: date | None = None
    correction_due: date | None = None
    #: The 支付令 before the court: filed (the application's service), accepted, order issued, served on the
    #: debtor, the debtor's 15 days, objection, enforcement.
    court_filed_on: date | None = None
    court_accepted_on: date | None = None
    payment_order_issued_on: date | None = None
    payment_order_served_on: date | None = None
    payment_order_due: date | None = None
    payment_objected_on: date | None = None
    enforcement_applied_on: date | None = None
    #: The listing decision's date and its seriousness ("ordinary" / "serious"): the credit-repair wait runs from it.
    listed_on: date | None = None
    listing_seriousness: str | None = None

    def __post_init__(self) -> None:
        # Rows hand us plain strings; normalise once so every guard compares enums.
        object.__setattr__(self, "state", State(self.state))
        object.__setattr__(self, "violations", frozenset(Violation(v) for v in self.violations))
        if not self.violations:
            raise ValueError("a case needs at least one violation")


def is_closed(facts: CaseFacts) -> bool:
    """Whether the case is over: withdrawn, credit repaired, or rectified without ever being listed."""
    return facts.state in FINAL_STATES or (facts.state is State.RECTIFIED and not facts.was_listed)


class LadderError(Exception):
    """Base of the ladder's refusals; `str(error)` is Chinese and can be shown as is."""


class TransitionRefused(LadderError):
    """The trigger is not valid in the case's state, or one of its guards failed."""

    def __init__(self, trigger: str, state: State, reason: str):
        super().__init__(reason)
        self.trigger, self.state, self.reason = trigger, state, reason


class InvalidInput(LadderError):
    """An input of the trigger is missing or invalid."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


# ------------------------------------------------------------------------------------------- the triggers

#: The longest name a "names" input holds (e.g. 刘洋（劳动法律监督员证号：京朝监0231）), and how many it holds.
NAME_LENGTH = 50
MAX_NAMES = 20


@dataclass(frozen=True)
class InputField:
    """One input of a trigger. kind: "date" (YYYY-MM-DD, not after today), "text", "names" (≥2), "days",
    "choice" (one of `choices`, given as its label or its value).

    max_length: the most characters a text (or each name) may have; every input has a bound.
    help: one line a form shows under the input (what to write, how it is counted).
    choices: (value, label) pairs of a "choice".
    """

    name: str
    label: str
    kind: str
    required: bool = True
    max_length: int = 2000
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TriggerSpec:
    """A trigger's Chinese label, its inputs and the notices it drafts."""

    name: str
    label: str
    fields: tuple[InputField, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


TRIGGERS: Mapping[str, TriggerSpec] = MappingProxyType({spec.name: spec for spec in (
    TriggerSpec("record_visit", "记录走访宣讲", (
        InputField("visited_on", "走访日期", "date"),
        InputField("findings", "走访发现的问题", "text",
                   help="如职工人数、是否建会、是否签订集体合同、经费缴纳情况；将写入本案文书"),
        InputField("supervisors", "走访监督员（至少两名）", "names", max_length=NAME_LENGTH,
                   help="填写姓名或监督员证号，用逗号或顿号分隔，例如：王芳、李强"),
        InputField("rectification_days", "整改期限（日）", "days", required=False,
                   help="自企业收到走访告知书之日起算；不填则按系统设定的默认期限"),
    ), ("visit",)),
    TriggerSpec("record_obstruction", "记录阻挠建会的事实", (
        InputField("observed_on", "发现日期", "date"),
        InputField("facts", "阻挠、限制职工组建或参加工会的事实", "text",
                   help="如阻挠上级工会派员指导建会、对筹建工会的职工打击报复（北京市实施工会法办法第六十四条）；"
                        "仅“尚未建会”不属于阻挠"),
        InputField("evidence_ref", "证据材料", "text", required=False, max_length=500),
    )),
    TriggerSpec("record_bargaining_request", "记录书面集体协商要求", (
        InputField("sent_on", "发出日期", "date"),
        InputField("received_on", "企业收到日期", "date",
                   help="企业应自收到之日起二十日内书面答复（北京市集体合同条例第三十二条第二款）"),
        InputField("summary", "协商要求内容摘要", "text", required=False),
    )),
    TriggerSpec("record_bargaining_answer", "记录企业对协商要求的书面答复", (
        InputField("answered_on", "答复日期", "date"),
        InputField("summary", "答复内容摘要", "text"),
    )),
    TriggerSpec("issue_opinion", "发出监督意见书", (), ("opinion",)),
    TriggerSpec("record_reply", "记录企业书面答复", (
        InputField("replied_on", "答复日期", "date"),
        InputField("summary", "答复内容摘要", "text"),
    )),
    TriggerSpec("record_refusal", "记录企业拒绝整改", (
        InputField("refused_on", "拒绝日期", "date"),
        InputField("summary", "拒绝情况摘要", "text"),
    )),
    TriggerSpec("issue_recommendation", "发出监督建议书", (), ("recommendation",)),
    TriggerSpec("record_decision", "记录有关部门的处理决定", (
        InputField("decided_on", "作出决定日期", "date",
                   help="有关部门应自作出处理决定之日起15个工作日内书面告知处理结果（第二十八条第二款、第六十三条第二款）"),
        InputField("authority", "作出决定的机关", "text", max_length=100),
        InputField("content", "决定内容摘要", "text"),
        InputField("reference", "决定文号", "text", required=False, max_length=100),
    )),
    TriggerSpec("record_correction_order", "记录责令改正", (
        InputField("ordered_on", "责令改正日期", "date"),
        InputField("authority", "责令改正的机关", "text", max_length=100,
                   help="阻挠建会：人力资源社会保障部门（第六十四条）；拒绝协商：市或区人民政府（第六十六条）"),
        InputField("reference", "责令改正文书文号", "text", max_length=100),
        InputField("correction_days", "责令改正期限（日）", "days", help="责令改正文书载明的期限，自责令改正之日起算"),
    )),
    TriggerSpec("demand_payment", "催缴工会经费（税务稽查）", (), ("payment_demand", "tax_referral")),
    TriggerSpec("apply_payment_order", "申请支付令", (), ("payment_order",)),
    TriggerSpec("record_court_acceptance", "记录法院受理支付令申请", (
        InputField("accepted_on", "受理日期", "date"),
        InputField("court", "受理法院", "text", max_length=100),
        InputField("reference", "案号", "text", required=False, max_length=100),
    )),
    TriggerSpec("record_payment_order_issued", "记录法院发出支付令", (
        InputField("issued_on", "支付令发出日期", "date"),
        InputField("reference", "支付令案号", "text", required=False, max_length=100),
    )),
    TriggerSpec("record_payment_order_served", "记录支付令送达债务人", (
        InputField("served_on", "债务人收到支付令日期", "date",
                   help="债务人应自收到支付令之日起十五日内清偿或提出书面异议（民事诉讼法第二百二十七条第二款）"),
    )),
    TriggerSpec("record_payment_objection", "记录债务人提出书面异议", (
        InputField("objected_on", "异议日期", "date"),
        InputField("summary", "异议内容及法院处理摘要", "text",
                   help="异议成立的，支付令失效，转入诉讼程序（民事诉讼法第二百二十八条）"),
    )),
    TriggerSpec("apply_enforcement", "申请强制执行", (
        InputField("applied_on", "申请执行日期", "date"),
        InputField("court", "执行法院", "text", max_length=100),
        InputField("reference", "执行案号", "text", required=False, max_length=100),
    )),
    TriggerSpec("request_listing", "提请信用惩戒", (
        InputField("legal_basis", "提请的法律依据", "text", required=False, max_length=200,
                   help="仅欠缴工会经费的案件必须填写：北京市实施工会法办法对欠缴经费没有纳入信用档案的条款"),
    ), ("listing_request",)),
    TriggerSpec("record_listing", "记录纳入信用档案", (
        InputField("authority", "纳入机关", "text", max_length=100),
        InputField("listed_on", "纳入决定日期", "date", help="信用修复的最短公示期自该决定作出之日起算"),
        InputField("reference", "文号或记录编号", "text", max_length=100,
                   help="纳入机关作出决定的文号，或信用档案中的记录编号"),
        InputField("seriousness", "失信信息类别", "choice", required=False,
                   choices=(("ordinary", "一般"), ("serious", "严重")),
                   help="一般失信信息最短公示3个月，严重失信信息1年；不填按一般"),
    )),
    TriggerSpec("rectify", "确认整改完成", (
        InputField("action_taken", "整改措施", "text"),
        InputField("rectified_on", "整改完成日期", "date"),
        InputField("attachment_ref", "整改证明材料", "text", max_length=500,
                   help="证明整改完成的材料名称，如工会成立批复、集体合同、缴费凭证"),
    ), ("rectification_closing",)),
    TriggerSpec("withdraw", "撤销案件", (
        InputField("reason", "撤销理由", "text"),
    )),
    TriggerSpec("repair_credit", "确认信用修复", (), ("credit_repair",)),
)})


# --------------------------------------------------------------------------------------------- the inputs

def cn_date(d: date) -> str:
    """A date as official documents write it: 2026年11月24日."""
    return f"{d.year}年{d.month}月{d.day}日"


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAME_SEPARATORS = re.compile(r"[,，、;；\s]+")
_DIGITS = re.compile(r"[0-9]+")


def validate_inputs(spec: TriggerSpec, inputs: Mapping[str, Any], facts: CaseFacts, today: date) -> dict[str, Any]:
    """The trigger's inputs checked and normalised; unknown keys are dropped."""
    values: dict[str, Any] = {}
    for field in spec.fields:
        raw = inputs.get(field.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if field.required:
                raise InvalidInput(field.name, f"请填写{field.label}")
            continue
        values[field.name] = _PARSERS[field.kind](field, raw, today)
    _check_order(values, facts)
    return values


def _parse_date(field: InputField, raw: Any, today: date) -> date:
    if isinstance(raw, str):
        if not _ISO_DATE.fullmatch(raw.strip()):
            raise InvalidInput(field.name, f"{field.label}应为“年-月-日”格式，例如2026-11-24")
        try:
            value = date.fromisoformat(raw.strip())
        except ValueError:
            raise InvalidInput(field.name, f"{field.label}不是有效日期：{raw.strip()}") from None
    elif isinstance(raw, date):
        value = as_beijing_date(raw)
    else:
        raise InvalidInput(field.name, f"{field.label}应为日期")
    if value > today:
        raise InvalidInput(field.name, f"{field.label}（{cn_date(value)}）不能晚于今天（{cn_date(today)}）")
    return value


def _parse_text(field: InputField, raw: Any, today: date) -> str:
    if not isinstance(raw, str):
        raise InvalidInput(field.name, f"{field.label}应为文字")
    value = raw.strip()
    if len(value) > field.max_length:
        raise InvalidInput(field.name, f"{field.label}不能超过{field.max_length}字（现有{len(value)}字）")
    if any(ord(c) < 32 and c not in "\n\t" or ord(c) == 127 for c in value):
        raise InvalidInput(field.name, f"{field.label}含有无法显示的控制字符")
    return value


def _parse_names(field: InputField, raw: Any, today: date) -> tuple[str, ...]:
    parts = _NAME_SEPARATORS.split(raw) if isinstance(raw, str) else raw
    if not isinstance(parts, (list, tuple)) or not all(isinstance(p, str) for p in parts):
        raise InvalidInput(field.name, f"{field.label}应为监督员姓名或编号的列表")
    names = tuple(p.strip() for p in parts if p.strip())
    if len(names) > MAX_NAMES:
        raise InvalidInput(field.name, f"{field.label}最多{MAX_NAMES}名")
    for name in names:
        if len(name) > field.max_length:
            raise InvalidInput(field.name, f"“{name[:20]}…”超过{field.max_length}字，请只填写姓名或证号")
    for i, name in enumerate(names):
        if name in names[:i]:
            raise InvalidInput(field.name, f"监督员“{name}”重复填写；走访须由至少两名不同的监督员共同进行")
    if len(names) < 2:
        raise InvalidInput(field.name, "走访须由至少两名监督员共同进行，请填写至少两名监督员")
    return names


def _parse_choice(field: InputField, raw: Any, today: date) -> str:
    value = raw.strip() if isinstance(raw, str) else raw
    for stored, label in field.choices:
        if value in (stored, label):
            return stored
    labels = "、".join(f"“{label}”" for _stored, label in field.choices)
    raise InvalidInput(field.name, f"{field.label}应为{labels}之一")


def _parse_days(field: InputField, raw: Any, today: date) -> int:
    if isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_PERIOD:
        raise InvalidInput(field.name, f"{field.label}应为1至{MAX_PERIOD}之间的整数")
    return raw


_PARSERS: Mapping[str, Callable[[InputField, Any, date], Any]] = {
    "date": _parse_date, "text": _parse_text, "names": _parse_names, "days": _parse_days,
    "choice": _parse_choice,
}


def _check_order(values: Mapping[str, Any], facts: CaseFacts) -> None:
    """An answer cannot predate the letter it answers; a later stage cannot predate the one it follows."""
    if facts.state is State.PAYMENT_DEMANDED:
        letter, label = facts.payment_demanded_on, "催缴日期"
    elif facts.state is State.ORDERED_TO_CORRECT:
        letter, label = facts.correction_ordered_on, "责令改正日期"
    elif facts.state is State.VISITED:
        letter, label = facts.visited_on, "走访日期"
    else:
        letter, label = facts.opinion_issued_on, "监督意见书发出日期"
    pairs = [
        ("replied_on", "答复日期", letter, label), ("refused_on", "拒绝日期", letter, label),
        ("received_on", "企业收到日期", values.get("sent_on"), "发出日期"),
        ("answered_on", "答复日期", facts.bargaining_received_on, "企业收到协商要求的日期"),
        ("accepted_on", "受理日期", facts.court_filed_on, "支付令申请递交法院的日期"),
        ("issued_on", "支付令发出日期", facts.court_accepted_on, "法院受理日期"),
        ("served_on", "债务人收到支付令日期", facts.payment_order_issued_on, "支付令发出日期"),
        ("objected_on", "异议日期", facts.payment_order_served_on, "债务人收到支付令日期"),
        ("applied_on", "申请执行日期", facts.payment_order_served_on, "债务人收到支付令日期"),
        ("ordered_on", "责令改正日期", facts.decided_on, "有关部门作出决定的日期"),
    ]
    for name, what, earlier, earlier_label in pairs:
        if name in values and earlier is not None and values[name] < earlier:
            raise InvalidInput(name, f"{what}（{cn_date(values[name])}）不能早于{earlier_label}（{cn_date(earlier)}）")
