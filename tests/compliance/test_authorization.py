"""The authorization matrix of the operations: every operation × every role × in scope / out of scope.

The expected table is written out here by hand (it is the policy a federation agreed to), not read from
compliance.access: a change to the code's table that nobody meant fails this test. A refused call raises the
same NotFound as an absent row when out of scope, Forbidden in scope, and changes nothing: every table's rows,
every case's and notice's version and status, and the files in the document store are compared before and after.
"""
from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import func, select, text

from compliance.db import Base
from compliance.errors import Forbidden, NotFound
from compliance.models import Jurisdiction, LoginThrottle, Notice, Role
from compliance.clock import business_date
from compliance.operations import accounts, cases, holidays, notices, service, tokens
from compliance.testing import VISIT, refuse_after_visit
from workflows.calendar import DayKind, HolidayOverride

ROLES = (Role.SUPERVISOR, Role.APPROVER, Role.ADMIN, Role.AUDITOR)

#: Which roles may perform each operation inside their scope. Everything else is refused.
ALLOWED = {
    "register_enterprise": {Role.SUPERVISOR},
    "open_case": {Role.SUPERVISOR},
    "assign_supervisors": {Role.SUPERVISOR},
    "record_funds_facts": {Role.SUPERVISOR},
    "attach_evidence": {Role.SUPERVISOR},
    "submit_notice": {Role.SUPERVISOR, Role.APPROVER},
    "fire_trigger": {Role.SUPERVISOR},
    "update_draft": {Role.SUPERVISOR, Role.APPROVER},
    "approve_notice": {Role.APPROVER},
    "reject_notice": {Role.APPROVER},
    "issue_notice": {Role.SUPERVISOR, Role.APPROVER},
    "request_withdrawal": {Role.SUPERVISOR, Role.APPROVER},
    "record_service": {Role.SUPERVISOR},
    "create_account": {Role.ADMIN},
    "update_account": {Role.ADMIN},
    "set_active": {Role.ADMIN},
    "reset_password": {Role.ADMIN},
    "sign_out_everywhere": {Role.ADMIN},
    "unlock_login": {Role.ADMIN},
    "update_letterhead": {Role.ADMIN},
    # Another user's API tokens (one's own: every role, test_api_tokens.py).
    "create_token": {Role.ADMIN},
    "list_tokens": {Role.ADMIN},
    "revoke_token": {Role.ADMIN},
    "import_enterprises": {Role.SUPERVISOR},
    "import_cases": {Role.SUPERVISOR},
}
#: Imports check the scope row by row: out of scope, every row comes back refused and nothing is written.
ROW_SCOPED = {"import_enterprises", "import_cases"}
#: The national calendar: city-level admins only, whatever "scope" means for the others.
CITY_ADMIN_ONLY = {"enter_holiday_year"}

RULES = accounts.AccessRules()
#: A small well-formed PDF (evidence is recognised by its content).
EVIDENCE = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture
def world(session, make_user, make_case, supervisor, approver, send_letters, now, jurisdiction):
    """A 朝阳 street case with a draft, an approved and an issued notice; a user and a login lock in 朝阳."""
    case = make_case(violations=("no_union",))
    cases.fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
    send_letters(case.id, now)                                             # the visit notice: issued
    refuse_after_visit(session, case.id, actor=supervisor, now=now)  # the visit letter's period has not run
    [opinion] = cases.fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=now).notices
    other = make_case(violations=("no_union",))
    [approved] = cases.fire_trigger(session, other.id, "record_visit", VISIT, actor=supervisor, now=now).notices
    notices.approve_notice(session, approved.id, approver=approver, now=now)
    member = make_user(login="chaoyang.member")
    session.add(LoginThrottle(scope="account", key=member.login, failures=12, first_failure_at=now,
                              last_failure_at=now, locked_until=now + dt.timedelta(minutes=15)))
    member_token, _secret = tokens.create_token(session, actor=member, name="矩阵客户端", now=now)
    session.flush()
    issued = session.scalars(select(Notice).where(Notice.case_id == case.id, Notice.status == "issued")).one()
    return {"case": case, "draft": opinion, "approved": approved, "issued": issued, "member": member,
            "member_token": member_token,
            "street": jurisdiction, "enterprise": case.enterprise}


def _place(session, code):
    return session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))


def _calls(session, world, now, store):
    """Each operation called on the world's rows, as `actor` would call it."""
    w = world
    from compliance.identifiers import uscc_check_char
    from compliance.operations import assignments, attachments, enterprises, funds
    body = "91110105MA0MTR4X7"
    from compliance.operations.imports import import_file
    street = w["street"]
    code = "91110105MA0MTR4Y9" + uscc_check_char("91110105MA0MTR4Y9")
    enterprise_file = (f"统一社会信用代码,企业名称,所在区,街道/乡镇\n"
                       f"{code},北京矩阵导入有限公司,{street.parent.name},{street.name}\n")
    case_file = f"统一社会信用代码,违法情形\n{w['enterprise'].identifier},不缴费\n"
    return {
        "import_enterprises": lambda actor: import_file(session, actor=actor, kind="enterprises",
                                                        data=enterprise_file.encode(), mode="good-rows",
                                                        dry_run=False, now=now),
        "import_cases": lambda actor: import_file(session, actor=actor, kind="cases", data=case_file.encode(),
                                                  mode="good-rows", dry_run=False, now=now),
        "register_enterprise": lambda actor: enterprises.register_enterprise(
            session, actor=actor, uscc=body + uscc_check_char(body), name="北京矩阵测试有限公司",
            jurisdiction=w["street"], now=now),
        "assign_supervisors": lambda actor: assignments.assign_supervisors(session, w["case"].id, [w["member"].id],
                                                                           actor=actor, now=now),
        "record_funds_facts": lambda actor: funds.record_funds_facts(session, w["case"].id, actor=actor, now=now,
                                                                     has_union=False,
                                                                     union_help_started_on=now.date()),
        "attach_evidence": lambda actor: attachments.attach_evidence(session, w["case"].id, data=EVIDENCE,
                                                                     filename="走访记录.pdf", actor=actor, now=now,
                                                                     store=store),
        "submit_notice": lambda actor: notices.submit_notice(session, w["draft"].id, actor=actor, now=now),
        "open_case": lambda actor: cases.open_case(session, enterprise=w["enterprise"], violations=["unpaid_funds"],
                                                   opened_by=actor, now=now),
        "fire_trigger": lambda actor: cases.fire_trigger(session, w["case"].id, "withdraw", {"reason": "企业注销"},
                                                         actor=actor, now=now),
        "update_draft": lambda actor: notices.update_draft(session, w["draft"].id, {"findings": ["职工120人，未建会。"]},
                                                           actor=actor, now=now),
        "approve_notice": lambda actor: notices.approve_notice(session, w["draft"].id, approver=actor, now=now),
        "reject_notice": lambda actor: notices.reject_notice(session, w["draft"].id, approver=actor,
                                                             reason="事实不清", now=now),
        "issue_notice": lambda actor: notices.issue_notice(session, w["approved"].id, actor=actor, now=now,
                                                           store=store),
        "request_withdrawal": lambda actor: notices.request_withdrawal(session, w["issued"].id, actor=actor,
                                                                       reason="企业名称有误", now=now),
        "record_service": lambda actor: service.record_service(
            session, w["issued"].id, actor=actor, now=now, method="direct", served_on=business_date(now),
            served_by=actor),
        "create_account": lambda actor: accounts.create_account(
            session, actor=actor, login="new.member", name="新成员", password="a-Long-passw0rd",
            jurisdiction=w["street"], roles=["supervisor"], now=now, rules=RULES),
        "update_account": lambda actor: accounts.update_account(
            session, actor=actor, user_id=w["member"].id, name="改名", email=None, supervisor_number=None,
            roles=["auditor"], jurisdiction=w["street"], now=now),
        "set_active": lambda actor: accounts.set_active(session, actor=actor, user_id=w["member"].id, active=False,
                                                        now=now),
        "reset_password": lambda actor: accounts.reset_password(session, actor=actor, user_id=w["member"].id,
                                                                password="temporary-Pass-42", now=now, rules=RULES),
        "sign_out_everywhere": lambda actor: accounts.sign_out_everywhere(session, actor=actor,
                                                                          user_id=w["member"].id, now=now),
        "unlock_login": lambda actor: accounts.unlock_login(session, actor=actor, scope="account",
                                                            key=w["member"].login, now=now),
        "update_letterhead": lambda actor: accounts.update_letterhead(
            session, actor=actor, jurisdiction_id=w["street"].id, values={"chair": "伪造主任"}, now=now),
        "create_token": lambda actor: tokens.create_token(session, actor=actor, name="代建令牌", now=now,
                                                          user_id=w["member"].id),
        "list_tokens": lambda actor: tokens.list_tokens(session, actor=actor, user_id=w["member"].id),
        "revoke_token": lambda actor: tokens.revoke_token(session, w["member_token"].id, actor=actor, now=now),
        "enter_holiday_year": lambda actor: holidays.enter_holiday_year(
            session, year=2027, days=[HolidayOverride(dt.date(2027, 1, 1), DayKind.HOLIDAY, "元旦")],
            source="国务院办公厅关于2027年部分节假日安排的通知", actor=actor, now=now),
    }


def database_state(session, store_root) -> tuple:
    """Everything a refused call must leave as it was: row counts, versions and statuses, stored files."""
    session.flush()
    counts = tuple(session.scalar(select(func.count()).select_from(table)) for table in Base.metadata.sorted_tables)
    rows = tuple(session.execute(text("SELECT id, version, state, closed_at FROM cases ORDER BY id")).all())
    notes = tuple(session.execute(text("SELECT id, version, status, number FROM notices ORDER BY id")).all())
    people = tuple(session.execute(text("SELECT id, name, is_active, password_hash, must_change_password "
                                        "FROM users ORDER BY id")).all())
    places = tuple(session.execute(text("SELECT id, committee_name FROM jurisdictions ORDER BY id")).all())
    heads = tuple(str(r) for r in session.execute(text("SELECT letterhead FROM jurisdictions ORDER BY id")).all())
    files = tuple(sorted(os.path.relpath(os.path.join(d, f), store_root)
                         for d, _dirs, names in os.walk(store_root) for f in names))
    return counts, rows, notes, people, places, heads, files


OPERATIONS = sorted(ALLOWED) + sorted(CITY_ADMIN_ONLY)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("where", ["in_scope", "out_of_scope"])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation_matrix(session, world, make_user, store, now, operation, role, where):
    home = _place(session, "110105") if operation not in CITY_ADMIN_ONLY else _place(session, "110000")
    away = _place(session, "110108")
    actor = make_user(roles={role}, jurisdiction=home if where == "in_scope" else away,
                      login=f"actor.{role.value}.{where}")
    call = _calls(session, world, now, store)[operation]
    allowed = (role in ALLOWED.get(operation, set()) and where == "in_scope") or (
        operation in CITY_ADMIN_ONLY and role is Role.ADMIN and where == "in_scope")
    before = database_state(session, store.root)
    savepoint = session.begin_nested()
    if allowed:
        call(actor)       # must not raise: in scope with the right role, the step itself is valid here
        savepoint.rollback()
        return
    if operation in ROW_SCOPED and role in ALLOWED[operation] and where == "out_of_scope":
        report = call(actor)
        savepoint.rollback()
        assert report.imported == 0 and report.bad and all("不在您的管辖范围内" in b.reason for b in report.bad)
        assert database_state(session, store.root) == before
        return
    # A row-scoped import names no jurisdiction before it reads its rows: a role that may not import is refused first.
    expected = NotFound if (where == "out_of_scope" and operation not in CITY_ADMIN_ONLY | ROW_SCOPED) else Forbidden
    with pytest.raises(expected) as refusal:
        call(actor)
    savepoint.rollback()
    assert database_state(session, store.root) == before
    if expected is NotFound:   # the same words as for a row that does not exist
        assert "不存在" in refusal.value.message


def test_out_of_scope_reads_exactly_like_absent(session, world, make_user, now, store):
    """A 海淀 supervisor probing a 朝阳 notice id learns nothing: the message equals a missing id's."""
    stranger = make_user(roles={Role.SUPERVISOR, Role.APPROVER}, jurisdiction=_place(session, "110108"))
    draft = world["draft"]
    with pytest.raises(NotFound) as out_of_scope:
        notices.update_draft(session, draft.id, {"findings": ["改写"]}, actor=stranger, now=now)
    missing_id = session.scalar(select(func.max(Notice.id))) + 1000
    with pytest.raises(NotFound) as absent:
        notices.update_draft(session, missing_id, {"findings": ["改写"]}, actor=stranger, now=now)
    assert out_of_scope.value.message.replace(str(draft.id), "N") == absent.value.message.replace(str(missing_id), "N")


def test_a_deactivated_account_can_do_nothing(session, world, make_user, now, store):
    actor = make_user(roles={Role.SUPERVISOR, Role.APPROVER}, jurisdiction=_place(session, "110105"))
    actor.is_active = False
    session.flush()
    for name, call in _calls(session, world, now, store).items():
        before = database_state(session, store.root)
        with pytest.raises(Forbidden, match="停用"):
            call(actor)
        assert database_state(session, store.root) == before, name


def test_a_street_supervisor_cannot_touch_the_district_letter_of_their_own_case(session, make_user, make_case, now,
                                                                               send_letters, jurisdiction):
    """The 监督建议书 of a street case is the district committee's: the street may take the step, not edit its letter."""
    street_supervisor = make_user(roles={Role.SUPERVISOR}, jurisdiction=jurisdiction)
    case = make_case(violations=("no_union",))
    for trigger, inputs in (("record_visit", VISIT), ("record_refusal", {"refused_on": "2026-11-24", "summary": "拒绝"}),
                            ("issue_opinion", {}),
                            ("record_refusal", {"refused_on": "2026-11-24", "summary": "拒绝整改"})):
        cases.fire_trigger(session, case.id, trigger, inputs, actor=street_supervisor, now=now)
        send_letters(case.id, now)
    [recommendation] = cases.fire_trigger(session, case.id, "issue_recommendation", {}, actor=street_supervisor,
                                          now=now).notices
    assert recommendation.issuer_id == jurisdiction.parent_id
    before = dict(recommendation.snapshot)
    with pytest.raises(NotFound):
        notices.update_draft(session, recommendation.id, {"findings": ["改写"]}, actor=street_supervisor, now=now)
    assert session.get(Notice, recommendation.id).snapshot == before
