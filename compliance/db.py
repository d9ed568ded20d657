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


def reading_engine(url: str) -> Engine:
    """An engine for reading beside the live service. On SQLite, plain deferred transactions (WAL readers never
    wait for a writer), not the service's BEGIN IMMEDIATE, which takes the write lock; PostgreSQL as usual."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30})
    return make_engine(url)


class DatabaseUnreachable(RuntimeError):
    """The database cannot be reached at all (down, wrong address, refused login): one Chinese line says so."""


def shown_url(url: str) -> str:
    """A database URL fit to print: the password replaced by ***."""
    from sqlalchemy import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:   # not a URL at all: nothing in it to hide but what follows a colon before an @
        return url.split("@")[-1]


#: What a driver's message means, in the words an operator needs (first match wins).
_REASONS = (
    ("password authentication failed", "用户名或密码错误"),
    ("authentication failed", "用户名或密码错误"),
    ("no pg_hba.conf entry", "数据库服务器不允许从本机以该用户连接（pg_hba.conf）"),
    ("does not exist", "数据库或用户不存在"),
    ("connection refused", "连接被拒绝（数据库服务未启动，或主机、端口有误）"),
    ("could not translate host name", "主机名无法解析"),
    ("name or service not known", "主机名无法解析"),
    ("failed to resolve host", "主机名无法解析"),
    ("timeout expired", "连接超时"),
    ("timed out", "连接超时"),
    ("the database system is starting up", "数据库正在启动"),
    ("the database system is shutting down", "数据库正在关闭"),
    ("too many connections", "数据库连接数已满"),
    ("remaining connection slots", "数据库连接数已满"),
    ("no route to host", "网络不通（无法到达数据库主机）"),
    ("network is unreachable", "网络不通（无法到达数据库主机）"),
    ("unable to open database file", "无法打开数据库文件（文件或其所在目录不存在，或没有权限）"),
    ("permission denied", "没有访问数据库的权限"),
)


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    lowered = text.lower()
    for needle, reason in _REASONS:
        if needle in lowered:
            return reason
    first = next((line.strip() for line in text.splitlines() if line.strip()), exc.__class__.__name__)
    return f"连接失败（{first[:200]}）"


def unreachable_reason(url: str, *, timeout: int = 5) -> str | None:
    """Why the database at url cannot be reached, in Chinese; None when a connection opens now.

    One short connection attempt (at most `timeout` seconds). SQLite: the file must exist and open; a missing
    file in an existing folder is not "unreachable" (`db upgrade` creates it), a missing folder is.
    """
    from sqlalchemy import make_url
    from sqlalchemy.pool import NullPool
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        import sqlite3
        from pathlib import Path
        path = parsed.database
        if not path or path == ":memory:":
            return None
        if not Path(path).parent.is_dir():
            return "数据库文件所在的目录不存在"
        if not Path(path).exists():
            return None
        try:
            sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=timeout).close()
        except sqlite3.Error as exc:
            return _reason(exc)
        return None
    args = {"connect_timeout": timeout} if parsed.get_backend_name() == "postgresql" else {}
    engine = create_engine(parsed, poolclass=NullPool, connect_args=args)
    try:
        with engine.connect():
            return None
    except Exception as exc:   # whatever the driver raises: the connection did not open
        return _reason(exc)
    finally:
        engine.dispose()


def unreachable_message(url: str, setting: str = "COMPLIANCE_DATABASE_URL", *, timeout: int = 5) -> str | None:
    """One Chinese line naming the database (without its password) and why it cannot be reached; None when it
    can be."""
    reason = unreachable_reason(url, timeout=timeout)
    if reason is None:
        return None
    return f"无法连接数据库 {shown_url(url)}：{reason}。请检查数据库是否可用以及 {setting} 是否正确"


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
