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

NOTICE_TYPES = (
    "visit", "opinion", "recommendation", "payment_demand", "tax_referral", "payment_order", "listing_request",
    "credit_repair", "rectification_closing",
)


@dataclass(frozen=True)
class CaseFacts:
    """Everything the guards need; the operations layer stores these on the Case row.

    `replied_on` and `refused_on` answer the current stage's letter: a step into a new stage clears them (the
    audit log keeps the history), so a refusal of the recommendation is never mistaken for one after a demand.
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
    """One input of a trigger. kind: "date" (YYYY-MM-DD, not after today), "text", "names" (≥2), "days".

    max_length: the most characters a text (or each name) may have; every input has a bound.
    help: one line a form shows under the input (what to write, how it is counted).
    """

    name: str
    label: str
    kind: str
    required: bool = True
    max_length: int = 2000
    help: str = ""


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
                   help="不填则按系统设定的默认期限"),
    ), ("visit",)),
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
    TriggerSpec("demand_payment", "催缴工会经费（税务稽查）", (), ("payment_demand", "tax_referral")),
    TriggerSpec("apply_payment_order", "申请支付令", (), ("payment_order",)),
    TriggerSpec("request_listing", "提请信用惩戒", (), ("listing_request",)),
    TriggerSpec("record_listing", "记录纳入信用档案", (
        InputField("authority", "纳入机关", "text", max_length=100),
        InputField("listed_on", "纳入日期", "date"),
        InputField("reference", "文号或记录编号", "text", max_length=100,
                   help="纳入机关作出决定的文号，或信用档案中的记录编号"),
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


def _parse_days(field: InputField, raw: Any, today: date) -> int:
    if isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_PERIOD:
        raise InvalidInput(field.name, f"{field.label}应为1至{MAX_PERIOD}之间的整数")
    return raw


_PARSERS: Mapping[str, Callable[[InputField, Any, date], Any]] = {
    "date": _parse_date, "text": _parse_text, "names": _parse_names, "days": _parse_days,
}


def _check_order(values: Mapping[str, Any], facts: CaseFacts) -> None:
    """An answer cannot predate the letter it answers."""
    if facts.state is State.PAYMENT_DEMANDED:
        letter, label = facts.payment_demanded_on, "催缴日期"
    else:
        letter, label = facts.opinion_issued_on, "监督意见书发出日期"
    for name, what in (("replied_on", "答复日期"), ("refused_on", "拒绝日期")):
        if name in values and letter is not None and values[name] < letter:
            raise InvalidInput(name, f"{what}（{cn_date(values[name])}）不能早于{label}（{cn_date(letter)}）")
