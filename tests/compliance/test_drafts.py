"""The declared schema of what a person may set on a draft notice (pure: no database)."""
from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType

import pytest

import letters
from compliance import drafts
from compliance.drafts import apply_changes, normalise_changes
from compliance.errors import ValidationFailed
from letters.notices import (
    LETTERS_DIR,
    SYSTEM_FACTS,
    EditableFact,
    NoticeType,
    _load_editable,
    system_fact,
)

TYPES = sorted(letters.NOTICE_TYPES)
#: Printed from the arrears view the renderer computes out of facts.arrears (letters/render.py).
ARREARS_VIEW = {"arrears.months": "arrears.lines", "arrears.computed_on": "arrears.computed_on"}


def refused(notice_type: str, changes: dict) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as raised:
        normalise_changes(notice_type, changes)
    return raised.value


def editable_keys(notice_type: str) -> set[str]:
    return {fact.key for fact in letters.NOTICE_TYPES[notice_type].editable}


def template_source(notice_type: str) -> str:
    """The type's template with the base it extends and the partials it includes, as one text."""
    source = (LETTERS_DIR / notice_type / "template.html").read_text(encoding="utf-8")
    for name in re.findall(r'{%\s*(?:extends|include)\s+"([^"]+)"', source):
        source += (LETTERS_DIR / name).read_text(encoding="utf-8")
    return source


def printed_paths(source: str) -> set[str]:
    """Dotted paths a template reads from facts: facts.a.b, facts.get('a'), facts.a.get('b', …)."""
    chains = re.findall(r"facts((?:\.get\('[a-z_]+'[^)]*\)|\.[a-z_]+)+)", source)
    paths = set()
    for chain in chains:
        parts = [get or attr for get, attr in re.findall(r"\.get\('([a-z_]+)'[^)]*\)|\.([a-z_]+)", chain)]
        paths.add(".".join(parts))
    return paths


# ------------------------------------------------------------------------------------------
# System facts and unknown keys

def test_forged_issuer_is_refused():
    forged = {"issuer": {"name": "伪造机关", "code": "伪", "mark": "伪造机关"}}
    error = refused("opinion", forged)
    assert error.message == "“发文机关”由系统填写，不能修改"
    assert error.field == "issuer.name"
    assert refused("opinion", {"issuer.mark": "伪造机关"}).field == "issuer.mark"
    assert refused("opinion", {"issuer": "伪造机关"}).message == "“发文机关”由系统填写，不能修改"


@pytest.mark.parametrize("notice_type", TYPES)
@pytest.mark.parametrize("key, label", [
    ("number", "发文字号"), ("verification.code", "核验码"), ("issued_on", "成文日期"), ("printed_on", "印发日期"),
    ("signatory.name", "签发人"), ("case.reference", "案件信息"), ("case.violations", "案件信息"),
    ("enterprise.name", "企业名称"), ("enterprise.uscc", "统一社会信用代码"), ("opinion_ref.number", "所依据的监督意见书"),
    ("demand_ref.issued_on", "所依据的催缴通知书"), ("printed_by", "印发机关"), ("original.number", "被撤回的文书"),
    ("withdraws", "被撤回的文书"), ("applicant.name", "申请人名称"), ("legal_basis", "法律依据"),
])
def test_system_facts_are_refused_on_every_type(notice_type, key, label):
    error = refused(notice_type, {key: "2026-11-24"})
    assert error.message == f"“{label}”由系统填写，不能修改"
    assert error.field == key


def test_unknown_key_is_named_with_what_may_be_changed():
    error = refused("opinion", {"findings": ["你单位未建立工会。"], "zzz_unknown": "x"})
    assert error.field == "zzz_unknown"
    assert error.message.startswith("文书没有“zzz_unknown”这一项，可修改的内容：收文单位、")
    labels = [fact.label for fact in letters.NOTICE_TYPES["opinion"].editable]
    assert error.message.endswith("、".join(labels))
    assert "查明的事实" in error.message and "书面答复期限" in error.message


def test_a_fact_another_type_prints_is_unknown_here():
    assert refused("withdrawal", {"findings": ["x"]}).message.startswith("文书没有“findings”这一项")
    assert refused("visit", {"bank.account_no": "1"}).field == "bank.account_no"


def test_a_group_cannot_be_replaced_whole():
    error = refused("payment_order", {"enterprise": "北京某公司"})
    assert error.message == "“enterprise”不能整体替换，可修改其中的：企业住所、企业法定代表人"
    # Where nothing of the enterprise is editable, the refusal names what the system owns.
    assert refused("visit", {"enterprise": "北京某公司"}).message == "“企业名称”由系统填写，不能修改"
    assert refused("visit", {"visit": ["2026-09-16"]}).message.startswith("“visit”不能整体替换，可修改其中的：走访日期")


def test_unknown_notice_type_and_non_mapping_changes():
    assert refused("nonsense", {}).field == "notice_type"
    assert refused("opinion", ["findings"]).field == "snapshot"  # type: ignore[arg-type]
    assert refused("opinion", {3: "x"}).field == "snapshot"


# ------------------------------------------------------------------------------------------
# The schema against the templates and required facts

@pytest.mark.parametrize("notice_type", TYPES)
def test_every_required_fact_the_system_does_not_fill_is_editable(notice_type):
    kind = letters.NOTICE_TYPES[notice_type]
    for dotted in kind.required_facts:
        assert system_fact(dotted) or dotted in editable_keys(notice_type), dotted


@pytest.mark.parametrize("notice_type", TYPES)
def test_no_system_fact_is_editable(notice_type):
    for key in editable_keys(notice_type):
        assert system_fact(key) is None, key
        assert not any(prefix.startswith(key + ".") for prefix in SYSTEM_FACTS), key


@pytest.mark.parametrize("notice_type", TYPES)
def test_every_editable_fact_is_printed_by_the_template(notice_type):
    source = template_source(notice_type)
    printed = printed_paths(source)
    for key in editable_keys(notice_type):
        if key in ARREARS_VIEW:
            assert ARREARS_VIEW[key] in source, key
        else:
            assert key in printed, key


@pytest.mark.parametrize("notice_type", TYPES)
def test_everything_the_template_prints_is_editable_or_the_systems(notice_type):
    keys = editable_keys(notice_type)
    for path in printed_paths(template_source(notice_type)):
        group = any(key.startswith(path + ".") for key in keys | set(SYSTEM_FACTS))  # facts.get('order_ref')
        assert path in keys or system_fact(path) or group, path


def test_editable_facts_are_loaded_as_frozen_dataclasses():
    findings = next(f for f in letters.NOTICE_TYPES["opinion"].editable if f.key == "findings")
    assert findings == EditableFact("findings", "查明的事实", "paragraphs", 500, 20)
    due = next(f for f in letters.NOTICE_TYPES["opinion"].editable if f.key == "reply_due")
    assert (due.type, due.max, due.max_items) == ("date", 10, None)
    with pytest.raises(AttributeError):
        findings.max = 1  # type: ignore[misc]


@pytest.mark.parametrize("entries, problem", [
    ([{"key": "findings", "label": "事实", "type": "essay", "max": 5}], "unknown type"),
    ([{"key": "findings", "label": "事实", "type": "text", "max": 0}], "max must be a positive integer"),
    ([{"key": "findings", "label": "事实", "type": "text"}], "max must be a positive integer"),
    ([{"key": "reason", "label": "理由", "type": "text", "max": 5},
      {"key": "reason", "label": "原因", "type": "text", "max": 5}], "duplicate editable keys"),
    ([{"key": "reason", "label": "理由", "type": "text", "max": 5},
      {"key": "refusal", "label": "理由", "type": "text", "max": 5}], "duplicate editable labels"),
    ([{"key": "issuer.name", "label": "发文机关", "type": "text", "max": 50}], "filled by the system"),
    ([{"key": "enterprise", "label": "企业", "type": "text", "max": 50}], "filled by the system"),
    ([{"key": "case.reference", "label": "案号", "type": "text", "max": 50}], "filled by the system"),
    ([{"key": "reason", "label": "理由", "type": "text", "max": 5, "max_items": 3}], "list types only"),
    ([{"key": "cc", "label": "抄送", "type": "names", "max": 5, "max_items": 0}], "max_items must be"),
    ([{"key": "reason", "label": "理由", "type": "text", "max": 5, "maxlen": 3}], "unknown fields"),
    ([{"key": "Reason", "label": "理由", "type": "text", "max": 5}], "dotted name"),
    ([{"key": "visit", "label": "走访", "type": "text", "max": 5},
      {"key": "visit.place", "label": "地点", "type": "text", "max": 5}], "contains another editable key"),
])
def test_meta_is_checked_at_load(entries, problem):
    with pytest.raises(ValueError, match=problem):
        _load_editable(Path("letters/x/meta.json"), entries)


# ------------------------------------------------------------------------------------------
# Values

def test_names_split_on_chinese_separators_and_whitespace():
    result = normalise_changes("visit", {"visit.supervisors": "王芳、李强，赵敏；钱七 孙八"})
    assert result == {"visit.supervisors": ["王芳", "李强", "赵敏", "钱七", "孙八"]}
    assert normalise_changes("visit", {"cc": " 甲,乙;丙\u3000丁\n戊 "})["cc"] == ["甲", "乙", "丙", "丁", "戊"]
    # A list is taken as given: an item may hold a separator.
    assert normalise_changes("visit", {"cc": ["北京市总工会、劳动法律监督委员会"]})["cc"] == ["北京市总工会、劳动法律监督委员会"]


def test_paragraphs_split_on_line_breaks_only():
    text = "你单位现有职工186人，其中有入会意愿的职工42人；已达到建会条件、但未建会。\r\n\n  自2026年1月起未拨缴经费。  \n"
    assert normalise_changes("opinion", {"findings": text})["findings"] == [
        "你单位现有职工186人，其中有入会意愿的职工42人；已达到建会条件、但未建会。", "自2026年1月起未拨缴经费。"]
    assert normalise_changes("opinion", {"findings": ["  一条。 ", "", "两条。"]})["findings"] == ["一条。", "两条。"]


def test_too_long_items_are_refused_with_their_number():
    error = refused("opinion", {"findings": ["第一条。", "长" * 612]})
    assert error.message == "查明的事实第2项超过500字（共612字）"
    assert error.field == "findings"
    assert refused("opinion", {"findings": "第一条。\n\n" + "长" * 501}).message == "查明的事实第2项超过500字（共501字）"
    assert normalise_changes("opinion", {"findings": ["长" * 500]})["findings"] == ["长" * 500]
    assert refused("visit", {"addressee": {"name": "单" * 101}}).message == "收文单位超过100字（共101字）"


def test_too_many_items_are_refused():
    assert refused("opinion", {"findings": [f"第{n}条。" for n in range(21)]}).message == "查明的事实超过20项（共21项）"
    assert refused("visit", {"cc": "、".join("甲乙丙丁戊己庚辛壬癸子")}).message == "抄送单位超过10项（共11项）"
    assert len(normalise_changes("opinion", {"findings": [f"第{n}条。" for n in range(20)]})["findings"]) == 20


@pytest.mark.parametrize("value", [5, 1.5, True, {"a": "b"}, ["ok", 3.5], ["ok", None]])
def test_lists_of_text_refuse_other_types(value):
    assert refused("opinion", {"findings": value}).field == "findings"


@pytest.mark.parametrize("value", [["北京某公司"], {"x": "北京某公司"}, 3.5, False])
def test_text_refuses_other_types(value):
    assert refused("visit", {"addressee.name": value}).message == "收文单位应为文字"


def test_text_is_one_stripped_line():
    assert normalise_changes("withdrawal", {"reason": "  经核实，代码有误  "}) == {"reason": "经核实，代码有误"}
    assert normalise_changes("payment_order", {"applicant.phone": 65001200}) == {"applicant.phone": "65001200"}
    assert normalise_changes("withdrawal", {"reason": None}) == {"reason": ""}
    assert refused("withdrawal", {"reason": "第一行\n第二行"}).message == "撤回理由应为一行文字，不能换行"


@pytest.mark.parametrize("bad", ["\x07", "\u202e", "\u200b", "\u2028", "\x00", "\t", "\ud800"])
def test_control_characters_are_refused(bad):
    error = refused("visit", {"visit.met": f"人力{bad}资源部"})
    assert error.message == "接待人员第3个字符是不可见的控制字符，请删除后重试"
    assert error.field == "visit.met"
    assert refused("opinion", {"findings": ["正常。", f"带{bad}字符"]}).message.startswith("查明的事实第2项第2个字符")


def test_dates():
    assert normalise_changes("opinion", {"reply_due": " 2026-12-09 "}) == {"reply_due": "2026-12-09"}
    assert normalise_changes("opinion", {"reply_due": "2028-02-29"}) == {"reply_due": "2028-02-29"}
    assert normalise_changes("opinion", {"reply_due": None}) == {"reply_due": None}
    assert normalise_changes("opinion", {"reply_due": ""}) == {"reply_due": None}
    error = refused("opinion", {"reply_due": "2026-02-30"})
    assert error.message == "书面答复期限应为有效的日期，格式如2026-09-16（收到：2026-02-30）"
    assert error.field == "reply_due"


@pytest.mark.parametrize("bad", ["2026/12/09", "20261209", "2026-1-9", "2026-12-09T00:00", "２０２６-１２-０９",
                                 "2027-02-29", "2026-13-01", 20261209, ["2026-12-09"], True])
def test_bad_dates_are_refused(bad):
    assert refused("opinion", {"reply_due": bad}).field == "reply_due"


def test_arrears_months_are_normalised_and_sorted():
    rows = [{"month": "2026-02", "payroll": "1,279,850.5"}, {"month": "2026-01", "payroll": 1286400},
            {"month": "2026-03", "payroll": 1302716.35, "paid": "10000"}, {"month": "2026-04", "payroll": "0", "paid": ""}]
    assert normalise_changes("payment_demand", {"arrears": {"months": rows}})["arrears.months"] == [
        {"month": "2026-01", "payroll": "1286400.00"}, {"month": "2026-02", "payroll": "1279850.50"},
        {"month": "2026-03", "payroll": "1302716.35", "paid": "10000.00"}, {"month": "2026-04", "payroll": "0.00"}]


@pytest.mark.parametrize("rows, message", [
    ([{"month": "2026-01", "payroll": "-1"}], "欠缴月份及工资总额第1行的工资总额应为不小于0的金额，最多两位小数，如1286400.00（收到：-1）"),
    ([{"month": "2026-01", "payroll": "100"}, {"month": "2026-02", "payroll": "1.234"}],
     "欠缴月份及工资总额第2行的工资总额应为不小于0的金额，最多两位小数，如1286400.00（收到：1.234）"),
    ([{"month": "2026-01", "payroll": "100", "paid": "十元"}], "欠缴月份及工资总额第1行的已缴金额应为不小于0的金额"),
    ([{"month": "2026-01", "payroll": "1e5"}], "第1行的工资总额应为不小于0的金额"),
    ([{"month": "2026-01", "payroll": "1,2,3"}], "第1行的工资总额应为不小于0的金额"),
    ([{"month": "2026-01", "payroll": True}], "第1行的工资总额应为不小于0的金额"),
    ([{"month": "2026-01", "payroll": float("nan")}], "第1行的工资总额应为不小于0的金额"),
    ([{"month": "2026-01", "payroll": "12345678901234"}], "第1行的工资总额过大（整数部分最多13位）"),
    ([{"month": "2026-01"}], "欠缴月份及工资总额第1行缺少工资总额"),
    ([{"month": "2026-13", "payroll": "1"}], "第1行的工资月份应为年-月，格式如2026-01（收到：2026-13）"),
    ([{"month": "2026-1", "payroll": "1"}], "第1行的工资月份应为年-月"),
    ([{"month": 202601, "payroll": "1"}], "第1行的工资月份应为年-月"),
    ([{"month": "2026-01", "payroll": "1"}, {"month": "2026-01", "payroll": "2"}], "第2行的工资月份2026-01与前面重复"),
    ([{"month": "2026-01", "payroll": "1", "late_fee": "9"}], "第1行没有“late_fee”这一项，可填写：工资月份、工资总额、已缴金额"),
    (["2026-01"], "第1行应包含工资月份和工资总额"),
    ({"month": "2026-01", "payroll": "1"}, "欠缴月份及工资总额应逐月列出工资月份和工资总额"),
    ([{"month": f"{2000 + n // 12}-{n % 12 + 1:02d}", "payroll": "1"} for n in range(121)],
     "欠缴月份及工资总额超过120个月（共121个月）"),
])
def test_bad_arrears_are_refused(rows, message):
    error = refused("payment_order", {"arrears.months": rows})
    assert message in error.message
    assert error.field == "arrears.months"


def test_money_and_paragraph_types(monkeypatch):
    # No notice type declares these yet; a made-up one shows how they read.
    kind = NoticeType("sample", "样例", "样", "1", (), "enterprise",
                      (EditableFact("fee", "申请费", "money", 16), EditableFact("note", "说明", "paragraph", 20)))
    monkeypatch.setattr(drafts, "NOTICE_TYPES", MappingProxyType({**letters.NOTICE_TYPES, "sample": kind}))
    assert normalise_changes("sample", {"fee": "1,286,400"}) == {"fee": "1286400.00"}
    assert normalise_changes("sample", {"fee": 0.1}) == {"fee": "0.10"}
    assert normalise_changes("sample", {"fee": ""}) == {"fee": None}
    assert refused("sample", {"fee": 0.1 + 0.2}).field == "fee"
    assert refused("sample", {"fee": "-0.01"}).message.startswith("申请费应为不小于0的金额")
    assert normalise_changes("sample", {"note": " 第一段\r\n第二段 "}) == {"note": "第一段\n第二段"}
    assert refused("sample", {"note": "第一段\n\x0b第二段"}).message == "说明第5个字符是不可见的控制字符，请删除后重试"
    assert refused("sample", {"note": "长" * 21}).message == "说明超过20字（共21字）"


# ------------------------------------------------------------------------------------------
# Forms of a change, and applying it

def test_dotted_and_nested_forms_give_the_same_result():
    nested = {"order_ref": {"authority": "北京市朝阳区人力资源和社会保障局", "number": "京朝人社监责字〔2026〕88号",
                            "issued_on": "2026-10-28", "due": "2026-11-18"},
              "enterprise": {"address": "北京市朝阳区酒仙桥路10号", "legal_representative": "陈建国"}}
    dotted = {f"{group}.{key}": value for group, values in nested.items() for key, value in values.items()}
    mixed = {"order_ref": nested["order_ref"], "enterprise.address": "北京市朝阳区酒仙桥路10号",
             "enterprise": {"legal_representative": "陈建国"}}
    assert normalise_changes("listing_request", nested) == normalise_changes("listing_request", dotted) \
        == normalise_changes("listing_request", mixed)
    assert set(normalise_changes("listing_request", nested)) == set(dotted)


def test_the_same_fact_given_twice_is_refused():
    error = refused("listing_request", {"order_ref.number": "甲", "order_ref": {"number": "乙"}})
    assert error.message == "“责令改正文号”填写了两次"


def test_a_dict_where_a_value_belongs_is_a_wrong_type():
    assert refused("visit", {"visit": {"visited_on": {"year": 2026}}}).field == "visit.visited_on"
    assert refused("visit", {"addressee": {"name": {"zh": "x"}}}).message == "收文单位应为文字"


def test_apply_changes_sets_dotted_keys_on_a_copy():
    snapshot = {"addressee": {"name": "旧"}, "applicant": "", "findings": ["旧"]}
    changes = normalise_changes("payment_order", {"applicant": {"phone": "010-1234"}, "addressee.name": "新"})
    result = apply_changes(snapshot, changes)
    assert result == {"addressee": {"name": "新"}, "applicant": {"phone": "010-1234"}, "findings": ["旧"]}
    assert snapshot == {"addressee": {"name": "旧"}, "applicant": "", "findings": ["旧"]}


def test_the_bank_account_comes_from_the_letterhead_only():
    """A draft's payment account cannot be redirected: it is the issuer's, set by an admin on the letterhead."""
    error = refused("payment_demand", {"bank": {"account_no": "6222 0000 0000"}})
    assert error.field == "bank.account_no" and "文书抬头" in error.message
    listed = apply_changes({}, {"visit.supervisors": ["王芳"]})
    assert listed == {"visit": {"supervisors": ["王芳"]}}


@pytest.mark.parametrize("notice_type", TYPES)
def test_the_examples_editable_facts_validate_and_round_trip(notice_type):
    facts = letters.example_facts(notice_type)
    changes = {}
    for key in editable_keys(notice_type):
        *parents, leaf = key.split(".")
        group = facts
        for part in parents:
            group = group.get(part, {})
        if leaf in group:
            changes[key] = group[leaf]
    assert changes
    normalised = normalise_changes(notice_type, changes)
    assert apply_changes(facts, normalised) == facts
    assert not letters.missing_facts(letters.NOTICE_TYPES[notice_type], apply_changes(facts, normalised))
