"""Jurisdictions: the city federation, its districts and their streets/townships."""
from __future__ import annotations

from enum import StrEnum

from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from compliance.db import Base
from compliance.models.base import enum_check


class JurisdictionLevel(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"

    @property
    def label(self) -> str:
        return {"city": "市级", "district": "区级", "street": "街道/乡镇"}[self.value]


class Jurisdiction(Base):
    __tablename__ = "jurisdictions"
    __table_args__ = (enum_check("level", JurisdictionLevel, "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Administrative code (GB/T 2260 for city and districts, a local code for streets).
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    #: Materialised path of ids, "/1/4/37/": a subtree is one indexed LIKE 'prefix%' query.
    path: Mapped[str] = mapped_column(String(200), index=True)
    #: The union federation itself, e.g. 北京市朝阳区总工会.
    federation_name: Mapped[str] = mapped_column(String(100))
    #: 发文机关标志: the committee that signs notices, printed in red at the top.
    committee_name: Mapped[str] = mapped_column(String(100))
    #: 发文机关代字 that starts each document number, e.g. 京工监 or 京朝工监.
    issuer_code: Mapped[str] = mapped_column(String(20))

    #: What notices print about the issuer: address, contact, chair, bank account for union funds.
    letterhead: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    parent: Mapped[Jurisdiction | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Jurisdiction]] = relationship(back_populates="parent", order_by="Jurisdiction.code")

    def contains(self, other: Jurisdiction) -> bool:
        """True when other is this jurisdiction or lies below it."""
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Jurisdiction {self.code} {self.name}>"
