"""CLI for notices: list, edit a draft, submit it, approve or return it, issue (one or a batch with a progress bar),
withdraw."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from compliance.clock import utcnow
from compliance.cli.common import ID
from compliance.db import db


def _user(login):
    from compliance.cli.common import user_by_login
    return user_by_login(login)


@click.group("notices")
def notices_group():
    """Notices: list, edit, submit, approve, return, issue, issue-batch, withdraw, serve."""


@notices_group.command("list")
@click.option("--status", type=click.Choice(["draft", "approved", "issued", "rejected", "withdrawn"]), default=None)
@click.option("--type", "notice_type", default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_command(status, notice_type, as_json):
    """List notices, newest first."""
    import letters
    from compliance.models import Case, Notice
    query = select(Notice, Case.reference).join(Case, Case.id == Notice.case_id).order_by(Notice.id.desc())
    if status:
        query = query.where(Notice.status == status)
    if notice_type:
        query = query.where(Notice.notice_type == notice_type)
    rows = db.session.execute(query).all()
    if as_json:
        click.echo(json.dumps([{"id": n.id, "case": ref, "type": n.notice_type, "status": n.status,
                                "number": n.number, "version": n.version} for n, ref in rows],
                              ensure_ascii=False, indent=2))
        return
    for n, ref in rows:
        click.echo(f"{n.id:>6}  {n.status:<9} {letters.NOTICE_TYPES[n.notice_type].title:<24} {n.number or '—':<22} {ref}")


def _public_base() -> str:
    """Where the letters' QR codes point (refused, naming the setting, when production has none)."""
    from flask import current_app

    from compliance.config import PublicBaseUrlMissing, public_base_url
    try:
        return public_base_url(current_app.config)
    except PublicBaseUrlMissing as exc:
        raise click.ClickException(str(exc)) from None


#: The database cannot be reached: one line, as for any refusal (the transaction, numbers included, is gone).
UNREACHABLE = "数据库暂时无法连接，本次未保存任何更改（文号未占用）。请稍后重试"


def _run(func):
    from sqlalchemy.exc import InterfaceError, OperationalError

    from compliance.cli.common import one_line_errors, require_current_schema

    @one_line_errors
    def wrapped():
        require_current_schema()
        func()
        db.session.commit()
    try:
        wrapped()
    except (OperationalError, InterfaceError):
        raise click.ClickException(UNREACHABLE) from None


@notices_group.command("edit")
@click.argument("notice_id", type=ID)
@click.option("--by", "login", required=True)
@click.option("--set", "pairs", multiple=True, help='key=JSON value, e.g. --set \'order_ref={"number": "…"}\'')
@with_appcontext
def edit_command(notice_id, login, pairs):
    """Complete a draft's facts."""
    from compliance.operations.notices import update_draft

    def run():
        changes = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                raise click.ClickException(f"“{pair}”应为 key=value")
            try:
                changes[key] = json.loads(value)
            except json.JSONDecodeError:
                changes[key] = value
        update_draft(db.session, notice_id, changes, actor=_user(login), now=utcnow())
        click.echo(f"已修改文书 {notice_id}")
    _run(run)


@notices_group.command("submit")
@click.argument("notice_id", type=ID)
@click.option("--by", "login", required=True)
@with_appcontext
def submit_command(notice_id, login):
    """Submit a completed draft for approval (it joins the approvers' queue)."""
    from compliance.operations.notices import submit_notice

    def run():
        submit_notice(db.session, notice_id, actor=_user(login), now=utcnow())
        click.echo(f"已提交审批：文书 {notice_id}")
    _run(run)


@notices_group.command("approve")
@click.argument("notice_id", type=ID)
@click.option("--by", "login", required=True)
@click.option("--sign-as", type=click.Choice(["chair", "vice_chair"]), default="chair", show_default=True,
              help="Who signs: the issuing committee's chair (主任) or vice-chair (副主任), from its letterhead.")
@with_appcontext
def approve_command(notice_id, login, sign_as):
    """Approve a draft (an approver other than the drafter)."""
    from compliance.operations.notices import approve_notice

    def run():
        approve_notice(db.session, notice_id, approver=_user(login), now=utcnow(), sign_as=sign_as)
        click.echo(f"已审批文书 {notice_id}")
    _run(run)


@notices_group.command("return")
@click.argument("notice_id", type=ID)
@click.option("--by", "login", required=True)
@click.option("--reason", required=True, help="The comment the drafter reads (at most 1000 characters).")
@with_appcontext
def return_command(notice_id, login, reason):
    """Send a draft (or an approved notice not yet issued) back to its drafter, with a comment."""
    from compliance.operations.notices import return_notice

    def run():
        return_notice(db.session, notice_id, approver=_user(login), reason=reason, now=utcnow())
        click.echo(f"已退回文书 {notice_id}：回到草稿，起草人将看到退回意见")
    _run(run)


@notices_group.command("issue")
@click.argument("notice_id", type=ID)
@click.option("--by", "login", required=True)
@with_appcontext
def issue_command(notice_id, login):
    """Issue one approved notice: number, PDF, archive."""
    from compliance.documents import document_store
    from compliance.operations.notices import issue_notice

    base = _public_base()
    store = document_store()
    store.recover(db.engine)   # what a killed issue left behind (before this command's own transaction)

    def run():
        notice = issue_notice(db.session, notice_id, actor=_user(login), now=utcnow(), store=store, public_base=base)
        click.echo(f"已签发 {notice.number}  核验码 {notice.verification_code}  SHA-256 {notice.sha256}")
    _run(run)


@notices_group.command("issue-batch")
@click.option("--by", "login", required=True)
@click.option("--type", "notice_type", default=None, help="Only this notice type, e.g. payment_demand.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Renderer processes (default: CPU count).")
@click.option("--chunk", type=click.IntRange(1, 500), default=None,
              help="Notices per transaction (default 50): each chunk is issued whole or not at all.")
@with_appcontext
def issue_batch_command(login, notice_type, workers, chunk):
    """Issue every approved notice (optionally of one type), rendering in several processes."""
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.orm import sessionmaker

    from compliance.batch import CHUNK, issue_in_batches
    from compliance.cli.common import require_current_schema
    from compliance.documents import document_store
    from compliance.errors import DomainError
    from compliance.models import Notice
    base = _public_base()
    try:
        require_current_schema()
        actor_id = _user(login).id
        query = select(Notice.id).where(Notice.status == "approved").order_by(Notice.id)
        if notice_type:
            query = query.where(Notice.notice_type == notice_type)
        ids = db.session.scalars(query).all()
    except (OperationalError, InterfaceError):
        raise click.ClickException(UNREACHABLE) from None
    # Let go of this connection entirely: on SQLite its write lock would block the batch's own sessions.
    db.session.close()
    if not ids:
        click.echo("没有待签发（已审批）的文书。")
        return
    factory = sessionmaker(bind=db.engine, expire_on_commit=False)
    started = utcnow()
    with click.progressbar(length=len(ids), label=f"签发 {len(ids)} 份文书") as bar:
        try:
            numbers = issue_in_batches(factory, ids, actor_id=actor_id, now=utcnow(), store=document_store(),
                                       workers=workers, on_rendered=bar.update, chunk=chunk or CHUNK,
                                       public_base=base)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        except (OperationalError, InterfaceError):
            raise click.ClickException("数据库暂时无法连接，签发中断：已提交的各组文书不受影响，其余未签发、文号未占用。"
                                       "请稍后重试") from None
    seconds = (utcnow() - started).total_seconds()
    click.echo(f"已签发 {len(numbers)} 份（{numbers[0]} … {numbers[-1]}），用时 {seconds:.1f} 秒。")


@notices_group.command("withdraw")
@click.argument("notice_id", type=ID)
@click.option("--by", "login", required=True)
@click.option("--reason", required=True)
@with_appcontext
def withdraw_command(notice_id, login, reason):
    """Draft a withdrawal notice for an issued notice (it then needs approval and issue)."""
    from compliance.operations.notices import request_withdrawal

    def run():
        w = request_withdrawal(db.session, notice_id, actor=_user(login), reason=reason, now=utcnow())
        click.echo(f"已起草撤回通知（文书 {w.id}），请审批后签发")
    _run(run)


_METHODS = {"direct": "直接送达", "mail": "邮寄送达", "left": "留置送达", "electronic": "电子送达"}


@notices_group.command("serve")
@click.argument("notice_id", type=ID)
@click.option("--method", required=True, type=click.Choice(list(_METHODS)),
              help="direct 直接送达, mail 邮寄送达 (with --tracking), left 留置送达, electronic 电子送达.")
@click.option("--on", "served_on", required=True, help="The service date, YYYY-MM-DD (not before the issue date).")
@click.option("--by", "login", required=True, help="Who records it.")
@click.option("--served-by", "server_login", default=None, help="Who served it (default: --by).")
@click.option("--tracking", default=None, help="The postal tracking number (邮寄送达).")
@click.option("--proof", "proof_id", type=ID, default=None, help="The case attachment holding the 送达回证 or photo.")
@click.option("--recipient", default="", help="Who signed for it.")
@click.option("--correct", "reason", default=None, help="Correct the recorded service, with this reason.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def serve_command(notice_id, method, served_on, login, server_login, tracking, proof_id, recipient, reason, as_json):
    """Record (or correct) the service of an issued notice; a period that runs from its receipt starts then."""
    from compliance.models import Deadline
    from compliance.operations.service import correct_service, record_service

    def run():
        actor = _user(login)
        server = _user(server_login) if server_login else actor
        kwargs = dict(actor=actor, now=utcnow(), method=method, served_on=served_on, served_by=server,
                      tracking_number=tracking, proof_attachment_id=proof_id, recipient=recipient)
        if reason is not None:
            service = correct_service(db.session, notice_id, reason=reason, **kwargs)
        else:
            service = record_service(db.session, notice_id, **kwargs)
        deadline = db.session.get(Deadline, service.deadline_id) if service.deadline_id else None
        if as_json:
            click.echo(json.dumps({"notice_id": notice_id, "service_id": service.id, "method": service.method,
                                   "served_on": service.served_on.isoformat(),
                                   "deadline": None if deadline is None else {
                                       "rule": deadline.rule_key, "start": deadline.start_on.isoformat(),
                                       "due": deadline.due_on.isoformat(), "status": deadline.status}},
                                  ensure_ascii=False))
            return
        line = f"已记录文书 {notice_id} 的送达：{_METHODS[service.method]}，{service.served_on.isoformat()}"
        if deadline is not None:
            line += f"；{deadline.label}自送达次日起算，至 {deadline.due_on.isoformat()}"
        click.echo(line)
    _run(run)
