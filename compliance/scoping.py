"""Jurisdiction scoping: a user sees what lies in their jurisdiction or below it."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from compliance.models import Jurisdiction, User


def subtree(path: str) -> ColumnElement[bool]:
    """Jurisdiction rows at `path` or below it (one indexed LIKE 'prefix%')."""
    return Jurisdiction.path.startswith(path, autoescape=True)


def in_scope(query: Select, model, user: User) -> Select:
    """Restrict a select over a model with jurisdiction_id to the user's subtree."""
    return query.join(Jurisdiction, model.jurisdiction_id == Jurisdiction.id).where(subtree(user.jurisdiction.path))


@dataclass(frozen=True)
class Scope:
    """The same rule as `in_scope`, read once per request: the subtree's jurisdictions, and their ids for
    `jurisdiction_id IN (…)`.

    Large lists use this form: PostgreSQL then knows which and how many rows the scope holds (statistics per
    jurisdiction_id) and reads them from the cases' jurisdiction indexes, where the join on a LIKE over paths
    made it read the whole table at a million cases.
    """

    jurisdictions: tuple[Jurisdiction, ...]    #: the user's own first, then the rest in path order

    @classmethod
    def of(cls, session: Session, user: User) -> Scope:
        return cls(tuple(jurisdictions_in_scope(session, user)))

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(j.id for j in self.jurisdictions)

    def by_id(self) -> dict[int, Jurisdiction]:
        return {j.id: j for j in self.jurisdictions}

    def within(self, jurisdiction: Jurisdiction) -> Scope:
        """The part of this scope at or below `jurisdiction` (a district or street filter)."""
        return Scope(tuple(j for j in self.jurisdictions if j.path.startswith(jurisdiction.path)))

    def where(self, model) -> ColumnElement[bool]:
        """The condition on a model with jurisdiction_id."""
        return model.jurisdiction_id.in_(self.ids)


def scoped_ids(user: User) -> Select:
    """The ids of the jurisdictions in the user's subtree, as a subquery for `jurisdiction_id IN (…)`."""
    return select(Jurisdiction.id).where(subtree(user.jurisdiction.path))


def jurisdictions_in_scope(session: Session, user: User) -> list[Jurisdiction]:
    """The user's jurisdiction and everything below it, in path order (a city: ~350 rows)."""
    return list(session.scalars(select(Jurisdiction).where(subtree(user.jurisdiction.path))
                                .order_by(Jurisdiction.path)))
