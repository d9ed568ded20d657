"""Evidence: photos from a phone's camera and PDFs attached to a case or to one of its steps.

The type is read from the bytes, never from the file's name or the Content-Type the browser sent: a JPEG, PNG,
HEIC/HEIF or PDF whose structure starts as its format says is accepted; anything else (an executable, an archive,
a web page named photo.jpg) is refused, naming what it is. A name whose extension contradicts the content is kept
with the content's extension (scan.pdf holding a JPEG is stored as scan.jpg, image/jpeg), and the audit says so.

Order of work: check the actor and every input, then stage the bytes in the document store, then the rows. A
refusal therefore stores nothing. The bytes are staged as an issued notice's PDF is (compliance/documents.py):
they reach the store's tree only when the transaction that inserts the attachment commits; a rollback (or a
rolled-back savepoint, as the API's) deletes them; a process killed in between leaves them in staging, where
`recover` deletes them at the next start (or publishes them, when the commit got through). So every evidence
file in the store is referenced by a committed attachment. A store that cannot be written is StoreUnavailable
(503, one Chinese sentence), with nothing written to the database.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.access import Permission, require
from compliance.documents import DocumentStore, unwritable
from compliance.errors import NotFound, ValidationFailed
from compliance.models import Attachment, Case, CaseEvent, User
from compliance.operations.cases import next_event_seq

#: Default largest evidence file (config EVIDENCE_MAX_BYTES); the request itself stops at MAX_CONTENT_LENGTH.
EVIDENCE_MAX_BYTES = 15 * 1024 * 1024
#: The columns' limits (attachments.filename, attachments.description).
MAX_FILENAME = 255
MAX_DESCRIPTION = 500
#: Ids are 32-bit columns: anything larger cannot exist.
_MAX_ID = 2**31 - 1
#: The audit action of an attachment.
ACTION = "case.evidence_attached"


@dataclass(frozen=True)
class FileKind:
    """An accepted file type: its MIME type, the extension it is stored and named with, those that agree with it."""

    content_type: str
    suffix: str
    label: str
    suffixes: frozenset[str]


JPEG = FileKind("image/jpeg", ".jpg", "JPEG 照片", frozenset({".jpg", ".jpeg", ".jpe", ".jfif"}))
PNG = FileKind("image/png", ".png", "PNG 图片", frozenset({".png"}))
HEIC = FileKind("image/heic", ".heic", "HEIC 照片", frozenset({".heic", ".heif", ".hif"}))
HEIF = FileKind("image/heif", ".heif", "HEIF 图片", frozenset({".heif", ".heic", ".hif"}))
PDF = FileKind("application/pdf", ".pdf", "PDF 文件", frozenset({".pdf"}))
#: Every accepted type by its stored content type (the download serves it with this type and extension).
KINDS = {k.content_type: k for k in (JPEG, PNG, HEIC, HEIF, PDF)}
_ACCEPTED_SUFFIXES = frozenset().union(*(k.suffixes for k in KINDS.values()))
ACCEPTED_LABEL = "JPEG、PNG、HEIC 照片或 PDF 文件"


# ------------------------------------------------------------------------------------------ the content

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: HEIF brands (ISO/IEC 23008-12) of HEVC-coded pictures, as iPhones write them, and the generic image brands.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})


def _jpeg_ok(data: bytes) -> bool:
    """SOI, then well-formed marker segments up to the start of the picture data (SOS) or the end (EOI).

    Only the headers are walked (a photo's EXIF, tables, frame header): nothing is decoded. Bytes after the
    picture (phones append their own trailers) are not looked at.
    """
    if data[:3] != b"\xff\xd8\xff":
        return False
    i = 2
    while i + 2 <= len(data):
        if data[i] != 0xFF:
            return False
        marker = data[i + 1]
        if marker == 0xFF:              # fill byte before a marker
            i += 1
            continue
        if marker in (0xD9, 0xDA):      # EOI, or SOS: the entropy-coded picture follows
            return True
        if marker == 0x01 or 0xD0 <= marker <= 0xD8 or marker == 0x00:
            return False                # no standalone marker belongs in the header
        if i + 4 > len(data):
            return False
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2:
            return False
        i += 2 + length
    return False


def _png_ok(data: bytes) -> bool:
    """The signature, then the IHDR chunk (13 bytes) every PNG must start with."""
    return (data[:8] == _PNG_SIGNATURE and len(data) >= 33 and data[8:12] == b"\x00\x00\x00\x0d"
            and data[12:16] == b"IHDR")


def _ftyp_brands(data: bytes) -> list[bytes] | None:
    """The brands of an ISO base media file's leading `ftyp` box (major first), or None if there is none."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[:4], "big")
    if size < 16 or size > len(data) or size > 4096 or size % 4:
        return None
    return [data[8:12]] + [data[j:j + 4] for j in range(16, size, 4)]


def _pdf_ok(data: bytes) -> bool:
    return re.match(rb"%PDF-[12]\.\d", data[:8]) is not None


def detect(data: bytes) -> FileKind | None:
    """The accepted type these bytes are, or None."""
    if _jpeg_ok(data):
        return JPEG
    if _png_ok(data):
        return PNG
    if _pdf_ok(data):
        return PDF
    brands = _ftyp_brands(data)
    if brands is not None:
        if _HEIC_BRANDS.intersection(brands):
            return HEIC
        if brands[0] in _HEIF_BRANDS and not {b"avif", b"avis"}.intersection(brands):
            return HEIF
    return None


_DAMAGED = "不完整或已损坏"
#: What a refused file is, by its first bytes, for the message (longest prefixes first where they overlap).
_REFUSED_PREFIXES = (
    (b"\x7fELF", "Linux 可执行程序（ELF）"),
    (b"MZ", "Windows 可执行程序（EXE/DLL）"),
    (b"\xcf\xfa\xed\xfe", "macOS 可执行程序（Mach-O）"), (b"\xce\xfa\xed\xfe", "macOS 可执行程序（Mach-O）"),
    (b"\xfe\xed\xfa\xcf", "macOS 可执行程序（Mach-O）"), (b"\xfe\xed\xfa\xce", "macOS 可执行程序（Mach-O）"),
    (b"\xca\xfe\xba\xbe", "可执行程序（Mach-O 或 Java 类文件）"),
    (b"#!", "脚本程序"),
    (b"PK\x03\x04", "ZIP 压缩包（或 Word、Excel 等新版 Office 文档）"), (b"PK\x05\x06", "ZIP 压缩包"),
    (b"Rar!\x1a\x07", "RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"), (b"\x1f\x8b", "gzip 压缩包"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office 文档（DOC、XLS、PPT）"),
    (b"{\\rtf", "RTF 文档"),
    (b"GIF87a", "GIF 图片"), (b"GIF89a", "GIF 图片"),
    (b"II*\x00", "TIFF 图片"), (b"MM\x00*", "TIFF 图片"),
    (b"\xff\xd8\xff", f"{_DAMAGED}的 JPEG 图片"),
    (_PNG_SIGNATURE, f"{_DAMAGED}的 PNG 图片"),
    (b"%PDF", f"{_DAMAGED}的 PDF 文件"),
)


def describe(data: bytes) -> str | None:
    """What a file we refuse seems to be, in Chinese; None when it cannot be told."""
    for prefix, label in _REFUSED_PREFIXES:
        if data.startswith(prefix):
            return label
    if data[:4] == b"RIFF" and len(data) >= 12:
        return {b"WEBP": "WebP 图片", b"AVI ": "AVI 视频", b"WAVE": "WAV 音频"}.get(data[8:12], "RIFF 媒体文件")
    brands = _ftyp_brands(data)
    if brands is not None:
        return "AVIF 图片" if {b"avif", b"avis"}.intersection(brands) else "视频或音频（MP4、MOV 等）"
    if data.startswith(b"BM") and len(data) >= 26:
        return "BMP 图片"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n\x00").lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG 矢量图（可含脚本）"
    if any(tag in head for tag in (b"<!doctype html", b"<html", b"<script", b"<body", b"<head", b"<iframe")):
        return "网页（HTML）"
    if head.startswith(b"<?xml"):
        return "XML 文件"
    try:
        text = data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text and all(c.isprintable() or c in "\r\n\t" for c in text):
        return "纯文本文件"
    return None


# ------------------------------------------------------------------------------------------ the name

#: Characters Windows refuses in a file name; replaced so a downloaded file saves under the name shown.
_RESERVED = frozenset('<>:"|?*')
DEFAULT_STEM = "证据材料"


def clean_filename(raw: str | None) -> str:
    """The last path component, without control or format characters (including the right-to-left override
    that makes "gpj.exe" read "exe.jpg"), reserved characters replaced, runs of spaces collapsed, no leading or
    trailing dots or spaces. May be empty."""
    name = unicodedata.normalize("NFC", raw or "")
    name = "".join(" " if unicodedata.category(c) == "Zs" else c for c in name
                   if unicodedata.category(c)[0] != "C" and unicodedata.category(c) not in ("Zl", "Zp"))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join("_" if c in _RESERVED else c for c in name)
    name = " ".join(name.split())
    return name.strip(" .")


def _split_suffix(name: str) -> tuple[str, str]:
    """(stem, ".ext" lower-cased) — the extension empty when there is none."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext or len(ext) > 10 or " " in ext:
        return name, ""
    return stem, "." + ext.lower()


def stored_filename(raw: str | None, kind: FileKind) -> tuple[str, str | None]:
    """The name to keep for a file of this kind, and the extension it was given when that contradicted the content.

    IMG_0001.JPG stays as it is; scan.pdf holding a JPEG becomes scan.jpg; photo.exe holding a JPEG becomes
    photo.exe.jpg (only an extension of a type we know is replaced); a name without an extension gets the
    content's. At most MAX_FILENAME characters, keeping the extension.
    """
    name = clean_filename(raw)
    stem, suffix = _split_suffix(name)
    contradicted = None
    if suffix in kind.suffixes:
        final_stem, final_suffix = stem, name[len(stem):]
    else:
        contradicted = suffix or None
        final_stem = stem if suffix in _ACCEPTED_SUFFIXES else name
        final_suffix = kind.suffix
    final_stem = final_stem.strip(" .") or DEFAULT_STEM
    final_stem = final_stem[:MAX_FILENAME - len(final_suffix)].rstrip(" .") or DEFAULT_STEM
    return final_stem + final_suffix, contradicted


def _size_label(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{max(size, 1) / 1024:.3g} KB" if size >= 1024 else f"{size} 字节"


# ------------------------------------------------------------------------------------------ operations

def _lock_case(session: Session, case_id: int) -> Case:
    """The case row, locked on PostgreSQL until commit (its version is checked on every backend at flush)."""
    if not isinstance(case_id, int) or not 0 < case_id <= _MAX_ID:
        raise NotFound(f"案件 {case_id} 不存在")
    query = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Case)
    case = session.scalars(query).unique().one_or_none()
    if case is None:
        raise NotFound(f"案件 {case_id} 不存在")
    return case


def attach_evidence(session: Session, case_id: int, *, data: bytes, filename: str, description: str = "",
                    actor: User, now: dt.datetime, event_id: int | None = None, store: DocumentStore,
                    max_bytes: int = EVIDENCE_MAX_BYTES) -> Attachment:
    """Attach a photo or PDF to a case (or one of its steps); refuse anything else, storing nothing.

    The attachment row and the audit event (`case.evidence_attached`, which bumps the case's version) are
    flushed; the caller commits. The bytes are in the store under `<sha256><suffix of the detected type>`.
    """
    case = _lock_case(session, case_id)
    require(actor, Permission.WORK_CASE, case.jurisdiction, absent=f"案件 {case_id} 不存在")

    # One line: runs of white space (newlines included) become one space, control characters go.
    description = "".join(c for c in " ".join((description or "").split()) if unicodedata.category(c)[0] != "C")
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"说明不能超过{MAX_DESCRIPTION}字（现有{len(description)}字）", field="description")
    event = None
    if event_id is not None:
        event = (session.get(CaseEvent, event_id) if isinstance(event_id, int) and 0 < event_id <= _MAX_ID
                 else None)
        if event is None or event.case_id != case.id:
            raise ValidationFailed("所选步骤不是本案件的办理步骤，请重新选择", field="event_id")
        if event.action == ACTION:
            raise ValidationFailed("只能关联到案件的办理步骤，不能关联到另一份证据", field="event_id")

    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ValidationFailed("文件是空的（0 字节），未保存任何内容。请重新拍照或选择文件", field="file")
    data = bytes(data)
    if len(data) > max_bytes:
        raise ValidationFailed(f"文件过大：证据文件不能超过 {_size_label(max_bytes)}，未保存任何内容。"
                               "照片可在手机上选择较小的尺寸后重新上传", field="file")
    kind = detect(data)
    if kind is None:
        what = describe(data)
        given = clean_filename(filename)
        _stem, suffix = _split_suffix(given)
        shown = given if len(given) <= 80 else given[:79] + "…"
        found = f"文件内容实际是{what}" if what else "无法识别文件内容的类型"
        if suffix in _ACCEPTED_SUFFIXES and not (what or "").startswith(_DAMAGED):
            found += f"，与文件名后缀 {suffix} 不符"
        raise ValidationFailed(f"不能上传“{shown or '该文件'}”：{found}。只能上传{ACCEPTED_LABEL}，未保存任何内容",
                               field="file", detected=what)
    name, contradicted = stored_filename(filename, kind)

    # Every check passed: the bytes are staged first (published at commit); a failure there writes no row.
    try:
        sha, _path = store.stage(session, data, suffix=kind.suffix)
    except OSError as exc:
        raise unwritable(exc, "未保存任何内容") from exc

    attachment = Attachment(case_id=case.id, event_id=event.id if event else None, filename=name,
                            content_type=kind.content_type, size=len(data), sha256=sha, description=description,
                            uploaded_by_id=actor.id, uploaded_at=now)
    session.add(attachment)
    session.flush()
    details = {"attachment_id": attachment.id, "filename": name, "content_type": kind.content_type,
               "size": len(data), "sha256": sha, "event_id": attachment.event_id,
               "step_seq": event.seq if event else None}
    if contradicted:
        details["renamed_from"] = clean_filename(filename)[:MAX_FILENAME]
    reason = f"{name}：{description}" if description else name
    session.add(CaseEvent(case_id=case.id, seq=next_event_seq(case), actor_id=actor.id, action=ACTION,
                          trigger=None, from_state=case.state, to_state=case.state, reason=reason[:2000],
                          created_at=now, details=details))
    session.flush()
    return attachment


def case_attachments(session: Session, case: Case) -> list[Attachment]:
    """The case's evidence, oldest first (the case page, the rectification step's picker)."""
    return list(session.scalars(select(Attachment).where(Attachment.case_id == case.id)
                                .order_by(Attachment.uploaded_at, Attachment.id)))


def evidence_file(session: Session, attachment_id: int, *, actor: User) -> tuple[Attachment, FileKind]:
    """An attachment the actor may read (VIEW over its case), with its type; out of scope is as absent."""
    absent = f"证据材料 {attachment_id} 不存在"
    attachment = (session.get(Attachment, attachment_id) if isinstance(attachment_id, int)
                  and 0 < attachment_id <= _MAX_ID else None)
    if attachment is None:
        require(actor, Permission.VIEW, absent=absent)
        raise NotFound(absent)
    case = session.get(Case, attachment.case_id)
    require(actor, Permission.VIEW, case.jurisdiction, absent=absent)
    kind = KINDS.get(attachment.content_type)
    if kind is None:   # not written by attach_evidence: never serve it under a type we did not check
        raise NotFound(absent)
    return attachment, kind
