"""Personal API tokens in the web: make one (its secret shown once, on this answer only), see and revoke them.

/account/tokens: one's own. /admin/users/<id>/tokens: an admin's view of a user in their jurisdiction. Every
change goes through compliance.operations.tokens (which checks who may) and the admin audit.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from compliance.clock import utcnow
from compliance.db import db
from compliance.errors import DomainError
from compliance.access import Permission, permissions
from compliance.models import ApiToken, User
from compliance.operations import tokens as ops
from compliance.web.auth import client_address
from compliance.web.forms import done, refusal_on_form

bp = Blueprint("tokens", __name__)


class TokenForm(FlaskForm):
    name = StringField(_l("名称（用在哪个系统）"), validators=[
        DataRequired(message=_l("请填写令牌名称")),
        Length(max=ops.MAX_NAME, message=_l("名称不能超过%(n)s字", n=ops.MAX_NAME))])
    days = IntegerField(_l("有效期（天）"), default=ops.DEFAULT_DAYS, validators=[
        Optional(), NumberRange(min=1, max=ops.MAX_DAYS, message=_l("有效期应为1至%(n)s天", n=ops.MAX_DAYS))])


def _page(owner: User, form: TokenForm, status: int = 200, *, secret: str | None = None, made=None):
    rows = ops.list_tokens(db.session, actor=current_user, user_id=owner.id)
    return render_template("tokens.html", owner=owner, own=owner.id == current_user.id, form=form, tokens=rows,
                           secret=secret, made=made, now=utcnow(), max_name=ops.MAX_NAME,
                           max_days=ops.MAX_DAYS), status


def _need_admin_for_others() -> None:
    """Pages about other people's tokens: 403 for a role that manages no accounts (as the admin pages)."""
    if Permission.MANAGE_USERS not in permissions(current_user):
        abort(403)


def _manage(owner_id: int | None):
    if owner_id is not None and owner_id != current_user.id:
        _need_admin_for_others()
    owner = current_user if owner_id is None else db.session.get(User, owner_id)
    if owner is None:
        abort(404)
    ops.list_tokens(db.session, actor=current_user, user_id=owner.id)   # 403/404 before anything else
    form = TokenForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            token, secret = ops.create_token(db.session, actor=current_user, name=form.name.data,
                                             days=form.days.data or ops.DEFAULT_DAYS, now=utcnow(),
                                             user_id=owner.id, address=client_address())
        except DomainError as exc:
            db.session.rollback()
            return _page(owner, form, refusal_on_form(form, exc))
        db.session.commit()
        # The secret is in this answer only (never in a flash message: those ride in the session cookie).
        return _page(owner, TokenForm(formdata=None), 201, secret=secret, made=token)
    return _page(owner, form, 422 if request.method == "POST" else 200)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def own():
    """My API tokens."""
    return _manage(None)


@bp.route("/admin/users/<id:user_id>/tokens", methods=["GET", "POST"])
@login_required
def of_user(user_id: int):
    """A user's API tokens (admins of their jurisdiction)."""
    return _manage(user_id)


@bp.post("/tokens/<id:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke a token at once; back to the list it was revoked from."""
    own = db.session.get(ApiToken, token_id)
    if own is None or own.user_id != current_user.id:
        _need_admin_for_others()
    token = ops.revoke_token(db.session, token_id, actor=current_user, now=utcnow(), address=client_address())
    target = (url_for(".own") if token.user_id == current_user.id
              else url_for(".of_user", user_id=token.user_id))
    return done(_("令牌“%(name)s”（%(prefix)s…）已撤销", name=token.name, prefix=token.prefix), target)
