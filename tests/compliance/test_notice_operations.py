"""Notices through their life: draft, approval by another person, gapless numbers, archive, verification."""
from __future__ import annotations

import hashlib
import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from compliance.testing import refuse_after_visit
from compliance.documents import DocumentStore, StoreUnavailable
from compliance.errors import Forbidden, NotAllowed, NotFound, ValidationFailed
from compliance.models import Notice, Role, SequenceCounter
from compliance.operations.cases import fire_trigger
from compliance.operations.notices import (approve_notice, issue_notice, preview_pdf, request_withdrawal,
                                           return_notice, submit_notice, update_draft)


def pdf_text(data: bytes) -> str:
    """The PDF's text layer with line breaks removed (lines wrap anywhere in Chinese text)."""
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace("\n", "")


@pytest.fixture
def opinion_draft(session, make_case, make_enterprise, supervisor, now):
    """A case whose opinion letter has just been drafted (visit recorded, opinion issued on the ladder)."""
    def factory(name="北京堃昇喆玥科技有限公司"):
        case = make_case(enterprise=make_enterprise(name=name))
        fire_trigger(session, case.id, "record_visit", {"visited_on": "2026-11-20", "findings": "职工120人，未建立工会。",
                                                        "supervisors": ["王芳", "李强"]}, actor=supervisor, now=now)
        refuse_after_visit(session, case.id, actor=supervisor, now=now)  # the visit letter's period has not run
        result = fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=now)
        [notice] = result.notices
        return notice
    return factory


def test_draft_approve_issue_archive(session, opinion_draft, approver, supervisor, store, now, client, jurisdiction):
    notice = opinion_draft()
    assert notice.status == "draft" and notice.number is None
    approve_notice(session, notice.id, approver=approver, now=now)
    issued = issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    assert issued.status == "issued"
    assert issued.number == f"{jurisdiction.issuer_code}意〔2026〕1号"
    data = store.get(issued.sha256)
    assert hashlib.sha256(data).hexdigest() == issued.sha256
    text = pdf_text(data)
    for expected in (issued.number, "北京堃昇喆玥科技有限公司", "2026年11月24日", "主任：王秀英", issued.verification_code):
        assert expected in text, expected
    assert issued.snapshot["issued_on"] == "2026-11-24" and issued.template_version


def test_drafter_cannot_approve_and_supervisor_is_not_an_approver(session, opinion_draft, make_user, supervisor, now):
    notice = opinion_draft()
    both = make_user(roles={Role.APPROVER, Role.SUPERVISOR})
    notice.drafted_by_id = both.id
    session.flush()
    with pytest.raises(NotAllowed, match="起草人以外"):
        approve_notice(session, notice.id, approver=both, now=now)
    with pytest.raises(Forbidden):
        approve_notice(session, notice.id, approver=supervisor, now=now)
    assert session.get(Notice, notice.id).status == "draft"


def test_numbers_are_gapless_and_drafts_sent_back_leave_no_gap(session, opinion_draft, approver, supervisor, store,
                                                               now, jurisdiction):
    first, returned, second = opinion_draft("北京甲公司"), opinion_draft("北京乙公司"), opinion_draft("北京丙公司")
    return_notice(session, returned.id, approver=approver, reason="事实部分需补充", now=now)
    for n in (first, second):
        approve_notice(session, n.id, approver=approver, now=now)
        issue_notice(session, n.id, actor=supervisor, now=now, store=store)
    code = jurisdiction.issuer_code
    assert [first.number, second.number] == [f"{code}意〔2026〕1号", f"{code}意〔2026〕2号"]
    # Sent back, it is a draft again, with the comment its drafter reads; it never took a number.
    assert returned.number is None and returned.status == "draft" and returned.rejection_reason == "事实部分需补充"


def test_failure_after_number_allocation_gives_the_number_back(session, opinion_draft, approver, supervisor, store,
                                                               now, jurisdiction, tmp_path):
    broken, good = opinion_draft("北京甲公司"), opinion_draft("北京乙公司")
    for n in (broken, good):
        approve_notice(session, n.id, approver=approver, now=now)
    session.commit()   # a savepoint in the test: the approvals stay

    # A store that cannot be written: its root is a file (the OS refuses every folder under it).
    blocked = tmp_path / "not-a-folder"
    blocked.write_bytes(b"")
    with pytest.raises(StoreUnavailable, match="文号未占用"):
        issue_notice(session, broken.id, actor=supervisor, now=now, store=DocumentStore(blocked))
    session.rollback()
    assert session.get(Notice, broken.id).number is None
    issued = issue_notice(session, good.id, actor=supervisor, now=now, store=store)
    assert issued.number == f"{jurisdiction.issuer_code}意〔2026〕1号"


def test_a_character_no_font_covers_is_refused_when_typed(session, opinion_draft, supervisor, now):
    notice = opinion_draft()
    before = dict(notice.snapshot)
    with pytest.raises(ValidationFailed, match="U\\+1F600") as refused:
        update_draft(session, notice.id, {"findings": ["职工反映企业负责人😀拒绝建会。"]}, actor=supervisor, now=now)
    assert "no bundled font" not in refused.value.message and "无法排印" in refused.value.message
    assert session.get(Notice, notice.id).snapshot == before


def test_missing_glyph_stops_the_issue_before_a_number(session, opinion_draft, approver, supervisor, store, now):
    notice = opinion_draft(name="北京\ue000科技有限公司")   # a name registered before the font check existed
    with pytest.raises(ValidationFailed, match="U\\+E000"):
        approve_notice(session, notice.id, approver=approver, now=now)
    assert session.get(Notice, notice.id).status == "draft"
    assert session.scalar(select(SequenceCounter).where(SequenceCounter.kind == "opinion",
                                                        SequenceCounter.jurisdiction_id == notice.issuer_id)) is None


def test_issued_notices_are_frozen(session, opinion_draft, approver, supervisor, store, now):
    notice = opinion_draft()
    approve_notice(session, notice.id, approver=approver, now=now)
    with pytest.raises(NotAllowed):
        update_draft(session, notice.id, {"findings": ["改写"]}, actor=supervisor, now=now)
    issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    with pytest.raises(NotAllowed):
        issue_notice(session, notice.id, actor=supervisor, now=now, store=store)


def test_preview_is_watermarked_and_unnumbered(opinion_draft):
    notice = opinion_draft()
    text = pdf_text(preview_pdf(notice))
    assert "草稿" in text and "〔2026〕" not in text.replace("案〔2026〕", "")


def test_withdrawal_notice_references_the_original_which_stays(session, opinion_draft, approver, supervisor, store,
                                                               now, make_user):
    original = opinion_draft()
    approve_notice(session, original.id, approver=approver, now=now)
    issue_notice(session, original.id, actor=supervisor, now=now, store=store)
    original_bytes = store.get(original.sha256)
    withdrawal = request_withdrawal(session, original.id, actor=supervisor, reason="统一社会信用代码有误", now=now)
    approve_notice(session, withdrawal.id, approver=approver, now=now)
    issue_notice(session, withdrawal.id, actor=supervisor, now=now, store=store)
    assert session.get(Notice, original.id).status == "withdrawn"
    assert store.get(original.sha256) == original_bytes
    text = pdf_text(store.get(withdrawal.sha256))
    assert original.number in text and "统一社会信用代码有误" in text
    assert "撤" in withdrawal.number


def test_public_verification_shows_only_public_fields(session, opinion_draft, approver, supervisor, store, now, client):
    notice = opinion_draft()
    approve_notice(session, notice.id, approver=approver, now=now)
    issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    page = client.get(f"/verify/{notice.verification_code}").get_data(as_text=True)
    for shown in (notice.number, "工会劳动法律监督意见书", notice.sha256, "成文日期</dt><dd>2026年11月24日", "北京堃昇喆玥科技有限公司"):
        assert shown in page
    for hidden in ("职工120人", notice.snapshot["enterprise"]["uscc"], "王芳"):
        assert hidden not in page
    assert client.get("/verify/NOSUCHCODE").status_code == 404


def test_verification_upload_checks_the_hash(session, opinion_draft, approver, supervisor, store, now, client):
    notice = opinion_draft()
    approve_notice(session, notice.id, approver=approver, now=now)
    issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    data = store.get(notice.sha256)
    ok = client.post("/verify", data={"pdf": (io.BytesIO(data), "n.pdf")}, content_type="multipart/form-data")
    assert "文件与存档一致" in ok.get_data(as_text=True) and notice.number in ok.get_data(as_text=True)
    bad = client.post("/verify", data={"pdf": (io.BytesIO(data + b"%"), "n.pdf")}, content_type="multipart/form-data")
    assert "没有与此文件一致" in bad.get_data(as_text=True)


def test_downloaded_pdf_is_the_archived_bytes(session, opinion_draft, approver, supervisor, store, now, client):
    notice = opinion_draft()
    approve_notice(session, notice.id, approver=approver, now=now)
    issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    client.post("/login", data={"login": supervisor.login, "password": "correct horse battery"})
    res = client.get(f"/notices/{notice.id}.pdf")
    assert res.status_code == 200 and hashlib.sha256(res.data).hexdigest() == notice.sha256


def test_markup_in_facts_is_text_and_fetches_nothing(session, opinion_draft, approver, supervisor, store, now):
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 0.2
    port = server.server_address[1]
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            server.handle_request()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        name = f'北京<b>粗体</b><img src="http://127.0.0.1:{port}/x">公司'
        notice = opinion_draft(name)
        approve_notice(session, notice.id, approver=approver, now=now)
        issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
        text = pdf_text(store.get(notice.sha256))
        assert "<b>粗体</b>" in text and f"127.0.0.1:{port}" in text
    finally:
        stop.set()
        thread.join(timeout=5)
        server.server_close()
    assert hits == []


def test_the_reply_period_runs_from_the_letters_service(session, make_case, supervisor, approver, store):
    import datetime as dt

    from compliance.operations.cases import case_deadlines, replay_case, stored_replay
    from compliance.operations.service import record_service
    beijing = dt.timezone(dt.timedelta(hours=8))
    case = make_case(at=dt.datetime(2026, 11, 2, 9, tzinfo=beijing))
    fire_trigger(session, case.id, "record_visit", {"visited_on": "2026-11-03", "findings": "未建会",
                                                    "supervisors": ["王芳", "李强"]},
                 actor=supervisor, now=dt.datetime(2026, 11, 3, 9, tzinfo=beijing))
    drafted = dt.datetime(2026, 11, 16, 9, tzinfo=beijing)          # Monday: the step drafts the letter
    refuse_after_visit(session, case.id, actor=supervisor, now=drafted)  # the visit letter's period has not run
    [notice] = fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=drafted).notices
    assert case.opinion_reply_due is None                              # 待送达: no date before service
    assert notice.snapshot["reply_period"] == "自收到本意见书之日起15个工作日内"
    approve_notice(session, notice.id, approver=approver, now=drafted)
    issued = dt.datetime(2026, 11, 19, 15, tzinfo=beijing)          # Thursday: the letter goes out
    issue_notice(session, notice.id, actor=supervisor, now=issued, store=store)
    assert case.opinion_reply_due is None and case.opinion_issued_on == dt.date(2026, 11, 19)
    reply = next(d for d in case_deadlines(session, case.id) if d.rule_key == "opinion_reply")
    assert (reply.status, reply.start_on, reply.due_on) == ("awaiting_service", None, None)
    # The letter prints the period in words, never a date computed before service.
    assert "reply_due" not in notice.snapshot
    text = pdf_text(store.get(notice.sha256)).replace("\n", "")
    # the visit's rectification date is not known (its letter was never served): rectify within the reply period
    assert "自收到本意见书之日起15个工作日内完成整改并书面答复本会" in text
    # Received on Monday 23 Nov: 24–27 Nov (4), 30 Nov–4 Dec (9), 7–11 Dec (14), Monday 14 Dec (15).
    record_service(session, notice.id, actor=supervisor, now=dt.datetime(2026, 11, 23, 16, tzinfo=beijing),
                   method="邮寄送达", served_on="2026-11-23", served_by=supervisor, tracking_number="1175512345678")
    assert case.opinion_reply_due == dt.date(2026, 12, 14)
    assert (reply.status, reply.start_on, reply.due_on) == ("open", dt.date(2026, 11, 23), dt.date(2026, 12, 14))
    assert replay_case(session, case.id) == stored_replay(session, case)


def test_preview_and_pdf_pages_are_scoped(session, opinion_draft, approver, supervisor, store, now, client, make_user):
    from compliance.models import Jurisdiction
    notice = opinion_draft()
    client.post("/login", data={"login": supervisor.login, "password": "correct horse battery"})
    preview = client.get(f"/notices/{notice.id}/preview.pdf")
    assert preview.status_code == 200 and "草稿" in pdf_text(preview.data)
    assert client.get(f"/notices/{notice.id}.pdf").status_code == 404        # not issued: nothing archived
    approve_notice(session, notice.id, approver=approver, now=now)
    issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    assert client.get(f"/notices/{notice.id}/preview.pdf").status_code == 404  # issued: only the archived PDF
    client.post("/logout")
    haidian = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108"))
    client.post("/login", data={"login": make_user(jurisdiction=haidian).login, "password": "correct horse battery"})
    assert client.get(f"/notices/{notice.id}.pdf").status_code == 404          # out of scope looks absent


def test_an_oversized_verification_upload_is_refused_plainly(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    res = client.post("/verify", data={"pdf": (io.BytesIO(b"%PDF" + b"0" * limit), "big.pdf")},
                      content_type="multipart/form-data")
    assert res.status_code == 413 and "文件过大" in res.get_data(as_text=True)


# ------------------------------------------------------------------------------------- submit and send back

def test_submit_sets_the_queue_fields_and_refuses_twice(session, opinion_draft, supervisor, now):
    from compliance.models import CaseEvent
    notice = opinion_draft()
    submit_notice(session, notice.id, actor=supervisor, now=now, expected_version=notice.version)
    assert (notice.submitted_at, notice.submitted_by_id) == (now, supervisor.id) and notice.status == "draft"
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == notice.case_id)
                            .order_by(CaseEvent.seq.desc())).first()
    assert event.action == "notice.submitted" and event.details["notice_id"] == notice.id
    with pytest.raises(NotAllowed, match="已提交审批"):
        submit_notice(session, notice.id, actor=supervisor, now=now)


def test_submit_with_facts_missing_lists_them_and_changes_nothing(session, opinion_draft, supervisor, now):
    notice = opinion_draft()
    # (the periods print in words from the case's rules: no date is required of the drafter)
    update_draft(session, notice.id, {"findings": [], "addressee.name": ""}, actor=supervisor, now=now)
    version = notice.version
    with pytest.raises(ValidationFailed) as refused:
        submit_notice(session, notice.id, actor=supervisor, now=now)
    assert "还缺少：收文单位、查明的事实" in refused.value.message
    assert refused.value.details["missing"] == ["addressee.name", "findings"]
    assert notice.submitted_at is None and notice.version == version


@pytest.mark.parametrize("role, where, refusal", [
    (Role.SUPERVISOR, "110105", None), (Role.APPROVER, "110105", None), (Role.AUDITOR, "110105", Forbidden),
    (Role.ADMIN, "110105", Forbidden), (Role.SUPERVISOR, "110108", NotFound), (Role.APPROVER, "110108", NotFound),
])
def test_who_may_submit(session, opinion_draft, make_user, now, role, where, refusal):
    from compliance.models import Jurisdiction
    notice = opinion_draft()
    actor = make_user(roles={role}, jurisdiction=session.scalar(select(Jurisdiction).where(Jurisdiction.code == where)))
    if refusal is None:
        submit_notice(session, notice.id, actor=actor, now=now)
        assert notice.submitted_by_id == actor.id
    else:
        with pytest.raises(refusal):
            submit_notice(session, notice.id, actor=actor, now=now)
        assert notice.submitted_at is None


def test_editing_a_submitted_draft_takes_it_out_of_the_queue_and_keeps_the_comment(session, opinion_draft, approver,
                                                                                  supervisor, now):
    notice = opinion_draft()
    submit_notice(session, notice.id, actor=supervisor, now=now)
    return_notice(session, notice.id, approver=approver, reason="请补充走访地点", now=now)
    assert notice.status == "draft" and notice.submitted_at is None and notice.rejection_reason == "请补充走访地点"
    submit_notice(session, notice.id, actor=supervisor, now=now)
    update_draft(session, notice.id, {"requirements": ["依法组建工会"]}, actor=supervisor, now=now)
    assert notice.submitted_at is None and notice.submitted_by_id is None
    assert notice.rejection_reason == "请补充走访地点"


def test_sending_back_an_approved_notice_undoes_the_approval(session, opinion_draft, approver, supervisor, store,
                                                             now):
    notice = opinion_draft()
    approve_notice(session, notice.id, approver=approver, now=now)
    assert notice.snapshot["signatory"]["name"] == "王秀英"
    return_notice(session, notice.id, approver=approver, reason="签发前发现企业名称有误", now=now)
    assert notice.status == "draft" and notice.approved_by_id is None and notice.approved_at is None
    assert "signatory" not in notice.snapshot
    with pytest.raises(NotAllowed):
        issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    approve_notice(session, notice.id, approver=approver, now=now, sign_as="vice_chair")
    issued = issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    assert "副主任：李卫东" in pdf_text(store.get(issued.sha256))


@pytest.mark.parametrize("reason, message", [
    ("", "退回须说明理由"), ("  \n ", "退回须说明理由"), ("改" * 1001, "不能超过1000字"),
    ("请核对\u202e名称", "不可见的控制字符"), (12, "应为文字"),
])
def test_a_send_back_needs_a_readable_comment(session, opinion_draft, approver, now, reason, message):
    notice = opinion_draft()
    with pytest.raises(ValidationFailed, match=message):
        return_notice(session, notice.id, approver=approver, reason=reason, now=now)
    assert notice.rejection_reason == "" and notice.status == "draft"


def test_a_stale_version_names_the_last_person_who_changed_the_notice(session, opinion_draft, make_user, supervisor,
                                                                      approver, now):
    from compliance.errors import Conflict
    notice = opinion_draft()
    seen = notice.version
    colleague = make_user(name="赵敏")
    update_draft(session, notice.id, {"requirements": ["依法组建工会"]}, actor=colleague, now=now)
    for call in (lambda: update_draft(session, notice.id, {"requirements": []}, actor=supervisor, now=now,
                                      expected_version=seen),
                 lambda: submit_notice(session, notice.id, actor=supervisor, now=now, expected_version=seen),
                 lambda: approve_notice(session, notice.id, approver=approver, now=now, expected_version=seen),
                 lambda: return_notice(session, notice.id, approver=approver, reason="x", now=now,
                                       expected_version=seen)):
        with pytest.raises(Conflict, match="此文书已由 赵敏 于 2026-11-24 10:00 修改，请刷新"):
            call()
    assert notice.snapshot["requirements"] == ["依法组建工会"]


def test_a_stale_version_from_outside_the_scope_is_not_found(session, opinion_draft, make_user, now):
    from compliance.models import Jurisdiction
    notice = opinion_draft()
    away = make_user(jurisdiction=session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110108")))
    with pytest.raises(NotFound):   # never "changed by …": who worked on it is not for someone outside the scope
        update_draft(session, notice.id, {"requirements": []}, actor=away, now=now, expected_version=99)


def test_the_editing_refusal_for_an_issued_notice_reads_well(session, opinion_draft, approver, supervisor, store, now):
    notice = opinion_draft()
    approve_notice(session, notice.id, approver=approver, now=now)
    issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    with pytest.raises(NotAllowed) as refused:
        update_draft(session, notice.id, {"findings": ["改写"]}, actor=supervisor, now=now)
    assert refused.value.message == "文书已签发，不能再修改"   # once said "文书已已签发"


def test_a_withdrawal_reason_fits_the_letter(session, opinion_draft, approver, supervisor, store, now):
    notice = opinion_draft()
    approve_notice(session, notice.id, approver=approver, now=now)
    issue_notice(session, notice.id, actor=supervisor, now=now, store=store)
    for reason, message in (("错" * 301, "不能超过300字"), ("名称有误😀", "无法排印"), ("第一行\n第二行", "不能换行")):
        with pytest.raises(ValidationFailed, match=message):
            request_withdrawal(session, notice.id, actor=supervisor, reason=reason, now=now)
    assert session.scalar(select(Notice.id).where(Notice.withdraws_id == notice.id)) is None


def test_a_group_filled_in_part_is_refused_at_approval_not_at_issue(session, make_case, supervisor, approver,
                                                                   send_letters, now):
    from compliance.testing import UNPAID_FUNDS_CLIMB
    case = make_case(violations=("no_union", "unpaid_funds"))
    for trigger, inputs in UNPAID_FUNDS_CLIMB[:9]:
        result = fire_trigger(session, case.id, trigger, inputs, actor=supervisor, now=now)
        if trigger != "request_listing":
            send_letters(case.id, now)
    [request] = [n for n in result.notices if n.notice_type == "listing_request"]
    update_draft(session, request.id, {"order_ref.number": "朝人社责〔2026〕8号"}, actor=approver, now=now)  # a district letter
    assert preview_pdf(request)[:4] == b"%PDF"      # the preview shows the gap rather than failing
    with pytest.raises(ValidationFailed, match="只填写了一部分（还缺：责令改正机关、责令改正日期、责令改正期限）"):
        approve_notice(session, request.id, approver=approver, now=now)
    assert request.status == "draft"


@pytest.mark.parametrize("served", [False, True])
def test_a_withdrawn_letter_stops_its_period_and_the_case_still_replays(session, make_case, supervisor, approver,
                                                                        send_letters, store, now, served):
    """Withdrawing the visit letter (waiting for service, or served and running) supersedes its period: no
    reminder, no overdue flag, no lapse for the guards; the audit trail replays to the same deadlines."""
    from compliance.models import Deadline
    from compliance.operations.cases import replay_case, stored_replay
    from compliance.testing import VISIT, serve_issued
    case = make_case()
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
    [visit] = send_letters(case.id, now)
    if served:
        serve_issued(session, case.id, actor=supervisor, served_on=now.date(), now=now)

    def period():
        return session.scalars(select(Deadline).where(Deadline.case_id == case.id,
                                                      Deadline.rule_key == "visit_rectification")).one()
    assert period().status == ("open" if served else "awaiting_service")
    withdrawal = request_withdrawal(session, visit.id, actor=supervisor, reason="企业名称有误", now=now)
    assert period().status == ("open" if served else "awaiting_service")   # only issuing the withdrawal stops it
    approve_notice(session, withdrawal.id, approver=approver, now=now)
    issue_notice(session, withdrawal.id, actor=supervisor, now=now, store=store)
    assert period().status == "superseded"
    assert replay_case(session, case.id) == stored_replay(session, case)
