"""Cases: one enterprise, one or more violations, climbing the enforcement ladder."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from compliance.db import Base, UTCDateTime
from compliance.models.base import enum_check, utcnow
from compliance.models.enterprise import Enterprise
from compliance.models.jurisdiction import Jurisdiction
from compliance.models.user import User
from workflows.ladder import CaseFacts, State, Violation


class CaseViolation(Base):
    __tablename__ = "case_violations"
    __table_args__ = (enum_check("violation", Violation, "violation"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    violation: Mapped[str] = mapped_column(String(20), primary_key=True)


class CaseAssignment(Base):
    """The supervisors working a case (investigations are done in pairs)."""

    __tablename__ = "case_assignments"
    #: "Cases assigned to X" (the list's supervisor filter, the dashboard): the primary key leads with case_id.
    __table_args__ = (Index("ix_case_assignments_user_case", "user_id", "case_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        enum_check("state", State, "state"),
        UniqueConstraint("jurisdiction_id", "year", "seq", name="uq_cases_jurisdiction_year_seq"),
        # The case list's default order (newest first) read from an index, then filtered by scope (migration 0004).
        Index("ix_cases_opened_at_id", "opened_at", "id"),
        # A case's scope and whether it is closed, by id, without reading the row: lists driven from another
        # table (deadlines by due date, assignments) check each case against the user's scope here.
        Index("ix_cases_id_scope", "id", "jurisdiction_id", "closed_at"),
        # Per jurisdiction (the scope is `jurisdiction_id IN (…)`): one street's list by date and the dashboard's
        # months; the open cases, the stage filter and the stage counts read from the index alone.
        Index("ix_cases_jurisdiction_opened", "jurisdiction_id", "opened_at"),
        Index("ix_cases_jurisdiction_closed", "jurisdiction_id", "closed_at", "state", "id"),
        # An enterprise's cases with their scope and open/closed (the search, the one-open-case check).
        Index("ix_cases_enterprise_scope", "enterprise_id", "jurisdiction_id", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Human reference, e.g. 朝工监案〔2026〕7号; numbered per jurisdiction and year.
    reference: Mapped[str] = mapped_column(String(50), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))     # indexed below
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))  # indexed below
    state: Mapped[str] = mapped_column(String(30), default=State.REGISTERED.value, index=True)
    summary: Mapped[str] = mapped_column(String(2000), default="")
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Optimistic lock: every change bumps it; a form or API call carrying an older one is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: The seq of the newest CaseEvent; the locked case row hands out the next one without a MAX() query.
    last_event_seq: Mapped[int] = mapped_column(Integer, default=0)
    #: "Ready for the next step": set by the reminder sweep when a deadline is overdue, cleared by the next step.
    ready_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # The facts the ladder's guards read (workflows.ladder.CaseFacts), kept as columns so they can be queried.
    visited_on: Mapped[dt.date | None] = mapped_column(Date)
    opinion_issued_on: Mapped[dt.date | None] = mapped_column(Date)
    opinion_reply_due: Mapped[dt.date | None] = mapped_column(Date)
    replied_on: Mapped[dt.date | None] = mapped_column(Date)
    refused_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_demanded_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_demand_due: Mapped[dt.date | None] = mapped_column(Date)
    was_listed: Mapped[bool] = mapped_column(Boolean, default=False)
    rectified_on: Mapped[dt.date | None] = mapped_column(Date)
    # Issue 10 (migration 0006): periods from service, the bargaining request, decisions, orders, the court.
    visit_rectification_due: Mapped[dt.date | None] = mapped_column(Date)
    obstruction_on: Mapped[dt.date | None] = mapped_column(Date)
    bargaining_requested_on: Mapped[dt.date | None] = mapped_column(Date)
    bargaining_received_on: Mapped[dt.date | None] = mapped_column(Date)
    bargaining_answer_due: Mapped[dt.date | None] = mapped_column(Date)
    bargaining_answered_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    correction_ordered_on: Mapped[dt.date | None] = mapped_column(Date)
    correction_due: Mapped[dt.date | None] = mapped_column(Date)
    court_filed_on: Mapped[dt.date | None] = mapped_column(Date)
    court_accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_order_issued_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_order_served_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_order_due: Mapped[dt.date | None] = mapped_column(Date)
    payment_objected_on: Mapped[dt.date | None] = mapped_column(Date)
    enforcement_applied_on: Mapped[dt.date | None] = mapped_column(Date)
    listed_on: Mapped[dt.date | None] = mapped_column(Date)
    listing_seriousness: Mapped[str | None] = mapped_column(String(10))

    # The funds rules (BJM 55; migration 0007): whether the unit had a union in the months claimed (None: as the
    # enterprise's record says) and, for a unit without one, the day the higher union started helping its workers
    # prepare one (BJM 55(3): funds are owed from that day). compliance.operations.funds sets them.
    has_union: Mapped[bool | None] = mapped_column(Boolean)
    union_help_started_on: Mapped[dt.date | None] = mapped_column(Date)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="joined")
    violation_rows: Mapped[list[CaseViolation]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    assignments: Mapped[list[CaseAssignment]] = relationship(cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def violations(self) -> frozenset[Violation]:
        return frozenset(Violation(v.violation) for v in self.violation_rows)

    @property
    def state_enum(self) -> State:
        return State(self.state)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def supervisors(self) -> list[User]:
        return [a.user for a in self.assignments]

    _FACT_FIELDS = ("visited_on", "opinion_issued_on", "opinion_reply_due", "replied_on", "refused_on",
                    "payment_demanded_on", "payment_demand_due", "was_listed", "rectified_on",
                    "visit_rectification_due", "obstruction_on", "bargaining_requested_on", "bargaining_received_on",
                    "bargaining_answer_due", "bargaining_answered_on", "decided_on", "correction_ordered_on",
                    "correction_due", "court_filed_on", "court_accepted_on", "payment_order_issued_on",
                    "payment_order_served_on", "payment_order_due", "payment_objected_on", "enforcement_applied_on",
                    "listed_on", "listing_seriousness")

    def facts(self) -> CaseFacts:
        """The plain facts the pure ladder decides on."""
        return CaseFacts(state=State(self.state), violations=self.violations,
                         **{f: getattr(self, f) for f in self._FACT_FIELDS})

    def apply_facts(self, facts: CaseFacts) -> None:
        """Store the facts a ladder step produced."""
        self.state = facts.state.value
        for f in self._FACT_FIELDS:
            setattr(self, f, getattr(facts, f))

    def __repr__(self) -> str:
        return f"<Case {self.reference} {self.state}>"
