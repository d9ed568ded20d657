"""Enterprises under supervision."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from compliance.db import Base, UTCDateTime
from compliance.identifiers import normalize_registration_number, normalize_uscc
from compliance.models.base import utcnow
from compliance.models.jurisdiction import Jurisdiction


class Enterprise(Base):
    __tablename__ = "enterprises"
    __table_args__ = (
        CheckConstraint("uscc IS NOT NULL OR registration_number IS NOT NULL", name="has_identifier"),
        CheckConstraint("uscc IS NULL OR length(uscc) = 18", name="uscc_length"),
        CheckConstraint("employee_count IS NULL OR employee_count >= 0", name="employee_count"),
        CheckConstraint("member_count IS NULL OR member_count >= 0", name="member_count"),
        CheckConstraint("monthly_payroll IS NULL OR monthly_payroll >= 0", name="monthly_payroll"),
        # The list's order (name, id) with the scope read from the index; a scope's names for a short search
        # (one or two characters, which no trigram index answers); and the name search: on PostgreSQL a pg_trgm GIN
        # index answers ILIKE '%…%'; where the extension cannot be created (and on SQLite) it is a plain index.
        # (Migration 0004.)
        Index("ix_enterprises_name_scope", "name", "id", "jurisdiction_id"),
        Index("ix_enterprises_jurisdiction_name", "jurisdiction_id", "name", "id"),
        Index("ix_enterprises_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 统一社会信用代码, validated by its GB 32100 check character before it reaches the database.
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    #: Old 15-digit 注册号 for records that predate the USCC.
    registration_number: Mapped[str | None] = mapped_column(String(15), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    industry: Mapped[str] = mapped_column(String(100), default="")
    ownership_type: Mapped[str] = mapped_column(String(50), default="")
    employee_count: Mapped[int | None] = mapped_column(Integer)
    member_count: Mapped[int | None] = mapped_column(Integer)
    established_on: Mapped[dt.date | None] = mapped_column(Date)
    legal_representative: Mapped[str] = mapped_column(String(50), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    has_union: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Last month's total payroll in yuan: union funds are 2% of it (Trade Union Law Art 55).
    monthly_payroll: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    jurisdiction: Mapped[Jurisdiction] = relationship()

    @validates("uscc")
    def _validate_uscc(self, _key, value):
        return None if value in (None, "") else normalize_uscc(value)

    @validates("registration_number")
    def _validate_registration_number(self, _key, value):
        return None if value in (None, "") else normalize_registration_number(value)

    @validates("name")
    def _validate_name(self, _key, value):
        value = (value or "").strip()
        if not value:
            raise ValueError("企业名称不能为空")
        return value

    @property
    def identifier(self) -> str:
        return self.uscc or self.registration_number or ""

    def __repr__(self) -> str:
        return f"<Enterprise {self.identifier} {self.name}>"
