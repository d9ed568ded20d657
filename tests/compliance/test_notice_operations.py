"""Notices through their life: draft, approval by another person, gapless numbers, archive, verification."""
from __future__ import annotations

import hashlib
import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from compliance.documents import DocumentStore
from compliance.errors import Forbidden, NotAllowed, ValidationFailed
from compliance.models import Notice, Role, SequenceCounter
from compliance.operations.cases import fire_trigger
from compliance.operations.notices import (approve_notice, issue_notice, preview_pdf, reject_notice,
                                           request_withdrawal, update_draft)


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


def test_numbers_are_gapless_and_rejected_drafts_leave_no_gap(session, opinion_draft, approver, supervisor, store, now,
                                                             jurisdiction):
    first, rejected, second = opinion_draft("北京甲公司"), opinion_draft("北京乙公司"), opinion_draft("北京丙公司")
    reject_notice(session, rejected.id, approver=approver, reason="事实部分需补充", now=now)
    for n in (first, second):
        approve_notice(session, n.id, approver=approver, now=now)
        issue_notice(session, n.id, actor=supervisor, now=now, store=store)
    code = jurisdiction.issuer_code
    assert [first.number, second.number] == [f"{code}意〔2026〕1号", f"{code}意〔2026〕2号"]
    assert rejected.number is None and rejected.status == "rejected"


def test_failure_after_number_allocation_gives_the_number_back(session, opinion_draft, approver, supervisor, store,
                                                               now, jurisdiction):
    broken, good = opinion_draft("北京甲公司"), opinion_draft("北京乙公司")
    for n in (broken, good):
        approve_notice(session, n.id, approver=approver, now=now)
    session.commit()   # a savepoint in the test: the approvals stay

    class FailingStore(DocumentStore):
        def put(self, data):
            raise OSError("disk full")

    with pytest.raises(OSError):
        issue_notice(session, broken.id, actor=supervisor, now=now, store=FailingStore(store.root))
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
    for shown in (notice.number, "工会劳动法律监督意见书", notice.sha256, "2026-11-24", "北京堃昇喆玥科技有限公司"):
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


def test_the_reply_period_runs_from_the_day_the_letter_is_issued(session, make_case, supervisor, approver, store):
    import datetime as dt

    from compliance.operations.cases import case_deadlines, replay_case, stored_replay
    beijing = dt.timezone(dt.timedelta(hours=8))
    case = make_case(at=dt.datetime(2026, 11, 2, 9, tzinfo=beijing))
    fire_trigger(session, case.id, "record_visit", {"visited_on": "2026-11-03", "findings": "未建会",
                                                    "supervisors": ["王芳", "李强"]},
                 actor=supervisor, now=dt.datetime(2026, 11, 3, 9, tzinfo=beijing))
    drafted = dt.datetime(2026, 11, 16, 9, tzinfo=beijing)          # Monday: the step drafts the letter
    [notice] = fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=drafted).notices
    assert case.opinion_reply_due == dt.date(2026, 12, 1)             # provisional: 16 Nov + 15
    approve_notice(session, notice.id, approver=approver, now=drafted)
    issued = dt.datetime(2026, 11, 19, 15, tzinfo=beijing)          # Thursday: the letter goes out
    issue_notice(session, notice.id, actor=supervisor, now=issued, store=store)
    # 19 Nov + 15 natural days = Friday 4 Dec 2026, a working day.
    assert case.opinion_reply_due == dt.date(2026, 12, 4) and case.opinion_issued_on == dt.date(2026, 11, 19)
    reply = next(d for d in case_deadlines(session, case.id) if d.rule_key == "opinion_reply")
    assert (reply.start_on, reply.due_on) == (dt.date(2026, 11, 19), dt.date(2026, 12, 4))
    assert notice.snapshot["reply_due"] == "2026-12-04"
    assert "2026年12月4日" in pdf_text(store.get(notice.sha256))
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
