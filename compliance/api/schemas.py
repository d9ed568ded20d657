"""The API's request and response shapes (marshmallow): the OpenAPI document is generated from these.

Every string a client sends has a maximum length here (the same bound the operation enforces, or tighter), so
the document tells a client what will be refused before it is sent.
"""
from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate

import letters
from compliance.models import ServiceMethod
from compliance.operations import notices as notice_ops
from compliance.operations import service as service_ops
from compliance.web import keyset, listing
from workflows.ladder import State, Violation
from workflows.states import MAX_NAMES, NAME_LENGTH, TRIGGERS

MAX_ID = 2**31 - 1
ID = validate.Range(min=1, max=MAX_ID)
PAGE_MAX = 200
#: The longest text input of any ladder step (each step's own bound is in GET …/transitions).
MAX_INPUT_TEXT = max([f.max_length for spec in TRIGGERS.values() for f in spec.fields] + [2000])
#: The longest value of any editable fact of any notice type.
MAX_FACT_TEXT = max([f.max for kind in letters.NOTICE_TYPES.values() for f in kind.editable] + [200]) * 4
MAX_FACT_ITEMS = 100
SERVICE_METHODS = [m.value for m in ServiceMethod]


def most(n: int):
    """A dict holds at most n entries (documented as maxProperties)."""
    def check(value):
        if len(value) > n:
            raise ValidationError(f"最多{n}项")
    return check


class Strict(Schema):
    """Unknown fields are refused (422), never silently dropped."""

    class Meta:
        unknown = RAISE


# ------------------------------------------------------------------------------------------------ errors

class ProblemSchema(Schema):
    type = fields.Str(required=True, metadata={"example": "urn:compliance:problem:not-found"})
    title = fields.Str(required=True)
    status = fields.Int(required=True)
    detail = fields.Str(required=True)
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()),
                         metadata={"description": "字段 → 该字段的错误信息（校验失败时）"})

    class Meta:
        unknown = INCLUDE   # a problem may say more: the refused trigger, the current version, …


# ------------------------------------------------------------------------------------------------ paging

class PageArgs(Strict):
    after = fields.Str(validate=validate.Length(max=keyset.MAX_CURSOR),
                       metadata={"description": "上一页回答中的 next_cursor；省略则从第一页开始"})
    limit = fields.Int(load_default=listing.PAGE_SIZE, validate=validate.Range(min=1, max=PAGE_MAX),
                       metadata={"description": f"每页条数（1–{PAGE_MAX}）"})


class PageMeta(Schema):
    next_cursor = fields.Str(allow_none=True, required=True,
                             metadata={"description": "下一页的游标（作为 after 传回）；null 表示已是最后一页"})
    total = fields.Int(allow_none=True, metadata={"description": f"符合条件的总数，最多数到 {listing.COUNT_CAP + 1}"})


# ------------------------------------------------------------------------------------------------ who

class JurisdictionRef(Schema):
    id = fields.Int(required=True)
    code = fields.Str(required=True)
    name = fields.Str(required=True)


class MeSchema(Schema):
    id = fields.Int(required=True)
    login = fields.Str(required=True)
    name = fields.Str(required=True)
    roles = fields.List(fields.Str(), required=True)
    permissions = fields.List(fields.Str(), required=True)
    jurisdiction = fields.Nested(JurisdictionRef, required=True)
    token = fields.Dict(required=True)


# ------------------------------------------------------------------------------------------------ enterprises

class EnterpriseListArgs(PageArgs):
    q = fields.Str(validate=validate.Length(max=listing.MAX_SEARCH),
                   metadata={"description": "企业名称片段，或统一社会信用代码/注册号前缀（至少10位）"})
    place = fields.Int(validate=ID, metadata={"description": "辖区 id（本人辖区或其下级；其他值不起作用）"})


class EnterpriseSchema(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)
    uscc = fields.Str(allow_none=True, required=True)
    registration_number = fields.Str(allow_none=True, required=True)
    identifier = fields.Str(required=True)
    jurisdiction = fields.Nested(JurisdictionRef, required=True)
    address = fields.Str(required=True)
    legal_representative = fields.Str(required=True)
    industry = fields.Str(required=True)
    ownership_type = fields.Str(required=True)
    employee_count = fields.Int(allow_none=True, required=True)
    member_count = fields.Int(allow_none=True, required=True)
    has_union = fields.Bool(required=True)
    monthly_payroll = fields.Str(allow_none=True, required=True, metadata={"description": "元，两位小数"})
    established_on = fields.Date(allow_none=True, required=True)
    contact_name = fields.Str(required=True)
    contact_phone = fields.Str(required=True)
    open_cases = fields.Int(metadata={"description": "在办案件数（列表中）"})
    all_cases = fields.Int(metadata={"description": "全部案件数（列表中）"})


class EnterprisePage(PageMeta):
    items = fields.List(fields.Nested(EnterpriseSchema), required=True)


class EnterpriseCreate(Strict):
    uscc = fields.Str(required=True, validate=validate.Length(min=1, max=40),
                      metadata={"description": "18位统一社会信用代码，或15位注册号"})
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    jurisdiction_id = fields.Int(required=True, validate=ID)
    address = fields.Str(validate=validate.Length(max=200), load_default="")
    legal_representative = fields.Str(validate=validate.Length(max=50), load_default="")
    industry = fields.Str(validate=validate.Length(max=100), load_default="")
    ownership_type = fields.Str(validate=validate.Length(max=50), load_default="")
    contact_name = fields.Str(validate=validate.Length(max=50), load_default="")
    contact_phone = fields.Str(validate=validate.Length(max=50), load_default="")
    employee_count = fields.Int(allow_none=True, validate=validate.Range(min=0, max=10_000_000), load_default=None)
    member_count = fields.Int(allow_none=True, validate=validate.Range(min=0, max=10_000_000), load_default=None)
    has_union = fields.Bool(load_default=False)
    monthly_payroll = fields.Str(allow_none=True, validate=validate.Length(max=30), load_default=None,
                                 metadata={"description": "上月工资总额（元），例如 \"500000.00\""})
    established_on = fields.Date(allow_none=True, load_default=None)


# ------------------------------------------------------------------------------------------------ cases

class CaseListArgs(PageArgs):
    q = fields.Str(validate=validate.Length(max=listing.MAX_SEARCH),
                   metadata={"description": "企业名称片段，或统一社会信用代码/注册号前缀"})
    stage = fields.Str(validate=validate.OneOf(list(listing.STAGES)),
                       metadata={"description": "open（未结）、closed（已结）或一个阶段"})
    violation = fields.Str(validate=validate.OneOf(list(listing.VIOLATIONS)))
    place = fields.Int(validate=ID, metadata={"description": "辖区 id（本人辖区或其下级）"})
    supervisor = fields.Str(validate=[validate.Length(max=10), validate.Regexp(r"^(me|[1-9][0-9]{0,9})$")],
                            metadata={"description": "承办监督员：me 或用户 id"})
    overdue = fields.Bool(metadata={"description": "只看有逾期期限的案件"})
    provisional = fields.Bool(metadata={"description": "只看有暂定期限的案件"})
    sort = fields.Str(validate=validate.OneOf(list(listing.CASE_SORTS)), load_default="opened")
    dir = fields.Str(validate=validate.OneOf(["asc", "desc"]),
                     metadata={"description": "默认：opened 为 desc，其他为 asc"})


class NextDueSchema(Schema):
    due_on = fields.Date(required=True)
    label = fields.Str(required=True)
    is_provisional = fields.Bool(required=True)
    is_overdue = fields.Bool(required=True)


class EnterpriseRef(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)
    identifier = fields.Str(required=True)


class CaseSummary(Schema):
    id = fields.Int(required=True)
    reference = fields.Str(required=True)
    version = fields.Int(required=True, metadata={"description": "乐观锁版本：改变案件的请求可带 expected_version"})
    state = fields.Str(required=True, validate=validate.OneOf([s.value for s in State]))
    state_label = fields.Str(required=True)
    violations = fields.List(fields.Str(validate=validate.OneOf([v.value for v in Violation])), required=True)
    summary = fields.Str(required=True)
    enterprise = fields.Nested(EnterpriseRef, required=True)
    jurisdiction = fields.Nested(JurisdictionRef, required=True)
    opened_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    next_due = fields.Nested(NextDueSchema, allow_none=True, required=True)
    supervisors = fields.List(fields.Str())


class CaseSchema(CaseSummary):
    facts = fields.Dict(keys=fields.Str(), values=fields.Raw(allow_none=True), required=True,
                        metadata={"description": "阶梯据以判断的事实（走访日、意见书日期、回复期限等）"})


class CasePage(PageMeta):
    items = fields.List(fields.Nested(CaseSummary), required=True)


class CaseCreate(Strict):
    enterprise_id = fields.Int(required=True, validate=ID)
    violations = fields.List(fields.Str(validate=validate.OneOf([v.value for v in Violation])), required=True,
                             validate=validate.Length(min=1, max=len(Violation)))
    supervisor_ids = fields.List(fields.Int(validate=ID), load_default=list, validate=validate.Length(max=20))
    summary = fields.Str(validate=validate.Length(max=2000), load_default="")


# ------------------------------------------------------------------------------------------------ transitions

class InputFieldSchema(Schema):
    name = fields.Str(required=True)
    label = fields.Str(required=True)
    kind = fields.Str(required=True, metadata={"description": "date（年-月-日）、text、names（姓名列表）、days（天数）"})
    required = fields.Bool(required=True)
    max_length = fields.Int(required=True)
    help = fields.Str(required=True)


class OptionSchema(Schema):
    trigger = fields.Str(required=True)
    label = fields.Str(required=True)
    allowed = fields.Bool(required=True)
    reason = fields.Str(allow_none=True, required=True, metadata={"description": "不允许时的原因"})
    dest = fields.Str(allow_none=True, required=True, metadata={"description": "执行后的阶段"})
    inputs = fields.List(fields.Nested(InputFieldSchema), required=True)


class OptionsSchema(Schema):
    case_id = fields.Int(required=True)
    state = fields.Str(required=True)
    version = fields.Int(required=True)
    triggers = fields.List(fields.Nested(OptionSchema), required=True)


_INPUT_VALUE = {"oneOf": [{"type": "string", "maxLength": MAX_INPUT_TEXT},
                          {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID},
                          {"type": "array", "maxItems": MAX_NAMES,
                           "items": {"type": "string", "maxLength": NAME_LENGTH}}]}


def _input_value(value):
    if isinstance(value, bool):
        raise ValidationError("应为文字、整数或文字列表")
    if isinstance(value, str):
        if len(value) > MAX_INPUT_TEXT:
            raise ValidationError(f"不能超过{MAX_INPUT_TEXT}字")
        return
    if isinstance(value, int):
        if not -MAX_ID <= value <= MAX_ID:
            raise ValidationError("数值超出范围")
        return
    if isinstance(value, list) and len(value) <= MAX_NAMES and all(
            isinstance(v, str) and len(v) <= NAME_LENGTH for v in value):
        return
    raise ValidationError("应为文字、整数或文字列表")


class InputValue(fields.Raw):
    def _deserialize(self, value, attr, data, **kwargs):
        _input_value(value)
        return value


class TransitionRequest(Strict):
    trigger = fields.Str(required=True, validate=validate.OneOf(list(TRIGGERS)))
    inputs = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=40)),
                         values=InputValue(metadata=_INPUT_VALUE), load_default=dict,
                         validate=most(30), metadata={"maxProperties": 30, "description": "该步骤的输入（见 GET …/transitions）"})
    reason = fields.Str(validate=validate.Length(max=2000), load_default="", metadata={"description": "办理说明"})
    expected_version = fields.Int(validate=ID, metadata={"description": "您所看到的案件版本；已被他人修改则 409"})


class DeadlineListArgs(PageArgs):
    show = fields.Str(validate=validate.OneOf(["all", "week", "overdue", "provisional", "closed"]),
                      load_default="all", metadata={"description": "all（进行中）、week（本周到期）、overdue、provisional、closed（已了结）"})
    mine = fields.Bool(metadata={"description": "只看本人承办的案件"})


class DeadlineSchema(Schema):
    id = fields.Int(required=True)
    case_id = fields.Int(required=True)
    rule_key = fields.Str(required=True)
    label = fields.Str(required=True)
    period = fields.Int(required=True)
    counting = fields.Str(required=True)
    legal_basis = fields.Str(required=True)
    #: null while the period waits for the letter's service (status awaiting_service, 待送达).
    start_on = fields.Date(allow_none=True, required=True)
    due_on = fields.Date(allow_none=True, required=True)
    extended_from = fields.Date(allow_none=True, required=True)
    is_provisional = fields.Bool(required=True)
    explanation = fields.Str(required=True)
    status = fields.Str(required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)


class DeadlineRowSchema(DeadlineSchema):
    reference = fields.Str(required=True, metadata={"description": "案件编号"})
    enterprise = fields.Str(required=True, metadata={"description": "企业名称"})


class DeadlinePage(PageMeta):
    items = fields.List(fields.Nested(DeadlineRowSchema), required=True)


class EventSchema(Schema):
    id = fields.Int(required=True)
    seq = fields.Int(required=True)
    action = fields.Str(required=True)
    trigger = fields.Str(allow_none=True, required=True)
    from_state = fields.Str(allow_none=True, required=True)
    to_state = fields.Str(allow_none=True, required=True)
    reason = fields.Str(required=True)
    actor = fields.Str(allow_none=True, required=True, metadata={"description": "操作人姓名"})
    created_at = fields.DateTime(required=True)
    details = fields.Dict(required=True)


class NoticeRef(Schema):
    id = fields.Int(required=True)
    notice_type = fields.Str(required=True)
    title = fields.Str(required=True)
    status = fields.Str(required=True)


class TransitionResult(Schema):
    case = fields.Nested(CaseSchema, required=True)
    event = fields.Nested(EventSchema, required=True)
    deadlines_started = fields.List(fields.Nested(DeadlineSchema), required=True)
    deadlines_closed = fields.List(fields.Int(), required=True)
    notices_drafted = fields.List(fields.Nested(NoticeRef), required=True)


# ------------------------------------------------------------------------------------------------ notices

class NoticeSummary(Schema):
    id = fields.Int(required=True)
    case_id = fields.Int(required=True)
    notice_type = fields.Str(required=True)
    title = fields.Str(required=True)
    status = fields.Str(required=True)
    version = fields.Int(required=True)
    number = fields.Str(allow_none=True, required=True, metadata={"description": "发文字号（签发后）"})
    issuer = fields.Nested(JurisdictionRef, required=True)
    drafted_at = fields.DateTime(required=True)
    submitted_at = fields.DateTime(allow_none=True, required=True)
    approved_at = fields.DateTime(allow_none=True, required=True)
    issued_at = fields.DateTime(allow_none=True, required=True)
    rejection_reason = fields.Str(required=True)
    sha256 = fields.Str(allow_none=True, required=True, metadata={"description": "签发 PDF 的 SHA-256"})
    verification_code = fields.Str(allow_none=True, required=True)
    withdraws_id = fields.Int(allow_none=True, required=True)
    pdf_url = fields.Str(allow_none=True, required=True)


class UserRef(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)


class ServiceRecordSchema(Schema):
    """One record of a notice's service (送达). A correction keeps the old record, superseded."""
    id = fields.Int(required=True)
    notice_id = fields.Int(required=True)
    method = fields.Str(required=True, validate=validate.OneOf(SERVICE_METHODS),
                        metadata={"description": "direct（直接送达）、mail（邮寄送达）、left（留置送达）、electronic（电子送达）"})
    method_label = fields.Str(required=True)
    served_on = fields.Date(required=True)
    served_by = fields.Nested(UserRef, required=True, metadata={"description": "送达人"})
    recipient = fields.Str(required=True, metadata={"description": "签收人"})
    tracking_number = fields.Str(allow_none=True, required=True, metadata={"description": "邮寄单号（邮寄送达）"})
    proof_attachment_id = fields.Int(allow_none=True, required=True,
                                     metadata={"description": "送达回证或照片（本案的证据材料 id）"})
    note = fields.Str(required=True)
    deadline_id = fields.Int(allow_none=True, required=True,
                             metadata={"description": "因本次送达开始计算的期限；null：没有等待送达的期限"})
    event_id = fields.Int(allow_none=True, required=True)
    recorded_by = fields.Nested(UserRef, allow_none=True, required=True)
    recorded_at = fields.DateTime(required=True)
    is_current = fields.Bool(required=True, metadata={"description": "现行的送达记录（更正后旧记录为 false）"})
    supersedes_id = fields.Int(allow_none=True, required=True, metadata={"description": "本记录所更正的记录"})
    superseded_at = fields.DateTime(allow_none=True, required=True)
    correction_reason = fields.Str(required=True, metadata={"description": "更正理由（更正记录）"})


class NoticeSchema(NoticeSummary):
    facts = fields.Dict(required=True, metadata={"description": "文书事实（草稿可编辑其中声明为可编辑的项）"})
    editable = fields.List(fields.Dict(), required=True, metadata={"description": "可编辑的事实：key、label、type、max"})
    missing = fields.List(fields.Str(), metadata={"description": "草稿审批前仍缺的事实"})
    service = fields.Nested(ServiceRecordSchema, allow_none=True, required=True,
                            metadata={"description": "现行的送达记录；null：尚未记录送达"})
    services = fields.List(fields.Nested(ServiceRecordSchema), required=True,
                           metadata={"description": "全部送达记录（含已被更正的），按记录顺序"})


class NoticeList(Schema):
    items = fields.List(fields.Nested(NoticeSummary), required=True)


_FACT_SCALAR = [{"type": "string", "maxLength": MAX_FACT_TEXT}, {"type": "number"}]
_FACT_VALUE = {"oneOf": [*_FACT_SCALAR, {"type": "array", "maxItems": MAX_FACT_ITEMS, "items": {"oneOf": [
    {"type": "string", "maxLength": MAX_FACT_TEXT},
    {"type": "object", "maxProperties": 10, "additionalProperties": {"oneOf": _FACT_SCALAR}}]}}]}


def _fact_value(value, depth=0):
    if isinstance(value, bool):
        raise ValidationError("应为文字、数值或列表")
    if isinstance(value, str):
        if len(value) > MAX_FACT_TEXT:
            raise ValidationError(f"不能超过{MAX_FACT_TEXT}字")
        return
    if isinstance(value, (int, float)):
        return
    if depth == 0 and isinstance(value, list) and len(value) <= MAX_FACT_ITEMS:
        for item in value:
            if isinstance(item, dict) and len(item) <= 10:
                for v in item.values():
                    if isinstance(v, (list, dict)):
                        raise ValidationError("应为文字、数值或列表")
                    _fact_value(v, 1)
            elif isinstance(item, str):
                _fact_value(item, 1)
            else:
                raise ValidationError("应为文字、数值或列表")
        return
    raise ValidationError("应为文字、数值或列表")


class FactValue(fields.Raw):
    def _deserialize(self, value, attr, data, **kwargs):
        _fact_value(value)
        return value


class DraftUpdate(Strict):
    facts = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=100)),
                        values=FactValue(metadata=_FACT_VALUE), required=True, validate=most(50),
                        metadata={"minProperties": 1, "maxProperties": 50, "description": "要修改的事实，以点分键表示，例如 {\"order_ref.number\": \"…\"}"})
    expected_version = fields.Int(validate=ID)


class ApproveRequest(Strict):
    sign_as = fields.Str(validate=validate.OneOf(["chair", "vice_chair"]), load_default="chair")
    expected_version = fields.Int(validate=ID)


class VersionRequest(Strict):
    expected_version = fields.Int(validate=ID)


class ReturnRequest(Strict):
    reason = fields.Str(required=True, validate=validate.Length(max=notice_ops.MAX_REASON),
                        metadata={"description": "退回意见（起草人在草稿上看到）"})
    expected_version = fields.Int(validate=ID)


class WithdrawRequest(Strict):
    reason = fields.Str(required=True, validate=validate.Length(max=notice_ops.withdrawal_reason_limit()),
                        metadata={"description": "撤回理由（印在撤回通知上；一段文字，不换行）"})


class ServiceRequest(Strict):
    method = fields.Str(required=True, validate=validate.OneOf(SERVICE_METHODS),
                        metadata={"description": "direct（直接送达）、mail（邮寄送达）、left（留置送达）、electronic（电子送达）"})
    served_on = fields.Date(required=True, metadata={"description": "送达日期：不早于签发日期，不晚于今天"})
    served_by_id = fields.Int(validate=ID, allow_none=True, load_default=None,
                              metadata={"description": "送达人（用户 id，本案辖区或上级的在职监督员）；省略为令牌的用户"})
    recipient = fields.Str(validate=validate.Length(max=service_ops.MAX_RECIPIENT), load_default="",
                           metadata={"description": "签收人"})
    tracking_number = fields.Str(validate=validate.Length(max=service_ops.MAX_TRACKING), allow_none=True,
                                 load_default=None, metadata={"description": "邮寄单号：邮寄送达必填，其他方式不填"})
    proof_attachment_id = fields.Int(validate=ID, allow_none=True, load_default=None,
                                     metadata={"description": "送达回证或照片：本案已上传的证据材料 id"})
    note = fields.Str(validate=validate.Length(max=service_ops.MAX_NOTE), load_default="")


class ServiceCorrection(ServiceRequest):
    reason = fields.Str(required=True, validate=validate.Length(max=service_ops.MAX_NOTE),
                        metadata={"description": "更正理由（必填）"})


class ServiceResult(Schema):
    service = fields.Nested(ServiceRecordSchema, required=True)
    notice = fields.Nested(NoticeSchema, required=True)
    deadline = fields.Nested(DeadlineSchema, allow_none=True, required=True,
                             metadata={"description": "因本次送达开始（或重新）计算的期限；null：没有等待送达或仍在进行的期限"})


# ------------------------------------------------------------------------------------------------ attachments

class AttachmentSchema(Schema):
    id = fields.Int(required=True)
    case_id = fields.Int(required=True)
    event_id = fields.Int(allow_none=True, required=True)
    filename = fields.Str(required=True)
    content_type = fields.Str(required=True)
    size = fields.Int(required=True)
    sha256 = fields.Str(required=True)
    description = fields.Str(required=True)
    uploaded_at = fields.DateTime(required=True)
    content_url = fields.Str(required=True)


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentSchema), required=True)


class AttachmentForm(Strict):
    description = fields.Str(validate=validate.Length(max=500), load_default="")
    event_id = fields.Int(validate=ID, allow_none=True, load_default=None,
                          metadata={"description": "关联的办理步骤（事件 id）"})


class AttachmentFile(Strict):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


# ------------------------------------------------------------------------------------------------ reminders

class ReminderListArgs(Strict):
    before = fields.Int(validate=ID, metadata={"description": "上一页最后一条的 id（更早的消息）"})
    unread = fields.Bool(metadata={"description": "只看未读"})
    limit = fields.Int(load_default=30, validate=validate.Range(min=1, max=PAGE_MAX))


class MessageSchema(Schema):
    id = fields.Int(required=True)
    title = fields.Str(required=True)
    body = fields.Str(required=True)
    link = fields.Str(required=True)
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True, required=True)


class MessagePage(Schema):
    items = fields.List(fields.Nested(MessageSchema), required=True)
    next_before = fields.Int(allow_none=True, required=True, metadata={"description": "下一页的 before；null 表示没有更早的"})
    unread = fields.Int(required=True)


# ------------------------------------------------------------------------------------------------ imports, exports

class ImportForm(Strict):
    mode = fields.Str(validate=validate.OneOf(["all-or-nothing", "good-rows"]), load_default="all-or-nothing",
                      metadata={"description": "all-or-nothing：全部正确才导入；good-rows：只导入正确的行"})
    dry_run = fields.Bool(load_default=True, metadata={"description": "试导入（默认 true）：只检查，不写入任何数据"})


class ImportFile(Strict):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": ".xlsx 或 .csv（UTF-8 或 GB18030）"})


class BadRowSchema(Schema):
    row = fields.Int(required=True, metadata={"description": "文件中的行号"})
    reason = fields.Str(required=True)


class ImportReportSchema(Schema):
    kind = fields.Str(required=True)
    mode = fields.Str(required=True)
    dry_run = fields.Bool(required=True)
    filename = fields.Str(required=True)
    sha256 = fields.Str(required=True)
    format = fields.Str(required=True)
    encoding = fields.Str(allow_none=True, required=True)
    header_row = fields.Int(required=True)
    ignored_columns = fields.List(fields.Str(), required=True)
    rows = fields.Int(required=True, metadata={"description": "读取的数据行数（空行不计）"})
    good = fields.Int(required=True)
    bad_count = fields.Int(required=True)
    imported = fields.Int(required=True, metadata={"description": "写入的条数（试导入或全部正确才导入而有误时为 0）"})
    summary = fields.Str(required=True)
    bad = fields.List(fields.Nested(BadRowSchema), required=True, metadata={"description": "每一条有误的行：行号与原因"})
    audit_id = fields.Int(allow_none=True, required=True)


EXPORT_FORMAT = fields.Str(validate=validate.OneOf(["csv", "xlsx"]), load_default="xlsx",
                           metadata={"description": "csv（UTF-8 带 BOM）或 xlsx（默认）"})


class CaseExportArgs(Strict):
    format = EXPORT_FORMAT
    q = CaseListArgs._declared_fields["q"]
    stage = CaseListArgs._declared_fields["stage"]
    violation = CaseListArgs._declared_fields["violation"]
    place = CaseListArgs._declared_fields["place"]
    supervisor = CaseListArgs._declared_fields["supervisor"]
    overdue = CaseListArgs._declared_fields["overdue"]
    provisional = CaseListArgs._declared_fields["provisional"]
    sort = CaseListArgs._declared_fields["sort"]
    dir = CaseListArgs._declared_fields["dir"]


class EnterpriseExportArgs(Strict):
    format = EXPORT_FORMAT
    q = EnterpriseListArgs._declared_fields["q"]
    place = EnterpriseListArgs._declared_fields["place"]


class ListingBatchArgs(Strict):
    format = EXPORT_FORMAT
