"""Database wiring: declarative base, engine per app, a session scoped to the app context."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import DateTime, Integer, MetaData, any_, bindparam, create_engine, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def id_in(session: Session, column, ids: list[int]):
    """`column IN ids`; on PostgreSQL `column = ANY(:array)`: one statement text whatever the number of ids, so it
    is parsed and planned once, not once per length of the list."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(list(ids))


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with the settings each backend needs (SQLite: WAL, foreign keys, busy timeout)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy, not pysqlite, issue BEGIN so transactions really begin at BEGIN.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # IMMEDIATE takes the write lock up front: two writers never both read and then collide.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Each connection is checked when taken from the pool: after a database restart the dead ones are replaced
    # at once, so the service works again without a restart of its own.
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@dataclass
class _DbState:
    engine: Engine
    session: scoped_session


class Database:
    """Binds an engine and a scoped session to each Flask app (flaskr-style unbound extension)."""

    def init_app(self, app) -> None:
        engine = make_engine(app.config["DATABASE_URL"], **app.config.get("ENGINE_OPTIONS", {}))
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        state = _DbState(engine=engine, session=scoped_session(factory))
        app.extensions["compliance.db"] = state

        @app.teardown_appcontext
        def _remove_session(_exc):
            try:
                state.session.remove()
            except DBAPIError:
                # The connection died under the session (the database restarted): closing it rolls back, which
                # fails too. Drop the connection (the pool opens another, checked by pre-ping) and the session,
                # so this request's answer stands and the thread's next request starts clean.
                try:
                    state.session.registry().invalidate()
                except DBAPIError:
                    pass
                state.session.registry.clear()

    @staticmethod
    def _state() -> _DbState:
        return current_app.extensions["compliance.db"]

    @property
    def session(self) -> Session:
        """The current app's session (a scoped_session proxy)."""
        return self._state().session

    @property
    def engine(self) -> Engine:
        return self._state().engine


db = Database()
