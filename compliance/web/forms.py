"""What every page with a form shares: a refusal shown next to its field, and the commit-flash-redirect of success."""
from __future__ import annotations

from flask import flash, redirect

from compliance.db import db
from compliance.errors import DomainError


def refusal_on_form(form, exc: DomainError, *, name: str | None = None) -> int:
    """Show an operation's refusal next to the field it names (or `name`), else above the form; return its status.

    A stale version belongs to the whole form, not to the hidden field that carried it.
    """
    key = name if name is not None else (exc.field or "")
    field = form._fields.get(key) if form is not None and exc.field != "version" else None
    if field is None:
        if form is not None:
            form.form_errors.append(exc.message)
    else:
        field.errors = [*field.errors, exc.message]
    return exc.status


def done(message: str, target: str):
    """Commit the operation's work once, say so, and redirect (POST/redirect/GET)."""
    db.session.commit()
    flash(message, "info")
    return redirect(target)
