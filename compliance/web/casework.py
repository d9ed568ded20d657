"""Case work in the browser: register an enterprise, open a case, take each step of the ladder, assign supervisors,
read the case's history in Chinese, and see the ladder drawn.

The step forms are generated from the ladder's own declarations (workflows.states.TRIGGERS): a trigger added
there gets its form here without a new template. Each route loads, calls an operation, commits once, and on a
refusal rolls back and shows the page again with the message where it belongs (422 / 409).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, lazy_pgettext as _lp
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import (BooleanField, Field, HiddenField, SelectChoice, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

import letters
from compliance.access import Permission, can, require
from compliance.clock import business_date, utcnow
from compliance.db import db
from compliance.web.forms import refusal_on_form
from compliance.web.labels import lazy_tr, tr
from compliance.web.language import page_date
from compliance.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationFailed
from compliance.models import Case, CaseEvent, Enterprise, Jurisdiction, Notice, NoticeService, User
from compliance.operations.attachments import case_attachments
from compliance.operations.assignments import assign_supervisors, eligible_supervisors, may_work, stale_message
from compliance.operations.cases import MAX_SUMMARY, case_deadlines, case_options, open_case
from compliance.operations.enterprises import MAX_IDENTIFIER, TEXT_FIELDS, register_enterprise
from workflows.deadlines import DEFAULT_RULES, MAX_PERIOD
from workflows.states import (ACTIVE_STATES, MAX_NAMES, NAME_LENGTH, TRIGGERS, InputField, State, TriggerSpec,
                              Violation)

bp = Blueprint("casework", __name__)


@bp.before_request
@login_required
def _signed_in():
    """Every page here needs a live session; each then checks its own permission."""


@bp.app_template_filter("cn_date")
def cn_date_filter(value: dt.datetime | dt.date | str | None) -> str:
    """Template filter: a date as people write it, 2026年11月24日 or, on English pages, 24 Nov 2026 (a timestamp:
    its Beijing date)."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = business_date(value)
    return page_date(value) if value is not None else ""


def _need(permission: Permission) -> None:
    """403 unless the account holds the permission at all (a row outside its scope then answers 404)."""
    require(current_user, permission, absent="")


def _on_form(form: FlaskForm, exc: DomainError, aliases: dict[str, str] | None = None) -> int:
    """A refusal next to its field (an operation's field name may differ from the form's: `aliases`)."""
    return refusal_on_form(form, exc, name=(aliases or {}).get(exc.field or "", exc.field or ""))


def _digits(raw: Any) -> int | None:
    """An id as typed in a form: digits that fit the 32-bit columns, else None."""
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; unknown values are left for the operation to refuse in Chinese."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _bounded(label, limit: int, *, field=StringField, required=None, **render):
    """A text field bounded like its operation, refused with the same words (and the count typed), in the page's
    language (`label` and `required` lazy strings)."""
    checks = [Length(max=limit, message=_l("%(label)s不能超过%(limit)s个字符（现有%%(length)d个）", label=label,
                                           limit=limit))]
    if required:
        checks.insert(0, DataRequired(message=required))
    return field(label, validators=checks, render_kw=render or None)


# ---------------------------------------------------------------------------------------- registration

def _text_field(key: str, **render):
    label, limit = TEXT_FIELDS[key]
    return _bounded(lazy_tr(label), limit, **render)


class EnterpriseForm(FlaskForm):
    uscc = _bounded(_l("统一社会信用代码"), MAX_IDENTIFIER, required=_l("请填写统一社会信用代码（或旧的15位注册号）"),
                    autocomplete="off", autocapitalize="characters", spellcheck="false")
    name = _bounded(lazy_tr(TEXT_FIELDS["name"][0]), TEXT_FIELDS["name"][1], required=_l("请填写企业名称"))
    jurisdiction = SelectField(_l("所在辖区"), validate_choice=False)
    address = _text_field("address")
    legal_representative = _text_field("legal_representative")
    industry = _text_field("industry")
    ownership_type = _text_field("ownership_type")
    employee_count = _bounded(_l("职工人数"), 9, inputmode="numeric")
    member_count = _bounded(_l("工会会员人数"), 9, inputmode="numeric")
    has_union = BooleanField(_l("已建立工会"))
    monthly_payroll = _bounded(_l("上月工资总额（元）"), 25, inputmode="decimal")
    established_on = _bounded(_l("成立日期"), 10, type="date")
    contact_name = _text_field("contact_name")
    contact_phone = _text_field("contact_phone", inputmode="tel")


def _jurisdiction_choices() -> list[SelectChoice]:
    """The user's jurisdictions in tree order, indented under their parents."""
    rows = db.session.scalars(select(Jurisdiction).where(
        Jurisdiction.path.startswith(current_user.jurisdiction.path, autoescape=True)).order_by(Jurisdiction.path))
    top = current_user.jurisdiction.path.count("/")
    return [SelectChoice(str(j.id), "　" * (j.path.count("/") - top) + j.name) for j in rows]


@bp.route("/enterprises/new", methods=["GET", "POST"])
def new_enterprise():
    """Register an enterprise in the user's jurisdiction or below; then offer to open a case against it."""
    _need(Permission.REGISTER_ENTERPRISE)
    form = EnterpriseForm(data={"jurisdiction": str(current_user.jurisdiction_id)})
    form.jurisdiction.choices = _jurisdiction_choices()
    status, existing = (422 if request.method == "POST" else 200), None
    if form.validate_on_submit():
        where = db.session.get(Jurisdiction, _digits(form.jurisdiction.data) or 0)
        if where is None:
            raise NotFound(_("该辖区不存在"))
        values = {key: form[key].data for key in ("uscc", "name", "address", "legal_representative", "industry",
                                                 "ownership_type", "employee_count", "member_count", "has_union",
                                                 "monthly_payroll", "established_on", "contact_name",
                                                 "contact_phone")}
        try:
            enterprise = register_enterprise(db.session, actor=current_user, jurisdiction=where, now=utcnow(),
                                             **values)
        except ValidationFailed as exc:
            db.session.rollback()
            status = _on_form(form, exc)
            existing = exc.details.get("existing_id")
        else:
            db.session.commit()
            flash(_("已登记企业“%(name)s”（%(identifier)s）", name=enterprise.name, identifier=enterprise.identifier),
                  "info")
            return redirect(url_for(".open_case", enterprise_id=enterprise.id))
    return render_template("casework/enterprise_new.html", form=form, existing=existing), status


# -------------------------------------------------------------------------------------------- opening

class OpenCaseForm(FlaskForm):
    violations = CheckboxesField(_l("违法情形"), choices=[SelectChoice(v.value, lazy_tr(v.label)) for v in Violation],
                                 validate_choice=False)
    summary = _bounded(_l("案情摘要"), MAX_SUMMARY, field=TextAreaField, rows="4")
    supervisors = CheckboxesField(_l("承办监督员"), validate_choice=False)


def _supervisor_choices(where: Jurisdiction, also: list[User] = ()) -> list[SelectChoice]:
    users = list(dict.fromkeys([*also, *eligible_supervisors(db.session, where)]))
    return [SelectChoice(str(u.id), f"{u.name}（{u.jurisdiction.name}）"
                         + ("" if may_work(u, where) else _("，已不能承办"))) for u in users]


def _chosen_users(field: Field) -> list[User] | None:
    """The users a checkbox list names; None (with the error on the field) when one is unknown or none is chosen."""
    ids = [_digits(raw) for raw in field.data or []]
    if not ids:
        field.errors = [*field.errors, _("请至少选择一名承办监督员")]
        return None
    if len(ids) > MAX_NAMES:
        field.errors = [*field.errors, _("承办监督员最多%(n)s名", n=MAX_NAMES)]
        return None
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([i for i in ids if i])))}
    for raw, user_id in zip(field.data, ids, strict=True):
        if user_id not in users:
            field.errors = [*field.errors, _("监督员 %(who)s 不存在", who=str(raw)[:20])]
            return None
    return [users[i] for i in ids]


def _enterprise_for(permission: Permission, enterprise_id: int) -> Enterprise:
    _need(permission)
    enterprise = db.session.get(Enterprise, enterprise_id)
    absent = _("企业 %(id)s 不存在", id=enterprise_id)
    if enterprise is None:
        raise NotFound(absent)
    require(current_user, permission, enterprise.jurisdiction, absent=absent)
    return enterprise


@bp.route("/enterprises/<id:enterprise_id>/cases/new", methods=["GET", "POST"], endpoint="open_case")
def open_case_page(enterprise_id: int):
    """The enterprise's facts, its cases, and the form that opens a new one (立案)."""
    enterprise = _enterprise_for(Permission.OPEN_CASE, enterprise_id)
    mine = str(current_user.id) if may_work(current_user, enterprise.jurisdiction) else None
    form = OpenCaseForm(data={"supervisors": [mine] if mine else []})
    form.supervisors.choices = _supervisor_choices(enterprise.jurisdiction)
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit() and (chosen := _chosen_users(form.supervisors)) is not None:
        try:
            case = open_case(db.session, enterprise=enterprise, violations=form.violations.data or [],
                             opened_by=current_user, now=utcnow(), supervisors=chosen,
                             summary=form.summary.data or "")
        except (ValidationFailed, NotAllowed) as exc:
            db.session.rollback()
            status = _on_form(form, exc)
        else:
            db.session.commit()
            flash(_("已立案 %(reference)s（%(name)s）", reference=case.reference, name=enterprise.name), "info")
            return redirect(url_for("web.case_detail", case_id=case.id))
    cases = db.session.scalars(select(Case).where(Case.enterprise_id == enterprise.id)
                               .order_by(Case.opened_at.desc())).all()
    return render_template("casework/case_new.html", enterprise=enterprise, form=form, cases=cases), status


# ---------------------------------------------------------------------------------------------- steps

#: Names the step form keeps for itself; a ladder input of the same name would collide (checked when built).
_OWN_FIELDS = ("step_version", "step_note", "step_attachments")


#: The input that names evidence: the case's attachments can be picked for it (compliance.operations.attachments).
EVIDENCE_INPUT = "attachment_ref"


class StepForm(FlaskForm):
    """Base of the generated step forms: the inputs come from TRIGGERS, the version and the note are the
    operation's; a step naming evidence also offers the case's attachments to pick."""

    spec: TriggerSpec
    evidence: dict[str, str] = {}   #: attachment id → the name it is cited by

    def offer_evidence(self, case: Case) -> None:
        if "step_attachments" not in self._fields:
            return
        rows = case_attachments(db.session, case)
        self.evidence = {str(a.id): a.filename for a in rows}
        self.step_attachments.choices = [
            SelectChoice(str(a.id), a.filename + (f"（{a.description}）" if a.description else "")) for a in rows]

    def validate_step_attachments(self, field: Field) -> None:
        if any(value not in self.evidence for value in field.data or []):
            raise ValidationError(_("所选证据材料不属于本案件，请刷新页面后重新选择"))

    def inputs(self) -> dict[str, Any]:
        values = {f.name: self[f.name].data for f in self.spec.fields}
        chosen = [self.evidence[v] for v in dict.fromkeys(self.step_attachments.data or [])] \
            if "step_attachments" in self._fields else []
        if chosen:
            typed = (values.get(EVIDENCE_INPUT) or "").strip()
            values[EVIDENCE_INPUT] = "、".join([*chosen, typed] if typed else chosen)
        return values

    def version(self) -> int | None:
        return _digits(self.step_version.data)


def _input_field(spec: InputField):
    """One ladder input as a form field: the bound mirrors the ladder's, required-ness is the ladder's to say."""
    render = {"required": True} if spec.required else {}
    label = lazy_tr(spec.label)   # the form class is built once: the label is translated when shown
    if spec.kind == "date":
        return StringField(label, [Length(max=10, message=_l("%(label)s应为“年-月-日”格式，例如2026-11-24",
                                                               label=label))],
                           render_kw={"type": "date", **render})
    if spec.kind == "days":
        return StringField(label, [Length(max=len(str(MAX_PERIOD)),
                                          message=_l("%(label)s应为1至%(max)s之间的整数", label=label, max=MAX_PERIOD))],
                           render_kw={"type": "number", "min": 1, "max": MAX_PERIOD, "inputmode": "numeric",
                                      **render})
    if spec.kind == "choice":
        # The ladder checks the value (and says so in Chinese); the form only offers the choices.
        blank = [] if spec.required else [SelectChoice("", _l("（不填）"))]
        return SelectField(label, choices=blank + [SelectChoice(v, lazy_tr(text)) for v, text in spec.choices],
                           validate_choice=False, render_kw=render)
    if spec.kind == "names":
        limit = MAX_NAMES * (NAME_LENGTH + 1)
        return StringField(label, [Length(max=limit, message=_l("%(label)s过长：最多%(n)s名，每名不超过%(max)s字",
                                                                 label=label, n=MAX_NAMES, max=NAME_LENGTH))],
                           render_kw=render)
    message = _l("%(label)s不能超过%(max)s字（现有%%(length)d字）", label=label, max=spec.max_length)
    field = TextAreaField if spec.max_length > 200 else StringField
    extra = {"rows": 3} if field is TextAreaField else {}
    return field(label, [Length(max=spec.max_length, message=message)], render_kw={**extra, **render})


@functools.cache
def step_form_class(trigger: str) -> type[StepForm]:
    """The form of one trigger, built from its declaration (cached: the ladder does not change at run time)."""
    spec = TRIGGERS[trigger]
    clash = set(spec.inputs) & set(_OWN_FIELDS)
    if clash:
        raise ValueError(f"{trigger}: input names {sorted(clash)} are the step form's own")
    attrs: dict[str, Any] = {"spec": spec}
    attrs.update((f.name, _input_field(f)) for f in spec.fields)
    attrs["step_version"] = HiddenField()
    if EVIDENCE_INPUT in spec.inputs:
        attrs["step_attachments"] = CheckboxesField(_l("从本案证据材料中选择"), validate_choice=False)
    attrs["step_note"] = _bounded(_l("理由/备注"), MAX_SUMMARY, field=TextAreaField, rows="2")
    return type(f"StepForm_{trigger}", (StepForm,), attrs)


def step_form(case: Case, trigger: str, *, posted: bool = False) -> StepForm:
    """A trigger's form: blank with the case's version, or read from this request (prefixed by the trigger)."""
    cls = step_form_class(trigger)
    form = cls(prefix=trigger) if posted else cls(formdata=None, prefix=trigger,
                                                  data={"step_version": str(case.version)})
    form.offer_evidence(case)
    return form


@dataclass
class StepView:
    """What the page draws for one allowed step: its label, where it leads, its form and each input's row."""

    trigger: str
    label: str
    dest: State | None
    form: StepForm
    rows: list[tuple[InputField, Field, dict]]
    is_open: bool = False


def step_view(case: Case, trigger: str, form: StepForm | None = None, *, dest: State | None = None,
              today: dt.date | None = None, is_open: bool = False) -> StepView:
    """A step ready to render: each input with its field and the attributes it needs today (a date's max)."""
    spec = TRIGGERS[trigger]
    form = form if form is not None else step_form(case, trigger)
    today = today or business_date(utcnow())
    def attrs(f: InputField) -> dict:
        if f.kind == "date":
            return {"max": today.isoformat()}
        if f.name == EVIDENCE_INPUT and form.evidence:
            return {"required": False}   # picking attachments is enough
        return {}
    rows = [(f, form[f.name], attrs(f)) for f in spec.fields]
    return StepView(trigger, spec.label, dest, form, rows, is_open)


def _case_for(permission: Permission, case_id: int) -> Case:
    _need(permission)
    case = db.session.get(Case, case_id)
    absent = _("案件 %(id)s 不存在", id=case_id)
    if case is None:
        raise NotFound(absent)
    require(current_user, permission, case.jurisdiction, absent=absent)
    return case


@bp.post("/cases/<id:case_id>/steps/<trigger>")
def step(case_id: int, trigger: str):
    """Take one step of the ladder from its form; a refusal shows the case again with the reason by the field."""
    from compliance.operations.cases import fire_trigger
    case = _case_for(Permission.WORK_CASE, case_id)
    if trigger not in TRIGGERS:
        raise NotFound(_("没有这个操作"))
    form = step_form(case, trigger, posted=True)
    if not form.validate_on_submit():
        return case_page(case, 422, step_forms={trigger: form})
    if form.version() is None:
        form.form_errors.append(_("表单缺少版本信息，请刷新页面后重试"))
        return case_page(case, 422, step_forms={trigger: form})
    label = tr(TRIGGERS[trigger].label)
    try:
        result = fire_trigger(db.session, case.id, trigger, form.inputs(), actor=current_user, now=utcnow(),
                              expected_version=form.version(), reason=form.step_note.data or "")
    except Conflict:
        db.session.rollback()
        form.step_version.data = str(case.version)   # the page now shows the case as it is
        return case_page(case, 409, step_forms={trigger: form}, alert=stale_message(db.session, case))
    except (NotAllowed, ValidationFailed) as exc:
        db.session.rollback()
        if isinstance(exc, NotAllowed):
            form.form_errors.append(exc.message)
            return case_page(case, exc.status, step_forms={trigger: form},
                             alert=_("不能%(step)s：%(reason)s", step=label, reason=exc.message))
        return case_page(case, _on_form(form, exc, {"reason": "step_note"} if "reason" not in form.spec.inputs
                                        else {}), step_forms={trigger: form})
    db.session.commit()
    titles = _("、").join(tr(letters.NOTICE_TYPES[n.notice_type].title) for n in result.notices)
    done = _("已%(step)s，案件现为“%(state)s”", step=label, state=tr(State(case.state).label))
    flash(done + (_("；已生成文书草稿：%(titles)s", titles=titles) if titles else ""), "info")
    return redirect(url_for("web.case_detail", case_id=case.id))


# ----------------------------------------------------------------------------------------- supervisors

class AssignForm(FlaskForm):
    supervisors = CheckboxesField(_l("承办监督员"), validate_choice=False)
    version = HiddenField()


def assign_form(case: Case, *, posted: bool = False) -> AssignForm:
    current = [a.user for a in case.assignments]
    if posted:
        form = AssignForm(prefix="assign")
    else:
        form = AssignForm(formdata=None, prefix="assign",
                          data={"supervisors": [str(u.id) for u in current], "version": str(case.version)})
    form.supervisors.choices = _supervisor_choices(case.enterprise.jurisdiction, current)
    return form


@bp.post("/cases/<id:case_id>/supervisors")
def assign(case_id: int):
    """Change who works the case."""
    case = _case_for(Permission.WORK_CASE, case_id)
    form = assign_form(case, posted=True)
    if not form.validate_on_submit() or (chosen := _chosen_users(form.supervisors)) is None:
        return case_page(case, 422, assign=form)
    return _change_case(case, form, "assign", lambda version: assign_supervisors(
        db.session, case.id, [u.id for u in chosen], actor=current_user, now=utcnow(), expected_version=version),
        changed=_("已调整承办监督员"), unchanged=_("承办监督员没有变化"))


def _change_case(case: Case, form, slot: str, change, *, changed: str, unchanged: str, anchor: str | None = None):
    """A case form's write: the form's version (a stale one says who changed the case), the operation (it returns
    None when nothing changed), its refusal shown on the form with nothing kept, else commit, say so, redirect."""
    version = _digits(form.version.data)
    if version is None:
        form.form_errors.append(_("表单缺少版本信息，请刷新页面后重试"))
        return case_page(case, 422, **{slot: form})
    try:
        event = change(version)
    except Conflict as exc:
        db.session.rollback()
        return case_page(case, 409, alert=exc.message)
    except (NotAllowed, ValidationFailed) as exc:
        db.session.rollback()
        return case_page(case, _on_form(form, exc), **{slot: form})
    db.session.commit()
    flash(changed if event is not None else unchanged, "info")
    return redirect(url_for("web.case_detail", case_id=case.id, _anchor=anchor))


# ------------------------------------------------------------------------------------------------ funds

class FundsForm(FlaskForm):
    """What the case records for the funds rules (BJM 55(2)/(3); compliance.operations.funds)."""

    has_union = SelectField(_l("欠缴期间是否已建立工会"), validate_choice=False)
    union_help_started_on = _bounded(_l("上级工会帮助和指导职工筹备组建工会之日"), 10, type="date")
    version = HiddenField()


_UNION_CHOICES = {"": None, "yes": True, "no": False}


def funds_form(case: Case, *, posted: bool = False) -> FundsForm:
    if posted:
        form = FundsForm(prefix="funds")
    else:
        current = {None: "", True: "yes", False: "no"}[case.has_union]
        form = FundsForm(formdata=None, prefix="funds", data={
            "has_union": current, "version": str(case.version),
            "union_help_started_on": case.union_help_started_on.isoformat() if case.union_help_started_on else ""})
    recorded = _("已建立") if case.enterprise.has_union else _("未建立")
    form.has_union.choices = [SelectChoice("", _("按企业登记信息（%(recorded)s）", recorded=recorded)),
                              SelectChoice("yes", _("已建立工会")), SelectChoice("no", _("未建立工会"))]
    return form


@bp.post("/cases/<id:case_id>/funds")
def funds(case_id: int):
    """Record whether the unit had a union and when the higher union started helping (the arrears follow them)."""
    from compliance.operations.funds import record_funds_facts
    case = _case_for(Permission.WORK_CASE, case_id)
    form = funds_form(case, posted=True)
    if not form.validate_on_submit():
        return case_page(case, 422, funds=form)
    if form.has_union.data not in _UNION_CHOICES:
        form.has_union.errors = [_("请选择是否已建立工会")]
        return case_page(case, 422, funds=form)
    return _change_case(case, form, "funds", lambda version: record_funds_facts(
        db.session, case.id, actor=current_user, now=utcnow(), has_union=_UNION_CHOICES[form.has_union.data],
        union_help_started_on=form.union_help_started_on.data, expected_version=version),
        changed=_("已记录经费认定情况"), unchanged=_("经费认定情况没有变化"), anchor="funds")


# ------------------------------------------------------------------------------------------- the page

def case_page(case: Case, status: int = 200, *, step_forms: dict[str, StepForm] | None = None,
              assign: AssignForm | None = None, alert: str | None = None, funds: FundsForm | None = None):
    """The case page: facts, supervisors, the steps allowed now (with forms) and why others are not, deadlines,
    notices and the audit trail in Chinese."""
    step_forms = step_forms or {}
    today = business_date(utcnow())
    options = case_options(db.session, case, now=utcnow())
    works = can(current_user, Permission.WORK_CASE, case.jurisdiction)
    allowed = [o for o in options if o.allowed]
    steps = [step_view(case, o.trigger, step_forms.get(o.trigger), dest=o.dest, today=today,
                       is_open=o.trigger in step_forms) for o in allowed] if works else []
    blocked = [o for o in options if not o.allowed and o.dest is not None]
    closed = options[0].reason if options and not allowed and not blocked else None
    for o in options:   # a refused form for a step not offered now: say why it is not, above the steps
        if o.trigger in step_forms and not o.allowed and alert is None:
            alert = _("不能%(step)s：%(reason)s", step=tr(o.label), reason=o.reason)
    notices = db.session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id)).all()
    services = {s.notice_id: s for s in db.session.scalars(select(NoticeService).where(
        NoticeService.case_id == case.id, NoticeService.superseded_at.is_(None)))}
    return render_template(
        "case.html", case=case, steps=steps, allowed=allowed, blocked=blocked, closed=closed, works=works,
        deadlines=case_deadlines(db.session, case.id), notices=notices, trail=trail(case, notices), services=services,
        assign=assign if assign is not None else (assign_form(case) if works and not case.is_closed else None),
        funds=funds if funds is not None else (funds_form(case) if works and not case.is_closed else None),
        alert=alert), status


# ------------------------------------------------------------------------------------ the audit trail

#: Verbs of the notice events ("notice.issued" → 签发《…》).
NOTICE_VERBS = {
    "notice.drafted": _lp("event", "起草"),
    "notice.draft_updated": _lp("event", "修改"),
    "notice.submitted": _lp("event", "提交审批"),
    "notice.rejected": _lp("event", "退回"),
    "notice.returned": _lp("event", "退回修改"),
    "notice.approved": _lp("event", "审批通过"),
    "notice.issued": _lp("event", "签发"),
    "notice.withdrawn": _lp("event", "撤回"),
    "notice.withdrawal_drafted": _lp("event", "起草撤回通知"),
}
#: Case events that are not a step of the ladder.
CASE_ACTIONS = {
    "case.opened": _lp("event", "立案"),
    "case.assigned": _lp("event", "调整承办监督员"),
    "case.evidence_attached": _lp("event", "上传证据材料"),
    "case.funds_facts_recorded": _lp("event", "记录经费认定情况"),
    "case.deadlines_recomputed": _lp("event", "节假日安排更新，重新计算期限"),
}
#: How the reason of an event is introduced.
REASON_LABELS = {"case.opened": _l("案情摘要"), "notice.rejected": _l("退回理由"), "notice.returned": _l("退回意见"),
                 "notice.withdrawal_drafted": _l("撤回理由"), "case.deadlines_recomputed": _l("说明"),
                 "case.evidence_attached": _l("材料")}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Keys of the rows a draft may hold (arrears months) and of other nested facts, for reading them back.
_PART_LABELS = {"month": _l("工资月份"), "payroll": _l("工资总额"), "paid": _l("已缴金额"), "number": _l("文号"),
                "issued_on": _l("日期"), "name": _l("名称"), "title": _l("职务")}


def _plain_value(value: Any) -> str:
    """A stored value as a reader sees it: dates as the page writes them, lists joined, rows as 项目 值."""
    if value is None or value == "" or value == [] or value == {}:
        return _("（空）")
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return page_date(dt.date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, (list, tuple)):
        return _("；").join(_plain_value(v) for v in value)
    if isinstance(value, dict):
        return _("，").join(f"{_PART_LABELS.get(k, '')}{_plain_value(v)}" for k, v in value.items())
    return str(value)


def _line(label, text) -> str:
    """"label：text" (English: "label: text")."""
    return _("%(label)s：%(text)s", label=label, text=text)


def _input_lines(trigger: str, inputs: dict) -> list[str]:
    """What was entered for a step, each input under its label (in the order the form asks)."""
    lines = []
    for field in TRIGGERS[trigger].fields:
        value = inputs.get(field.name)
        if value is None or value == "":
            continue
        if field.kind == "names" and isinstance(value, (list, tuple)):
            shown = _("、").join(map(str, value))
        elif field.kind == "days":
            shown = _("%(n)s日", n=value)
        elif field.kind == "choice":
            choice = dict(field.choices).get(value)
            shown = tr(choice) if choice is not None else _plain_value(value)
        else:
            shown = _plain_value(value)
        lines.append(_line(tr(field.label), shown))
    return lines


def _rule_label(key: str) -> str:
    rule = DEFAULT_RULES.get(key)
    return tr(rule.label) if rule is not None else _("期限")


def _notice_title(notice_type: str | None) -> str:
    kind = letters.NOTICE_TYPES.get(notice_type or "")
    return tr(kind.title) if kind is not None else _("文书")


def _fact_labels(notice_type: str | None) -> dict[str, str]:
    from compliance.operations.notices import FACT_LABELS
    kind = letters.NOTICE_TYPES.get(notice_type or "")
    return {**FACT_LABELS, **({f.key: f.label for f in kind.editable} if kind is not None else {})}


def _notice_event(event: CaseEvent, notices: dict[int, Notice]) -> tuple[str, list[str]]:
    details = event.details or {}
    notice_type = details.get("notice_type")
    notice = notices.get(details.get("notice_id"))
    number = details.get("number") or (notice.number if notice is not None else None)
    verb = NOTICE_VERBS.get(event.action, _lp("event", "处理"))
    title = _("%(verb)s《%(title)s》", verb=verb, title=_notice_title(notice_type)) \
        + (_("（%(number)s）", number=number) if number else "")
    lines = []
    if event.action == "notice.draft_updated":
        labels = _fact_labels(notice_type)   # the letters' own fact names: Chinese
        changed = details.get("changed") or []
        values = details.get("values") or {}
        lines.append(_line(_("修改项目"), _("、").join(labels.get(k, _("其他内容")) for k in changed)))
        lines += [_line(labels.get(k, _("其他内容")), _plain_value(values[k])) for k in changed if k in values]
    signatory = details.get("signatory")
    if isinstance(signatory, dict) and signatory.get("name"):
        lines.append(_line(_("签发人"), f"{signatory['name']}（{signatory.get('title', '')}）"))
    if details.get("withdraws"):
        lines.append(_line(_("撤回对象"), details["withdraws"]))
    if details.get("by_number"):
        lines.append(_line(_("撤回通知"), details["by_number"]))
    restarted = details.get("restarted")
    if isinstance(restarted, dict) and restarted.get("due"):
        lines.append(_("%(deadline)s自签发之日起算，届满日为%(due)s", deadline=_rule_label(restarted.get("rule", "")),
                       due=_plain_value(restarted["due"])))
    return title, lines


def _event_row(event: CaseEvent, notices: dict[int, Notice], users: dict[int, User]) -> dict:
    """One audit entry in words: who, when, what (in the page's language), what was entered, why, and the stage if
    it moved."""
    details = event.details or {}
    lines: list[str] = []
    if event.trigger in TRIGGERS:
        title = tr(TRIGGERS[event.trigger].label)
        lines = _input_lines(event.trigger, details.get("inputs") or {})
        drafted = [_notice_title(n) for n in details.get("notices") or []]
        if drafted:
            lines.append(_line(_("生成文书草稿"), _("、").join(_("《%(title)s》", title=t) for t in drafted)))
    elif event.action.startswith("notice."):
        title, lines = _notice_event(event, notices)
    else:
        title = str(CASE_ACTIONS.get(event.action, _lp("event", "案件记录")))
        if event.action == "case.opened":
            lines.append(_line(_("违法情形"), _("、").join(tr(Violation(v).label) for v in details.get("violations") or []
                                                          if v in Violation._value2member_map_)))
            names = [users[i].name for i in details.get("supervisor_ids") or [] if i in users]
            if names:
                lines.append(_line(_("承办监督员"), _("、").join(names)))
        elif event.action == "case.assigned":
            for key, label in (("added", _l("新增")), ("removed", _l("不再承办"))):
                names = [p.get("name", "") for p in details.get(key) or [] if isinstance(p, dict)]
                if names:
                    lines.append(_line(label, _("、").join(names)))
        elif event.action == "case.funds_facts_recorded":
            after = details.get("after") or {}
            lines.append(_line(_("欠缴期间是否已建立工会"), {True: _("是"), False: _("否")}.get(
                after.get("has_union"), _("按企业登记信息"))))
            if after.get("union_help_started_on"):
                lines.append(_line(_("上级工会帮助筹建之日"), _plain_value(after["union_help_started_on"])))
        elif event.action == "case.deadlines_recomputed":
            lines += [_line(_rule_label(d.get("rule", "")),
                            f"{_plain_value(d.get('from'))} → {_plain_value(d.get('to'))}")
                      + (_("（暂定）") if d.get("provisional") else "")
                      for d in details.get("deadlines") or [] if isinstance(d, dict)]
    moved = event.from_state != event.to_state and event.to_state in State._value2member_map_
    stage = None
    if moved:
        stage = (f"{tr(State(event.from_state).label)} → " if event.from_state in State._value2member_map_ else "") \
            + tr(State(event.to_state).label)
    return {"seq": event.seq, "at": event.created_at, "who": event.actor.name if event.actor else _("系统"),
            "title": title, "lines": lines, "stage": stage, "reason": event.reason or "",
            "reason_label": str(REASON_LABELS.get(event.action, _l("理由/备注")))}


def trail(case: Case, notices: list[Notice]) -> list[dict]:
    """The case's audit trail in the page's language (what was typed stays as typed), oldest first."""
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
                                .options(selectinload(CaseEvent.actor))).all()
    ids = {i for e in events if e.action == "case.opened" for i in (e.details or {}).get("supervisor_ids") or []}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    by_id = {n.id: n for n in notices}
    return [_event_row(e, by_id, users) for e in events]


# ------------------------------------------------------------------------------------- the ladder page

@bp.route("/ladder", endpoint="ladder")
def ladder_page():
    """The enforcement ladder drawn from its definition: states, steps and the conditions on them."""
    return render_template("casework/ladder.html", diagram=ladder_diagram())


#: Geometry of the drawing, in SVG pixels: box width, line height, padding, column gap, label width (in character
#: widths), font size.
NODE_W, LINE, PAD, COL_GAP, LABEL_EM, FONT = 250, 17, 10, 60, 16, 14
LABEL_W = LABEL_EM * FONT


#: Punctuation that never starts a line (it stays at the end of the one before).
_NO_LINE_START = set("，。、；：）〕」』！？")


def _wrap(text: str, em: float) -> list[str]:
    """Break a label into lines of about `em` character widths (CJK 1, others ~0.55)."""
    lines, current, width = [], "", 0.0
    for char in text:
        w = 1.0 if ord(char) > 0x2E80 else 0.55
        if width + w > em and current and char not in _NO_LINE_START:
            lines.append(current)
            current, width = "", 0.0
        current += char
        width += w
    return [*lines, current] if current else lines


def _label_lines(label: str, suffix: str = "") -> list[tuple[str, bool]]:
    """A step's label as lines: its name, then its conditions (〔…〕) in smaller type."""
    name, _sep, guard = label.partition("〔")
    lines = [(t, False) for t in _wrap(name + suffix, LABEL_EM)]
    if guard:
        lines += [(t, True) for t in _wrap("条件：" + guard.rstrip("〕"), LABEL_EM * FONT / 12)]
    return lines


@dataclass
class _Box:
    state: State
    rank: int
    col: int
    lines: list[str]
    x: float = 0
    y: float = 0
    h: float = 0


def _ranks(plain: list[tuple[State, State, str]], grouped: dict[tuple[State, str], set[State]]) -> dict[State, int]:
    """Longest path from the start over the plain steps; a grouped step lands below every state it leaves from."""
    rank = {State.REGISTERED: 0}
    for _round in range(len(State)):
        changed = False
        for source, dest, _label in plain:
            if source in rank and rank.get(dest, -1) < rank[source] + 1:
                rank[dest], changed = rank[source] + 1, True
        for (dest, _label), sources in grouped.items():
            want = max(rank[s] for s in sources) + 1 if sources <= rank.keys() else -1
            if rank.get(dest, -1) < want:
                rank[dest], changed = want, True
        if not changed:
            break
    for state in State:
        rank.setdefault(state, max(rank.values()) + 1)
    return rank


@functools.cache
def ladder_diagram() -> dict:
    """The ladder laid out for an SVG, from the transitions the machine runs (workflows.diagram's edges).

    States stand in ranks (longest path from the start); a step into the next rank is drawn straight down with its
    label beside it; a step that skips ranks is routed on the right; the steps open from every active state
    (rectify, withdraw) leave one bracket on the left; steps that keep the state are written inside its box.
    """
    from workflows.diagram import _edges
    order = list(State).index
    loops: dict[State, list[str]] = {s: [] for s in State}
    groups: dict[tuple[State, str], set[State]] = {}
    for source, dest, label in _edges():
        if source == dest:
            loops[source].append(label)
        else:
            groups.setdefault((dest, label), set()).add(source)
    grouped = {key: sources for key, sources in groups.items() if sources == set(ACTIVE_STATES)}
    plain = [(s, dest, label) for (dest, label), sources in groups.items() if (dest, label) not in grouped
             for s in sorted(sources, key=order)]
    rank = _ranks(plain, grouped)
    boxes: dict[State, _Box] = {}
    for state in State:
        col = sum(1 for b in boxes.values() if b.rank == rank[state])
        lines = [line for label in loops[state] for line in _wrap(f"↻ {label}", (NODE_W - 2 * PAD) / (FONT - 2))]
        boxes[state] = _Box(state, rank[state], col, lines)
    straight = [(s, d, lbl) for s, d, lbl in plain if boxes[d].rank == boxes[s].rank + 1]
    skipping = [(s, d, lbl) for s, d, lbl in plain if boxes[d].rank != boxes[s].rank + 1]
    # The gap above each rank holds the labels of the steps drawn into it.
    gap_lines: dict[int, int] = {}
    for dest, label, suffix in ([(d, lbl, "") for _s, d, lbl in straight]
                                + [(d, lbl, "（办理中的任一阶段）") for d, lbl in grouped]):
        r = boxes[dest].rank
        gap_lines[r] = max(gap_lines.get(r, 0), len(_label_lines(label, suffix)))
    gaps = {r: max(n * LINE + 2 * PAD, 34) for r, n in gap_lines.items()}
    for dest, _label in grouped:   # room for the bus the bracket's drops leave from
        gaps[boxes[dest].rank] = gaps.get(boxes[dest].rank, 34) + 16
    left = 44 if grouped else 16
    y = 16.0
    ranks = sorted(set(rank.values()))
    for r in ranks:
        y += gaps.get(r, 34) if r != ranks[0] else 0
        row = [b for b in boxes.values() if b.rank == r]
        height = max(36 + len(b.lines) * (LINE - 2) for b in row)
        for b in row:
            b.x, b.y, b.h = left + b.col * (NODE_W + COL_GAP), y, height
        y += height
    edges, labels, brackets = [], [], []

    def label_at(x: float, y_mid: float, label: str, suffix: str = "") -> None:
        lines = _label_lines(label, suffix)
        top = y_mid - len(lines) * LINE / 2 + LINE - 4
        labels.append({"x": x, "lines": [{"y": top + i * LINE, "text": t, "guard": g}
                                         for i, (t, g) in enumerate(lines)]})

    for source, dest, label in straight:
        a, b = boxes[source], boxes[dest]
        x1, x2, y1, y2 = a.x + NODE_W / 2, b.x + NODE_W / 2, a.y + a.h, b.y
        mid = (y1 + y2) / 2
        edges.append(f"M{x1},{y1} V{mid} H{x2} V{y2 - 2}" if x1 != x2 else f"M{x1},{y1} V{y2 - 2}")
        label_at(x2 + 8, mid, label)
    for source, dest, label in skipping:
        a, b = boxes[source], boxes[dest]
        low, high = sorted((a.rank, b.rank))
        spanned = [bx.x + NODE_W for bx in boxes.values() if low <= bx.rank <= high]
        spanned += [bx.x + NODE_W / 2 + 8 + LABEL_W for _s, d, _l in straight for bx in [boxes[d]]
                    if low < bx.rank <= high]
        lane = max(spanned) + 24
        y1, y2 = a.y + a.h / 2, b.y + b.h / 2
        edges.append(f"M{a.x + NODE_W},{y1} H{lane} V{y2} H{b.x + NODE_W + 2}")
        label_at(lane + 8, (y1 + y2) / 2, label)
    if grouped:
        lane = left - 24
        sources = next(iter(grouped.values()))
        ys = [boxes[s].y + boxes[s].h / 2 for s in sources]
        bus = max(boxes[s].y + boxes[s].h for s in sources) + 12
        brackets += [f"M{boxes[s].x},{boxes[s].y + boxes[s].h / 2} H{lane}" for s in sources]
        brackets.append(f"M{lane},{min(ys)} V{bus}")
        for dest, label in sorted(grouped, key=lambda key: order(key[0])):
            b = boxes[dest]
            x2 = b.x + NODE_W / 2
            edges.append(f"M{lane},{bus} H{x2} V{b.y - 2}")
            label_at(x2 + 8, (bus + b.y) / 2 + 2, label, "（办理中的任一阶段）")
    width = max([b.x + NODE_W for b in boxes.values()] + [lbl["x"] + LABEL_W for lbl in labels]) + 16
    nodes = [{"x": b.x, "y": b.y, "w": NODE_W, "h": b.h, "label": b.state.label, "lines": b.lines,
              "exit": b.state not in ACTIVE_STATES, "start": b.state is State.REGISTERED} for b in boxes.values()]
    # The same in words, for a reader who cannot take in the drawing.
    text = [{"state": state.label, "steps": [label.replace("〔", "（条件：").replace("〕", "）")
                                             + (f" → {dest.label}" if dest != source else "（阶段不变）")
                                             for source, dest, label in _edges()
                                             if source is state and (dest, label) not in grouped]}
            for state in State]
    text.append({"state": "办理中的任一阶段", "steps": [f"{label} → {dest.label}" for dest, label in grouped]})
    return {"width": round(width), "height": round(y + 24), "nodes": nodes, "edges": edges, "brackets": brackets,
            "labels": labels, "text": [t for t in text if t["steps"]],
            "anywhere": [label for _dest, label in sorted(grouped, key=lambda key: order(key[0]))]}
