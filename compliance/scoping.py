"""Jurisdiction scoping: a user sees what lies in their jurisdiction or below it."""
from __future__ import annotations

from sqlalchemy import Select

from compliance.models import Jurisdiction, User


def in_scope(query: Select, model, user: User) -> Select:
    """Restrict a select over a model with jurisdiction_id to the user's subtree."""
    return query.join(Jurisdiction, model.jurisdiction_id == Jurisdiction.id).where(
        Jurisdiction.path.startswith(user.jurisdiction.path, autoescape=True)
    )
