"""The reminders' words: subject, body and link of each message, in Chinese, from plain facts.

The same text goes to the in-app inbox and by e-mail; the link is a path of this site (the inbox links it as is,
a mail prints it after PUBLIC_BASE_URL).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.models.reminder import ReminderKind
from workflows.law import cite

_WEEKDAYS = "一二三四五六日"
#: Longest subject stored (the outbox column) and longest enterprise name printed in a subject.
MAX_SUBJECT = 200
#: Items a digest lists per section; the rest are counted.
DIGEST_ITEMS = 20

FOOTER = ("此消息由工会劳动法律监督案件管理系统自动发送。系统不会自行制发任何法律文书；"
          "是否进入下一步、如何办理，由承办监督员和审批领导决定。")


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    link: str


def cn_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def cn_day(d: dt.date) -> str:
    """2026年11月24日（星期二）."""
    return f"{cn_date(d)}（星期{_WEEKDAYS[d.weekday()]}）"


def _subject(text: str) -> str:
    """One line (a mail header cannot hold a line break), at most MAX_SUBJECT characters."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUBJECT else text[:MAX_SUBJECT - 1] + "…"


def case_path(case_id: int) -> str:
    return f"/cases/{case_id}"


@dataclass(frozen=True)
class DeadlineFacts:
    """What a deadline reminder prints: the case, the enterprise, the deadline and why it falls where it does."""

    deadline_id: int
    case_id: int
    reference: str
    enterprise: str
    label: str
    legal_basis: str
    due_on: dt.date
    is_provisional: bool
    explanation: str = ""


def deadline_message(kind: ReminderKind, facts: DeadlineFacts, *, name: str, as_leader: bool, today: dt.date,
                     working_days_left: int, base_url: str) -> Message:
    """An approaching / due / overdue reminder for one person."""
    due = cn_date(facts.due_on)
    if kind is ReminderKind.APPROACHING:
        headline = f"{due}届满"
        lead = f"该案件有一项期限即将届满：还有{working_days_left}个工作日（{cn_day(facts.due_on)}为最后一日）。"
    elif kind is ReminderKind.DUE:
        headline = "今日届满"
        lead = f"该案件有一项期限今日（{cn_day(facts.due_on)}）届满。"
    else:
        late = (today - facts.due_on).days
        headline = f"已逾期{late}天"
        lead = (f"该案件有一项期限已于{cn_day(facts.due_on)}届满，至今已逾期{late}天，期限仍未了结。"
                "案件已标记为“可进入下一步”，请承办监督员核实后决定是否进入下一步程序。")
    why = "您是该案件所属工会劳动法律监督委员会的审批领导。" if as_leader else "您是该案件的承办监督员。"
    lines = [f"{name}，您好：", "", lead, why, "",
             f"案件编号：{facts.reference}",
             f"企业：{facts.enterprise}",
             f"期限：{facts.label}",
             f"最后一日：{cn_day(facts.due_on)}",
             f"依据：{facts.legal_basis}"]
    how = facts.explanation.removeprefix(f"{facts.label}：").replace(f"；依据{facts.legal_basis}", "")
    if how:
        lines.append(f"计算方法：{how}")
    if facts.is_provisional:
        lines.append("注意：该期限为暂定（有关年度的节假日安排尚未公布，按周末计算），公布后可能变动。")
    path = case_path(facts.case_id)
    lines += ["", f"查看案件：{base_url.rstrip('/')}{path}", "", FOOTER]
    subject = _subject(f"【{kind.label}】{facts.reference} {facts.enterprise}：{facts.label}{headline}")
    return Message(subject=subject, body="\n".join(lines), link=path)


@dataclass
class DigestItem:
    case_id: int
    reference: str
    enterprise: str
    label: str
    due_on: dt.date
    is_provisional: bool

    def line(self, today: dt.date) -> str:
        when = cn_day(self.due_on)
        if self.due_on < today:
            when += f"，已逾期{(today - self.due_on).days}天"
        elif self.due_on == today:
            when += "，今日届满"
        mark = "（暂定）" if self.is_provisional else ""
        return f"· {self.reference} {self.enterprise}：{self.label}，{when}{mark}"


@dataclass
class Digest:
    overdue: list[DigestItem] = field(default_factory=list)
    this_week: list[DigestItem] = field(default_factory=list)
    provisional: list[DigestItem] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.overdue or self.this_week or self.provisional)


def digest_message(digest: Digest, *, name: str, today: dt.date, sunday: dt.date, base_url: str) -> Message:
    """The 08:30 summary: overdue, falling due this week (to Sunday), provisional."""
    counts = f"已逾期{len(digest.overdue)}项，本周到期{len(digest.this_week)}项，暂定{len(digest.provisional)}项"
    lines = [f"{name}，您好：", "", f"截至{cn_day(today)}，您承办或负责的案件中：{counts}。"]
    for title, items in (("已逾期", digest.overdue), (f"本周到期（至{cn_date(sunday)}）", digest.this_week),
                         ("暂定期限（节假日安排尚未公布，到期日可能变动）", digest.provisional)):
        if not items:
            continue
        lines += ["", f"{title}："]
        ordered = sorted(items, key=lambda i: (i.due_on, i.reference))
        lines += [item.line(today) for item in ordered[:DIGEST_ITEMS]]
        if len(items) > DIGEST_ITEMS:
            lines.append(f"……另有{len(items) - DIGEST_ITEMS}项，请在“期限”页面查看。")
    path = "/deadlines?mine=1"
    lines += ["", f"查看全部期限：{base_url.rstrip('/')}{path}", "", FOOTER]
    return Message(subject=_subject(f"【每日提醒】{cn_date(today)}：{counts}"), body="\n".join(lines), link=path)


@dataclass(frozen=True)
class FundsFacts:
    case_id: int
    reference: str
    enterprise: str


FUNDS_BASIS = cite("bjm.55.2")


def funds_message(facts: FundsFacts, *, name: str, today: dt.date, due_day: int, base_url: str) -> Message:
    """After the monthly due day: check whether an enterprise in an unpaid-funds case has paid this month."""
    month = f"{today.year}年{today.month}月"
    path = case_path(facts.case_id)
    lines = [f"{name}，您好：", "",
             f"{month}的工会经费缴纳日（每月{due_day}日）已过。该企业有一件欠缴工会经费的案件尚未办结，"
             "请核实企业本月是否已按上月全部职工工资总额的2%缴纳工会经费，并在案件中记录核实结果。",
             "",
             f"案件编号：{facts.reference}",
             f"企业：{facts.enterprise}",
             f"依据：{FUNDS_BASIS}（按月拨缴；逾期未缴的，按日加收欠缴部分千分之五的滞纳金）",
             "", f"查看案件：{base_url.rstrip('/')}{path}", "", FOOTER]
    subject = _subject(f"【工会经费核查】{facts.reference} {facts.enterprise}：请核实{month}工会经费缴纳情况")
    return Message(subject=subject, body="\n".join(lines), link=path)


def calendar_message(missing: list[int], provisional: int, *, name: str, today: dt.date,
                     base_url: str) -> Message:
    """A year's State Council holiday arrangement is missing: deadlines in it are counted on weekends only."""
    years = "、".join(f"{y}年" for y in missing)
    lines = [f"{name}，您好：", "",
             f"系统尚无{years}的法定节假日和调休安排（国务院办公厅每年11月或12月公布）。"
             f"在录入之前，落在{years}的期限只按周末计算，标为“暂定”。",
             f"目前进行中的期限中有{provisional}个因此为暂定。",
             "",
             "国务院办公厅的通知公布后，请市级管理员录入该年度的节假日安排"
             f"（命令：compliance holidays enter {missing[0]} 安排文件 --source 通知名称 --by 登录名）。"
             "录入后，暂定期限会自动重新计算，并记入各案件的办理记录。",
             "", FOOTER]
    subject = _subject(f"【节假日数据缺失】{years}节假日安排尚未录入，{provisional}个期限为暂定")
    return Message(subject=subject, body="\n".join(lines), link="/")
