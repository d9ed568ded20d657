"""What starts each period (issue 10), checked by hand against the 2026 calendar shipped in chinesecalendar.

Each expected date below was counted by hand, not computed: the comment on the row is the count. The 2026
arrangements used (rest days; "make-up" days are working days):
  Spring Festival Sun 15 – Mon 23 Feb, make-up Sat 14 and Sat 28 Feb;  Qingming Sat 4 – Mon 6 Apr;
  Labour Day Fri 1 – Tue 5 May, make-up Sat 9 May;  Dragon Boat Fri 19 – Sun 21 Jun;
  Mid-autumn Fri 25 – Sun 27 Sep, make-up Sun 20 Sep;  National Day Thu 1 – Wed 7 Oct, make-up Sat 10 Oct.
  2027: not published (weekdays only, provisional).
Counting (Civil Code 201–203, Civil Procedure Law 85): the starting day is not counted; a last day on a rest day
moves to the next working day; working-day periods skip rest days and count make-up days.

The periods start from: the letter's service (opinion, visit letter, payment demand, the 支付令 application's
filing with the court), the department's decision (BJM 28(2), 63(2)), the court's acceptance and the debtor's
receipt of the order (Civil Procedure Law 226, 227), the enterprise's receipt of the bargaining request (集体合同
条例 32(2)), the date of the order to correct, and the listing decision (NDRC credit repair).
"""
from __future__ import annotations

from datetime import date
from typing import NamedTuple

import pytest

from workflows.deadlines import DEFAULT_RULES
from workflows.issuing import start_on_service
from workflows.ladder import CaseFacts, Policy, fire
from workflows.states import State, Violation

POLICY = Policy.default()
TODAY = date(2026, 12, 31)
d = date.fromisoformat


class Row(NamedTuple):
    start: str            #: "serve:<notice type>" or "step:<trigger>"
    on: str               #: the date that starts the period
    rule: str
    due: str
    moved_from: str | None = None
    provisional: bool = False


ROWS = {
    # ---- service of the committee's letters (the reply periods run from receipt) ----
    # Served Fri 3 Apr, before Qingming (Sat 4 – Mon 6): Tue 7 (1), 8–10 (4), 13–17 (9), 20–24 (14), Mon 27 (15).
    "opinion served on the Friday before Qingming": Row("serve:opinion", "2026-04-03", "opinion_reply", "2026-04-27"),
    # Served Fri 18 Sep: Sun 20 make-up (1), 21–24 (5), Fri 25 holiday, 28–30 (8), 1–7 Oct holiday, 8 (9), 9 (10),
    # Sat 10 make-up (11), 12–15 (15): Thu 15 Oct.
    "opinion served on the Friday before Mid-autumn": Row("serve:opinion", "2026-09-18", "opinion_reply",
                                                          "2026-10-15"),
    # Served Fri 13 Feb: Sat 14 make-up (1), 15–23 holiday, 24–27 (5), Sat 28 make-up (6), 2–6 Mar (11),
    # 9–12 (15): Thu 12 Mar.
    "opinion served on the Friday before Spring Festival": Row("serve:opinion", "2026-02-13", "opinion_reply",
                                                               "2026-03-12"),
    # Served on make-up Saturday 10 Oct (the day itself is not counted): 12–16 (5), 19–23 (10), 26–30 (15): Fri 30 Oct.
    "opinion served on a make-up Saturday": Row("serve:opinion", "2026-10-10", "opinion_reply", "2026-10-30"),
    # Served Fri 17 Apr + 15 days = Sat 2 May, inside Labour Day (1–5 May): Wed 6 May.
    "payment demand served on a Friday, ends in Labour Day": Row("serve:payment_demand", "2026-04-17",
                                                                 "payment_demand", "2026-05-06", "2026-05-02"),
    # Served Fri 4 Sep + 30 days = Sun 4 Oct, National Day: Thu 8 Oct.
    "visit letter served, ends in National Day": Row("serve:visit", "2026-09-04", "visit_rectification",
                                                     "2026-10-08", "2026-10-04"),
    # Served Fri 11 Sep + 30 days = Sun 11 Oct, an ordinary Sunday (the make-up day is Sat 10): Mon 12 Oct.
    "visit letter served, ends on the Sunday after the make-up day": Row("serve:visit", "2026-09-11",
                                                                         "visit_rectification", "2026-10-12",
                                                                         "2026-10-11"),
    # The application filed with the court (its service) Thu 30 Apr + 5 days = Tue 5 May, Labour Day: Wed 6 May.
    "application filed before Labour Day": Row("serve:payment_order", "2026-04-30", "court_acceptance", "2026-05-06",
                                               "2026-05-05"),
    # Filed Fri 12 Jun + 5 days = Wed 17 Jun, a working day.
    "application filed on a Friday": Row("serve:payment_order", "2026-06-12", "court_acceptance", "2026-06-17"),
    # ---- the court's acceptance: the order within 15 days (Civil Procedure Law 227(1)) ----
    # Accepted Thu 4 Jun + 15 = Fri 19 Jun, Dragon Boat (19–21 Jun): Mon 22 Jun.
    "court accepted, ends on Dragon Boat": Row("step:record_court_acceptance", "2026-06-04", "court_order_issue",
                                              "2026-06-22", "2026-06-19"),
    # Accepted Mon 14 Sep + 15 = Tue 29 Sep, a working day.
    "court accepted in September": Row("step:record_court_acceptance", "2026-09-14", "court_order_issue",
                                       "2026-09-29"),
    # ---- the debtor's receipt of the 支付令: 15 days to pay or object (227(2)), never from our application ----
    # Received Wed 16 Sep + 15 = Thu 1 Oct, National Day: Thu 8 Oct.
    "debtor received the order before National Day": Row("step:record_payment_order_served", "2026-09-16",
                                                          "payment_order", "2026-10-08", "2026-10-01"),
    # Received Mon 30 Nov + 15 = Tue 15 Dec.
    "debtor received the order in November": Row("step:record_payment_order_served", "2026-11-30", "payment_order",
                                                 "2026-12-15"),
    # ---- the department's decision: 15 working days to tell the union the result (BJM 28(2), 63(2)) ----
    # Decided Tue 29 Sep: Wed 30 (1), 1–7 Oct holiday, 8 (2), 9 (3), Sat 10 make-up (4), 12–16 (9), 19–23 (14),
    # Mon 26 Oct (15).
    "decision before National Day": Row("step:record_decision", "2026-09-29", "recommendation_reply", "2026-10-26"),
    # Decided Thu 30 Apr: 1–5 May holiday, 6–8 (3), Sat 9 make-up (4), 11–15 (9), 18–22 (14), Mon 25 May (15).
    "decision before Labour Day": Row("step:record_decision", "2026-04-30", "recommendation_reply", "2026-05-25"),
    # ---- the bargaining request: 20 days from the enterprise's receipt (集体合同条例 32(2)) ----
    # Received Mon 14 Sep + 20 = Sun 4 Oct, National Day: Thu 8 Oct.
    "bargaining request received in September": Row("step:record_bargaining_request", "2026-09-14",
                                                     "bargaining_answer", "2026-10-08", "2026-10-04"),
    # Received Fri 30 Jan + 20 = Thu 19 Feb, Spring Festival: Tue 24 Feb.
    "bargaining request received before Spring Festival": Row("step:record_bargaining_request", "2026-01-30",
                                                               "bargaining_answer", "2026-02-24", "2026-02-19"),
    # Received Wed 2 Dec + 20 = Tue 22 Dec.
    "bargaining request received in December": Row("step:record_bargaining_request", "2026-12-02",
                                                   "bargaining_answer", "2026-12-22"),
    # ---- the order to correct: the period it sets (here 30 days) from its date ----
    # Ordered Mon 7 Sep + 30 = Wed 7 Oct, National Day: Thu 8 Oct.
    "correction order of 30 days": Row("step:record_correction_order", "2026-09-07", "correction_order", "2026-10-08",
                                       "2026-10-07"),
    # ---- credit repair: the minimum publication from the listing decision (3 months ordinary, 1 year serious) ----
    # Listed Thu 2 Jul + 3 months = Fri 2 Oct, National Day: Thu 8 Oct.
    "ordinary listing in July": Row("step:rectify", "2026-07-02", "credit_repair_ordinary", "2026-10-08",
                                    "2026-10-02"),
    # Listed Mon 30 Nov + 3 months: no 30 February, so Sun 28 Feb 2027 (month end), a rest day: Mon 1 Mar 2027,
    # provisional (2027 not published).
    "ordinary listing at the end of November": Row("step:rectify", "2026-11-30", "credit_repair_ordinary",
                                                   "2027-03-01", "2027-02-28", provisional=True),
    # Listed Tue 31 Mar + 1 year = Wed 31 Mar 2027, a weekday; provisional (2027 not published).
    "serious listing": Row("step:rectify", "2026-03-31", "credit_repair_serious", "2027-03-31", provisional=True),
}

_FACTS = {
    "record_court_acceptance": dict(state=State.LITIGATION, violations={Violation.UNPAID_FUNDS},
                                    court_filed_on=date(2026, 1, 5)),
    "record_payment_order_served": dict(state=State.LITIGATION, violations={Violation.UNPAID_FUNDS},
                                        court_filed_on=date(2026, 1, 5), court_accepted_on=date(2026, 1, 6),
                                        payment_order_issued_on=date(2026, 1, 7)),
    "record_decision": dict(state=State.RECOMMENDATION_ISSUED, violations={Violation.NO_UNION}),
    "record_bargaining_request": dict(state=State.VISITED, violations={Violation.NO_BARGAINING},
                                      visited_on=date(2026, 1, 5)),
    "record_correction_order": dict(state=State.RECOMMENDATION_ISSUED, violations={Violation.NO_BARGAINING}),
    "rectify": dict(state=State.LISTED, violations={Violation.NO_BARGAINING}, was_listed=True),
}


def _inputs(trigger: str, on: str) -> dict:
    return {
        "record_court_acceptance": {"accepted_on": on, "court": "北京市朝阳区人民法院"},
        "record_payment_order_served": {"served_on": on},
        "record_decision": {"decided_on": on, "authority": "北京市朝阳区人力资源和社会保障局", "content": "责令改正"},
        "record_bargaining_request": {"sent_on": on, "received_on": on},
        "record_correction_order": {"ordered_on": on, "authority": "北京市朝阳区人民政府", "reference": "朝政责改〔2026〕1号",
                                    "correction_days": 30},
        "rectify": {"action_taken": "已开展集体协商并签订集体合同", "rectified_on": "2026-12-30", "attachment_ref": "集体合同.pdf"},
    }[trigger]


def _started(row: Row):
    kind, name = row.start.split(":")
    if kind == "serve":
        facts = CaseFacts(state=State.OPINION_ISSUED, violations=frozenset({Violation.UNPAID_FUNDS}))
        _facts, due = start_on_service(facts, name, d(row.on), DEFAULT_RULES[row.rule], POLICY.calendar)
        return due
    facts = dict(_FACTS[name])
    if name == "rectify":
        facts.update(listed_on=d(row.on), listing_seriousness="serious" if "serious" in row.rule else "ordinary")
    step = fire(CaseFacts(**facts), name, _inputs(name, row.on), TODAY, POLICY)
    [due] = [s for s in step.starts if s.rule.key == row.rule]
    return due


def test_the_table_is_long_enough():
    assert len(ROWS) >= 15


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_each_period_starts_where_the_law_says(row):
    due = _started(row)
    assert (due.rule.key, due.start) == (row.rule, d(row.on))   # counted from the event, not from the step's day
    assert (due.due, due.extended_from, due.provisional) == (
        d(row.due), d(row.moved_from) if row.moved_from else None, row.provisional)


def test_service_starts_only_the_periods_that_run_from_receipt():
    from workflows.issuing import SERVICE_STARTED, RESTARTS
    waiting = {RESTARTS[t].rule_key for t in SERVICE_STARTED}
    assert waiting == {key for key, rule in DEFAULT_RULES.items() if rule.starts == "service"}
    assert SERVICE_STARTED == ("visit", "opinion", "payment_demand", "payment_order")


def test_a_period_in_words_as_the_letter_prints_it():
    assert DEFAULT_RULES["opinion_reply"].in_words("本意见书") == "自收到本意见书之日起15个工作日内"
    assert DEFAULT_RULES["visit_rectification"].in_words("本告知书") == "自收到本告知书之日起30日内"
    assert DEFAULT_RULES["credit_repair_serious"].in_words() == "自收到本文书之日起12个月内"
