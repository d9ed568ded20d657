"""Gapless numbering: one counter row per issuer, kind and year, incremented under a row lock."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, insert, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from compliance.db import Base


class SequenceCounter(Base):
    """The last number used per issuer, kind (a notice type, or "case") and year; locked while one is taken."""

    __tablename__ = "sequence_counters"

    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


def next_seq(session: Session, jurisdiction_id: int, kind: str, year: int) -> int:
    """Take the next number; the UPDATE holds the row lock until commit, so a rollback gives the number back."""
    key = (SequenceCounter.jurisdiction_id == jurisdiction_id, SequenceCounter.kind == kind,
           SequenceCounter.year == year)
    bump = update(SequenceCounter).where(*key).values(last_seq=SequenceCounter.last_seq + 1).returning(
        SequenceCounter.last_seq)
    seq = session.execute(bump).scalar()
    if seq is None:
        dialect = session.get_bind().dialect.name
        row = {"jurisdiction_id": jurisdiction_id, "kind": kind, "year": year, "last_seq": 0}
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            stmt = pg_insert(SequenceCounter).values(**row).on_conflict_do_nothing()
        else:
            stmt = insert(SequenceCounter).values(**row).prefix_with("OR IGNORE")
        session.execute(stmt)
        seq = session.execute(bump).scalar_one()
    return seq
