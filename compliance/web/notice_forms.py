"""The forms of the notice pages; the draft form is generated from the type's declared editable facts.

letters/<type>/meta.json says which facts a person may set on a draft (key, label, type, max, max_items);
compliance/drafts.py reads and normalises the values. The form only shapes the inputs (a textarea with one item a
line, a date picker, rows of arrears) and mirrors the limits, so a browser stops an oversized value before it is
sent; the operation refuses anything else in Chinese, next to the field it names.
"""
from __future__ import annotations

import functools
from typing import Any

from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

import letters
from compliance.errors import ValidationFailed
from compliance.operations.notices import MAX_REASON, withdrawal_reason_limit
from letters.notices import EditableFact, lookup

#: Empty rows offered under the arrears already entered, to add months.
EXTRA_ROWS = 3
#: The longest cell of an arrears row: "2026-01", or an amount such as 1,234,567,890.00.
MAX_CELL = 24
#: Most notices one selection may issue (the list pages show at most this many at once).
MAX_SELECTION = 500


def field_name(key: str) -> str:
    """A fact's dotted key as a form field name ("order_ref.number" → "order_ref-number")."""
    return key.replace(".", "-")


class ArrearsRowsField(Field):
    """Arrears as rows of (month, payroll, paid): inputs named <name>-month, <name>-payroll, <name>-paid, repeated.

    Rows left wholly blank are dropped (they are the spare rows for adding months); the rest go to the operation
    as they were typed, so its messages name the row and the cell.
    """

    CELLS = ("month", "payroll", "paid")

    def __init__(self, label=None, validators=None, *, max_items: int = 120, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.max_items = max_items

    def process(self, formdata, data=None, extra_filters=None):
        self.process_errors = []
        self.data = list(data or []) if not callable(data) else []
        self.object_data = self.data
        self.raw_data = None
        if formdata is None:
            return
        columns = [formdata.getlist(f"{self.name}-{cell}") for cell in self.CELLS]
        count = max(len(column) for column in columns)
        rows = []
        for i in range(count):
            row = {cell: (column[i] if i < len(column) else "") for cell, column in zip(self.CELLS, columns)}
            if any(value.strip() for value in row.values()):
                rows.append({cell: value.strip() for cell, value in row.items()})
        self.data = rows
        self.raw_data = [count]

    def pre_validate(self, form):
        if len(self.data) > self.max_items:
            raise ValidationError(_("%(label)s超过%(max)s个月（共%(n)s个月）", label=self.label.text,
                                    max=self.max_items, n=len(self.data)))
        for position, row in enumerate(self.data, 1):
            if any(len(value) > MAX_CELL for value in row.values()):
                raise ValidationError(_("%(label)s第%(row)s行有一格过长（每格最多%(max)s个字符）",
                                        label=self.label.text, row=position, max=MAX_CELL))

    def rows(self) -> list[dict[str, str]]:
        """The rows to show: those entered, then EXTRA_ROWS blank ones."""
        return [*self.data, *({cell: "" for cell in self.CELLS} for _row in range(EXTRA_ROWS))]

    def _value(self):
        return ""


def _length(label, limit: int) -> Length:
    return Length(max=limit, message=_l("%(label)s不能超过%(limit)s个字符", label=label, limit=limit))


def _field(fact: EditableFact) -> Field:
    """The input for one declared fact, with the schema's limits mirrored."""
    if fact.type == "text":
        return StringField(fact.label, validators=[_length(fact.label, fact.max)])
    if fact.type == "paragraph":
        return TextAreaField(fact.label, validators=[_length(fact.label, fact.max)], render_kw={"rows": 4})
    if fact.type in ("paragraphs", "names"):
        # One item a line (a line break is two characters as sent): the operation checks each item's length.
        limit = (fact.max + 2) * (fact.max_items or 1)
        rows = 6 if fact.type == "paragraphs" else 3
        return TextAreaField(fact.label, validators=[_length(fact.label, limit)], render_kw={"rows": rows})
    if fact.type == "date":
        return StringField(fact.label, validators=[_length(fact.label, 10)], render_kw={"type": "date"})
    if fact.type == "money":
        return StringField(fact.label, validators=[_length(fact.label, fact.max + fact.max // 3 + 1)],
                           render_kw={"inputmode": "decimal", "placeholder": _l("如 %(example)s", example="1286400.00")})
    if fact.type == "arrears_months":
        return ArrearsRowsField(fact.label, max_items=fact.max_items or 1)
    raise ValueError(f"unknown editable type {fact.type!r}")


class _VersionedForm(FlaskForm):
    #: The notice's version when the form was shown: a stale form changes nothing.
    version = HiddenField()


@functools.cache
def draft_form_class(notice_type: str) -> type[FlaskForm]:
    """The draft form of a notice type: one field per editable fact, in the order meta.json declares them."""
    kind = letters.NOTICE_TYPES[notice_type]
    fields = {field_name(fact.key): _field(fact) for fact in kind.editable}
    return type(f"DraftForm_{notice_type}", (_VersionedForm,), fields)


def stored(snapshot: dict, key: str) -> Any:
    """A fact of the snapshot, None when it is not there."""
    value = lookup(snapshot, key)
    return None if value is lookup({}, key) else value   # lookup's own "absent" marker


def form_value(fact: EditableFact, value: Any) -> Any:
    """A stored fact as its input shows it (a list one item a line, rows as dicts of strings)."""
    if value is None:
        return [] if fact.type == "arrears_months" else ""
    if fact.type in ("paragraphs", "names"):
        return "\n".join(str(item) for item in value) if isinstance(value, list) else str(value)
    if fact.type == "arrears_months":
        return [{"month": str(row.get("month", "")), "payroll": str(row.get("payroll", "")),
                 "paid": str(row.get("paid", "") or "")} for row in value if isinstance(row, dict)]
    return str(value)


def draft_form(notice, **kwargs) -> FlaskForm:
    """The draft form of this notice, filled with its current facts (or with what was posted)."""
    kind = letters.NOTICE_TYPES[notice.notice_type]
    data = {field_name(f.key): form_value(f, stored(notice.snapshot, f.key)) for f in kind.editable}
    return draft_form_class(notice.notice_type)(data={**data, "version": str(notice.version)}, **kwargs)


#: Posted names that are the form's own, not facts.
_FORM_NAMES = frozenset({"csrf_token", "version"})
#: The longest posted name read as a fact's key (a longer one is refused without being echoed).
MAX_KEY = 60


def _posted_extras(notice, form: FlaskForm, posted) -> dict[str, Any]:
    """Posted values the form has no field for (a forged issuer-name, an unknown key): passed on as changes, so
    the operation refuses them with its own message ("“发文机关”由系统填写，不能修改") and nothing changes."""
    known = set(_FORM_NAMES)
    for name, field in form._fields.items():
        known.add(name)
        if isinstance(field, ArrearsRowsField):
            known.update(f"{name}-{cell}" for cell in ArrearsRowsField.CELLS)
    extras = {}
    for name in posted:
        if name in known:
            continue
        if len(name) > MAX_KEY:
            raise ValidationFailed(_("表单含有无法识别的项目，未保存任何更改"), field="snapshot")
        extras[name.replace("-", ".")] = posted.get(name)
    return extras


def changed_facts(notice, form: FlaskForm, posted=None) -> dict[str, Any]:
    """{dotted key: value as posted} for each fact whose posted value differs from the stored one.

    Both sides are compared once normalised (the same reading the operation applies), so "王芳、李强" and the two
    names on two lines are the same; a blank field for a fact the draft never had is no change. A value the
    normaliser refuses counts as changed: the operation then refuses it, with its message. Posted names that are
    no field of the form are passed on too, for the operation to refuse.
    """
    from compliance.drafts import normalise_changes
    kind = letters.NOTICE_TYPES[notice.notice_type]
    changes = _posted_extras(notice, form, posted) if posted is not None else {}
    for fact in kind.editable:
        posted = form[field_name(fact.key)].data
        try:
            new = normalise_changes(notice.notice_type, {fact.key: posted})[fact.key]
        except ValidationFailed:
            changes[fact.key] = posted
            continue
        old = stored(notice.snapshot, fact.key)
        if new in (None, "", []) and old in (None, "", []):
            continue
        if new != old:
            changes[fact.key] = posted
    return changes


def parse_version(form: FlaskForm) -> int:
    """The version the form was shown with; a form without one is refused as stale."""
    raw = (form.version.data or "").strip()
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationFailed(_("表单缺少版本信息，请刷新页面后重试（本次未作任何更改）"), field="version")
    return int(raw)


class SubmitForm(_VersionedForm):
    pass


class IssueForm(_VersionedForm):
    pass


class ApproveForm(_VersionedForm):
    # Choices are the issuer's letterhead's chair and vice-chair; anything else is refused by the operation.
    sign_as = SelectField(_l("签发人"), validate_choice=False)


class ReturnForm(_VersionedForm):
    reason = TextAreaField(_l("退回意见"), validators=[DataRequired(message=_l("请填写退回意见，起草人将看到这段说明")),
                                                     _length(_l("退回意见"), MAX_REASON)], render_kw={"rows": 4})


class WithdrawForm(FlaskForm):
    reason = StringField(_l("撤回理由"), validators=[DataRequired(message=_l("请填写撤回理由")),
                                                   _length(_l("撤回理由"), withdrawal_reason_limit())])


class SelectionForm(FlaskForm):
    """The notices chosen on the list of approved notices (checkboxes named ids)."""


def selected_ids(values: list[str]) -> list[int]:
    """Posted ids as numbers, in order and without repeats; anything that is not an id is refused."""
    if len(values) > MAX_SELECTION:
        raise ValidationFailed(_("一次最多签发%(max)s份文书（选择了%(n)s份）", max=MAX_SELECTION, n=len(values)),
                               field="ids")
    out: list[int] = []
    for value in values:
        value = value.strip()
        if not value.isdigit() or len(value) > 10 or not 0 < int(value) < 2**31:
            raise ValidationFailed(_("所选文书有误，请返回列表重新选择"), field="ids")
        if int(value) not in out:
            out.append(int(value))
    return out


class ServiceForm(FlaskForm):
    """How and when an issued notice reached its addressee (送达). Choices of who served it and of the proof are
    set by the page (the case's supervisors, the case's evidence); the operation checks every value again."""

    method = SelectField(_l("送达方式"), choices=[SelectChoice("direct", _l("直接送达")),
                                              SelectChoice("mail", _l("邮寄送达")), SelectChoice("left", _l("留置送达")),
                                              SelectChoice("electronic", _l("电子送达"))],
                         validate_choice=False)
    served_on = StringField(_l("送达日期"), validators=[DataRequired(message=_l("请填写送达日期")),
                                                     _length(_l("送达日期"), 10)], render_kw={"type": "date"})
    served_by = SelectField(_l("送达人"), validate_choice=False)
    recipient = StringField(_l("签收人"), validators=[_length(_l("签收人"), 100)])
    tracking_number = StringField(_l("邮寄单号"), validators=[_length(_l("邮寄单号"), 50)])
    proof = SelectField(_l("送达回证或照片"), validate_choice=False)
    note = StringField(_l("备注"), validators=[_length(_l("备注"), 500)])
    reason = StringField(_l("更正理由"), validators=[_length(_l("更正理由"), 500)])
