"""Constraints the database keeps, not only Python."""
import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError, DBAPIError

from compliance.identifiers import InvalidIdentifier
from compliance.models import AppendOnlyViolation, CaseEvent, Enterprise, Jurisdiction


def test_uscc_is_unique_in_the_database(session, make_enterprise, jurisdiction):
    make_enterprise(uscc="91110108551385082Q")
    # Bypass the model's validator and ORM: the database itself refuses the duplicate.
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(insert(Enterprise).values(uscc="91110108551385082Q", name="另一家公司",
                                                      jurisdiction_id=jurisdiction.id, address="", industry="",
                                                      ownership_type="", legal_representative="", contact_name="",
                                                      contact_phone="", has_union=False,
                                                      created_at=text("CURRENT_TIMESTAMP"),
                                                      updated_at=text("CURRENT_TIMESTAMP")))


def test_invalid_uscc_never_reaches_the_database(session, jurisdiction):
    with pytest.raises(InvalidIdentifier):
        Enterprise(uscc="91110108551385082R", name="校验位错误公司", jurisdiction=jurisdiction)
    assert session.scalar(select(Enterprise).where(Enterprise.name == "校验位错误公司")) is None


def test_enterprise_needs_some_identifier(session, jurisdiction):
    session.add(Enterprise(name="无代码公司", jurisdiction=jurisdiction))
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.flush()


def test_enterprise_stores_normalised_code(make_enterprise):
    assert make_enterprise(uscc=" 91110108551385082q ").uscc == "91110108551385082Q"


def test_case_event_cannot_be_updated_through_the_model(session, make_case):
    case = make_case()
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
    event.reason = "篡改"
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()


def test_case_event_cannot_be_deleted_through_the_model(session, make_case):
    case = make_case()
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
    session.delete(event)
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_case_event_bulk_changes_are_refused_by_the_database(session, make_case, statement):
    case = make_case()
    stmt = (update(CaseEvent).where(CaseEvent.case_id == case.id).values(reason="x") if statement == "update"
            else delete(CaseEvent).where(CaseEvent.case_id == case.id))
    # SQLite: the trigger; PostgreSQL: the application role has no UPDATE/DELETE right on the table at all (the
    # owner still meets the trigger: tests/compliance/test_archive_protection.py).
    with pytest.raises(DBAPIError, match="append-only|permission denied for table case_events"):
        with session.begin_nested():
            session.execute(stmt)
    assert session.scalar(select(CaseEvent.reason).where(CaseEvent.case_id == case.id)) != "x"


def test_jurisdiction_tree_is_seeded(session):
    city = session.scalar(select(Jurisdiction).where(Jurisdiction.code == "110000"))
    names = {j.name for j in city.children}
    assert len(names) == 17
    assert {"东城区", "海淀区", "延庆区", "北京经济技术开发区"} <= names
    assert all(city.contains(j) for j in city.children)


def test_case_state_is_checked_by_the_database(session, make_case):
    from compliance.models import Case
    case = make_case()
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(update(Case).where(Case.id == case.id).values(state="teleported"))
