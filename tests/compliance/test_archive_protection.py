"""Nothing altered: the database itself refuses to change or remove what the archive keeps.

Every statement here is what someone with the service's own database account could type. On PostgreSQL the
account is the application role (tests connect as it, as `compliance serve` does): it has no UPDATE/DELETE/
TRUNCATE right on the audit and archive tables and may not touch a trigger; the triggers refuse the rest, and
refuse the owner too. On SQLite the triggers refuse the same changes.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from compliance.db import Base, make_engine
from compliance.models import Attachment, CaseEvent, Notice, NoticeService, StoredDocument
from compliance.protection import (APPEND_ONLY, MUTABLE, NO_DELETE, READ_ONLY, REFUSAL_PREFIX, REFUSAL_SQLSTATE,
                                   UnclassifiedTable, database_tables, grant_statements, is_refusal,
                                   refusal_message, table_class)
from tests.compliance.archive_support import BACKEND, archive_database

pytestmark = pytest.mark.db
postgres_only = pytest.mark.skipif(BACKEND != "postgresql", reason="roles and TRUNCATE exist on PostgreSQL only")


@pytest.fixture(scope="module")
def archive(_pg_roles, tmp_path_factory):
    with archive_database(_pg_roles, tmp_path_factory.mktemp("protection")) as db:
        yield db


@pytest.fixture(scope="module")
def app_engine(archive):
    engine = make_engine(archive.url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def owner_engine(archive):
    engine = make_engine(archive.owner_url)
    yield engine
    engine.dispose()


def _refused(engine, statement) -> DBAPIError:
    """Run one statement in its own transaction; it must fail; nothing stays."""
    with engine.connect() as conn:
        with pytest.raises(DBAPIError) as info:
            with conn.begin():
                conn.execute(text(statement) if isinstance(statement, str) else statement)
    return info.value


def _issued(archive):
    return archive.ids["issued"][1]          # issued, not withdrawn


def _row(engine, model, key):
    with engine.connect() as conn:
        return conn.execute(select(model.__table__).where(list(model.__table__.primary_key)[0] == key)).one()


# ------------------------------------------------------------------------------------ the classes of tables

def test_every_table_is_in_exactly_one_class():
    classes = [APPEND_ONLY, NO_DELETE, MUTABLE, READ_ONLY]
    names = set(Base.metadata.tables) | {"alembic_version"}
    for name in names:
        assert sum(name in c for c in classes) == 1, name
    assert sum(len(c) for c in classes) == len(set().union(*classes)), "a table in two classes"
    with pytest.raises(UnclassifiedTable, match="尚未分类"):
        table_class("a_table_nobody_classified")


def test_the_migrated_database_has_only_classified_tables(archive, owner_engine):
    with owner_engine.connect() as conn:
        tables = database_tables(conn)
    assert {"notices", "stored_documents", "case_events", "alembic_version"} <= set(tables)
    for table in tables:
        table_class(table)


def test_grants_never_give_truncate_trigger_or_references():
    statements = grant_statements(sorted(APPEND_ONLY | NO_DELETE | MUTABLE | READ_ONLY), "app", "owner")
    grants = [s for s in statements if s.startswith("GRANT") and " ON TABLE " in s]
    assert len(grants) == len(APPEND_ONLY | NO_DELETE | MUTABLE | READ_ONLY)
    for s in statements:
        assert "TRUNCATE" not in s and "TRIGGER" not in s and "REFERENCES" not in s and "ALL PRIVILEGES" not in s
    assert 'GRANT SELECT, INSERT ON TABLE public."case_events" TO "app"' in statements
    assert 'GRANT SELECT, INSERT, UPDATE ON TABLE public."notices" TO "app"' in statements
    assert grant_statements(["notices"], "app", dialect="sqlite") == []


def test_the_triggers_are_in_place(owner_engine):
    with owner_engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            names = set(conn.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'")))
            expected = {"case_events_no_update", "admin_events_no_update", "stored_documents_no_change",
                        "attachments_no_change", "notices_issued_guard", "notice_services_guard"} | {
                f"{t}_no_truncate" for t in ("case_events", "admin_events", "stored_documents", "attachments",
                                             "notices", "notice_services")}
        else:
            names = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
            expected = {f"{t}_no_{op}" for t in APPEND_ONLY for op in ("update", "delete")} | {
                "notices_issued_frozen", "notices_issued_status", "notices_issued_no_delete",
                "notice_services_no_delete", "notice_services_frozen", "notice_services_superseded"}
    assert expected <= names


# ------------------------------------------------------------------------- refusals, as the service's account

def _changes(archive):
    issued, withdrawn = _issued(archive), archive.ids["withdrawn"]
    superseded, current = archive.ids["services"]
    n, ns = Notice.__table__, NoticeService.__table__
    return {
        "number": update(n).where(n.c.id == issued).values(number="京篡改〔2026〕1号"),
        "addressee": update(n).where(n.c.id == issued).values(snapshot={"addressee": {"name": "另一家公司"}}),
        "type": update(n).where(n.c.id == issued).values(notice_type="recommendation"),
        "issuer": update(n).where(n.c.id == issued).values(issuer_id=1),
        "issue date": update(n).where(n.c.id == issued).values(issued_at=None),
        "hash": update(n).where(n.c.id == issued).values(
            sha256=select(n.c.sha256).where(n.c.id == archive.ids["withdrawal"]).scalar_subquery()),
        "verification code": update(n).where(n.c.id == issued).values(verification_code="XXXXXXXXXX"),
        "back to draft": update(n).where(n.c.id == issued).values(status="draft"),
        "un-withdraw": update(n).where(n.c.id == withdrawn).values(status="issued"),
        "delete issued": delete(n).where(n.c.id == issued),
        "delete withdrawn": delete(n).where(n.c.id == withdrawn),
        "document size": update(StoredDocument.__table__).values(size=1),
        "document path": update(StoredDocument.__table__).values(path="elsewhere.pdf"),
        "delete document": delete(StoredDocument.__table__),
        "attachment hash": update(Attachment.__table__).values(sha256="0" * 64),
        "delete attachment": delete(Attachment.__table__),
        "event": update(CaseEvent.__table__).values(reason="篡改"),
        "delete event": delete(CaseEvent.__table__),
        "service date": update(ns).where(ns.c.id == current).values(served_on=dt.date(2026, 12, 31)),
        "service method": update(ns).where(ns.c.id == current).values(method="left"),
        "service recipient": update(ns).where(ns.c.id == superseded).values(recipient="另一个人"),
        "service proof": update(ns).where(ns.c.id == current).values(proof_attachment_id=None),
        "service deadline": update(ns).where(ns.c.id == current).values(deadline_id=None),
        "supersede and edit": update(ns).where(ns.c.id == current).values(superseded_at=dt.datetime(
            2026, 11, 25, tzinfo=dt.timezone.utc), served_on=dt.date(2026, 11, 25)),
        "un-supersede": update(ns).where(ns.c.id == superseded).values(superseded_at=None),
        "re-supersede": update(ns).where(ns.c.id == superseded).values(superseded_at=dt.datetime(
            2027, 1, 1, tzinfo=dt.timezone.utc)),
        "delete current service": delete(ns).where(ns.c.id == current),
        "delete superseded service": delete(ns).where(ns.c.id == superseded),
    }


CHANGES = ["number", "addressee", "type", "issuer", "issue date", "hash", "verification code", "back to draft",
           "un-withdraw", "delete issued", "delete withdrawn", "document size", "document path", "delete document",
           "attachment hash", "delete attachment", "event", "delete event", "service date", "service method",
           "service recipient", "service proof", "service deadline", "supersede and edit", "un-supersede",
           "re-supersede", "delete current service", "delete superseded service"]


@pytest.mark.parametrize("change", CHANGES)
def test_the_service_account_cannot_alter_or_remove_the_archive(archive, app_engine, change):
    before = _row(app_engine, Notice, _issued(archive))
    services = [_row(app_engine, NoticeService, i) for i in archive.ids["services"]]
    exc = _refused(app_engine, _changes(archive)[change])
    assert is_refusal(exc), exc
    assert refusal_message(exc).startswith(REFUSAL_PREFIX)
    assert _row(app_engine, Notice, _issued(archive)) == before
    assert [_row(app_engine, NoticeService, i) for i in archive.ids["services"]] == services


@pytest.mark.parametrize("change", CHANGES)
def test_the_triggers_refuse_even_the_owner(archive, owner_engine, change):
    """On PostgreSQL the owner has every right on its tables: only the triggers stand in the way (SQLSTATE CM001,
    a Chinese message). On SQLite this is the same account as above."""
    exc = _refused(owner_engine, _changes(archive)[change])
    if owner_engine.dialect.name == "postgresql":
        assert exc.orig.sqlstate == REFUSAL_SQLSTATE, exc
    assert str(exc.orig).startswith(REFUSAL_PREFIX), exc


@postgres_only
@pytest.mark.parametrize("statement", [
    "TRUNCATE case_events CASCADE",
    "TRUNCATE notices, stored_documents CASCADE",
    "TRUNCATE attachments",
    "TRUNCATE admin_events",
    "TRUNCATE notice_services",
    "ALTER TABLE notice_services DISABLE TRIGGER notice_services_guard",
    "ALTER TABLE notices DISABLE TRIGGER notices_issued_guard",
    "ALTER TABLE case_events DISABLE TRIGGER ALL",
    "DROP TRIGGER notices_issued_guard ON notices",
    "DROP FUNCTION notices_guard() CASCADE",
    "CREATE OR REPLACE FUNCTION archive_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    "SET session_replication_role = replica",
    "ALTER TABLE stored_documents OWNER TO CURRENT_USER",
    "CREATE TABLE sneaky (id int)",
])
def test_the_application_role_may_not_truncate_or_touch_triggers(archive, app_engine, statement):
    with app_engine.connect() as conn:
        assert not conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
    exc = _refused(app_engine, statement)
    assert exc.orig.sqlstate == "42501", exc       # insufficient_privilege
    with app_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM case_events")) > 0
        assert conn.scalar(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'notices_issued_guard' "
                                "AND tgenabled = 'O'")) == 1


@postgres_only
@pytest.mark.parametrize("statement", ["TRUNCATE case_events CASCADE", "TRUNCATE notices CASCADE",
                                       "TRUNCATE stored_documents CASCADE", "TRUNCATE notice_services"])
def test_truncate_is_refused_to_the_owner_by_a_trigger(archive, owner_engine, statement):
    exc = _refused(owner_engine, statement)
    assert exc.orig.sqlstate == REFUSAL_SQLSTATE, exc


@postgres_only
def test_the_application_role_has_exactly_its_class_rights(archive, app_engine):
    with app_engine.connect() as conn:
        def has(table, right):
            return conn.scalar(text("SELECT has_table_privilege(current_user, :t, :r)"), {"t": table, "r": right})
        for table in APPEND_ONLY:
            assert has(table, "SELECT") and has(table, "INSERT"), table
            assert not has(table, "UPDATE") and not has(table, "DELETE") and not has(table, "TRUNCATE"), table
        for table in NO_DELETE:
            assert has(table, "UPDATE") and not has(table, "DELETE") and not has(table, "TRUNCATE"), table
        assert has("cases", "DELETE") and not has("cases", "TRUNCATE") and not has("cases", "TRIGGER")
        assert has("alembic_version", "SELECT") and not has("alembic_version", "UPDATE")


# ----------------------------------------------------------------------------- what stays allowed

def test_an_issued_notice_may_become_withdrawn_and_nothing_else(archive, app_engine):
    issued = archive.ids["issued"][2]
    with app_engine.connect() as conn:
        with conn.begin() as tx:
            conn.execute(update(Notice.__table__).where(Notice.id == issued)
                         .values(status="withdrawn", version=Notice.version + 1))
            assert conn.scalar(select(Notice.status).where(Notice.id == issued)) == "withdrawn"
            tx.rollback()


def test_a_current_service_record_may_be_superseded_once(archive, app_engine):
    """What correct_service does: mark the record in force superseded (and nothing else), then insert its successor."""
    superseded, current = archive.ids["services"]
    ns = NoticeService.__table__
    when = dt.datetime(2026, 11, 25, 2, tzinfo=dt.timezone.utc)
    with app_engine.connect() as conn:
        with conn.begin() as tx:
            conn.execute(update(ns).where(ns.c.id == current).values(superseded_at=when))
            assert conn.scalar(select(ns.c.superseded_at).where(ns.c.id == current)) == when
            conn.execute(update(ns).where(ns.c.id == current).values(superseded_at=when))   # no change: allowed
            tx.rollback()
    with app_engine.connect() as conn:
        assert conn.scalar(select(ns.c.superseded_at).where(ns.c.id == current)) is None
        assert conn.scalar(select(ns.c.supersedes_id).where(ns.c.id == current)) == superseded


def test_notices_not_yet_issued_stay_editable(archive, app_engine):
    approved = archive.ids["approved"]
    with app_engine.connect() as conn:
        with conn.begin() as tx:
            conn.execute(update(Notice.__table__).where(Notice.id == approved)
                         .values(snapshot={"findings": "改过的事实"}, status="draft", approved_by_id=None,
                                 approved_at=None, rejection_reason="退回修改"))
            assert conn.scalar(select(Notice.rejection_reason).where(Notice.id == approved)) == "退回修改"
            tx.rollback()


def test_the_web_answers_a_refusal_in_chinese_not_500(archive, tmp_path):
    """Whatever route someday reaches a trigger, the person sees a Chinese refusal (409), never a 500."""
    from compliance import create_app
    from compliance.db import db
    app = create_app({"DATABASE_URL": archive.url, "SECRET_KEY": "x", "DOCUMENT_STORE": str(archive.store.root)})
    issued = _issued(archive)

    @app.route("/__tamper")
    def tamper():
        db.session.execute(update(Notice.__table__).where(Notice.id == issued).values(number="京篡改〔2026〕2号"))
        db.session.commit()
        return "changed"

    response = app.test_client().get("/__tamper", headers={"Accept": "application/json"})
    assert response.status_code == 409
    body = response.get_json()
    assert body["message"].startswith(REFUSAL_PREFIX) and body["error"] == "not_allowed"
    with app.app_context():
        assert db.session.get(Notice, issued).number != "京篡改〔2026〕2号"
    db_engine = app.extensions["compliance.db"].engine
    db_engine.dispose()


# ------------------------------------------------------------------------------- setting up the two roles

def test_db_upgrade_migrates_as_the_owner_and_grants_the_application_role(empty_database_pair, tmp_path):
    """What docs/deploy.md tells an operator to run: two URLs, one `compliance db upgrade`."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from sqlalchemy import make_url

    from compliance.protection import connection_warning
    url, owner_url = empty_database_pair
    env = {**os.environ, "COMPLIANCE_DATABASE_URL": url, "COMPLIANCE_MIGRATION_DATABASE_URL": owner_url,
           "COMPLIANCE_SECRET_KEY": "x", "COMPLIANCE_DOCUMENT_STORE": str(tmp_path / "docs"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-m", "compliance.cli", "db", "upgrade"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "新增辖区 18 个" in done.stdout                 # seeded through the application role
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert connection_warning(conn) is None
            if conn.dialect.name == "postgresql":
                owners = set(conn.scalars(text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = "
                                               "'public'")))
                assert owners == {make_url(owner_url).username}
                assert conn.scalar(text("SELECT has_table_privilege(current_user, 'notices', 'UPDATE')"))
                assert not conn.scalar(text("SELECT has_table_privilege(current_user, 'case_events', 'DELETE')"))
    finally:
        engine.dispose()
    if url.startswith("postgresql"):
        owner = make_engine(owner_url)
        try:
            with owner.connect() as conn:
                assert "数据表属主" in connection_warning(conn)     # serve would warn if pointed at the owner
                conn.execute(text("CREATE TABLE unclassified_thing (id int)"))
                conn.commit()
        finally:
            owner.dispose()
        again = subprocess.run([sys.executable, "-m", "compliance.cli", "db", "grant"], env=env,
                               capture_output=True, text=True, timeout=300)
        assert again.returncode == 1 and "unclassified_thing 尚未分类" in again.stderr
        probe = make_engine(url)
        try:
            with probe.connect() as conn:   # the owner's default privileges: readable, insertable, no more
                rights = {r: conn.scalar(text("SELECT has_table_privilege(current_user, 'unclassified_thing', :r)"),
                                         {"r": r}) for r in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")}
        finally:
            probe.dispose()
        assert rights == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False, "TRUNCATE": False}


@postgres_only
def test_the_role_setup_in_the_deploy_guide_runs(tmp_path):
    """docs/deploy.md's statements (compliance.protection.role_setup_sql), on the shared server with unique names."""
    import os
    import uuid

    from sqlalchemy import create_engine, make_url

    from compliance.protection import role_setup_sql
    tag = uuid.uuid4().hex[:8]
    owner, app, database = f"compliance_t_o{tag}", f"compliance_t_a{tag}", f"compliance_test_roles_{tag}"
    base = make_url(os.environ["COMPLIANCE_TEST_DATABASE_URL"])
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in role_setup_sql(owner, app, database, app_password="it's secret"):
                conn.execute(text(statement))
            assert conn.scalar(text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :d"),
                               {"d": database}) == owner
            assert not conn.scalar(text("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles "
                                        "WHERE rolname = :r"), {"r": app})
            assert conn.scalar(text("SELECT has_database_privilege(:r, :d, 'CONNECT')"), {"r": app, "d": database})
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{app}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        admin.dispose()
