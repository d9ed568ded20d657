"""CLI for cases: open, fire a trigger, list history and deadlines, replay; and the state diagram."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from compliance.clock import utcnow
from compliance.db import db
from compliance.snapshots import plain


def _out(as_json: bool, payload, text: str) -> None:
    click.echo(json.dumps(plain(payload), ensure_ascii=False, indent=2) if as_json else text)


def _user(login: str | None):
    from compliance.cli.common import user_by_login
    return user_by_login(login) if login else None


def _case(ref: str):
    from compliance.models import Case
    case_id = int(ref) if ref.isdigit() and len(ref) <= 9 else -1
    case = db.session.scalar(select(Case).where((Case.reference == ref[:50]) | (Case.id == case_id)))
    if case is None:
        raise click.ClickException(f"没有案件 {ref}")
    return case


@click.group("case")
def case_group():
    """Cases: open, fire, history (with deadlines), options, replay."""


@case_group.command("open")
@click.argument("uscc")
@click.option("--violation", "violations", multiple=True, required=True,
              type=click.Choice(["no_union", "no_bargaining", "unpaid_funds"]))
@click.option("--by", "login", required=True, help="Login of the supervisor opening it.")
@click.option("--summary", default="")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def open_command(uscc, violations, login, summary, as_json):
    """Open a case against the enterprise with this 统一社会信用代码."""
    from compliance.cli.common import one_line_errors, require_current_schema
    from compliance.identifiers import normalize_uscc
    from compliance.models import Enterprise
    from compliance.operations.cases import open_case

    @one_line_errors
    def run():
        require_current_schema()
        enterprise = db.session.scalar(select(Enterprise).where(Enterprise.uscc == normalize_uscc(uscc)))
        if enterprise is None:
            raise click.ClickException(f"没有统一社会信用代码为 {uscc} 的企业")
        user = _user(login)
        case = open_case(db.session, enterprise=enterprise, violations=violations, opened_by=user,
                         supervisors=[user], now=utcnow(), summary=summary)
        db.session.commit()
        _out(as_json, {"id": case.id, "reference": case.reference, "state": case.state, "version": case.version},
             f"已立案 {case.reference}（{enterprise.name}）")
    run()


@case_group.command("fire")
@click.argument("case_ref")
@click.argument("trigger")
@click.option("--by", "login", required=True)
@click.option("--input", "inputs", multiple=True, help="key=value; repeat. Lists: key=a,b")
@click.option("--version", "expected_version", type=click.IntRange(1, 2**31 - 1), default=None, help="Refuse if the case changed since.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def fire_command(case_ref, trigger, login, inputs, expected_version, as_json):
    """Fire a trigger, e.g. `compliance case fire 京朝工监案〔2026〕1号 record_visit --input visited_on=2026-11-24`."""
    from compliance.cli.common import one_line_errors, require_current_schema
    from compliance.operations.cases import fire_trigger

    @one_line_errors
    def run():
        require_current_schema()
        parsed = {}
        for item in inputs:
            key, sep, value = item.partition("=")
            if not sep:
                raise click.ClickException(f"输入“{item}”应为 key=value")
            parsed[key] = value   # lists (supervisors) are split by the ladder: commas, 、，；and spaces
        case = _case(case_ref)
        result = fire_trigger(db.session, case.id, trigger, parsed, actor=_user(login), now=utcnow(),
                              expected_version=expected_version)
        db.session.commit()
        payload = {"reference": case.reference, "state": case.state, "version": case.version,
                   "deadlines": [{"rule": d.rule_key, "due": d.due_on, "status": d.status,
                                  "provisional": d.is_provisional} for d in result.started],
                   "notices": [n.notice_type for n in result.notices]}
        lines = [f"{case.reference}：{result.event.from_state} → {case.state}（第 {case.version} 版）"]
        lines += [f"  期限 {d.label}：{d.due_on or '待送达'}{'（暂定）' if d.is_provisional else ''}"
                  for d in result.started]
        lines += [f"  待审批文书草稿：{n.notice_type}" for n in result.notices]
        _out(as_json, payload, "\n".join(lines))
    run()


@case_group.command("history")
@click.argument("case_ref")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def history_command(case_ref, as_json):
    """List a case's audit trail and deadlines."""
    from compliance.clock import to_beijing
    from compliance.operations.cases import case_deadlines, case_history
    case = _case(case_ref)
    events = case_history(db.session, case.id)
    deadlines = case_deadlines(db.session, case.id)
    payload = {"reference": case.reference, "state": case.state, "version": case.version,
               "events": [{"seq": e.seq, "action": e.action, "from": e.from_state, "to": e.to_state,
                           "actor_id": e.actor_id, "at": e.created_at, "details": e.details} for e in events],
               "deadlines": [{"rule": d.rule_key, "label": d.label, "start": d.start_on, "due": d.due_on,
                              "counting": d.counting, "legal_basis": d.legal_basis, "status": d.status,
                              "provisional": d.is_provisional, "explanation": d.explanation} for d in deadlines]}
    lines = [f"{case.reference} {case.enterprise.name}：{case.state}（第 {case.version} 版）"]
    lines += [f"  #{e.seq} {to_beijing(e.created_at):%Y-%m-%d %H:%M} {e.action} {e.from_state or ''} → {e.to_state or ''}"
              for e in events]
    lines += [f"  期限 {d.label}：待送达（送达后起算）" if d.due_on is None else
              f"  期限 {d.label}：{d.start_on} 起，{d.due_on} 止，{d.status}{'（暂定）' if d.is_provisional else ''}"
              for d in deadlines]
    _out(as_json, payload, "\n".join(lines))


@case_group.command("options")
@click.argument("case_ref")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def options_command(case_ref, as_json):
    """What can be done to a case now, and why not when blocked."""
    from compliance.operations.cases import case_options
    case = _case(case_ref)
    opts = case_options(db.session, case, now=utcnow())
    from workflows.states import TRIGGERS

    def inputs(trigger):
        return [{"name": f.name, "label": f.label, "kind": f.kind, "required": f.required,
                 "max_length": f.max_length} for f in TRIGGERS[trigger].fields]

    def described(o):
        line = f"  {'✓' if o.allowed else '✗'} {o.trigger} {o.label}{'' if o.allowed else '：' + (o.reason or '')}"
        if o.allowed and TRIGGERS[o.trigger].fields:
            line += "\n" + "\n".join(f"      --input {f.name}=…  {f.label}{'' if f.required else '（可选）'}"
                                      for f in TRIGGERS[o.trigger].fields)
        return line

    payload = [{"trigger": o.trigger, "label": o.label, "allowed": o.allowed, "reason": o.reason,
                "inputs": inputs(o.trigger)} for o in opts]
    _out(as_json, payload, "\n".join(described(o) for o in opts))


@case_group.command("replay")
@click.argument("case_ref")
@with_appcontext
def replay_command(case_ref):
    """Replay a case's events on a fresh case and compare with what is stored."""
    from compliance.operations.cases import replay_case, stored_replay
    case = _case(case_ref)
    if replay_case(db.session, case.id) != stored_replay(db.session, case):
        raise click.ClickException(f"{case.reference}：重放结果与存储不一致")
    click.echo(f"{case.reference}：重放结果与存储一致")


@click.command("diagram")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/state-diagram.mmd"),
              show_default=True)
def diagram_command(output: Path):
    """Regenerate the Mermaid state diagram from the workflow definition."""
    from workflows.diagram import mermaid
    output.write_text(mermaid(), encoding="utf-8")
    click.echo(f"已写入 {output}")
