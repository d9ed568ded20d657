"""The notice pages through the test client: the draft form, submitting, the approvers' queue, approving and
sending back, issuing one or a selection, withdrawing, the preview in a frame, scope and escaping.

Setup is committed before requests are made: a refused request rolls the shared session back and must not take the
test's own rows with it (the outer transaction is still rolled back after each test).
"""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from compliance.models import CaseEvent, Jurisdiction, Notice, Role
from compliance.operations.cases import fire_trigger
from compliance.operations.notices import approve_notice, issue_notice, submit_notice, update_draft
from compliance.testing import UNPAID_FUNDS_CLIMB, VISIT, refuse_after_visit

PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"



def text(response) -> str:
    return response.get_data(as_text=True)


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace("\n", "")


def place(session, code):
    return session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))


def signed_in(app, user):
    client = app.test_client()
    assert client.post("/login", data={"login": user.login, "password": PASSWORD}).status_code == 302
    return client


def state(session, notice_id):
    """What a refused request must leave as it was."""
    session.expire_all()
    n = session.get(Notice, notice_id)
    events = session.scalar(select(CaseEvent.seq).where(CaseEvent.case_id == n.case_id)
                            .order_by(CaseEvent.seq.desc()).limit(1))
    return n.version, n.status, n.snapshot, n.submitted_at, n.rejection_reason, n.number, events


def draft_data(notice, **changes):
    """The draft form as the page fills it, with some fields changed (dotted keys)."""
    from compliance.web.notice_forms import field_name, form_value, stored
    import letters
    data = {"version": str(notice.version)}
    for fact in letters.NOTICE_TYPES[notice.notice_type].editable:
        if fact.type != "arrears_months":
            data[field_name(fact.key)] = form_value(fact, stored(notice.snapshot, fact.key))
    data.update({field_name(k) if "." in k else k: v for k, v in changes.items()})
    return data


@pytest.fixture
def opinion(session, make_case, make_enterprise, supervisor, send_letters, now):
    """A street case whose visit letter went out and whose opinion letter has just been drafted."""
    def factory(name="北京堃昇喆玥科技有限公司", actor=None):
        actor = actor or supervisor
        case = make_case(enterprise=make_enterprise(name=name))
        fire_trigger(session, case.id, "record_visit", VISIT, actor=actor, now=now)
        send_letters(case.id, now)
        refuse_after_visit(session, case.id, actor=actor, now=now)  # the visit letter's period has not run
        [draft] = fire_trigger(session, case.id, "issue_opinion", {}, actor=actor, now=now).notices
        return draft
    return factory


@pytest.fixture
def world(session, opinion, approver, make_user, make_enterprise, now, supervisor):
    """A draft in scope and one in 海淀 (out of the 朝阳 users' scope), both submitted; committed."""
    home = opinion()
    submit_notice(session, home.id, actor=supervisor, now=now)
    haidian = place(session, "110108")
    away_supervisor = make_user(jurisdiction=haidian)
    from compliance.operations.cases import open_case
    case = open_case(session, enterprise=make_enterprise(jurisdiction=haidian, name="北京海淀某科技有限公司"),
                     violations=["no_union"], opened_by=away_supervisor, supervisors=[away_supervisor], now=now)
    [away_visit] = fire_trigger(session, case.id, "record_visit", VISIT, actor=away_supervisor, now=now).notices
    submit_notice(session, away_visit.id, actor=away_supervisor, now=now)
    session.commit()
    return {"home": home, "away": away_visit}


# ------------------------------------------------------------------------------------------------ the draft form

def test_the_draft_form_is_the_declared_schema_and_saves_it(app, session, opinion, supervisor, now):
    draft = opinion()
    session.commit()
    client = signed_in(app, supervisor)
    page = text(client.get(f"/notices/{draft.id}/edit"))
    for label in ("收文单位", "走访日期", "查明的事实", "其他整改要求", "整改期限", "书面答复期限", "抄送单位"):
        assert label in page
    assert 'name="rectification_due" type="date"' in page or 'type="date" name="rectification_due"' in page \
        or re.search(r'<input[^>]*name="rectification_due"[^>]*type="date"', page)
    assert "<textarea" in page and 'name="issuer-name"' not in page and "发文字号" in page   # said to be the system's
    assert f'/notices/{draft.id}/preview.pdf' in page
    shown = draft.version
    res = client.post(f"/notices/{draft.id}/edit", data=draft_data(
        draft, findings="职工186人，未建立工会。\r\n\r\n企业负责人拒绝听取宣讲。", cc="朝阳区总工会、 北京市总工会",
        rectification_due="2026-12-31"))
    assert res.status_code == 302, text(res)
    session.expire_all()
    saved = session.get(Notice, draft.id)
    assert saved.snapshot["findings"] == ["职工186人，未建立工会。", "企业负责人拒绝听取宣讲。"]
    assert saved.snapshot["cc"] == ["朝阳区总工会", "北京市总工会"]
    assert saved.snapshot["rectification_due"] == "2026-12-31"
    assert saved.version == shown + 1
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == draft.case_id)
                            .order_by(CaseEvent.seq.desc())).first()
    assert event.action == "notice.draft_updated" and event.actor_id == supervisor.id
    assert set(event.details["changed"]) == {"findings", "cc", "rectification_due"}
    # The same values posted again change nothing (the names typed with 、 are the two saved ones).
    again = client.post(f"/notices/{draft.id}/edit", data=draft_data(saved, cc="朝阳区总工会\n北京市总工会"),
                        follow_redirects=True)
    assert "没有修改任何内容" in text(again)
    session.expire_all()
    assert session.get(Notice, draft.id).version == saved.version


@pytest.mark.parametrize("changes, message, field", [
    ({"issuer-name": "伪造委员会"}, "“发文机关”由系统填写，不能修改", None),
    ({"signatory-name": "伪造主任"}, "“签发人”由系统填写，不能修改", None),
    ({"penalty": "罚款十万元"}, "文书没有“penalty”这一项", None),
    ({"findings": "职" * 501}, "查明的事实第1项超过500字（共501字）", "findings"),
    ({"addressee-name": "北" * 101}, "收文单位不能超过100个字符", "addressee-name"),
    ({"findings": "职工反映企业负责人😀拒绝建会。"}, "无法排印的字符", "findings"),
    ({"rectification_due": "2026-02-30"}, "整改期限应为有效的日期", "rectification_due"),
])
def test_refused_edits_say_why_in_chinese_and_change_nothing(app, session, opinion, supervisor, changes, message,
                                                              field):
    draft = opinion()
    session.commit()
    before = state(session, draft.id)
    client = signed_in(app, supervisor)
    res = client.post(f"/notices/{draft.id}/edit", data=draft_data(draft, **changes))
    assert res.status_code == 422
    page = text(res)
    assert message in page
    if field:   # shown next to its field: the error follows the field's input
        assert page.index(message) > page.index(f'name="{field}"')
    assert state(session, draft.id) == before


def test_a_stale_form_names_who_changed_the_draft_and_changes_nothing(app, session, opinion, supervisor, make_user,
                                                                      now):
    draft = opinion()
    shown = draft.version
    colleague = make_user(name="赵敏")
    update_draft(session, draft.id, {"requirements": ["依法组建工会"]}, actor=colleague, now=now)
    session.commit()
    before = state(session, draft.id)
    client = signed_in(app, supervisor)
    data = draft_data(draft, findings="改写的事实。")
    data["version"] = str(shown)
    res = client.post(f"/notices/{draft.id}/edit", data=data)
    assert res.status_code == 409
    assert "此文书已由 赵敏 于 2026-11-24 10:00 修改，请刷新" in text(res)
    assert state(session, draft.id) == before


def test_arrears_rows_are_edited_as_rows(app, session, make_case, supervisor, send_letters, now):
    case = make_case(violations=("unpaid_funds",))
    for trigger, inputs in UNPAID_FUNDS_CLIMB[:6]:
        fire_trigger(session, case.id, trigger, inputs, actor=supervisor, now=now)
        if trigger != "demand_payment":
            send_letters(case.id, now)
    demand = session.scalars(select(Notice).where(Notice.case_id == case.id,
                                                  Notice.notice_type == "payment_demand")).one()
    session.commit()
    client = signed_in(app, supervisor)
    page = text(client.get(f"/notices/{demand.id}/edit"))
    rows = len(demand.snapshot["arrears"]["months"])
    assert page.count('name="arrears-months-month"') == rows + 3      # the months, then three spare rows
    data = draft_data(demand)
    data["arrears-months-month"] = ["2026-02", "2026-01", ""]
    data["arrears-months-payroll"] = ["1,200,000.50", "1000000", ""]
    data["arrears-months-paid"] = ["", "5000", ""]
    assert client.post(f"/notices/{demand.id}/edit", data=data).status_code == 302
    session.expire_all()
    assert session.get(Notice, demand.id).snapshot["arrears"]["months"] == [
        {"month": "2026-01", "payroll": "1000000.00", "paid": "5000.00"},
        {"month": "2026-02", "payroll": "1200000.50"}]
    before = state(session, demand.id)
    data["version"] = str(before[0])
    data["arrears-months-month"] = ["2026-13", "", ""]
    bad = client.post(f"/notices/{demand.id}/edit", data=data)
    assert bad.status_code == 422 and "第1行的工资月份应为年-月" in text(bad)
    assert state(session, demand.id) == before


# ------------------------------------------------------------------------------------------- submit and approve

def test_submitting_with_facts_missing_is_refused_listing_them(app, session, opinion, supervisor, now):
    draft = opinion()
    update_draft(session, draft.id, {"findings": [], "addressee.name": ""}, actor=supervisor, now=now)
    session.commit()
    before = state(session, draft.id)
    client = signed_in(app, supervisor)
    page = text(client.get(f"/notices/{draft.id}/edit"))
    assert "审批前还须填写" in page and "查明的事实" in page and "收文单位" in page
    res = client.post(f"/notices/{draft.id}/submit", data={"version": str(before[0])})
    assert res.status_code == 422
    assert "还缺少：收文单位、查明的事实" in text(res)
    assert state(session, draft.id) == before


def test_submit_puts_the_draft_in_the_queue(app, session, opinion, supervisor, approver):
    draft = opinion()
    session.commit()
    client = signed_in(app, supervisor)
    res = client.post(f"/notices/{draft.id}/submit", data={"version": str(draft.version)})
    assert res.status_code == 302
    session.expire_all()
    saved = session.get(Notice, draft.id)
    assert saved.submitted_at is not None and saved.submitted_by_id == supervisor.id
    queue = text(signed_in(app, approver).get("/approvals"))
    assert f"/approvals/{draft.id}" in queue and "北京堃昇喆玥科技有限公司" in queue and supervisor.name in queue


def test_the_queue_shows_only_submitted_drafts_in_scope_oldest_first(app, session, world, opinion, supervisor,
                                                                     approver, now):
    later = opinion("北京后提交科技有限公司")
    unsubmitted = opinion("北京未提交科技有限公司")
    submit_notice(session, later.id, actor=supervisor, now=now.replace(hour=now.hour + 1))
    session.commit()
    client = signed_in(app, approver)
    page = text(client.get("/approvals"))
    assert f"/approvals/{world['home'].id}" in page and f"/approvals/{later.id}" in page
    assert page.index(f"/approvals/{world['home'].id}") < page.index(f"/approvals/{later.id}")
    assert f"/approvals/{world['away'].id}" not in page and "北京海淀某科技有限公司" not in page
    assert f"/approvals/{unsubmitted.id}" not in page
    assert "待审批（2）" in page   # the menu counts what this approver may approve


def test_approve_with_the_vice_chair_as_signatory(app, session, world, approver):
    draft = world["home"]
    client = signed_in(app, approver)
    page = text(client.get(f"/approvals/{draft.id}"))
    assert f'<iframe class="preview" src="/notices/{draft.id}/preview.pdf"' in page
    assert "主任 王秀英" in page and "副主任 李卫东" in page
    res = client.post(f"/approvals/{draft.id}", data={"action": "approve", "sign_as": "vice_chair",
                                                      "version": str(draft.version)})
    assert res.status_code == 302
    session.expire_all()
    saved = session.get(Notice, draft.id)
    assert saved.status == "approved" and saved.approved_by_id == approver.id
    assert saved.snapshot["signatory"] == {"name": "李卫东", "title": "副主任"}
    assert f"/approvals/{draft.id}" not in text(client.get("/approvals"))


def test_send_back_returns_the_draft_with_a_comment_its_drafter_reads(app, session, world, approver, supervisor):
    draft = world["home"]
    client = signed_in(app, approver)
    empty = client.post(f"/approvals/{draft.id}", data={"action": "return", "reason": " ", "version": str(draft.version)})
    assert empty.status_code == 422 and "请填写退回意见" in text(empty)
    long = client.post(f"/approvals/{draft.id}", data={"action": "return", "reason": "改" * 1001,
                                                       "version": str(draft.version)})
    assert long.status_code == 422 and "不能超过1000个字符" in text(long)
    res = client.post(f"/approvals/{draft.id}", data={"action": "return", "reason": "请补充职工人数的来源。",
                                                      "version": str(draft.version)})
    assert res.status_code == 302
    session.expire_all()
    saved = session.get(Notice, draft.id)
    assert saved.status == "draft" and saved.submitted_at is None and saved.rejection_reason == "请补充职工人数的来源。"
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == saved.case_id)
                            .order_by(CaseEvent.seq.desc())).first()
    assert event.action == "notice.returned" and event.details["comment"] == "请补充职工人数的来源。"
    drafter = signed_in(app, supervisor)
    form = text(drafter.get(f"/notices/{draft.id}/edit"))
    assert "审批意见（退回修改）" in form and "请补充职工人数的来源。" in form and approver.name in form
    assert "请补充职工人数的来源。" in text(drafter.get(f"/cases/{saved.case_id}"))
    # Editing and submitting again keeps the comment; the draft is back in the queue.
    assert drafter.post(f"/notices/{draft.id}/edit", data=draft_data(saved, findings="职工120人（据社保缴费记录）。")
                        ).status_code == 302
    session.expire_all()
    assert drafter.post(f"/notices/{draft.id}/submit",
                        data={"version": str(session.get(Notice, draft.id).version)}).status_code == 302
    session.expire_all()
    again = session.get(Notice, draft.id)
    assert again.submitted_at is not None and again.rejection_reason == "请补充职工人数的来源。"


def test_a_drafter_cannot_approve_their_own(app, session, opinion, make_user, jurisdiction, now):
    both = make_user(name="既起草又审批", roles={Role.APPROVER, Role.SUPERVISOR})
    draft = opinion(actor=both)
    submit_notice(session, draft.id, actor=both, now=now)
    session.commit()
    before = state(session, draft.id)
    client = signed_in(app, both)
    page = text(client.get(f"/approvals/{draft.id}"))
    assert "您是此文书的起草人，不能审批自己起草的文书" in page
    assert "待审批（" not in page   # own drafts are not counted as waiting for this approver
    res = client.post(f"/approvals/{draft.id}", data={"action": "approve", "sign_as": "chair",
                                                      "version": str(draft.version)})
    assert res.status_code == 409 and "文书须由起草人以外的审批领导审批" in text(res)
    assert state(session, draft.id) == before


def test_a_leader_who_edited_the_draft_cannot_approve_it_on_the_page_or_the_command_line(
        app, runner, session, opinion, supervisor, approver, make_user, now):
    """Four eyes: the leader corrects the facts on the draft form, the drafter submits; that leader's queue marks
    it, the menu does not count it, the approval page explains and the approval is refused (page and CLI) with
    nothing changed. Another leader of the committee, who did not edit it, approves it."""
    from compliance.cli import main
    draft = opinion()
    session.commit()
    leader = signed_in(app, approver)
    assert leader.post(f"/notices/{draft.id}/edit", data=draft_data(draft, requirements="依法组建工会")
                       ).status_code == 302
    session.expire_all()
    submit_notice(session, draft.id, actor=supervisor, now=now)
    vice = make_user(name="审批副主任", roles={Role.APPROVER}, jurisdiction=place(session, "110105"))
    session.commit()
    before = state(session, draft.id)
    queue = text(leader.get("/approvals"))
    assert f"/approvals/{draft.id}" in queue and "本人修改过" in queue
    assert "待审批（" not in queue   # what they edited is not counted as waiting for them
    assert "已提交、等待我审批（0）" in text(leader.get("/dashboard"))
    page = text(leader.get(f"/approvals/{draft.id}"))
    assert "您修改过此文书草稿的内容，不能审批" in page
    assert re.search(r"<button type=\"submit\" disabled>审批通过</button>", page)
    res = leader.post(f"/approvals/{draft.id}", data={"action": "approve", "sign_as": "chair",
                                                      "version": str(before[0])})
    assert res.status_code == 409 and "您修改过此文书草稿的内容：文书须由未起草、未修改过它的审批领导审批" in text(res)
    assert state(session, draft.id) == before
    cli = runner.invoke(main, ["notices", "approve", str(draft.id), "--by", approver.login], catch_exceptions=False)
    assert cli.exit_code == 1 and "您修改过此文书草稿的内容" in cli.output
    assert state(session, draft.id) == before
    other = signed_in(app, vice)
    assert "待审批（1）" in text(other.get("/approvals"))
    assert "已提交、等待我审批（1）" in text(other.get("/dashboard"))
    res = other.post(f"/approvals/{draft.id}", data={"action": "approve", "sign_as": "chair",
                                                     "version": str(before[0])})
    assert res.status_code == 302
    session.expire_all()
    approved = session.get(Notice, draft.id)
    assert approved.status == "approved" and approved.approved_by_id == vice.id


def test_a_stale_approval_changes_nothing(app, session, world, approver, supervisor, now):
    draft = world["home"]
    shown = draft.version
    update_draft(session, draft.id, {"requirements": ["依法组建工会"]}, actor=supervisor, now=now)
    session.commit()
    before = state(session, draft.id)
    res = signed_in(app, approver).post(f"/approvals/{draft.id}", data={"action": "approve", "sign_as": "chair",
                                                                        "version": str(shown)})
    assert res.status_code == 409 and f"此文书已由 {supervisor.name} 于" in text(res)
    assert state(session, draft.id) == before


# ---------------------------------------------------------------------------------------------------- issuing

def test_issue_one_from_the_case_page(app, session, opinion, approver, supervisor, now, jurisdiction):
    draft = opinion()
    approve_notice(session, draft.id, approver=approver, now=now)
    session.commit()
    client = signed_in(app, supervisor)
    case_page = text(client.get(f"/cases/{draft.case_id}"))
    assert f'action="/notices/{draft.id}/issue"' in case_page
    res = client.post(f"/notices/{draft.id}/issue", data={"version": str(draft.version)})
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/cases/{draft.case_id}")
    session.expire_all()
    issued = session.get(Notice, draft.id)
    assert issued.status == "issued" and issued.number == f"{jurisdiction.issuer_code}意〔2026〕1号"
    assert client.get(f"/notices/{draft.id}.pdf").status_code == 200


def _approved(session, opinion, approver, count, now):
    ids = []
    for i in range(count):
        draft = opinion(f"北京批量{i}科技有限公司")
        approve_notice(session, draft.id, approver=approver, now=now)
        ids.append(draft.id)
    session.commit()
    return ids


def test_issue_a_selection_lists_each_number(app, session, opinion, approver, supervisor, now, jurisdiction):
    ids = _approved(session, opinion, approver, 3, now)
    client = signed_in(app, supervisor)
    listing = text(client.get("/notices/approved"))
    for notice_id in ids:
        assert f'name="ids" value="{notice_id}"' in listing
    res = client.post("/notices/issue", data={"ids": [str(i) for i in ids]})
    assert res.status_code == 200
    page = text(res)
    code = jurisdiction.issuer_code
    for seq in (1, 2, 3):
        assert f"{code}意〔2026〕{seq}号" in page
    assert "已签发 3 份" in page
    session.expire_all()
    assert {session.get(Notice, i).status for i in ids} == {"issued"}
    again = client.post("/notices/issue", data={"ids": [str(i) for i in ids]})   # sent twice: nothing more
    assert again.status_code == 200 and f"{code}意〔2026〕4号" not in text(again)


def test_a_large_selection_goes_on_chunk_by_chunk(app, session, opinion, approver, supervisor, now, jurisdiction,
                                                  monkeypatch):
    import compliance.web.notices as pages
    monkeypatch.setattr(pages, "WEB_CHUNK", 2)
    ids = _approved(session, opinion, approver, 5, now)
    client = signed_in(app, supervisor)
    data = {"ids": [str(i) for i in ids]}
    steps = 0
    while True:
        res = client.post("/notices/issue", data=data)
        assert res.status_code == 200
        page = text(res)
        steps += 1
        if "data-autosubmit" not in page:
            break
        assert '<script src="/static/notices.js"></script>' in page and "继续签发下一批" in page
        session.expire_all()
        assert sum(session.get(Notice, i).status == "issued" for i in ids) == min(2 * steps, 5)
        form = dict(ids=re.findall(r'name="ids" value="(\d+)"', page), skip=re.findall(r'name="skip" value="(\d+)"', page))
        assert form["ids"] == data["ids"]
        data = form
    assert steps == 3 and "签发结果" in page
    session.expire_all()
    numbers = sorted(session.get(Notice, i).seq for i in ids)
    assert numbers == [1, 2, 3, 4, 5]


def test_a_refused_notice_in_a_selection_is_named_and_the_rest_go_out(app, session, opinion, approver, supervisor,
                                                                      now, jurisdiction):
    ids = _approved(session, opinion, approver, 3, now)
    broken = session.get(Notice, ids[1])
    broken.snapshot = {**broken.snapshot, "findings": ["職工\ue000"]}   # stored before the font check existed
    session.commit()
    res = signed_in(app, supervisor).post("/notices/issue", data={"ids": [str(i) for i in ids]})
    assert res.status_code == 200
    page = text(res)
    assert f"文书 {ids[1]}：" in page and "U+E000" in page and "1 份未能签发" in page
    session.expire_all()
    assert [session.get(Notice, i).status for i in ids] == ["issued", "approved", "issued"]
    assert sorted(session.get(Notice, i).seq for i in (ids[0], ids[2])) == [1, 2]   # no gap for the refused one


def test_withdraw_needs_a_reason_and_drafts_the_withdrawal(app, session, opinion, approver, supervisor, store, now):
    draft = opinion()
    approve_notice(session, draft.id, approver=approver, now=now)
    issue_notice(session, draft.id, actor=supervisor, now=now, store=store)
    session.commit()
    client = signed_in(app, supervisor)
    assert "撤回理由" in text(client.get(f"/notices/{draft.id}/withdraw"))
    empty = client.post(f"/notices/{draft.id}/withdraw", data={"reason": ""})
    assert empty.status_code == 422 and "请填写撤回理由" in text(empty)
    res = client.post(f"/notices/{draft.id}/withdraw", data={"reason": "统一社会信用代码有误"})
    assert res.status_code == 302
    withdrawal = session.scalars(select(Notice).where(Notice.withdraws_id == draft.id)).one()
    assert res.headers["Location"].endswith(f"/notices/{withdrawal.id}/edit")
    assert withdrawal.status == "draft" and withdrawal.snapshot["reason"] == "统一社会信用代码有误"
    assert "统一社会信用代码有误" in text(client.get(f"/notices/{withdrawal.id}/edit"))
    twice = client.post(f"/notices/{draft.id}/withdraw", data={"reason": "再撤一次"})
    assert twice.status_code == 409 and "已有待签发的撤回通知" in text(twice)


# ------------------------------------------------------------------------------------------ scope and escaping

def test_out_of_scope_ids_answer_404_on_every_route(app, session, world, make_user, approver, supervisor):
    away = world["away"].id
    routes = [("get", f"/notices/{away}/edit"), ("post", f"/notices/{away}/edit"), ("post", f"/notices/{away}/submit"),
              ("get", f"/approvals/{away}"), ("post", f"/approvals/{away}"), ("post", f"/notices/{away}/issue"),
              ("get", f"/notices/{away}/withdraw"), ("post", f"/notices/{away}/withdraw"),
              ("get", f"/notices/{away}/preview.pdf")]
    before = state(session, away)
    for user in (approver, make_user(roles={Role.APPROVER, Role.SUPERVISOR})):
        session.commit()
        client = signed_in(app, user)
        for method, url in routes:
            res = getattr(client, method)(url, data={"version": "1", "action": "approve", "reason": "x"})
            assert res.status_code == 404, (method, url, res.status_code)
        assert client.post("/notices/issue", data={"ids": [str(away)]}).status_code == 404
        assert client.get("/notices/2147483647/edit").status_code == 404
    assert state(session, away) == before


def test_the_wrong_role_is_forbidden(app, session, world, make_user):
    auditor = make_user(roles={Role.AUDITOR})
    session.commit()
    client = signed_in(app, auditor)
    home = world["home"].id
    for method, url in [("get", f"/notices/{home}/edit"), ("get", "/approvals"), ("get", f"/approvals/{home}"),
                        ("get", "/notices/approved"), ("post", "/notices/issue"), ("post", f"/notices/{home}/submit")]:
        assert getattr(client, method)(url).status_code == 403, url
    assert "待审批" not in text(client.get("/cases"))


def test_markup_in_an_enterprise_name_is_escaped(app, session, opinion, supervisor, approver, now):
    draft = opinion(name=f"北京{XSS}有限公司")
    submit_notice(session, draft.id, actor=supervisor, now=now)
    session.commit()
    for client, url in ((signed_in(app, approver), "/approvals"), (signed_in(app, approver), f"/approvals/{draft.id}"),
                        (signed_in(app, supervisor), f"/notices/{draft.id}/edit")):
        page = text(client.get(url))
        assert XSS_ESCAPED in page and XSS not in page, url


def test_notice_pages_carry_no_inline_script_or_style(app, session, world, approver):
    client = signed_in(app, approver)
    home = world["home"].id
    for url in ("/approvals", f"/approvals/{home}", f"/notices/{home}/edit", "/notices/approved"):
        page = text(client.get(url))
        assert " style=" not in page and "javascript:" not in page, url
        for tag in re.findall(r"<script[^>]*>.*?</script>", page, re.S):
            assert re.fullmatch(r'<script src="/static/[a-z]+\.js"></script>', tag), (url, tag)


# ------------------------------------------------------------------------------------------------------ preview

def test_the_preview_may_be_framed_by_our_own_pages_only(app, session, world, approver):
    client = signed_in(app, approver)
    home = world["home"].id
    preview = client.get(f"/notices/{home}/preview.pdf")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    csp = preview.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "frame-ancestors 'none'" not in csp
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    for url in (f"/approvals/{home}", "/approvals", f"/notices/{home}/edit"):
        res = client.get(url)
        assert "frame-ancestors 'none'" in res.headers["Content-Security-Policy"], url
        assert res.headers["X-Frame-Options"] == "DENY", url


def test_tax_referral_preview_of_an_incomplete_draft_shows_what_is_missing(app, session, make_case, supervisor,
                                                                          send_letters, now):
    case = make_case(violations=("unpaid_funds",))
    for trigger, inputs in UNPAID_FUNDS_CLIMB[:6]:
        fire_trigger(session, case.id, trigger, inputs, actor=supervisor, now=now)
        if trigger != "demand_payment":
            send_letters(case.id, now)
    referral = session.scalars(select(Notice).where(Notice.case_id == case.id,
                                                    Notice.notice_type == "tax_referral")).one()
    session.commit()
    res = signed_in(app, supervisor).get(f"/notices/{referral.id}/preview.pdf")
    assert res.status_code == 200
    printed = pdf_text(res.data)
    assert "【待填写：所依据的催缴通知书】" in printed and "草稿" in printed


def test_a_snapshot_with_an_uncovered_character_previews_as_a_chinese_422(app, session, opinion, supervisor):
    draft = opinion()
    draft.snapshot = {**draft.snapshot, "findings": ["企业负责人😀拒绝建会。"]}   # bypassing the form, as old data
    session.commit()
    res = signed_in(app, supervisor).get(f"/notices/{draft.id}/preview.pdf")
    assert res.status_code == 422 and res.mimetype == "text/html"
    assert "无法排印的字符" in text(res) and "U+1F600" in text(res)
    assert "frame-ancestors 'self'" in res.headers["Content-Security-Policy"]   # readable inside the frame


def test_placeholders_pass_through_the_date_and_money_filters():
    from letters.formatting import cn_date, cn_month, money, money_upper
    for f in (cn_date, cn_month, money, money_upper):
        assert f("【待填写：滞纳金计算截止日期】") == "【待填写：滞纳金计算截止日期】"
    assert cn_date("2026-11-24") == "2026年11月24日" and cn_month("") == ""
    with pytest.raises(ValueError):
        cn_date("待填写")


# --------------------------------------------------------------------------------------------------------- CLI

def test_cli_submit_and_return(runner, session, opinion, supervisor, approver):
    from compliance.cli import main
    draft = opinion()
    session.commit()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    done = invoke("notices", "submit", str(draft.id), "--by", supervisor.login)
    assert done.exit_code == 0, done.output
    session.expire_all()
    assert session.get(Notice, draft.id).submitted_at is not None
    again = invoke("notices", "submit", str(draft.id), "--by", supervisor.login)
    assert again.exit_code == 1 and "已提交审批" in again.output
    sent = invoke("notices", "return", str(draft.id), "--by", approver.login, "--reason", "请补充")
    assert sent.exit_code == 0, sent.output
    session.expire_all()
    back = session.get(Notice, draft.id)
    assert back.status == "draft" and back.submitted_at is None and back.rejection_reason == "请补充"
    empty = invoke("notices", "return", str(draft.id), "--by", approver.login, "--reason", " ")
    assert empty.exit_code == 1 and "退回须说明理由" in empty.output
