"""Issue 10, "the law, exactly": the funds rules on real cases and the wording of the letters, read back from the
PDFs that were issued (pdfplumber), as a recipient reads them."""
from __future__ import annotations

import datetime as dt
import io
import re

import pdfplumber
import pytest
from sqlalchemy import select

import letters
from compliance.clock import BEIJING
from compliance.errors import ValidationFailed
from compliance.models import CaseEvent, Deadline, Notice
from compliance.operations.attachments import attach_evidence
from compliance.operations.cases import fire_trigger
from compliance.operations.funds import record_funds_facts
from compliance.snapshots import draft_snapshot, CaseFile
from compliance.testing import VISIT, refuse_after_visit, serve_issued
from tests.compliance.test_casework_pages import web

#: Letters to a third party (an authority, a court) speak of the enterprise as 该单位.
SECOND_PERSON = ("你单位", "贵单位")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=BEIJING).astimezone(dt.timezone.utc)


def pdf_text(store, notice: Notice) -> str:
    with pdfplumber.open(io.BytesIO(store.get(notice.sha256))) as pdf:
        return "".join("".join((page.extract_text() or "").split()) for page in pdf.pages)


def preview_text(notice: Notice, **extra) -> str:
    facts = {"issued_on": "2026-11-24", "signatory": {"name": "王建国"}, **notice.snapshot, **extra}
    data = letters.render(notice.notice_type, facts, number=None, verification=None, preview=True)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "".join("".join((page.extract_text() or "").split()) for page in pdf.pages)


def cn(day: str) -> str:
    d = dt.date.fromisoformat(day)
    return f"{d.year}年{d.month}月{d.day}日"


def notices_of(session, case_id, status=None):
    query = select(Notice).where(Notice.case_id == case_id)
    if status:
        query = query.where(Notice.status == status)
    return session.scalars(query.order_by(Notice.id)).all()


def assert_reads_right(store, notice: Notice) -> str:
    """What every issued letter must satisfy when read back."""
    text = pdf_text(store, notice)
    kind = letters.NOTICE_TYPES[notice.notice_type]
    if kind.addressee_kind != "enterprise":
        assert not any(word in text for word in SECOND_PERSON), (notice.notice_type, text)
    issued = dt.date.fromisoformat(notice.snapshot["issued_on"])
    if notice.snapshot.get("rectification_due"):
        assert dt.date.fromisoformat(notice.snapshot["rectification_due"]) > issued
        for match in re.finditer(r"于(\d{4}年\d{1,2}月\d{1,2}日)前完成整改", text):
            y, m, d = map(int, _DATE.match(match.group(1)).groups())
            assert dt.date(y, m, d) > issued, text
    assert ".pdf" not in text.lower()
    return text


# ------------------------------------------------------------------------------------------ recording the facts

def test_recording_the_funds_facts_is_audited_and_checked(session, make_case, supervisor, now):
    case = make_case(violations=("no_union", "unpaid_funds"))
    version = case.version
    event = record_funds_facts(session, case.id, actor=supervisor, now=now, has_union=False,
                               union_help_started_on="2025-11-10", expected_version=version)
    assert (case.has_union, case.union_help_started_on) == (False, dt.date(2025, 11, 10))
    assert event.action == "case.funds_facts_recorded" and case.version == version + 1
    assert event.details["after"] == {"has_union": False, "union_help_started_on": "2025-11-10"}
    assert record_funds_facts(session, case.id, actor=supervisor, now=now, has_union=False,
                              union_help_started_on=dt.date(2025, 11, 10)) is None   # nothing changes
    with pytest.raises(ValidationFailed, match="不能晚于今天") as raised:
        record_funds_facts(session, case.id, actor=supervisor, now=now, has_union=False,
                           union_help_started_on="2026-11-25")
    assert raised.value.field == "union_help_started_on"
    with pytest.raises(ValidationFailed, match="第四十三条"):
        record_funds_facts(session, case.id, actor=supervisor, now=now, has_union=True,
                           union_help_started_on="2025-11-10")
    with pytest.raises(ValidationFailed, match="格式如"):
        record_funds_facts(session, case.id, actor=supervisor, now=now, has_union=False,
                           union_help_started_on="2025-13-01")
    with pytest.raises(ValidationFailed, match="格式如"):
        record_funds_facts(session, case.id, actor=supervisor, now=now, has_union=False,
                           union_help_started_on="x" * 5000)
    assert case.union_help_started_on == dt.date(2025, 11, 10)


def test_the_case_page_records_the_funds_facts(session, make_case, supervisor, client):
    case = make_case(violations=("unpaid_funds",))
    web_ = web.__wrapped__(client, session, supervisor)
    page = web_.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "经费认定" in page and "按企业登记信息（已建立）" in page
    bad = web_.post(f"/cases/{case.id}/funds", data={"funds-has_union": "no", "funds-version": case.version,
                                                      "funds-union_help_started_on": "2099-01-01"})
    assert bad.status_code == 422 and "不能晚于今天" in bad.get_data(as_text=True)
    ok = web_.post(f"/cases/{case.id}/funds", data={"funds-has_union": "no", "funds-version": case.version,
                                                     "funds-union_help_started_on": "2025-11-10"})
    assert ok.status_code == 302
    session.expire_all()
    assert case.union_help_started_on == dt.date(2025, 11, 10) and case.has_union is False
    page = web_.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "2025年11月10日" in page and "记录经费认定情况" in page


# ------------------------------------------------------------------------------------------ the arrears in letters

def _demand(session, case, supervisor, day):
    fire_trigger(session, case.id, "record_visit", {**VISIT, "visited_on": day}, actor=supervisor, now=at(day))
    return case


def test_a_unit_without_a_union_owes_from_the_help_date_and_the_letter_says_why(
        session, make_case, make_enterprise, supervisor, now):
    case = make_case(violations=("no_union", "unpaid_funds"), enterprise=make_enterprise(has_union=False))
    draft = draft_snapshot(session, case, "payment_demand", issuer=case.jurisdiction, started=[],
                           today=dt.date(2026, 11, 24), case_file=CaseFile(dues={"payment_demand": None}))
    assert draft["arrears"]["months"] == []          # no help recorded: nothing is owed (BJM 55(3))
    record_funds_facts(session, case.id, actor=supervisor, now=now, has_union=False,
                       union_help_started_on="2026-06-10")
    draft = draft_snapshot(session, case, "payment_demand", issuer=case.jurisdiction, started=[],
                           today=dt.date(2026, 11, 24), case_file=CaseFile(dues={"payment_demand": dt.date(2026, 12, 9)}))
    assert [m["month"] for m in draft["arrears"]["months"]] == ["2026-06", "2026-07", "2026-08", "2026-09",
                                                                "2026-10"]
    assert draft["arrears"]["basis"] == {"due_day_on_time": True, "has_union": False, "owed_from": "2026-06-10",
                                         "claimed_on": None}
    draft.update(issued_on="2026-11-24", signatory={"name": "张国栋"})
    data = letters.render("payment_demand", draft, number=None, verification=None, preview=True)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        text = "".join("".join((p.extract_text() or "").split()) for p in pdf.pages)
    assert "第五十五条第三款" in text and "2026年6月10日" in text
    assert "第四十三条" not in text                  # TUL 43 is for units with a union
    # 500,000.00 × 2% = 10,000.00 a month, five months; June: due 2026-07-15, 132 days to 2026-11-24 → 6,600.00
    assert "2026年6月至2026年10月" in text and "50,000.00" in text and "6,600.00" in text


def test_a_unit_with_a_union_cites_tul_43_and_the_15th_follows_configuration(app, session, make_case):
    case = make_case(violations=("unpaid_funds",))
    assert case.enterprise.has_union
    kwargs = dict(issuer=case.jurisdiction, started=[], today=dt.date(2026, 11, 24),
                  case_file=CaseFile(dues={"payment_demand": dt.date(2026, 12, 9)}))
    draft = draft_snapshot(session, case, "payment_demand", **kwargs)
    assert len(draft["arrears"]["months"]) == 6 and draft["arrears"]["basis"]["due_day_on_time"] is True
    draft.update(issued_on="2026-11-24", signatory={"name": "张国栋"})
    text = _read(draft)
    assert "第四十三条" in text and "第三款" not in text and "15日当日缴付的不计滞纳金" in text
    app.config["UNION_FUNDS_DUE_DAY_ON_TIME"] = False
    try:
        strict = draft_snapshot(session, case, "payment_demand", **kwargs)
    finally:
        app.config["UNION_FUNDS_DUE_DAY_ON_TIME"] = True
    assert strict["arrears"]["basis"]["due_day_on_time"] is False
    strict.update(issued_on="2026-11-24", signatory={"name": "张国栋"})
    strict_text = _read(strict)
    assert "15日当日缴付的按逾期计" in strict_text
    # Six months of 10,000.00, each one day later: 6 × 10,000.00 × 0.5% = 300.00 more in late fees.
    fee = lambda t: float(re.search(r"滞纳金([\d,]+\.\d\d)元", t).group(1).replace(",", ""))  # noqa: E731
    assert round(fee(strict_text) - fee(text), 2) == 300.00


def test_months_beyond_the_limitation_are_flagged_in_the_letter_not_added(session, make_case):
    case = make_case(violations=("unpaid_funds",))
    draft = draft_snapshot(session, case, "payment_demand", issuer=case.jurisdiction, started=[],
                           today=dt.date(2026, 11, 24), case_file=CaseFile(dues={"payment_demand": dt.date(2026, 12, 9)}))
    draft["arrears"]["months"] = [{"month": "2023-09", "payroll": "100000.00"},
                                  {"month": "2026-09", "payroll": "100000.00"}]
    draft.update(issued_on="2026-11-24", signatory={"name": "张国栋"})
    text = _read(draft)
    # 2023-09 was due by 2023-10-15; its three years ended on 2026-10-16.
    assert "另有2023年9月应拨缴经费2,000.00元" in text and "诉讼时效" in text and "未计入上述金额" in text
    assert "应补缴工会经费2,000.00元" in text      # September 2026 only


def _read(facts) -> str:
    data = letters.render("payment_demand", facts, number=None, verification=None, preview=True)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "".join("".join((p.extract_text() or "").split()) for p in pdf.pages)


# ------------------------------------------------------------------------------------------ addressees and wording

def _to_recommendation(session, case, supervisor, send_letters):
    fire_trigger(session, case.id, "record_visit", {**VISIT, "visited_on": "2026-01-06"}, actor=supervisor,
                 now=at("2026-01-06"))
    send_letters(case.id, at("2026-01-06"))
    refuse_after_visit(session, case.id, actor=supervisor, now=at("2026-02-02"))
    fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=at("2026-02-02"))
    send_letters(case.id, at("2026-02-02"))
    fire_trigger(session, case.id, "record_refusal", {"refused_on": "2026-02-05", "summary": "你单位负责人拒绝整改。"},
                 actor=supervisor, now=at("2026-02-05"))
    fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=at("2026-02-06"))
    send_letters(case.id, at("2026-02-06"))
    return {n.notice_type: n for n in notices_of(session, case.id, "issued")}


@pytest.mark.parametrize("violations, addressee, asks", [
    (("no_union",), "北京市朝阳区人力资源和社会保障局：", "第六十四条的规定，依法责令该单位限期改正"),
    (("no_bargaining",), "北京市朝阳区人民政府：", "第六十六条的规定，责令该单位改正"),
    (("no_union", "no_bargaining"), "北京市朝阳区人民政府、北京市朝阳区人力资源和社会保障局：",
     "请北京市朝阳区人力资源和社会保障局依照"),
])
def test_the_recommendation_goes_to_the_body_with_the_power(session, make_case, supervisor, send_letters, store,
                                                            violations, addressee, asks):
    case = make_case(violations=violations)
    letters_ = _to_recommendation(session, case, supervisor, send_letters)
    for notice in letters_.values():
        assert_reads_right(store, notice)
    text = pdf_text(store, letters_["recommendation"])
    assert addressee in text and asks in text
    assert "该单位于2026年2月5日明确拒绝整改：该单位负责人拒绝整改" in text
    # The street committee issued the opinion; the district's recommendation names it, never "本会".
    street = case.jurisdiction.committee_name
    assert f"{street}于2026年2月2日向该单位发出《工会劳动法律监督意见书》" in text
    assert "本会于2026年2月2日" not in text
    items = re.findall(r"（[一二三四]）[^（]*", text.split("三、处理建议")[1])
    assert items and all(i.endswith("；") for i in items[:-1]) and "。" in items[-1] and "；" not in items[-1][-2:]


def test_a_visit_letter_asks_for_a_reply_and_bargaining_not_a_signed_contract(session, make_case, supervisor,
                                                                              send_letters, store):
    case = make_case(violations=("no_bargaining",))
    fire_trigger(session, case.id, "record_visit", {**VISIT, "visited_on": "2026-01-06"}, actor=supervisor,
                 now=at("2026-01-06"))
    [visit] = send_letters(case.id, at("2026-01-06"))
    text = assert_reads_right(store, visit)
    ask = text.split("三、整改告知")[1]
    assert "二十日内给以书面答复" in ask and "平等协商" in ask and "签订集体合同" not in ask


def test_rectification_dates_are_never_before_the_letters_date(session, make_case, supervisor, send_letters, store):
    case = make_case()
    fire_trigger(session, case.id, "record_visit", {**VISIT, "visited_on": "2026-01-06"}, actor=supervisor,
                 now=at("2026-01-06"))
    # The visit letter is approved and issued only on 2026-02-20, after the 30 days given at the visit would have
    # run from the visit: its period runs from service, and the letter says so in words, with no date.
    [visit] = send_letters(case.id, at("2026-02-20"))
    assert "rectification_due" not in visit.snapshot
    text = assert_reads_right(store, visit)
    assert "自收到本告知书之日起30日内完成整改" in text and "2026年2月5日" not in text
    serve_issued(session, case.id, actor=supervisor, served_on=dt.date(2026, 2, 24), now=at("2026-02-24"))
    deadline = session.scalars(select(Deadline).where(Deadline.case_id == case.id,
                                                      Deadline.rule_key == "visit_rectification")).one()
    assert (deadline.start_on, deadline.due_on) == (dt.date(2026, 2, 24), dt.date(2026, 3, 26))
    from compliance.operations.cases import replay_case, stored_replay
    assert replay_case(session, case.id) == stored_replay(session, case)
    # The opinion, long after the visit's rectification date: rectify within the reply period (from its service).
    fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=at("2026-04-01"))
    [opinion] = send_letters(case.id, at("2026-04-10"))
    text = assert_reads_right(store, opinion)
    assert "rectification_due" not in opinion.snapshot and "reply_due" not in opinion.snapshot
    assert "自收到本意见书之日起15个工作日内完成整改并书面答复本会" in text
    assert "2026年3月26日" not in text


def test_the_closing_letter_names_evidence_by_what_it_is(session, make_case, supervisor, send_letters, store, now):
    case = make_case()
    attach_evidence(session, case.id, data=b"%PDF-1.4\n%%EOF\n", filename="scan_0001.pdf",
                    description="朝阳区总工会关于成立工会的批复", actor=supervisor, now=now, store=store)
    fire_trigger(session, case.id, "rectify", {"action_taken": "已成立工会委员会。", "rectified_on": "2026-11-20",
                                               "attachment_ref": "scan_0001.pdf、集体合同备案回执.pdf"},
                 actor=supervisor, now=now)
    [closing] = send_letters(case.id, now)
    text = assert_reads_right(store, closing)
    assert "本会已核验朝阳区总工会关于成立工会的批复、集体合同备案回执等材料" in text
    assert "scan_0001" not in text
    assert "（一）已成立工会委员会。" in text and "；" not in text.split("（一）")[1].split("本会已核验")[0]


# ------------------------------------------------------------------------------------------ the demo

def test_the_demo_letters_follow_the_law(session, store):
    from compliance.demo import load_demo
    load_demo(session, store)
    issued = session.scalars(select(Notice).where(Notice.status == "issued").order_by(Notice.id)).all()
    assert issued
    for notice in issued:
        assert_reads_right(store, notice)
    # The unpaid-funds case against a unit without a union: arrears from the month the higher union started helping.
    demand = session.scalars(select(Notice).where(Notice.notice_type == "payment_demand")).one()
    months = [m["month"] for m in demand.snapshot["arrears"]["months"]]
    assert months[0] == "2025-11" and months[-1] == "2026-08" and len(months) == 10
    assert demand.snapshot["arrears"]["basis"]["has_union"] is False
    text = preview_text(demand)
    assert "第五十五条第三款" in text and "第四十三条" not in text
    # Its earlier letters quote BJM 55(3), not TUL 43 (which is for units with a union).
    for notice in notices_of(session, demand.case_id, "issued"):
        earlier = pdf_text(store, notice)
        assert "第四十三条" not in earlier and "第五十五条第三款" in earlier, notice.notice_type
    referral = session.scalars(select(Notice).where(Notice.notice_type == "tax_referral")).one()
    text = preview_text(referral, demand_ref={"number": "京通北工监催〔2026〕1号", "issued_on": "2026-09-15",
                                              "issuer": demand.snapshot["issuer"]["name"]})
    assert not any(word in text for word in SECOND_PERSON)
    assert f"{demand.snapshot['issuer']['name']}于2026年9月15日向该单位发出《工会经费催缴通知书》" in text
    assert "第五十五条第二款、第三款" in text and "第四十三条" not in text
    events = session.scalars(select(CaseEvent).where(CaseEvent.action == "case.funds_facts_recorded")).all()
    assert len(events) == 2


def test_a_funds_climb_speaks_for_the_union_files_at_the_enterprises_court_and_lists_on_the_stated_basis(
        session, make_case, make_enterprise, supervisor, send_letters, store, client):
    from compliance.testing import CLIMB_DAY, UNPAID_FUNDS_CLIMB
    # The case is the 朝阳 street's; the enterprise is registered in 海淀 (SPC interpretation Art 3: its court).
    enterprise = make_enterprise(has_union=True, address="北京市海淀区中关村大街1号")
    case = make_case(violations=("unpaid_funds",), enterprise=enterprise)
    day = at(CLIMB_DAY)
    for trigger, inputs in UNPAID_FUNDS_CLIMB[:-1]:
        fire_trigger(session, case.id, trigger, inputs, actor=supervisor, now=day)
        send_letters(case.id, day)
    issued = {n.notice_type: n for n in notices_of(session, case.id, "issued")}
    # The payment demand is the union's (BJM 57): its name heads and signs it, no committee chair signs.
    demand = issued["payment_demand"]
    federation = case.jurisdiction.federation_name
    assert demand.snapshot["union"]["name"] == federation
    text = assert_reads_right(store, demand)
    assert text.startswith(federation) and "主任：" not in text
    # The payment order goes to the basic court where the enterprise is, whoever's district the case is in.
    order = issued["payment_order"]
    assert order.snapshot["addressee"]["name"] == "北京市海淀区人民法院"
    assert "此致北京市海淀区人民法院" in assert_reads_right(store, order)
    # The public verification pages name who the paper names: the union, the applicant; and the registry number
    # of the application (which the paper does not print) as 登记号.
    page = client.get(f"/verify/{order.verification_code}").get_data(as_text=True)
    assert "<dt>登记号</dt>" in page and "<dt>发文字号</dt>" not in page and order.snapshot["applicant"]["name"] in page
    page = client.get(f"/verify/{demand.verification_code}").get_data(as_text=True)
    assert "<dt>发文字号</dt>" in page and f"<dd>{federation}</dd>" in page
    # Unpaid funds have no listing article in BJM: the request cites the basis the supervisor stated, not 64/66.
    listing = issued["listing_request"]
    stated = dict(UNPAID_FUNDS_CLIMB)["request_listing"]["legal_basis"]
    assert listing.snapshot["listing_basis"] == stated
    text = assert_reads_right(store, listing)
    assert "".join(stated.split()) in text
    assert "第六十四条" not in text and "第六十六条" not in text
