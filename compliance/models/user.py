"""Supervisors and the other people who log in."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from compliance.db import Base, UTCDateTime
from compliance.models.base import enum_check, utcnow
from compliance.models.jurisdiction import Jurisdiction


class Role(StrEnum):
    SUPERVISOR = "supervisor"   # 劳动法律监督员: works cases, drafts notices
    APPROVER = "approver"       # committee chair / vice-chair: approves notices
    ADMIN = "admin"             # manages users, holidays, configuration
    AUDITOR = "auditor"         # reads everything in scope, changes nothing

    @property
    def label(self) -> str:
        return {"supervisor": "监督员", "approver": "审批领导", "admin": "管理员", "auditor": "审计"}[self.value]


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (enum_check("role", Role, "role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(200))
    #: 劳动法律监督员证号, shown when supervisors visit an enterprise.
    supervisor_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Set when an admin resets the password: the user chooses a new one before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)

    jurisdiction: Mapped[Jurisdiction] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def __repr__(self) -> str:
        return f"<User {self.login}>"
