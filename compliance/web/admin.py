"""Administration: users, issuers' letterheads, login locks, the audit of these changes."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
