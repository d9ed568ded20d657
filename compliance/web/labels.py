"""English for the labels the pages take from workflows/, letters/ and the models.

Those packages stay Chinese (and workflows/ pure Python): each label is its own msgid, listed here so that
`pybabel extract` finds it, and the pages translate it where they show it (the `tr` template filter, `tr()` and
`lazy_tr()` here). A label not listed (a deadline label changed in COMPLIANCE_DEADLINE_RULES) shows as it is.
tests/compliance/test_i18n.py fails when a table there gains a label this list lacks.
"""
from __future__ import annotations

from flask_babel import LazyString, get_translations


def N_(text: str) -> str:
    """Marks a msgid for extraction; translated later, where it is shown."""
    return text


LABELS = (
    # violations (workflows.states.Violation)
    N_('不建会'),
    N_('不协商'),
    N_('不缴费'),
    # case states (workflows.states.State)
    N_('已立案'),
    N_('已走访宣讲'),
    N_('已发监督意见书'),
    N_('已发监督建议书'),
    N_('已责令改正'),
    N_('税务稽查/催缴'),
    N_('法律诉讼/支付令'),
    N_('已提请信用惩戒'),
    N_('已纳入信用档案'),
    N_('整改完成'),
    N_('已撤销'),
    N_('信用已修复'),
    # ladder steps (workflows.states.TRIGGERS)
    N_('记录走访宣讲'),
    N_('记录阻挠建会的事实'),
    N_('记录书面集体协商要求'),
    N_('记录企业对协商要求的书面答复'),
    N_('发出监督意见书'),
    N_('记录企业书面答复'),
    N_('记录企业拒绝整改'),
    N_('发出监督建议书'),
    N_('记录有关部门的处理决定'),
    N_('记录责令改正'),
    N_('催缴工会经费（税务稽查）'),
    N_('申请支付令'),
    N_('记录法院受理支付令申请'),
    N_('记录法院发出支付令'),
    N_('记录支付令送达债务人'),
    N_('记录债务人提出书面异议'),
    N_('申请强制执行'),
    N_('提请信用惩戒'),
    N_('记录纳入信用档案'),
    N_('确认整改完成'),
    N_('撤销案件'),
    N_('确认信用修复'),
    # the steps' inputs: labels and choices
    N_('走访日期'),
    N_('走访发现的问题'),
    N_('走访监督员（至少两名）'),
    N_('整改期限（日）'),
    N_('发现日期'),
    N_('阻挠、限制职工组建或参加工会的事实'),
    N_('证据材料'),
    N_('发出日期'),
    N_('企业收到日期'),
    N_('协商要求内容摘要'),
    N_('答复日期'),
    N_('答复内容摘要'),
    N_('拒绝日期'),
    N_('拒绝情况摘要'),
    N_('作出决定日期'),
    N_('作出决定的机关'),
    N_('决定内容摘要'),
    N_('决定文号'),
    N_('责令改正日期'),
    N_('责令改正的机关'),
    N_('责令改正文书文号'),
    N_('责令改正期限（日）'),
    N_('受理日期'),
    N_('受理法院'),
    N_('案号'),
    N_('支付令发出日期'),
    N_('支付令案号'),
    N_('债务人收到支付令日期'),
    N_('异议日期'),
    N_('异议内容及法院处理摘要'),
    N_('申请执行日期'),
    N_('执行法院'),
    N_('执行案号'),
    N_('提请的法律依据'),
    N_('纳入机关'),
    N_('纳入决定日期'),
    N_('文号或记录编号'),
    N_('失信信息类别'),
    N_('一般'),
    N_('严重'),
    N_('整改措施'),
    N_('整改完成日期'),
    N_('整改证明材料'),
    N_('撤销理由'),
    # the steps' inputs: help lines
    N_('如职工人数、是否建会、是否签订集体合同、经费缴纳情况；将写入本案文书'),
    N_('填写姓名或监督员证号，用逗号或顿号分隔，例如：王芳、李强'),
    N_('自企业收到走访告知书之日起算；不填则按系统设定的默认期限'),
    N_('如阻挠上级工会派员指导建会、对筹建工会的职工打击报复（北京市实施工会法办法第六十四条）；仅“尚未建会”不属于阻挠'),
    N_('企业应自收到之日起二十日内书面答复（北京市集体合同条例第三十二条第二款）'),
    N_('有关部门应自作出处理决定之日起15个工作日内书面告知处理结果（第二十八条第二款、第六十三条第二款）'),
    N_('阻挠建会：人力资源社会保障部门（第六十四条）；拒绝协商：市或区人民政府（第六十六条）'),
    N_('责令改正文书载明的期限，自责令改正之日起算'),
    N_('债务人应自收到支付令之日起十五日内清偿或提出书面异议（民事诉讼法第二百二十七条第二款）'),
    N_('异议成立的，支付令失效，转入诉讼程序（民事诉讼法第二百二十八条）'),
    N_('仅欠缴工会经费的案件必须填写：北京市实施工会法办法对欠缴经费没有纳入信用档案的条款'),
    N_('信用修复的最短公示期自该决定作出之日起算'),
    N_('纳入机关作出决定的文号，或信用档案中的记录编号'),
    N_('一般失信信息最短公示3个月，严重失信信息1年；不填按一般'),
    N_('证明整改完成的材料名称，如工会成立批复、集体合同、缴费凭证'),
    # notice types (letters.NOTICE_TYPES)
    N_('信用修复告知书'),
    N_('提请纳入劳动保障守法诚信档案及企业信用信息公示系统函'),
    N_('工会劳动法律监督意见书'),
    N_('工会经费催缴通知书'),
    N_('支付令申请书'),
    N_('工会劳动法律监督建议书'),
    N_('整改结案告知书'),
    N_('提请税务稽查函'),
    N_('工会劳动法律监督宣讲告知书'),
    N_('撤回通知书'),
    # what a notice's number is called (letters.NOTICE_TYPES[…].number_label)
    N_('发文字号'),
    N_('登记号'),
    # deadline rules (workflows.deadlines.DEFAULT_RULES)
    N_('走访告知的整改期限'),
    N_('企业书面答复监督意见书期限'),
    N_('有关部门书面告知监督建议书处理结果期限'),
    N_('跟进有关部门处理监督建议书情况'),
    N_('催缴工会经费的缴纳期限'),
    N_('企业书面答复集体协商要求期限'),
    N_('人民法院通知是否受理支付令申请期限'),
    N_('人民法院发出支付令期限'),
    N_('债务人清偿或者提出书面异议期限（支付令）'),
    N_('责令改正期限'),
    N_('跟进信用惩戒提请办理情况期限'),
    N_('整改后申请信用修复的等待期'),
    N_('信用修复最短公示期（一般失信信息）'),
    N_('信用修复最短公示期（严重失信信息）'),
    N_('本会确定的期限'),
    N_('法定期限'),
    N_('本会跟进提醒，非法定期限'),
    N_('责令改正文书确定的期限'),
    # roles
    N_('监督员'),
    N_('审批领导'),
    N_('管理员'),
    N_('审计'),
    # notice statuses
    N_('草稿'),
    N_('已审批'),
    N_('已签发'),
    N_('已退回'),
    N_('已撤回'),
    # deadline statuses
    N_('进行中'),
    N_('待送达'),
    N_('已履行'),
    N_('已被替代'),
    # service methods
    N_('直接送达'),
    N_('邮寄送达'),
    N_('留置送达'),
    N_('电子送达'),
    # jurisdiction levels
    N_('市级'),
    N_('区级'),
    N_('街道/乡镇'),
    # reminder kinds
    N_('期限临近'),
    N_('今日到期'),
    N_('已逾期'),
    N_('每日提醒'),
    N_('工会经费核查'),
    N_('节假日数据缺失'),
    # outbox channels
    N_('站内消息'),
    N_('电子邮件'),
    # outbox statuses
    N_('待发送'),
    N_('已发送'),
    N_('发送失败'),
    # letterhead items (compliance.operations.accounts.LETTERHEAD_FIELDS)
    N_('委员会名称（发文机关标志）'),
    N_('地址'),
    N_('联系人及电话'),
    N_('办公电话'),
    N_('委员会主任（签发人）'),
    N_('委员会副主任'),
    N_('总工会主席（法定代表人）'),
    N_('收款户名'),
    N_('开户银行'),
    N_('银行账号'),
    # enterprise fields (compliance.operations.enterprises.TEXT_FIELDS)
    N_('企业名称'),
    N_('企业住所'),
    N_('法定代表人'),
    N_('所属行业'),
    N_('经济类型'),
    N_('联系人'),
    N_('联系电话'),
    # the case list's stage filter and sort columns (compliance.web.listing)
    N_('未结案件'),
    N_('已结案件'),
    N_('立案日期'),
    N_('案件编号'),
    N_('下一期限'),
    # bulk import (compliance.imports.KIND_LABELS, compliance.operations.imports.MODES)
    N_('企业'),
    N_('案件'),
    N_('全部正确才导入'),
    N_('只导入正确的行'),
    # evidence file types
    N_('JPEG 照片'),
    N_('PNG 图片'),
    N_('HEIC 照片'),
    N_('HEIF 图片'),
    N_('PDF 文件'),
)


def tr(value) -> str:
    """A known Chinese label in the page's language (anything else unchanged); "" and None as they are."""
    if value is None:
        return ""
    text = str(value)
    return get_translations().ugettext(text) if text else text


def lazy_tr(value) -> LazyString:
    """tr() when it is shown, for labels fixed at import time (form choices)."""
    return LazyString(tr, value)
