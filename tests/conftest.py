"""Test fixtures: one fresh migrated database per run (SQLite or PostgreSQL), each test rolled back.

COMPLIANCE_TEST_BACKEND=sqlite (default) or postgresql; for PostgreSQL, COMPLIANCE_TEST_DATABASE_URL names a
server database we can connect to as a role that may create roles and databases; the run creates its own owner and
application roles (compliance.testing.pg_roles) and its databases beside that one, owned by the owner role, and
drops them at the end. Migrations run as the owner; the tests connect as the application role, as the service does
in production (compliance/protection.py), so every test meets the archive's grants. A test that needs the
owner's powers asks for `owner_database_url`.
"""
from __future__ import annotations

import datetime as dt
import itertools
import os
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import make_url, select
from sqlalchemy.orm import scoped_session, sessionmaker

BACKEND = os.environ.get("COMPLIANCE_TEST_BACKEND", "sqlite")

# CI replays the same examples every run, so a landing never hangs on a new random draw; developers' runs
# explore fresh examples (and keep failures in .hypothesis/ to replay them).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")
BEIJING = dt.timezone(dt.timedelta(hours=8))


def pytest_collection_modifyitems(config, items):
    deselected = []
    kept = []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"app", "session", "database_url", "empty_database_url", "isolated_database_url", "client",
                        "runner", "owner_database_url", "empty_database_pair", "isolated_owner_url"}:
            item.add_marker(pytest.mark.db)
        if item.get_closest_marker("postgres") and BACKEND != "postgresql":
            deselected.append(item)  # runs in the PostgreSQL pass (make test runs both)
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


_PG_ROLES: list = []   # [(owner, app)] once this run's roles exist
_OWNER_OF: dict = {}   # isolated database's application URL → its owner URL


def _create_pg_database() -> tuple[str, str, callable]:
    """A new empty database owned by this run's owner role: (application URL, owner URL, drop)."""
    from compliance.testing import as_role, scratch_database
    base = os.environ.get("COMPLIANCE_TEST_DATABASE_URL")
    if not base:
        pytest.exit("COMPLIANCE_TEST_BACKEND=postgresql needs COMPLIANCE_TEST_DATABASE_URL", returncode=1)
    if not _PG_ROLES:
        pytest.exit("the PostgreSQL roles of this run are not created yet (fixture _pg_roles)", returncode=1)
    owner, app = _PG_ROLES[0]
    try:
        owner_url, drop = scratch_database(base, "compliance_test", owner=owner)
    except Exception as exc:
        pytest.exit(f"PostgreSQL test server unreachable at {make_url(base).render_as_string(hide_password=True)}: "
                    f"{exc}", returncode=1)
    return as_role(owner_url, app), owner_url, drop


@pytest.fixture(scope="session")
def _pg_roles():
    """This run's owner and application roles on the shared server (unique names; dropped at the end)."""
    if BACKEND != "postgresql":
        yield None
        return
    from compliance.testing import pg_roles
    base = os.environ.get("COMPLIANCE_TEST_DATABASE_URL")
    if not base:
        pytest.exit("COMPLIANCE_TEST_BACKEND=postgresql needs COMPLIANCE_TEST_DATABASE_URL", returncode=1)
    try:
        owner, app, drop = pg_roles(base, "compliance_t")
    except Exception as exc:
        pytest.exit(f"cannot create the test roles at {make_url(base).render_as_string(hide_password=True)}: {exc}",
                    returncode=1)
    _PG_ROLES.append((owner, app))
    yield owner, app
    _PG_ROLES.clear()
    drop()


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    """argon2 at its production cost takes ~50 ms a hash; tests create many users. Same algorithm, low cost."""
    from argon2 import PasswordHasher

    import compliance.passwords as passwords
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original


@pytest.fixture(scope="session")
def _database(_pg_roles, tmp_path_factory):
    """(application URL, owner URL) of a fresh database at the migration head with the Beijing jurisdictions."""
    from compliance.testing import prepare_database

    if BACKEND == "postgresql":
        url, owner_url, drop = _create_pg_database()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        owner_url, drop = url, (lambda: None)
    prepare_database(url, owner_url=owner_url)
    yield url, owner_url
    drop()


@pytest.fixture(scope="session")
def database_url(_database):
    """The run's database, connecting as the application role (PostgreSQL) as the service does."""
    return _database[0]


@pytest.fixture(scope="session")
def owner_database_url(_database):
    """The same database connecting as its owner role (PostgreSQL; on SQLite the same URL): for the few tests
    that need the owner's powers (disabling a trigger, checking what only the grants refuse)."""
    return _database[1]


@pytest.fixture
def empty_database_url(_pg_roles, tmp_path):
    """A brand-new empty database on the backend under test (dropped afterwards), connecting as its owner, who
    may migrate it."""
    if BACKEND == "postgresql":
        _url, url, drop = _create_pg_database()
    else:
        url, drop = f"sqlite:///{tmp_path / 'empty.sqlite3'}", (lambda: None)
    yield url
    drop()


@pytest.fixture
def empty_database_pair(_pg_roles, tmp_path):
    """A brand-new empty database as (application URL, owner URL); the same URL twice on SQLite."""
    if BACKEND == "postgresql":
        url, owner_url, drop = _create_pg_database()
    else:
        url = f"sqlite:///{tmp_path / 'empty-pair.sqlite3'}"
        owner_url, drop = url, (lambda: None)
    yield url, owner_url
    drop()


@pytest.fixture(scope="session")
def _app(database_url, tmp_path_factory):
    from flask import g

    from compliance import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                      "DOCUMENT_STORE": str(tmp_path_factory.mktemp("documents")),
                      "WTF_CSRF_ENABLED": False})

    def _fresh_request_globals():
        # A test keeps one app context across its requests, so `g` (where Flask-Login keeps the loaded user)
        # would outlive a request; in production every request starts with an empty `g`. Start each one so here,
        # before any other hook reads the user.
        g.__dict__.clear()

    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)

    return app


@pytest.fixture
def app(_app):
    """The app, with its session bound to a connection whose outer transaction is rolled back after the test."""
    state = _app.extensions["compliance.db"]
    connection = state.engine.connect()
    outer = connection.begin()
    original = state.session
    state.session = scoped_session(sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                                expire_on_commit=False))
    with _app.app_context():
        yield _app
    state.session.remove()
    state.session = original
    outer.rollback()
    connection.close()


@pytest.fixture
def session(app):
    from compliance.db import db
    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def now():
    """A fixed business moment: 2026-11-24 10:00 Beijing."""
    return dt.datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING).astimezone(dt.timezone.utc)


_counter = itertools.count(1)


@pytest.fixture
def jurisdiction(session):
    """A fresh street under 朝阳区, so numbering in one test never depends on another."""
    from compliance.models import Jurisdiction, JurisdictionLevel
    from compliance.seed import add_jurisdiction
    from compliance.testing import invented_letterhead
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    n = next(_counter)
    street = add_jurisdiction(session, code=f"T{uuid.uuid4().hex[:10]}", name=f"测试街道{n}",
                              level=JurisdictionLevel.STREET, parent=chaoyang,
                              federation_name=f"朝阳区测试街道{n}总工会", issuer_code=f"京朝测{n}工监")
    street.letterhead = {**invented_letterhead(street), "chair": "王秀英", "vice_chair": "李卫东"}
    session.flush()
    return street


@pytest.fixture
def make_user(session, jurisdiction):
    from compliance.models import Role
    from compliance.operations.users import create_user

    def factory(**kw):
        n = next(_counter)
        kw.setdefault("login", f"user{n}_{uuid.uuid4().hex[:6]}")
        kw.setdefault("name", f"测试{n}")
        kw.setdefault("password", "correct horse battery")
        kw.setdefault("jurisdiction", jurisdiction)
        kw.setdefault("roles", {Role.SUPERVISOR})
        return create_user(session, **kw)
    return factory


@pytest.fixture
def make_enterprise(session, jurisdiction):
    from compliance.identifiers import uscc_check_char
    from compliance.models import Enterprise

    def factory(**kw):
        if "uscc" not in kw:
            body = f"91110105{uuid.uuid4().int % 10**9:09d}"
            kw["uscc"] = body + uscc_check_char(body)
        kw.setdefault("name", f"北京测试企业{next(_counter)}有限公司")
        kw.setdefault("jurisdiction", jurisdiction)
        kw.setdefault("employee_count", 60)
        kw.setdefault("address", "北京市朝阳区建国路1号")
        kw.setdefault("legal_representative", "陈建国")
        kw.setdefault("monthly_payroll", Decimal("500000.00"))
        e = Enterprise(**kw)
        session.add(e)
        session.flush()
        return e
    return factory


@pytest.fixture
def supervisor(make_user):
    return make_user()


@pytest.fixture
def make_case(session, make_enterprise, supervisor, now):
    from compliance.operations.cases import open_case

    def factory(violations=("no_union",), enterprise=None, at=None, **kw):
        # An unpaid-funds case is against a unit with a union unless said otherwise: a unit without one owes
        # funds only from the day the higher union started helping (BJM 55(3)), which the case must record.
        if enterprise is None:
            enterprise = make_enterprise(has_union="unpaid_funds" in violations)
        return open_case(session, enterprise=enterprise, violations=violations,
                         opened_by=supervisor, supervisors=[supervisor], now=at or now, **kw)
    return factory


@pytest.fixture
def store(app):
    """The app's document store (a temporary folder for the run)."""
    from compliance.documents import DocumentStore
    return DocumentStore(app.config["DOCUMENT_STORE"])


@pytest.fixture
def approver(session, make_user):
    """The district committee's chair: approves notices of the test street and the district's own (监督建议书 and
    the other county-level letters are the district's), and may issue them."""
    from compliance.models import Jurisdiction, Role
    chaoyang = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110105"))
    return make_user(name="张国栋", roles={Role.APPROVER}, jurisdiction=chaoyang)


@pytest.fixture
def send_letters(session, approver, store):
    """Complete, approve and issue every draft notice of a case through the real operations (the letter goes out)."""
    from compliance.testing import issue_drafts

    def send(case_id, now):
        return issue_drafts(session, case_id, approver=approver, now=now, store=store)
    return send


@pytest.fixture
def city_admin(session, make_user):
    """An admin of the city federation (the only level that may enter the national holiday calendar)."""
    from compliance.models import Jurisdiction, Role
    city = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110000"))
    return make_user(name="市级管理员", roles={Role.ADMIN}, jurisdiction=city)


@pytest.fixture
def isolated_database_url(_pg_roles, tmp_path):
    """A database of its own, migrated and seeded, for a test that commits for real (threads, processes): its
    rows never reach the shared test database, whose other tests count rows. Connects as the application role."""
    from compliance.testing import prepare_database
    if BACKEND == "postgresql":
        url, owner_url, drop = _create_pg_database()
    else:
        url, drop = f"sqlite:///{tmp_path / 'isolated.sqlite3'}", (lambda: None)
        owner_url = url
    prepare_database(url, owner_url=owner_url)
    _OWNER_OF[url] = owner_url
    yield url
    _OWNER_OF.pop(url, None)
    drop()


@pytest.fixture
def isolated_owner_url(isolated_database_url):
    """The owner role's URL of isolated_database_url's database (the same URL on SQLite): for bulk set-up the
    service itself never does (explicit ids, setval on sequences), before the test runs as the application role."""
    return _OWNER_OF.get(isolated_database_url, isolated_database_url)
