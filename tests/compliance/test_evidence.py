"""Evidence: photos and PDFs attached to a case, typed by their content, stored by SHA-256, refused whole.

Page tests commit their setup first: a refused request rolls the shared session back and must not take the
test's own rows with it. "Nothing stored" is proved by comparing every table, every case's version and every
file in the document store before and after (test_authorization.database_state).
"""
from __future__ import annotations

import hashlib
import io
import struct
import zlib
from urllib.parse import quote

import pytest
from sqlalchemy import select

from compliance.errors import Forbidden, NotFound, ValidationFailed
from compliance.models import Attachment, Case, CaseEvent, Jurisdiction, Role
from compliance.operations import attachments as ops
from compliance.operations.cases import fire_trigger
from compliance.testing import VISIT
from tests.compliance.test_authorization import database_state

PASSWORD = "correct horse battery"


# ------------------------------------------------------------------------------------------ tiny real files

def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


#: A real 1×1 red PNG (signature, IHDR, IDAT, IEND with their CRCs).
PNG = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
       + _png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + _png_chunk(b"IEND", b""))
#: SOI, a JFIF APP0 segment, EOI: the smallest header a JPEG reader walks.
JPEG = (b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xd9")
PDF = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
       b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")
#: What an iPhone sends: an ISO BMFF `ftyp` box, major brand heic, compatible mif1 and heic, then the boxes.
HEIC = (struct.pack(">I", 24) + b"ftyp" + b"heic" + b"\x00\x00\x00\x00" + b"mif1heic"
        + struct.pack(">I", 16) + b"meta" + b"\x00" * 8)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
HTML = b"<!DOCTYPE html><html><body><script>fetch('/admin/users')</script></body></html>"

ACCEPTED = [("photo.jpg", JPEG, "image/jpeg", ".jpg"), ("scan.png", PNG, "image/png", ".png"),
            ("批复.pdf", PDF, "application/pdf", ".pdf"), ("IMG_0001.HEIC", HEIC, "image/heic", ".heic")]


# ------------------------------------------------------------------------------------------ fixtures


def place(session, code):
    return session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))


@pytest.fixture
def case(make_case, session):
    case = make_case()
    session.commit()
    return case


def signed_in(app, session, user):
    session.commit()
    client = app.test_client()
    res = client.post("/login", data={"login": user.login, "password": PASSWORD})
    assert res.status_code == 302, res.get_data(as_text=True)
    return client


@pytest.fixture
def supervisor_client(app, session, supervisor, case):
    return signed_in(app, session, supervisor)


def post_file(client, case_id, data: bytes, filename: str, *, field="file", **form):
    return client.post(f"/cases/{case_id}/evidence", data={field: (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def text(res):
    return res.get_data(as_text=True)


def stored_files(store):
    return sorted(p.relative_to(store.root) for p in store.root.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------------------ the operation

@pytest.mark.parametrize(("filename", "data", "content_type", "suffix"), ACCEPTED, ids=[a[2] for a in ACCEPTED])
def test_a_photo_or_pdf_is_stored_with_its_hash_and_audited(session, case, supervisor, store, now, filename,
                                                            data, content_type, suffix):
    version = case.version
    attachment = ops.attach_evidence(session, case.id, data=data, filename=filename, description="整改现场",
                                     actor=supervisor, now=now, store=store)
    sha = hashlib.sha256(data).hexdigest()
    assert (attachment.sha256, attachment.content_type, attachment.size) == (sha, content_type, len(data))
    assert attachment.filename == filename and attachment.description == "整改现场"
    assert attachment.uploaded_by_id == supervisor.id and attachment.uploaded_at == now
    assert store.get(sha, suffix=suffix) == data      # staged until the commit, and readable meanwhile
    session.commit()
    path = store.path_for(sha, suffix)
    assert path.read_bytes() == data and path.name == f"{sha}{suffix}"
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                            .order_by(CaseEvent.seq.desc())).first()
    assert event.action == "case.evidence_attached" and event.actor_id == supervisor.id
    assert event.details["sha256"] == sha and event.details["attachment_id"] == attachment.id
    assert event.from_state == event.to_state == case.state and event.trigger is None
    assert case.version == version + 1 and case.last_event_seq == event.seq
    assert ops.case_attachments(session, case) == [attachment]


def test_a_real_camera_jpeg_with_exif_is_accepted(session, case, supervisor, store, now):
    Image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Apple"                    # Make, as a phone writes it
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG", exif=exif, quality=80)
    attachment = ops.attach_evidence(session, case.id, data=buffer.getvalue(), filename="IMG_2001.JPG",
                                     description="", actor=supervisor, now=now, store=store)
    assert attachment.content_type == "image/jpeg" and attachment.filename == "IMG_2001.JPG"


def test_notices_keep_their_pdf_path(store):
    """Evidence brought extensions to the store; an issued notice's path is what it always was."""
    sha = hashlib.sha256(PDF).hexdigest()
    assert store.path_for(sha) == store.root / sha[:2] / sha[2:4] / f"{sha}.pdf"
    with pytest.raises(ValueError):
        store.path_for(sha, "/../../etc")


@pytest.mark.parametrize(("data", "filename", "detected"), [
    (ELF, "photo.jpg", "Linux 可执行程序（ELF）"),
    (b"MZ\x90\x00" + b"\x00" * 60, "照片.jpeg", "Windows 可执行程序（EXE/DLL）"),
    (b"PK\x03\x04" + b"\x00" * 40, "扫描件.pdf", "ZIP 压缩包（或 Word、Excel 等新版 Office 文档）"),
    (HTML, "a.pdf", "网页（HTML）"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.png",
     "SVG 矢量图（可含脚本）"),
    (b"GIF89a\x01\x00\x01\x00", "a.gif", "GIF 图片"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "cut.jpg", "不完整或已损坏的 JPEG 图片"),
    (b"\xff\xd8\xff\xe0" + ELF, "disguised.jpg", "不完整或已损坏的 JPEG 图片"),
    (b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1miaf", "a.heic", "AVIF 图片"),
    (bytes(range(256)) * 4, "noise.jpg", None),
])
def test_anything_but_a_photo_or_pdf_is_refused_and_nothing_is_stored(session, case, supervisor, store, now,
                                                                      data, filename, detected):
    before = database_state(session, store.root)
    with pytest.raises(ValidationFailed) as refused:
        ops.attach_evidence(session, case.id, data=data, filename=filename, description="", actor=supervisor,
                            now=now, store=store)
    assert refused.value.field == "file" and refused.value.details["detected"] == detected
    message = refused.value.message
    assert "未保存任何内容" in message and "JPEG、PNG、HEIC 照片或 PDF 文件" in message
    assert (f"文件内容实际是{detected}" if detected else "无法识别文件内容的类型") in message
    if filename.endswith((".jpg", ".jpeg", ".pdf", ".png", ".heic")) and not (detected or "").startswith("不完整"):
        assert f"与文件名后缀 .{filename.rsplit('.', 1)[1]} 不符" in message
    else:
        assert "不符" not in message
    session.rollback()
    assert database_state(session, store.root) == before


def test_empty_and_oversize_files_are_refused(session, case, supervisor, store, now):
    before = database_state(session, store.root)
    with pytest.raises(ValidationFailed, match="文件是空的"):
        ops.attach_evidence(session, case.id, data=b"", filename="a.jpg", actor=supervisor, now=now, store=store)
    big = JPEG[:-2] + b"\x00" * (ops.EVIDENCE_MAX_BYTES + 1 - len(JPEG)) + b"\xff\xd9"
    assert len(big) == ops.EVIDENCE_MAX_BYTES + 1
    with pytest.raises(ValidationFailed, match="不能超过 15 MB"):
        ops.attach_evidence(session, case.id, data=big, filename="a.jpg", actor=supervisor, now=now, store=store)
    with pytest.raises(ValidationFailed, match=f"不能超过 {len(JPEG) - 1} 字节"):
        ops.attach_evidence(session, case.id, data=JPEG, filename="a.jpg", actor=supervisor, now=now, store=store,
                            max_bytes=len(JPEG) - 1)
    with pytest.raises(ValidationFailed, match="说明不能超过500字"):
        ops.attach_evidence(session, case.id, data=JPEG, filename="a.jpg", description="字" * 501,
                            actor=supervisor, now=now, store=store)
    session.rollback()
    assert database_state(session, store.root) == before
    assert ops.attach_evidence(session, case.id, data=JPEG, filename="a.jpg", actor=supervisor, now=now,
                               store=store, max_bytes=len(JPEG)).size == len(JPEG)


def test_who_may_attach(session, case, make_user, store, now):
    """Supervisors of the case's jurisdiction (or above); out of scope is as absent; other roles are refused."""
    before = database_state(session, store.root)
    haidian = make_user(jurisdiction=place(session, "110108"))
    with pytest.raises(NotFound, match=f"案件 {case.id} 不存在"):
        ops.attach_evidence(session, case.id, data=JPEG, filename="a.jpg", actor=haidian, now=now, store=store)
    with pytest.raises(NotFound, match="案件 2147483647 不存在"):
        ops.attach_evidence(session, 2**31 - 1, data=JPEG, filename="a.jpg", actor=haidian, now=now, store=store)
    for role in (Role.AUDITOR, Role.APPROVER, Role.ADMIN):
        with pytest.raises(Forbidden):
            ops.attach_evidence(session, case.id, data=JPEG, filename="a.jpg", actor=make_user(roles={role}),
                                now=now, store=store)
    session.rollback()
    assert database_state(session, store.root) == before
    district = make_user(jurisdiction=place(session, "110105"))
    assert ops.attach_evidence(session, case.id, data=JPEG, filename="a.jpg", actor=district, now=now,
                               store=store).case_id == case.id


def test_a_store_that_cannot_be_written_leaves_the_database_untouched(session, case, supervisor, now, tmp_path):
    from compliance.documents import DocumentStore, StoreUnavailable
    from tests.compliance.test_issue_store_errors import _unwritable
    store = DocumentStore(tmp_path / "store")
    store.root.mkdir()
    before = database_state(session, store.root)
    with _unwritable(store.root), pytest.raises(StoreUnavailable) as refused:
        ops.attach_evidence(session, case.id, data=PNG, filename="a.png", actor=supervisor, now=now, store=store)
    assert refused.value.status == 503
    assert refused.value.message.startswith("服务没有写入文书库的权限，未保存任何内容")
    assert not session.new and not session.dirty     # nothing pending either: the case row was not touched
    session.rollback()
    assert database_state(session, store.root) == before


def test_the_page_says_so_when_the_store_cannot_be_written(app, session, case, supervisor_client, tmp_path,
                                                           monkeypatch):
    from tests.compliance.test_issue_store_errors import _unwritable
    root = tmp_path / "store"
    root.mkdir()
    monkeypatch.setitem(app.config, "DOCUMENT_STORE", str(root))
    before = database_state(session, root)
    with _unwritable(root):
        res = post_file(supervisor_client, case.id, PNG, "整改照片.png")
    assert res.status_code == 503 and "服务没有写入文书库的权限，未保存任何内容" in text(res)
    session.expire_all()
    assert database_state(session, root) == before


@pytest.mark.parametrize(("given", "content", "kept"), [
    ("../../etc/passwd", JPEG, "passwd.jpg"),
    ("C:\\Users\\刘洋\\Desktop\\整改照片 (1).jpg", JPEG, "整改照片 (1).jpg"),
    ("整改\x00照片\r\n\t.jpg", JPEG, "整改照片.jpg"),
    ("photo\u202egpj.exe", JPEG, "photogpj.exe.jpg"),       # the right-to-left override that reads "exe.jpg"
    ("scan.pdf", JPEG, "scan.jpg"),                           # the content decides, and the name follows it
    ("report.jpg", PDF, "report.pdf"),
    ("IMG_0001", HEIC, "IMG_0001.heic"),
    ("  ..  ", PNG, "证据材料.png"),
    ('a<b>:"c"|?*.png', PNG, "a_b___c____.png"),
    ("照" * 300 + ".jpeg", JPEG, "照" * 250 + ".jpeg"),
])
def test_the_stored_name_is_clean_and_agrees_with_the_content(session, case, supervisor, store, now, given,
                                                               content, kept):
    attachment = ops.attach_evidence(session, case.id, data=content, filename=given, actor=supervisor, now=now,
                                     store=store)
    assert attachment.filename == kept and len(attachment.filename) <= 255
    event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id)
                           .order_by(CaseEvent.seq.desc()).limit(1))
    assert event.details["filename"] == kept


def test_evidence_attaches_to_a_step_of_its_own_case_only(session, case, make_case, supervisor, store, now):
    step = fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now).event
    attachment = ops.attach_evidence(session, case.id, data=JPEG, filename="走访.jpg", actor=supervisor, now=now,
                                     event_id=step.id, store=store)
    assert attachment.event_id == step.id
    own_evidence = session.scalar(select(CaseEvent).where(CaseEvent.action == "case.evidence_attached",
                                                          CaseEvent.case_id == case.id))
    other = make_case()
    foreign = session.scalar(select(CaseEvent).where(CaseEvent.case_id == other.id))
    session.commit()
    before = database_state(session, store.root)
    for event_id, message in ((foreign.id, "不是本案件的办理步骤"), (2**31 - 1, "不是本案件的办理步骤"),
                              (own_evidence.id, "不能关联到另一份证据")):
        with pytest.raises(ValidationFailed, match=message):
            ops.attach_evidence(session, case.id, data=PNG, filename="a.png", actor=supervisor, now=now,
                                event_id=event_id, store=store)
        session.rollback()
    assert database_state(session, store.root) == before


def test_the_same_bytes_twice_share_one_file(session, case, supervisor, store, now):
    first = ops.attach_evidence(session, case.id, data=PDF, filename="a.pdf", actor=supervisor, now=now, store=store)
    files = stored_files(store)
    second = ops.attach_evidence(session, case.id, data=PDF, filename="b.pdf", actor=supervisor, now=now, store=store)
    assert first.id != second.id and first.sha256 == second.sha256
    assert stored_files(store) == files


# ------------------------------------------------------------------------------------------ the pages

def test_upload_from_the_page_then_the_case_shows_it(session, case, supervisor_client, store):
    res = post_file(supervisor_client, case.id, JPEG, "整改照片 (1).jpg", field="photo", description="工会牌匾")
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/cases/{case.id}#evidence")
    session.expire_all()
    [attachment] = session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
    assert attachment.sha256 == hashlib.sha256(JPEG).hexdigest()
    page = text(supervisor_client.get(f"/cases/{case.id}"))
    assert "已上传证据“整改照片 (1).jpg”" in page
    assert "整改照片 (1).jpg" in page and "工会牌匾" in page and attachment.sha256[:12] in page
    assert f'href="/evidence/{attachment.id}"' in page
    assert 'capture="environment"' in page and 'accept="image/*,application/pdf"' in page
    assert 'enctype="multipart/form-data"' in page


def test_a_renamed_upload_says_so(session, case, supervisor_client):
    res = post_file(supervisor_client, case.id, JPEG, "scan.pdf")
    assert res.status_code == 302
    page = text(supervisor_client.get(f"/cases/{case.id}"))
    assert "原文件名“scan.pdf”与文件内容不符或过长，已按实际类型保存为“scan.jpg”" in page


@pytest.mark.parametrize(("data", "filename", "says"), [
    (ELF, "photo.jpg", "不能上传“photo.jpg”：文件内容实际是Linux 可执行程序（ELF），与文件名后缀 .jpg 不符"),
    (HTML, "a.pdf", "文件内容实际是网页（HTML），与文件名后缀 .pdf 不符"),
    (b"", "empty.jpg", "文件是空的（0 字节），未保存任何内容"),
])
def test_a_refused_upload_stores_nothing_and_says_why(session, case, supervisor_client, store, data, filename,
                                                      says):
    """The page shows the operation's refusal next to the file input (422); nothing reaches the database or
    the store. Posting no file at all is refused by the page itself."""
    before = database_state(session, store.root)
    res = post_file(supervisor_client, case.id, data, filename)
    assert res.status_code == 422
    assert says in text(res) and 'class="field-error"' in text(res)
    session.expire_all()
    assert database_state(session, store.root) == before


def test_oversize_uploads_are_refused(app, session, case, supervisor_client, store, monkeypatch):
    before = database_state(session, store.root)
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 1024)
    res = post_file(supervisor_client, case.id, JPEG[:-2] + b"\x00" * 1100 + b"\xff\xd9", "big.jpg")
    assert res.status_code == 422 and "不能超过 1 KB" in text(res)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    res = post_file(supervisor_client, case.id, b"\x00" * 5000, "huge.jpg")
    assert res.status_code == 413 and "文件过大" in text(res)
    session.expire_all()
    assert database_state(session, store.root) == before


def test_one_file_at_a_time_and_only_steps_of_the_case(session, case, supervisor_client, store):
    before = database_state(session, store.root)
    res = supervisor_client.post(f"/cases/{case.id}/evidence", content_type="multipart/form-data", data={
        "photo": (io.BytesIO(JPEG), "a.jpg"), "file": (io.BytesIO(PDF), "b.pdf")})
    assert res.status_code == 422 and "一次只能上传一个文件" in text(res)
    res = supervisor_client.post(f"/cases/{case.id}/evidence", data={"description": "忘了选文件"})
    assert res.status_code == 422 and "请拍照或选择要上传的文件" in text(res)
    for bad in ("abc", "99999999999999", "2147483647"):
        res = post_file(supervisor_client, case.id, JPEG, "a.jpg", event_id=bad)
        assert res.status_code == 422 and "不是本案件的办理步骤" in text(res), bad
    res = post_file(supervisor_client, case.id, JPEG, "a.jpg", description="长" * 501)
    assert res.status_code == 422 and "说明不能超过500字" in text(res)
    session.expire_all()
    assert database_state(session, store.root) == before


def test_out_of_scope_and_read_only_users_cannot_upload(app, session, case, make_user, store):
    haidian = make_user(jurisdiction=place(session, "110108"))
    auditor = make_user(roles={Role.AUDITOR})
    approver = make_user(roles={Role.APPROVER})
    clients = {who: signed_in(app, session, user) for who, user in
               (("haidian", haidian), ("auditor", auditor), ("approver", approver))}
    before = database_state(session, store.root)
    assert post_file(clients["haidian"], case.id, JPEG, "a.jpg").status_code == 404
    assert post_file(clients["auditor"], case.id, JPEG, "a.jpg").status_code == 403
    assert post_file(clients["approver"], case.id, JPEG, "a.jpg").status_code == 403
    assert clients["haidian"].get(f"/cases/{case.id}/evidence").status_code == 404
    session.expire_all()
    assert database_state(session, store.root) == before
    # The auditor reads the evidence but is offered no upload form.
    page = text(clients["auditor"].get(f"/cases/{case.id}"))
    assert "证据材料" in page and 'name="photo"' not in page


@pytest.fixture
def uploaded(session, case, supervisor, store, now):
    def upload(data, filename):
        attachment = ops.attach_evidence(session, case.id, data=data, filename=filename, actor=supervisor, now=now,
                                         store=store)
        session.commit()
        return attachment
    return upload


def test_download_returns_the_same_bytes_with_a_safe_name(session, supervisor_client, uploaded):
    attachment = uploaded(JPEG, "../../etc/passwd")
    res = supervisor_client.get(f"/evidence/{attachment.id}")
    assert res.status_code == 200 and res.data == JPEG
    assert res.headers["Content-Type"] == "image/jpeg"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Content-Disposition"] == 'inline; filename="passwd.jpg"'
    assert res.headers["X-Content-SHA256"] == hashlib.sha256(JPEG).hexdigest()

    chinese = uploaded(JPEG + b"\x00", "整改照片 (1).jpg")
    res = supervisor_client.get(f"/evidence/{chinese.id}?download=1")
    assert res.data == JPEG + b"\x00"
    assert res.headers["Content-Disposition"] == (
        f'attachment; filename="evidence-{chinese.id}.jpg"; filename*=UTF-8\'\'{quote("整改照片 (1).jpg")}')
    assert "%20%281%29.jpg" in res.headers["Content-Disposition"]

    pdf = uploaded(PDF, 'x"; filename=evil.html')
    res = supervisor_client.get(f"/evidence/{pdf.id}")
    assert res.headers["Content-Type"] == "application/pdf" and res.data == PDF
    assert res.headers["Content-Disposition"].startswith(f'inline; filename="evidence-{pdf.id}.pdf"; filename*=')
    assert '"' not in res.headers["Content-Disposition"].split("filename*=")[1]


def test_download_is_for_those_who_read_the_case(app, session, make_user, uploaded):
    attachment = uploaded(PNG, "a.png")
    auditor = make_user(roles={Role.AUDITOR})
    haidian = make_user(jurisdiction=place(session, "110108"), roles={Role.AUDITOR})
    admin = make_user(roles={Role.ADMIN})
    session.commit()
    assert signed_in(app, session, auditor).get(f"/evidence/{attachment.id}").data == PNG
    assert signed_in(app, session, haidian).get(f"/evidence/{attachment.id}").status_code == 404
    assert signed_in(app, session, admin).get(f"/evidence/{attachment.id}").status_code == 403
    client = signed_in(app, session, auditor)
    assert client.get("/evidence/2147483647").status_code == 404
    assert client.get("/evidence/99999999999").status_code == 404
    assert client.get("/evidence/abc").status_code == 404
    assert app.test_client().get(f"/evidence/{attachment.id}").status_code == 302


def test_a_missing_file_is_reported_not_served(session, supervisor_client, uploaded, store):
    attachment = uploaded(PNG + b"\x01", "a.png")
    store.path_for(attachment.sha256, ".png").write_bytes(PNG + b"\x02")   # altered on disk
    res = supervisor_client.get(f"/evidence/{attachment.id}")
    assert res.status_code == 500 and "缺失或已损坏" in text(res) and PNG not in res.data


def test_the_evidence_page_lists_steps_and_sizes(session, case, supervisor, supervisor_client, store, now):
    step = fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now).event
    session.commit()
    page = text(supervisor_client.get(f"/cases/{case.id}/evidence"))
    assert f'<option value="{step.id}">第{step.seq}步 记录走访' in page or f"第{step.seq}步" in page
    res = post_file(supervisor_client, case.id, PDF, "走访记录.pdf", event_id=str(step.id), description="签字页")
    assert res.status_code == 302
    page = text(supervisor_client.get(f"/cases/{case.id}/evidence"))
    assert "走访记录.pdf" in page and "签字页" in page and f"第{step.seq}步" in page
    assert f"{len(PDF)} 字节" in page and supervisor.name in page
    session.expire_all()
    assert session.get(Case, case.id).last_event_seq == step.seq + 1
