"""Personal API tokens: who may make and revoke them (operations), the page that shows a secret once, the CLI."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from compliance.cli import main
from compliance.errors import Forbidden, NotFound, ValidationFailed
from compliance.models import AdminEvent, ApiToken, Jurisdiction, Role
from compliance.operations import tokens

PASSWORD = "correct horse battery"


def _place(session, code):
    return session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.APPROVER, Role.ADMIN, Role.AUDITOR], ids=lambda r: r.value)
def test_every_role_manages_its_own_tokens(session, make_user, now, role):
    user = make_user(roles={role})
    token, secret = tokens.create_token(session, actor=user, name="区数据平台", days=30, now=now)
    assert token.expires_at == now + dt.timedelta(days=30) and token.user_id == user.id
    assert tokens.authenticate(session, secret, now=now).id == token.id
    assert [t.id for t in tokens.list_tokens(session, actor=user)] == [token.id]
    tokens.revoke_token(session, token.id, actor=user, now=now)
    assert tokens.authenticate(session, secret, now=now) is None
    actions = session.scalars(select(AdminEvent.action).where(AdminEvent.target_user_id == user.id)).all()
    assert "api_token.created" in actions and "api_token.revoked" in actions


def test_someone_elses_token_in_scope_is_forbidden_and_out_of_scope_absent(session, make_user, now):
    owner = make_user()
    token, _ = tokens.create_token(session, actor=owner, name="x", now=now)
    colleague = make_user()
    with pytest.raises(Forbidden):
        tokens.revoke_token(session, token.id, actor=colleague, now=now)
    stranger_admin = make_user(roles={Role.ADMIN}, jurisdiction=_place(session, "110108"))
    with pytest.raises(NotFound) as out_of_scope:
        tokens.revoke_token(session, token.id, actor=stranger_admin, now=now)
    with pytest.raises(NotFound) as absent:
        tokens.revoke_token(session, token.id + 10_000, actor=stranger_admin, now=now)
    assert out_of_scope.value.message.replace(str(token.id), "N") == absent.value.message.replace(
        str(token.id + 10_000), "N")
    district_admin = make_user(roles={Role.ADMIN}, jurisdiction=_place(session, "110105"))
    made, secret = tokens.create_token(session, actor=district_admin, name="代建", now=now, user_id=owner.id)
    assert made.user_id == owner.id and made.created_by_id == district_admin.id
    assert tokens.authenticate(session, secret, now=now).user.id == owner.id   # acts as the owner, not the admin
    tokens.revoke_token(session, token.id, actor=district_admin, now=now)


def test_bad_names_and_lifetimes_are_refused(session, supervisor, now):
    for name, days, field in (("", 30, "name"), ("x" * 101, 30, "name"), ("a\x00b", 30, "name"),
                              ("ok", 0, "days"), ("ok", 367, "days"), ("ok", True, "days")):
        with pytest.raises(ValidationFailed) as refusal:
            tokens.create_token(session, actor=supervisor, name=name, days=days, now=now)
        assert refusal.value.field == field


def test_a_deactivated_users_token_stops_working(session, supervisor, now):
    _token, secret = tokens.create_token(session, actor=supervisor, name="x", now=now)
    supervisor.is_active = False
    session.flush()
    assert tokens.authenticate(session, secret, now=now) is None


def test_the_page_shows_the_secret_once_and_revokes(app, client, session, supervisor):
    session.commit()
    assert client.post("/login", data={"login": supervisor.login, "password": PASSWORD}).status_code == 302
    res = client.post("/account/tokens", data={"name": "区数据平台", "days": "30"})
    assert res.status_code == 201
    secret = re.search(r"cmpl_[A-Za-z0-9_-]{40,}", res.get_data(as_text=True)).group(0)
    assert res.headers["Cache-Control"] == "no-store"
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "区数据平台" in listing and secret not in listing
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == supervisor.id))
    res = client.post(f"/tokens/{token.id}/revoke")
    assert res.status_code == 302
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert client.post("/account/tokens", data={"name": "", "days": "30"}).status_code == 422


def test_an_admin_sees_a_users_tokens_in_scope_only(app, client, session, make_user, supervisor):
    admin = make_user(roles={Role.ADMIN}, jurisdiction=_place(session, "110105"))
    away = make_user(roles={Role.ADMIN}, jurisdiction=_place(session, "110108"))
    session.commit()
    client.post("/login", data={"login": admin.login, "password": PASSWORD})
    assert client.get(f"/admin/users/{supervisor.id}/tokens").status_code == 200
    other = app.test_client()
    other.post("/login", data={"login": away.login, "password": PASSWORD})
    assert other.get(f"/admin/users/{supervisor.id}/tokens").status_code == 404
    peer = app.test_client()
    colleague = make_user()
    session.commit()
    peer.post("/login", data={"login": colleague.login, "password": PASSWORD})
    assert peer.get(f"/admin/users/{supervisor.id}/tokens").status_code == 403


def test_cli_create_list_revoke(runner, session, supervisor):
    session.commit()
    made = runner.invoke(main, ["tokens", "create", "--by", supervisor.login, "--name", "脚本", "--days", "7"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("cmpl_")
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == supervisor.id))
    assert token.token_sha256 == tokens.token_hash(secret)
    listed = runner.invoke(main, ["tokens", "list", "--by", supervisor.login])
    assert listed.exit_code == 0 and "脚本" in listed.output and secret not in listed.output
    revoked = runner.invoke(main, ["tokens", "revoke", str(token.id), "--by", supervisor.login])
    assert revoked.exit_code == 0 and "已撤销" in revoked.output
    refused = runner.invoke(main, ["tokens", "create", "--by", supervisor.login, "--name", ""])
    assert refused.exit_code == 1 and "名称" in refused.output


def test_migration_0009_downgrades_and_upgrades_again(empty_database_url):
    from alembic import command
    from sqlalchemy import inspect

    from compliance.db import make_engine
    from compliance.migrate import alembic_config, upgrade
    upgrade(empty_database_url)
    command.downgrade(alembic_config(empty_database_url), "0008")
    engine = make_engine(empty_database_url)
    try:
        assert not {"api_tokens", "api_idempotency_keys"} & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        assert {"api_tokens", "api_idempotency_keys"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
