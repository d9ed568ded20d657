"""The Flask application: create_app() binds config, database, auth and the web pages."""
from __future__ import annotations

from flask import Flask

__all__ = ["create_app"]


def create_app(config: dict | None = None, *, check_schema: bool = True) -> Flask:
    """Build an app; refuse to start on an out-of-date schema unless check_schema is False (migration commands)."""
    from compliance import api, web
    from compliance.config import configure
    from compliance.db import db
    from compliance.extensions import babel, csrf, login_manager
    from compliance.migrate import ensure_schema_current
    from compliance.web.language import select_locale

    app = Flask(__name__, instance_relative_config=True)
    configure(app, config)
    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: app.config["TIMEZONE"])
    web.register(app)
    api.register(app)
    if check_schema:
        ensure_schema_current(app)
    return app
