"""Notices: drafted by a supervisor, approved by a leader, issued with a number, archived forever."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from compliance.db import Base, UTCDateTime
from compliance.models.base import enum_check, utcnow


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    ISSUED = "issued"
    REJECTED = "rejected"    # a draft the approver sent back; it never got a number
    WITHDRAWN = "withdrawn"  # issued, then withdrawn by a withdrawal notice (the original stays archived)

    @property
    def label(self) -> str:
        return {"draft": "草稿", "approved": "已审批", "issued": "已签发", "rejected": "已退回",
                "withdrawn": "已撤回"}[self.value]


class StoredDocument(Base):
    """An issued PDF, stored once by content hash; never re-rendered, never deleted."""

    __tablename__ = "stored_documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    #: Path relative to the document store root.
    path: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        enum_check("status", NoticeStatus, "status"),
        UniqueConstraint("issuer_id", "notice_type", "year", "seq", name="uq_notices_issuer_type_year_seq"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> drafted_by_id", name="four_eyes"),
        CheckConstraint("status NOT IN ('issued', 'withdrawn') OR (number IS NOT NULL AND sha256 IS NOT NULL)",
                        name="issued_has_number"),
        # The dashboard's queues: drafts awaiting approval, and drafts per drafter (migration 0004).
        Index("ix_notices_awaiting", "submitted_at",
              postgresql_where=text("status = 'draft' AND submitted_at IS NOT NULL"),
              sqlite_where=text("status = 'draft' AND submitted_at IS NOT NULL")),
        Index("ix_notices_drafts_by", "drafted_by_id", postgresql_where=text("status = 'draft'"),
              sqlite_where=text("status = 'draft'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    notice_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=NoticeStatus.DRAFT.value)
    #: The jurisdiction whose committee issues it (its issuer code starts the number).
    issuer_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    #: The plain facts the PDF is rendered from; frozen at issue.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    template_version: Mapped[str | None] = mapped_column(String(20))
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drafted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    drafted_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    #: The drafter submitted it for approval (it appears in the approvers' queue); cleared when sent back.
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str] = mapped_column(String(1000), default="")
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    year: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    #: 发文字号, e.g. 京工监意〔2026〕12号; assigned inside the issuing transaction.
    number: Mapped[str | None] = mapped_column(String(60), unique=True)
    #: Short public code printed on the notice and in its QR code.
    verification_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    sha256: Mapped[str | None] = mapped_column(ForeignKey("stored_documents.sha256"))
    #: For a withdrawal notice: the notice it withdraws.
    withdraws_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    document: Mapped[StoredDocument | None] = relationship()
    withdraws: Mapped[Notice | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Notice {self.id} {self.notice_type} {self.status} {self.number}>"
