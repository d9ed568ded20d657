"""The `compliance` command: bad input gets one line, never a traceback."""
from sqlalchemy import func, select

from compliance.cli import main
from compliance.models import Case, Enterprise, User


def invoke(runner, *args, input=None):
    return runner.invoke(main, list(args), input=input, catch_exceptions=False)


def test_create_user_then_duplicate_is_a_one_line_error(runner, session):
    args = ("create-user", "zhang.san", "--name", "张三", "--jurisdiction", "110105", "--role", "supervisor",
            "--password-stdin")
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
    assert short.exit_code == 1 and "密码至少8位" in short.output
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
