"""`compliance tokens create|list|revoke`: personal API tokens from the command line (the secret printed once)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from compliance.cli.common import ID
from compliance.clock import to_beijing, utcnow
from compliance.db import db


@click.group("tokens")
def tokens_group():
    """Personal API tokens (/api/v1): create, list, revoke."""


@tokens_group.command("create")
@click.option("--by", "login", required=True, help="Who acts: the token's owner, or an admin of the owner's jurisdiction.")
@click.option("--for", "owner", default=None, help="The owner's login (default: --by).")
@click.option("--name", required=True, help="What the token is for, e.g. 区级数据平台.")
@click.option("--days", type=click.IntRange(1, 366), default=90, show_default=True, help="Days until it expires.")
@with_appcontext
def create_command(login, owner, name, days):
    """Make a token; print its secret (shown this once, stored only as a hash)."""
    from compliance.cli.common import one_line_errors, require_current_schema, user_by_login
    from compliance.operations.tokens import create_token

    @one_line_errors
    def run():
        require_current_schema()
        actor = user_by_login(login)
        target = user_by_login(owner) if owner else actor
        token, secret = create_token(db.session, actor=actor, name=name, days=days, now=utcnow(), user_id=target.id,
                                     address="cli")
        db.session.commit()
        click.echo(f"令牌 {token.id}（{token.name}，{target.login}）有效期至 "
                   f"{to_beijing(token.expires_at):%Y-%m-%d %H:%M}。请立即保存，之后无法再次查看：", err=True)
        click.echo(secret)
    run()


@tokens_group.command("list")
@click.option("--by", "login", required=True, help="Who asks.")
@click.option("--for", "owner", default=None, help="Whose tokens (default: --by).")
@with_appcontext
def list_command(login, owner):
    """The tokens of a user: id, prefix, name, expiry, last use, state."""
    from compliance.cli.common import one_line_errors, user_by_login
    from compliance.operations.tokens import list_tokens

    @one_line_errors
    def run():
        actor = user_by_login(login)
        target = user_by_login(owner) if owner else actor
        now = utcnow()
        for t in list_tokens(db.session, actor=actor, user_id=target.id):
            state = "已撤销" if t.revoked_at else ("已过期" if t.expires_at <= now else "有效")
            used = f"{to_beijing(t.last_used_at):%Y-%m-%d %H:%M}" if t.last_used_at else "从未使用"
            click.echo(f"{t.id}\tcmpl_{t.prefix}…\t{t.name}\t至 {to_beijing(t.expires_at):%Y-%m-%d}\t{used}\t{state}")
    run()


@tokens_group.command("revoke")
@click.argument("token_id", type=ID)
@click.option("--by", "login", required=True, help="The owner, or an admin of the owner's jurisdiction.")
@with_appcontext
def revoke_command(token_id, login):
    """Revoke token TOKEN_ID at once."""
    from compliance.cli.common import one_line_errors, require_current_schema, user_by_login
    from compliance.operations.tokens import revoke_token

    @one_line_errors
    def run():
        require_current_schema()
        token = revoke_token(db.session, token_id, actor=user_by_login(login), now=utcnow(), address="cli")
        db.session.commit()
        click.echo(f"令牌 {token.id}（{token.name}）已撤销。")
    run()
