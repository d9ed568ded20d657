"""Administration: users, issuers' letterheads, login locks, the audit of these changes.

Each page loads, calls an operation of compliance.operations.accounts and renders: the operations check who may
do what and write the audit. A page that only lists filters its query by the admin's scope.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l, lazy_pgettext as _lp
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from wtforms import (
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from compliance.access import Permission, require
from compliance.clock import to_beijing, utcnow
from compliance.db import db
from compliance.errors import DomainError, NotAllowed, NotFound, ValidationFailed
from compliance.models import AdminEvent, Jurisdiction, LoginThrottle, Role, User
from compliance.operations import accounts
from compliance.operations.accounts import LETTERHEAD_FIELDS
from compliance.passwords import MAX_PASSWORD_LENGTH
from compliance.web.auth import SESSION_TOKEN, client_address, rules
from compliance.web.cases import PAGE_SIZE, page_of
from compliance.web.forms import done as _done, refusal_on_form
from compliance.web.labels import lazy_tr

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Longest search text: no login is longer, and a name is shorter.
MAX_SEARCH = 64
#: How many audit entries the account page shows.
RECENT_EVENTS = 20
#: What a notice cannot go out without: its signatory, where and whom to contact, where the money goes.
LETTERHEAD_REQUIRED = ("chair", "address", "contact", "bank.account_name", "bank.bank", "bank.account_no")


@bp.before_request
@login_required
def _signed_in():
    """Every admin page needs a live session; each page then checks its own permission."""


# ------------------------------------------------------------------------------------------------ forms

def _text(label, limit: int, *, required: bool = False, field=StringField):
    """A text field whose limit is the operation's own, refused with the same message (in the page's language)."""
    checks = [Length(max=limit, message=_l("%(label)s不能超过%(limit)s个字符", label=label, limit=limit))]
    if required:
        checks.insert(0, DataRequired(message=_l("请填写%(label)s", label=label)))
    return field(label, validators=checks)


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (roles); unknown values are left for the operation to refuse in Chinese."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    name = _text(_l("姓名"), 50, required=True)
    email = _text(_l("电子邮箱"), 200)
    supervisor_number = _text(_l("监督员证号"), 32)
    # Choices are the admin's jurisdictions; an id outside them is refused by the operation (404), not here.
    jurisdiction = SelectField(_l("辖区"), validate_choice=False)
    roles = CheckboxesField(_l("角色"), choices=[SelectChoice(r.value, lazy_tr(r.label)) for r in Role],
                            validate_choice=False)


class NewUserForm(UserForm):
    login = _text(_l("用户名"), 64, required=True)
    password = _text(_l("初始密码"), MAX_PASSWORD_LENGTH, required=True, field=PasswordField)


class ResetPasswordForm(FlaskForm):
    password = _text(_l("临时密码"), MAX_PASSWORD_LENGTH, required=True, field=PasswordField)


def _attr(key: str) -> str:
    """A letterhead key as a form field name ("bank.bank" → "bank_bank")."""
    return key.replace(".", "_")


LetterheadForm = type("LetterheadForm", (FlaskForm,),
                      {_attr(key): _text(lazy_tr(label), limit) for key, label, limit in LETTERHEAD_FIELDS})


# ----------------------------------------------------------------------------------------- page helpers

def _need(permission: Permission) -> None:
    """403 unless the signed-in account holds the permission at all (rows outside the scope answer 404)."""
    require(current_user, permission, absent="")


def _in_scope():
    """Jurisdictions in the admin's subtree (for lists only; operations check each row themselves)."""
    return Jurisdiction.path.startswith(current_user.jurisdiction.path, autoescape=True)


def _managed(user_id: int) -> User:
    """A user the admin manages; someone outside their scope is as absent as no one."""
    _need(Permission.MANAGE_USERS)
    user = db.session.get(User, user_id)
    absent = _("用户 %(id)s 不存在", id=user_id)
    if user is None:
        raise NotFound(absent)
    require(current_user, Permission.MANAGE_USERS, user.jurisdiction, absent=absent)
    return user


def _call(operation, **kwargs):
    """Call an operation as the signed-in admin, from this request's address, now."""
    return operation(db.session, actor=current_user, now=utcnow(), address=client_address(), **kwargs)


def _run(operation, **kwargs) -> tuple[object, DomainError | None]:
    """Like _call, but a refusal the admin can correct is rolled back and returned instead of raised."""
    try:
        return _call(operation, **kwargs), None
    except (ValidationFailed, NotAllowed) as exc:
        db.session.rollback()
        return None, exc


def _on_form(form: FlaskForm, exc: DomainError) -> int:
    """A refusal next to its field (letterhead keys are dotted, the form's names use "_")."""
    return refusal_on_form(form, exc, name=_attr(exc.field or ""))


def _submitted_status() -> int:
    """A form that comes back to the page after a POST was refused: 422."""
    return 422 if request.method == "POST" else 200


# ------------------------------------------------------------------------------------------------ users

def _users_query(search: str = ""):
    query = select(User).join(Jurisdiction, User.jurisdiction_id == Jurisdiction.id).where(_in_scope())
    if search:
        query = query.where(or_(User.login.icontains(search, autoescape=True),
                                User.name.icontains(search, autoescape=True)))
    return query


def _lock_label(state: str, until: dt.datetime | None) -> str | None:
    if state == "locked":
        return _("已锁定至 %(when)s", when=f"{to_beijing(until):%m-%d %H:%M}")
    if state == "waiting":
        return _("须等待至 %(when)s", when=f"{to_beijing(until):%H:%M:%S}")
    return None


def _locks_of(users: list[User]) -> dict[str, str]:
    """login (lower-cased, as throttles key it) → what holds the account back, for those held back."""
    keys = {u.login.lower() for u in users}
    if not keys:
        return {}
    rows = db.session.scalars(select(LoginThrottle).where(LoginThrottle.scope == "account",
                                                          LoginThrottle.key.in_(keys))).all()
    now, limits = utcnow(), rules()
    labels = {row.key: _lock_label(*accounts.throttle_state(row, limits, now)) for row in rows}
    return {key: label for key, label in labels.items() if label}


@bp.route("/users")
def users():
    """The accounts in the admin's scope, searchable by login or name."""
    _need(Permission.MANAGE_USERS)
    search = request.args.get("q", "").strip()[:MAX_SEARCH]
    query = _users_query(search)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page, pages = page_of(total)
    rows = db.session.scalars(query.order_by(User.login).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/users.html", users=rows, locks=_locks_of(rows), q=search, total=total,
                           page=page, pages=pages)


def _jurisdiction_choices() -> list[SelectChoice]:
    """The admin's jurisdictions in tree order, indented under their parents."""
    rows = db.session.scalars(select(Jurisdiction).where(_in_scope()).order_by(Jurisdiction.path)).all()
    top = current_user.jurisdiction.path.count("/")
    return [SelectChoice(str(j.id), "　" * (j.path.count("/") - top) + j.name) for j in rows]


def _chosen_jurisdiction(form: UserForm) -> Jurisdiction | None:
    raw = form.jurisdiction.data or ""
    where = db.session.get(Jurisdiction, int(raw)) if raw.isdigit() and len(raw) <= 9 else None
    if where is None:
        form.jurisdiction.errors = [*form.jurisdiction.errors, _("请选择辖区")]
    return where


def _user_form(user: User, **kwargs) -> UserForm:
    form = UserForm(data={"name": user.name, "email": user.email or "",
                          "supervisor_number": user.supervisor_number or "",
                          "jurisdiction": str(user.jurisdiction_id), "roles": sorted(r.value for r in user.roles)},
                    **kwargs)
    form.jurisdiction.choices = _jurisdiction_choices()
    return form


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create an account; its user chooses their own password at first login."""
    _need(Permission.MANAGE_USERS)
    form = NewUserForm(data={"jurisdiction": str(current_user.jurisdiction_id)})
    form.jurisdiction.choices = _jurisdiction_choices()
    status = _submitted_status()
    if form.validate_on_submit() and (where := _chosen_jurisdiction(form)) is not None:
        user, refused = _run(accounts.create_account, login=form.login.data, name=form.name.data,
                             password=form.password.data, jurisdiction=where, roles=form.roles.data,
                             supervisor_number=form.supervisor_number.data, email=form.email.data, rules=rules())
        if refused is None:
            return _done(_("已创建账号 %(login)s，首次登录时须修改初始密码", login=user.login),
                         url_for(".user", user_id=user.id))
        status = _on_form(form, refused)
    return render_template("admin/user_new.html", form=form, min_length=rules().password_min_length), status


def _recent_events(user: User) -> list[dict]:
    rows = db.session.scalars(select(AdminEvent).where(AdminEvent.target_user_id == user.id)
                              .order_by(AdminEvent.id.desc()).limit(RECENT_EVENTS)).all()
    return [_event_row(e) for e in rows]


def _user_page(user: User, status: int = 200, *, form: UserForm | None = None,
               reset: ResetPasswordForm | None = None, error: str | None = None):
    """The account page: its details form, the action buttons, its live sessions and its recent audit."""
    throttle = db.session.get(LoginThrottle, ("account", user.login.lower()))
    lock = _lock_label(*accounts.throttle_state(throttle, rules(), utcnow())) if throttle else None
    return render_template(
        "admin/user.html", target=user, form=form if form is not None else _user_form(user, formdata=None),
        reset=reset if reset is not None else ResetPasswordForm(formdata=None), error=error, lock=lock,
        sessions=accounts.live_sessions(db.session, user, now=utcnow(), rules=rules()),
        events=_recent_events(user), min_length=rules().password_min_length), status


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    """See and edit an account: name, contact, supervisor number, roles, jurisdiction."""
    target = _managed(user_id)
    form = _user_form(target)
    status = _submitted_status()
    if form.validate_on_submit() and (where := _chosen_jurisdiction(form)) is not None:
        _result, refused = _run(accounts.update_account, user_id=target.id, name=form.name.data, email=form.email.data,
                          supervisor_number=form.supervisor_number.data, roles=form.roles.data, jurisdiction=where)
        if refused is None:
            return _done(_("已保存 %(name)s 的账号信息", name=target.name), url_for(".user", user_id=target.id))
        status = _on_form(form, refused)
    return _user_page(target, status, form=form)


def _set_active(user_id: int, active: bool):
    target = _managed(user_id)
    _result, refused = _run(accounts.set_active, user_id=target.id, active=active)
    if refused is not None:
        return _user_page(target, refused.status, error=refused.message)
    done = (_("账号 %(login)s 已启用", login=target.login) if active
            else _("账号 %(login)s 已停用，其登录已全部退出", login=target.login))
    return _done(done, url_for(".user", user_id=target.id))


@bp.post("/users/<id:user_id>/deactivate")
def deactivate(user_id: int):
    """Deactivate an account: it can no longer sign in, and every session of it ends now."""
    return _set_active(user_id, False)


@bp.post("/users/<id:user_id>/activate")
def activate(user_id: int):
    """Reactivate an account."""
    return _set_active(user_id, True)


@bp.post("/users/<id:user_id>/password")
def reset_password(user_id: int):
    """Set a temporary password the admin tells the user; they must replace it at their next login."""
    target = _managed(user_id)
    reset = ResetPasswordForm()
    if not reset.validate_on_submit():
        return _user_page(target, 422, reset=reset)
    _result, refused = _run(accounts.reset_password, user_id=target.id, password=reset.password.data, rules=rules())
    if refused is not None:
        return _user_page(target, _on_form(reset, refused), reset=reset)
    return _done(_("已为 %(login)s 设置临时密码：其登录已全部退出，下次登录时须修改密码", login=target.login),
                 url_for(".user", user_id=target.id))


@bp.post("/users/<id:user_id>/unlock")
def unlock_user(user_id: int):
    """Lift the lock or delay that failed logins put on an account."""
    target = _managed(user_id)
    _call(accounts.unlock_login, scope="account", key=target.login.lower())
    return _done(_("已解除账号 %(login)s 的登录限制", login=target.login), url_for(".user", user_id=target.id))


@bp.post("/users/<id:user_id>/sign-out")
def sign_out(user_id: int):
    """End every session of an account (a lost phone); the admin's own current session stays."""
    target = _managed(user_id)
    ended = _call(accounts.sign_out_everywhere, user_id=target.id, keep_token=session.get(SESSION_TOKEN))
    return _done(_("已退出 %(login)s 的 %(n)s 处登录", login=target.login, n=ended),
                 url_for(".user", user_id=target.id))


# ---------------------------------------------------------------------------------------------- issuers

def _missing(issuer: Jurisdiction) -> list[str]:
    """Labels of the letterhead items a notice needs that are still empty."""
    values = accounts.letterhead_values(issuer)
    return [label for key, label, _limit in LETTERHEAD_FIELDS if key in LETTERHEAD_REQUIRED and not values[key]]


@bp.route("/issuers")
def issuers():
    """The committees in scope, their document-number code and whether their letterhead is complete."""
    _need(Permission.MANAGE_ISSUERS)
    query = select(Jurisdiction).where(_in_scope())
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page, pages = page_of(total)
    rows = db.session.scalars(query.order_by(Jurisdiction.path).limit(PAGE_SIZE)
                              .offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/issuers.html", issuers=[(j, _missing(j)) for j in rows], total=total,
                           page=page, pages=pages)


@bp.route("/issuers/<id:jurisdiction_id>", methods=["GET", "POST"])
def issuer(jurisdiction_id: int):
    """Edit what a committee's notices print about it (issued notices keep the letterhead they had)."""
    _need(Permission.MANAGE_ISSUERS)
    where = db.session.get(Jurisdiction, jurisdiction_id)
    absent = _("发文机关 %(id)s 不存在", id=jurisdiction_id)
    if where is None:
        raise NotFound(absent)
    require(current_user, Permission.MANAGE_ISSUERS, where, absent=absent)
    form = LetterheadForm(data={_attr(k): v for k, v in accounts.letterhead_values(where).items()})
    status = _submitted_status()
    if form.validate_on_submit():
        values = {key: form[_attr(key)].data or "" for key, _label, _limit in LETTERHEAD_FIELDS}
        _result, refused = _run(accounts.update_letterhead, jurisdiction_id=where.id, values=values)
        if refused is None:
            return _done(_("已保存%(committee)s的文书抬头", committee=where.committee_name),
                         url_for(".issuer", jurisdiction_id=where.id))
        status = _on_form(form, refused)
    fields = [form[_attr(key)] for key, _label, _limit in LETTERHEAD_FIELDS]
    return render_template("admin/issuer.html", issuer=where, form=form, fields=fields), status


# ------------------------------------------------------------------------------------------------ locks

def _current_throttles(now: dt.datetime) -> list[LoginThrottle]:
    """Throttles still in force or counting; a district admin sees only the accounts of their users."""
    limits = rules()
    query = select(LoginThrottle).where(or_(LoginThrottle.locked_until > now,
                                            LoginThrottle.last_failure_at > now - limits.window))
    if current_user.jurisdiction.parent_id is not None:   # addresses are the whole city's: city admins only
        logins = select(func.lower(User.login)).join(Jurisdiction, User.jurisdiction_id == Jurisdiction.id).where(
            _in_scope())
        query = query.where(LoginThrottle.scope == "account", LoginThrottle.key.in_(logins))
    return list(db.session.scalars(query.order_by(LoginThrottle.last_failure_at.desc()).limit(500)))


@bp.route("/locks")
def locks():
    """Accounts and addresses that failed logins hold back, each with an unlock button."""
    _need(Permission.MANAGE_USERS)
    now, limits = utcnow(), rules()
    rows = _current_throttles(now)
    keys = [row.key for row in rows if row.scope == "account"]
    owners = {u.login.lower(): u for u in db.session.scalars(_users_query().where(func.lower(User.login).in_(keys)))}
    shown = [(row, owners.get(row.key), _lock_label(*accounts.throttle_state(row, limits, now))) for row in rows]
    return render_template("admin/locks.html", rows=shown)


@bp.post("/locks/unlock")
def unlock():
    """Lift one throttle (the operation decides who may: an account's admin, or a city admin for addresses)."""
    _need(Permission.MANAGE_USERS)
    scope, key = request.form.get("scope", "")[:10], request.form.get("key", "")[:100]
    _call(accounts.unlock_login, scope=scope, key=key)
    return _done(_("已解除 %(key)s 的登录限制", key=key), url_for(".locks"))


# ------------------------------------------------------------------------------------------------ audit

ACTIONS = {
    "user.created": _lp("event", "创建账号"),
    "user.updated": _lp("event", "修改账号"),
    "user.activated": _lp("event", "启用账号"),
    "user.deactivated": _lp("event", "停用账号"),
    "user.password_reset": _lp("event", "重置密码"),
    "user.password_changed": _lp("event", "修改密码"),
    "user.signed_out_everywhere": _lp("event", "退出全部登录"),
    "login.locked": _lp("event", "登录锁定"),
    "login.unlocked": _lp("event", "解除锁定"),
    "issuer.letterhead_changed": _lp("event", "修改文书抬头"),
    "import.enterprises": _lp("event", "批量导入企业"),
    "import.cases": _lp("event", "批量导入案件"),
}

#: Names of what the audit details hold (account fields, letterhead items, lock facts).
DETAIL_LABELS = {
    "login": _l("用户名"), "name": _l("姓名"), "email": _l("电子邮箱"), "supervisor_number": _l("监督员证号"),
    "roles": _l("角色"), "jurisdiction": _l("辖区"), "jurisdiction_name": _l("辖区"),
    "sessions_ended": _l("退出的登录"), "scope": _l("限制对象"), "key": _l("账号或地址"), "failures": _l("失败次数"),
    "locked_until": _l("锁定至"), "issuer": _l("发文机关"), "filename": _l("文件"), "sha256": _l("文件SHA-256"),
    "mode": _l("导入方式"), "rows": _l("读取行数"), "imported": _l("导入条数"), "bad_rows": _l("有误行数"),
    **{key: lazy_tr(label) for key, label, _limit in LETTERHEAD_FIELDS},
}
_SCOPES = {"account": _l("账号"), "address": _l("网络地址")}


_ROLES = {r.value: lazy_tr(r.label) for r in Role}


def _detail_value(key: str, value) -> str:
    """One audited value as a reader sees it."""
    if value is None or value == "" or value == []:
        return _("（空）")
    if key == "roles":
        return _("、").join(str(_ROLES.get(v, v)) for v in value)
    if key == "scope":
        return str(_SCOPES.get(value, value))
    if key == "sessions_ended":
        return _("%(n)s 处", n=value)
    if key == "locked_until" and isinstance(value, str):
        return f"{to_beijing(dt.datetime.fromisoformat(value)):%Y-%m-%d %H:%M}"
    return str(value)


def _detail_lines(details: dict) -> list[str]:
    """字段：值 for facts, 字段：旧值 → 新值 for changes."""
    details = dict(details or {})
    changes = details.pop("changes", None) or {}
    lines = [_("%(label)s：%(text)s", label=DETAIL_LABELS.get(k, k), text=_detail_value(k, v))
             for k, v in details.items()]
    lines += [_("%(label)s：%(text)s", label=DETAIL_LABELS.get(k, k),
                text=f"{_detail_value(k, old)} → {_detail_value(k, new)}") for k, (old, new) in changes.items()]
    return lines


def _event_row(event: AdminEvent) -> dict:
    """An audit entry ready to show: who, what, to whom, and the details in words."""
    details = event.details or {}
    target = event.target_user
    return {"event": event, "action": ACTIONS.get(event.action, event.action),
            "actor": f"{event.actor.name}（{event.actor.login}）" if event.actor else _("系统"),
            "target": f"{target.name}（{target.login}）" if target else details.get("issuer") or details.get("key", ""),
            "target_id": target.id if target and accounts.can_manage(current_user, target) else None,
            "lines": _detail_lines(details)}


@bp.route("/audit")
def audit():
    """The latest account, login and letterhead changes the admin may read."""
    events = accounts.visible_admin_events(db.session, current_user)
    return render_template("admin/audit.html", events=[_event_row(e) for e in events])
