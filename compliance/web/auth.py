"""Login, logout, the session check on every request, and changing one's password."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from compliance.clock import utcnow
from compliance.db import db
from compliance.errors import ValidationFailed
from compliance.extensions import login_manager
from compliance.models import User
from compliance.operations.accounts import (AccessRules, LoginRefused, LoginThrottled, attempt_login, change_password,
                                            end_session, live_sessions, resume_session, sign_out_everywhere,
                                            start_session)
from compliance.passwords import MAX_PASSWORD_LENGTH
from compliance.web import safe_next

bp = Blueprint("auth", __name__)

#: The key in Flask's signed cookie that names the server-side session.
SESSION_TOKEN = "sid"
#: Endpoints a user who must change their password may still reach.
_OPEN_WHILE_CHANGING = {"auth.password", "auth.logout", "static", "notices.verify", "notices.verify_upload",
                        "language.switch"}


def rules() -> AccessRules:
    return AccessRules.from_config(current_app.config)


def client_address() -> str:
    """The client's address (behind TRUSTED_PROXIES, the one the proxy saw)."""
    return (request.remote_addr or "unknown")[:45]


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Every request: the cookie's session must still be live in the database, and belong to this user."""
    live = resume_session(db.session, session.get(SESSION_TOKEN), now=utcnow(), rules=rules())
    if live is None or str(live.user_id) != str(user_id):
        db.session.commit()      # an expired session is marked ended
        session.clear()
        return None
    if db.session.dirty:
        db.session.commit()      # last_seen_at moved (at most once a minute)
    g.user_session = live
    return live.user


@bp.before_app_request
def must_change_password():
    if request.path.startswith("/api/"):
        return None   # the API never reads the session cookie (token auth, compliance/api/auth.py)
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in _OPEN_WHILE_CHANGING):
        flash(_("请先设置您自己的新密码"), "warning")
        return redirect(url_for("auth.password"))
    return None


class LoginForm(FlaskForm):
    login = StringField(_l("用户名"), validators=[DataRequired(message=_l("请输入用户名")),
                                                Length(max=64, message=_l("用户名过长"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(message=_l("请输入密码")),
                                                   Length(max=MAX_PASSWORD_LENGTH, message=_l("密码过长"))])


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    target = safe_next(request.args.get("next"), url_for("web.index"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(target)
    status, retry_after = 200, None
    if form.validate_on_submit():
        now = utcnow()
        try:
            user = attempt_login(db.session, login=form.login.data, password=form.password.data,
                                 address=client_address(), now=now, rules=rules())
        except (LoginRefused, LoginThrottled) as refusal:
            db.session.commit()   # the failure is counted even though the login is refused
            flash(refusal.message, "error")
            status, retry_after = refusal.status, refusal.details.get("retry_after")
        else:
            token = start_session(db.session, user, address=client_address(),
                                  user_agent=request.user_agent.string, now=now, rules=rules())
            db.session.commit()
            # A fresh cookie: nothing from before the login (a planted session id, the old CSRF token) survives.
            session.clear()
            session[SESSION_TOKEN] = token
            login_user(user)
            return redirect(target)
    response = current_app.make_response((render_template("login.html", form=form), status))
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    end_session(db.session, session.get(SESSION_TOKEN), reason="logout", now=utcnow())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("您已安全退出"), "info")
    return redirect(url_for("auth.login"))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(message=_l("请输入当前密码")),
                                                      Length(max=MAX_PASSWORD_LENGTH, message=_l("密码过长"))])
    password = PasswordField(_l("新密码"), validators=[DataRequired(message=_l("请输入新密码")),
                                                     Length(max=MAX_PASSWORD_LENGTH, message=_l("密码过长"))])
    confirm = PasswordField(_l("再次输入新密码"), validators=[DataRequired(message=_l("请再次输入新密码")),
                                                          Length(max=MAX_PASSWORD_LENGTH, message=_l("密码过长"))])


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password; every other session ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        if form.password.data != form.confirm.data:
            form.confirm.errors.append(_("两次输入的新密码不一致"))
        else:
            try:
                ended = change_password(db.session, current_user, current=form.current.data,
                                        new=form.password.data, now=utcnow(), rules=rules(),
                                        keep_token=session.get(SESSION_TOKEN), address=client_address())
            except ValidationFailed as exc:
                db.session.rollback()
                getattr(form, exc.field if exc.field in ("current", "password") else "password").errors.append(
                    exc.message)
            else:
                db.session.commit()
                flash(_("密码已修改，其他 %(n)s 处登录已退出", n=ended) if ended else _("密码已修改"), "info")
                return redirect(url_for("web.index"))
    sessions = live_sessions(db.session, current_user, now=utcnow(), rules=rules())
    return render_template("password.html", form=form, sessions=sessions,
                           current=getattr(g, "user_session", None), min_length=rules().password_min_length)


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_others():
    """End every other session of mine (a phone left somewhere)."""
    ended = sign_out_everywhere(db.session, actor=current_user, user_id=current_user.id, now=utcnow(),
                                keep_token=session.get(SESSION_TOKEN), address=client_address())
    db.session.commit()
    flash(_("已退出其他 %(n)s 处登录", n=ended), "info")
    return redirect(url_for("auth.password"))
