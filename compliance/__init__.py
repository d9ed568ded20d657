"""The Flask application: create_app() binds config, database, auth and the web pages."""
from __future__ import annotations

from flask import Flask

__all__ = ["create_app"]


def create_app(config: dict | None = None, *, check_schema: bool = True) -> Flask:
    """Build an app; refuse to start on an out-of-date schema unless check_schema is False (migration commands)."""
    from compliance import auth, notices_web, web
    from compliance.config import configure
    from compliance.db import db
    from compliance.errors import DomainError
    from compliance.extensions import babel, csrf, login_manager
    from compliance.migrate import ensure_schema_current
    from sqlalchemy.orm.exc import StaleDataError

    app = Flask(__name__, instance_relative_config=True)
    configure(app, config)
    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: "zh_Hans_CN", timezone_selector=lambda: app.config["TIMEZONE"])
    app.register_blueprint(auth.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(notices_web.bp)
    app.register_error_handler(DomainError, web.handle_domain_error)
    app.register_error_handler(StaleDataError, web.handle_stale_data)
    app.register_error_handler(413, web.handle_too_large)
    app.jinja_env.filters["beijing"] = web.beijing_time
    app.jinja_env.filters["state_label"] = web.state_label
    app.jinja_env.filters["notice_title"] = web.notice_title
    if check_schema:
        ensure_schema_current(app)
    return app
