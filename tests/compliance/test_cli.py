"""The `compliance` command: bad input gets one line, never a traceback."""
import datetime as dt
import json

from sqlalchemy import func, select

from compliance.cli import main
from compliance.models import Case, Enterprise, User


def invoke(runner, *args, input=None):
    return runner.invoke(main, list(args), input=input, catch_exceptions=False)


def test_first_admin_from_the_shell_then_accounts_only_by_an_admin(runner, session):
    not_admin = invoke(runner, "create-user", "zhang.san", "--name", "张三", "--jurisdiction", "110105", "--role",
                       "supervisor", "--password-stdin", input="a-long-password\n")
    assert not_admin.exit_code == 1 and "第一个账号须为市级管理员" in not_admin.output
    first_admin = invoke(runner, "create-user", "root.admin", "--name", "管理员", "--jurisdiction", "110000", "--role",
                         "admin", "--password-stdin", input="a-long-password\n")
    assert first_admin.exit_code == 0, first_admin.output
    again = invoke(runner, "create-user", "second.admin", "--name", "管理员二", "--jurisdiction", "110000", "--role",
                   "admin", "--password-stdin", input="a-long-password\n")
    assert again.exit_code == 1 and "--by" in again.output
    assert session.scalar(select(func.count(User.id)).where(User.login == "second.admin")) == 0


def test_create_user_then_duplicate_is_a_one_line_error(runner, session):
    invoke(runner, "create-user", "root.admin", "--name", "管理员", "--jurisdiction", "110000", "--role", "admin",
           "--password-stdin", input="a-long-password\n")
    args = ("create-user", "zhang.san", "--name", "张三", "--jurisdiction", "110105", "--role", "supervisor",
            "--password-stdin", "--by", "root.admin")
    first = invoke(runner, *args, input="a-long-password\n")
    assert first.exit_code == 0, first.output
    assert session.scalar(select(User).where(User.login == "zhang.san")).jurisdiction.name == "朝阳区"
    second = invoke(runner, *args, input="another-password\n")
    assert second.exit_code == 1
    assert second.output.strip().splitlines() == ["Error: 用户名“zhang.san”已存在"]
    assert session.scalar(select(func.count(User.id)).where(User.login == "zhang.san")) == 1


def test_create_user_unknown_jurisdiction_and_short_password(runner):
    bad_place = invoke(runner, "create-user", "li", "--name", "李", "--jurisdiction", "999999", "--role", "admin",
                       "--password-stdin", input="a-long-password\n")
    assert bad_place.exit_code == 1 and "没有代码为 999999 的辖区" in bad_place.output
    short = invoke(runner, "create-user", "li", "--name", "李", "--jurisdiction", "110000", "--role", "admin",
                   "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "密码至少10位" in short.output
    common = invoke(runner, "create-user", "li", "--name", "李", "--jurisdiction", "110000", "--role", "admin",
                    "--password-stdin", input="Password123\n")
    assert common.exit_code == 1 and "常见弱密码" in common.output
    assert "Traceback" not in bad_place.output + short.output


def test_demo_data_twice_is_a_no_op(runner, session):
    first = invoke(runner, "demo-data")
    assert first.exit_code == 0, first.output
    counts = [session.scalar(select(func.count(m.id))) for m in (User, Enterprise, Case)]
    assert all(counts)
    second = invoke(runner, "demo-data")
    assert second.exit_code == 0
    assert "已存在" in second.output
    assert [session.scalar(select(func.count(m.id))) for m in (User, Enterprise, Case)] == counts


def test_case_cli_refuses_a_blocked_trigger_in_one_line(runner, session, make_case):
    case = make_case()
    out = invoke(runner, "case", "fire", case.reference, "issue_opinion", "--by", "nobody")
    assert out.exit_code == 1 and "没有用户 nobody" in out.output
    user = session.get(User, case.opened_by_id)
    out = invoke(runner, "case", "fire", case.reference, "issue_opinion", "--by", user.login)
    assert out.exit_code == 1
    assert len(out.output.strip().splitlines()) == 1 and "走访" in out.output


def test_case_cli_round_trip_open_fire_history_replay(runner, session, make_enterprise, supervisor, now,
                                                      monkeypatch):
    monkeypatch.setattr("compliance.cli.cases.utcnow", lambda: now)  # Tuesday 2026-11-24, 10:00 Beijing
    enterprise = make_enterprise()
    session.commit()  # the CLI commits or rolls back the session: keep the fixtures either way
    by = ("--by", supervisor.login)

    opened = invoke(runner, "case", "open", enterprise.uscc, "--violation", "no_union", "--violation",
                    "unpaid_funds", *by, "--json")
    assert opened.exit_code == 0, opened.output
    case = json.loads(opened.output)
    ref = case["reference"]
    assert (case["state"], case["version"]) == ("registered", 1)
    assert session.get(Case, case["id"]).enterprise_id == enterprise.id

    visited = invoke(runner, "case", "fire", ref, "record_visit", *by, "--input", "visited_on=2026-11-24",
                     "--input", "findings=职工43人，尚未建立工会", "--input", "supervisors=王芳,李强",
                     "--version", "1", "--json")
    assert visited.exit_code == 0, visited.output
    # The visit letter's 30 days run from its receipt: awaiting service, no due date.
    assert json.loads(visited.output) == {
        "reference": ref, "state": "visited", "version": 2, "notices": ["visit"],
        "deadlines": [{"rule": "visit_rectification", "due": None, "status": "awaiting_service",
                       "provisional": False}]}

    stale = invoke(runner, "case", "fire", ref, "withdraw", *by, "--input", "reason=企业注销", "--version", "1")
    assert stale.exit_code == 1 and len(stale.output.strip().splitlines()) == 1 and "已被他人修改" in stale.output

    blocked = invoke(runner, "case", "fire", ref, "issue_opinion", *by, "--version", "2")
    assert blocked.exit_code == 1 and "待送达" in blocked.output
    refused = invoke(runner, "case", "fire", ref, "record_refusal", *by, "--input", "refused_on=2026-11-24",
                     "--input", "summary=企业拒绝整改", "--version", "2")
    assert refused.exit_code == 0, refused.output
    opinion = invoke(runner, "case", "fire", ref, "issue_opinion", *by, "--version", "3", "--json")
    assert opinion.exit_code == 0, opinion.output
    assert json.loads(opinion.output) == {
        "reference": ref, "state": "opinion_issued", "version": 4, "notices": ["opinion"],
        "deadlines": [{"rule": "opinion_reply", "due": None, "status": "awaiting_service", "provisional": False}]}

    shown = invoke(runner, "case", "history", ref, "--json")
    assert shown.exit_code == 0, shown.output
    history = json.loads(shown.output)
    assert (history["reference"], history["state"], history["version"]) == (ref, "opinion_issued", 4)
    assert [(e["seq"], e["action"], e["from"], e["to"]) for e in history["events"]] == [
        (1, "case.opened", None, "registered"),
        (2, "case.record_visit", "registered", "visited"),
        (3, "case.record_refusal", "visited", "visited"),
        (4, "case.issue_opinion", "visited", "opinion_issued")]
    assert all(e["actor_id"] == supervisor.id and dt.datetime.fromisoformat(e["at"]) == now
               for e in history["events"])
    assert history["events"][1]["details"]["inputs"] == {
        "visited_on": "2026-11-24", "findings": "职工43人，尚未建立工会", "supervisors": ["王芳", "李强"]}
    assert [(d["rule"], d["start"], d["due"], d["status"], d["counting"], d["provisional"])
            for d in history["deadlines"]] == [
        ("visit_rectification", None, None, "superseded", "natural_days", False),
        ("opinion_reply", None, None, "awaiting_service", "working_days", False)]
    assert all(d["legal_basis"] and d["explanation"] for d in history["deadlines"])

    replayed = invoke(runner, "case", "replay", ref)
    assert replayed.exit_code == 0, replayed.output
    assert replayed.output.strip() == f"{ref}：重放结果与存储一致"

    # A change that bypassed the operations is caught, in one line.
    session.get(Case, case["id"]).visited_on = dt.date(2026, 11, 1)
    session.commit()
    tampered = invoke(runner, "case", "replay", ref)
    assert tampered.exit_code == 1
    assert tampered.output.strip().splitlines() == [f"Error: {ref}：重放结果与存储不一致"]
