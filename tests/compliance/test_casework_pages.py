"""Case work through the browser: registering an enterprise, opening a case, each step as a form, supervisors,
the audit trail in Chinese and the ladder drawing.

Setup is committed before requests are made: a refused request rolls the shared session back and must not take the
test's own rows with it (the outer transaction is still rolled back after each test). "Nothing changed" is the
same comparison the authorization matrix makes: every table's rows, every case's version and state, every file.
"""
from __future__ import annotations

import html
import re
import uuid

import pytest
from sqlalchemy import func, select

from compliance.clock import business_date, utcnow
from compliance.errors import Forbidden, NotFound, ValidationFailed
from compliance.identifiers import uscc_check_char
from compliance.models import Case, CaseEvent, Enterprise, Jurisdiction, Role
from compliance.operations.assignments import assign_supervisors
from compliance.operations.cases import fire_trigger
from compliance.operations.enterprises import register_enterprise
from compliance.testing import VISIT, refuse_after_visit
from tests.compliance.test_authorization import database_state
from workflows.states import TRIGGERS, State

PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"



def text(response) -> str:
    return response.get_data(as_text=True)


def visible(response) -> str:
    """What a person reads on the page: the text without tags and attributes."""
    body = re.sub(r"<(script|style)\b.*?</\1>", "", text(response), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def place(session, code):
    return session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))


def fresh_uscc() -> str:
    body = f"91110105{uuid.uuid4().int % 10**9:09d}"
    return body + uscc_check_char(body)


def registration_number(first14: str) -> str:
    """A 15-digit 注册号 with its ISO 7064 MOD 11,10 check digit."""
    product = 10
    for digit in first14:
        total = (product + int(digit)) % 10 or 10
        product = (total * 2) % 11
    return first14 + str((11 - product) % 10)


@pytest.fixture
def web(client, session, supervisor):
    """The supervisor (of the test street) signed in; the setup so far committed."""
    session.commit()
    assert client.post("/login", data={"login": supervisor.login, "password": PASSWORD}).status_code == 302
    return client


def unchanged(session, store):
    """A snapshot to compare after a refused request."""
    session.expire_all()
    return database_state(session, store.root)


def enterprise_data(where, **changes):
    data = {"uscc": fresh_uscc(), "name": "北京朝阳示例科技有限公司", "jurisdiction": str(where.id),
            "address": "北京市朝阳区建国路88号", "legal_representative": "陈建国", "employee_count": "120",
            "member_count": "", "monthly_payroll": "523,000.50", "industry": "软件和信息技术服务业",
            "contact_name": "张伟", "contact_phone": "010-65001234"}
    return {**data, **changes}


def step_data(trigger: str, version: int, note: str = "", **inputs) -> dict:
    """A step form as the page posts it: every field prefixed by the trigger."""
    data = {f"{trigger}-step_version": str(version), f"{trigger}-step_note": note}
    data.update({f"{trigger}-{k}": v for k, v in inputs.items()})
    return data


def today() -> str:
    return business_date(utcnow()).isoformat()


# ------------------------------------------------------------------------------------------ registration

def test_registering_an_enterprise_normalises_its_code_and_offers_a_case(web, session, jurisdiction):
    code = fresh_uscc()
    spaced = f"{code[:6].lower()} {code[6:12]} {code[12:]}"
    res = web.post("/enterprises/new", data=enterprise_data(jurisdiction, uscc=spaced, has_union="y"))
    assert res.status_code == 302
    enterprise = session.scalar(select(Enterprise).where(Enterprise.uscc == code))
    assert res.headers["Location"] == f"/enterprises/{enterprise.id}/cases/new"
    assert enterprise.jurisdiction_id == jurisdiction.id and enterprise.has_union
    assert enterprise.employee_count == 120 and str(enterprise.monthly_payroll) == "523000.50"
    page = text(web.get(res.headers["Location"]))
    assert "已登记企业“北京朝阳示例科技有限公司”" in page and code in page and "立案" in page


def test_the_form_offers_the_users_jurisdictions_only(web, jurisdiction):
    page = text(web.get("/enterprises/new"))
    assert jurisdiction.name in page and "海淀区" not in page
    assert 'maxlength="100"' in page and 'type="date"' in page


def test_a_wrong_check_character_is_refused_with_the_expected_one(web, session, store, jurisdiction):
    code = fresh_uscc()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    before = unchanged(session, store)
    res = web.post("/enterprises/new", data=enterprise_data(jurisdiction, uscc=wrong))
    assert res.status_code == 422
    assert f"统一社会信用代码校验位错误：第18位应为“{code[17]}”" in visible(res)
    assert unchanged(session, store) == before


def test_codes_starting_with_a_n_or_y_are_accepted(web, session, jurisdiction):
    body = "Y1110105MA01ABCD1"
    code = body + uscc_check_char(body)
    assert web.post("/enterprises/new", data=enterprise_data(jurisdiction, uscc=code)).status_code == 302
    assert session.scalar(select(Enterprise.id).where(Enterprise.uscc == code)) is not None


def test_a_duplicate_names_the_registered_enterprise_and_links_it(web, session, store, make_enterprise):
    existing = make_enterprise(name="北京已登记科技有限公司")
    session.commit()
    before = unchanged(session, store)
    res = web.post("/enterprises/new", data=enterprise_data(existing.jurisdiction, uscc=existing.uscc.lower(),
                                                            name="另一个名字"))
    assert res.status_code == 422
    assert "北京已登记科技有限公司" in visible(res) and "不能重复登记" in visible(res)
    assert f'href="/enterprises/{existing.id}"' in text(res)
    assert unchanged(session, store) == before


def test_a_duplicate_outside_the_scope_is_named_without_a_link(web, session, jurisdiction):
    haidian = place(session, "110108")
    existing = Enterprise(uscc=fresh_uscc(), name="海淀已登记有限公司", jurisdiction=haidian)
    session.add(existing)
    session.commit()
    res = web.post("/enterprises/new", data=enterprise_data(jurisdiction, uscc=existing.uscc))
    assert res.status_code == 422 and "海淀已登记有限公司" in visible(res) and "不在您的辖区内" in visible(res)
    assert f"/enterprises/{existing.id}" not in text(res)


def test_an_old_15_digit_registration_number_is_accepted(web, session, jurisdiction):
    number = registration_number(f"110105{uuid.uuid4().int % 10**8:08d}")
    res = web.post("/enterprises/new", data=enterprise_data(jurisdiction, uscc=number))
    assert res.status_code == 302
    enterprise = session.scalar(select(Enterprise).where(Enterprise.registration_number == number))
    assert enterprise.uscc is None and enterprise.identifier == number
    bad = number[:14] + str((int(number[14]) + 1) % 10)
    assert "注册号校验位错误" in visible(web.post("/enterprises/new", data=enterprise_data(jurisdiction, uscc=bad)))


@pytest.mark.parametrize("changes,message", [
    ({"name": "北" * 101}, "企业名称不能超过100个字符"),
    ({"name": "北京😀科技有限公司"}, "企业名称含有文书字体无法排印的字符：“😀”（U+1F600）"),
    ({"address": "北京市\u202e朝阳区"}, "企业住所含有无法显示的控制字符"),
    ({"legal_representative": "陈" * 51}, "法定代表人不能超过50个字符"),
    ({"uscc": "9111"}, "统一社会信用代码应为18位"),
    ({"uscc": ""}, "请填写统一社会信用代码"),
    ({"name": "   "}, "请填写企业名称"),
    ({"employee_count": "-5"}, "职工人数应为0至"),
    ({"employee_count": "10", "member_count": "20"}, "工会会员人数（20）不能多于职工人数（10）"),
    ({"monthly_payroll": "1e9"}, "上月工资总额应为以元为单位的金额"),
    ({"established_on": "2015-02-30"}, "成立日期应为"),
])
def test_bad_values_are_refused_by_their_field_and_nothing_is_stored(web, session, store, jurisdiction, changes,
                                                                     message):
    before = unchanged(session, store)
    res = web.post("/enterprises/new", data=enterprise_data(jurisdiction, **changes))
    assert res.status_code == 422 and message in visible(res), visible(res)[:3000]
    assert unchanged(session, store) == before


def test_a_jurisdiction_outside_the_scope_is_not_found_and_nothing_is_stored(web, session, store, jurisdiction):
    before = unchanged(session, store)
    assert web.post("/enterprises/new", data=enterprise_data(place(session, "110108"))).status_code == 404
    assert web.post("/enterprises/new", data=enterprise_data(jurisdiction, jurisdiction="99999999")).status_code == 404
    assert unchanged(session, store) == before


def test_only_supervisors_register(client, session, make_user, store, jurisdiction, now):
    auditor = make_user(roles={Role.AUDITOR})
    session.commit()
    client.post("/login", data={"login": auditor.login, "password": PASSWORD})
    assert client.get("/enterprises/new").status_code == 403
    before = unchanged(session, store)
    assert client.post("/enterprises/new", data=enterprise_data(jurisdiction)).status_code == 403
    assert unchanged(session, store) == before
    with pytest.raises(Forbidden):
        register_enterprise(session, actor=auditor, uscc=fresh_uscc(), name="某公司", jurisdiction=jurisdiction, now=now)


def test_the_operation_refuses_out_of_scope_as_absent(session, supervisor, now):
    with pytest.raises(NotFound):
        register_enterprise(session, actor=supervisor, uscc=fresh_uscc(), name="某公司",
                            jurisdiction=place(session, "110108"), now=now)
    with pytest.raises(ValidationFailed) as refused:
        register_enterprise(session, actor=supervisor, uscc=fresh_uscc(), name="某公司", employee_count=True,
                            jurisdiction=supervisor.jurisdiction, now=now)
    assert refused.value.field == "employee_count"


# ------------------------------------------------------------------------------------------- opening

def test_opening_a_case_needs_a_violation(web, session, store, make_enterprise, supervisor):
    enterprise = make_enterprise()
    session.commit()
    page = text(web.get(f"/enterprises/{enterprise.id}/cases/new"))
    assert "不建会" in page and "不协商" in page and "不缴费" in page
    mine = re.search(rf'<input[^>]*name="supervisors"[^>]*value="{supervisor.id}"[^>]*>', page).group(0)
    assert "checked" in mine                              # the user opening it works it, unless unticked
    before = unchanged(session, store)
    res = web.post(f"/enterprises/{enterprise.id}/cases/new", data={"summary": "x", "supervisors": [supervisor.id]})
    assert res.status_code == 422 and "至少选择一种违法情形" in visible(res)
    assert unchanged(session, store) == before


def test_a_supervisor_outside_the_enterprises_scope_is_refused(web, session, store, make_enterprise, make_user):
    enterprise = make_enterprise()
    outsider = make_user(name="海淀监督员", jurisdiction=place(session, "110108"))
    session.commit()
    page = text(web.get(f"/enterprises/{enterprise.id}/cases/new"))
    assert "海淀监督员" not in page
    before = unchanged(session, store)
    res = web.post(f"/enterprises/{enterprise.id}/cases/new",
                   data={"violations": ["no_union"], "supervisors": [str(outsider.id)]})
    assert res.status_code == 422 and "海淀监督员 不能承办该案件" in visible(res)
    for bad in ("2147483647", "abc"):
        res = web.post(f"/enterprises/{enterprise.id}/cases/new", data={"violations": ["no_union"],
                                                                        "supervisors": [bad]})
        assert res.status_code == 422 and "不存在" in visible(res)
    assert unchanged(session, store) == before


def test_opening_a_case_through_the_page(web, session, make_enterprise, make_user, supervisor):
    enterprise = make_enterprise()
    partner = make_user(name="李强")
    session.commit()
    res = web.post(f"/enterprises/{enterprise.id}/cases/new",
                   data={"violations": ["no_union", "unpaid_funds"], "summary": "职工120人，未建会，未缴经费。",
                         "supervisors": [str(supervisor.id), str(partner.id)]})
    assert res.status_code == 302
    case = session.scalar(select(Case).where(Case.enterprise_id == enterprise.id))
    assert res.headers["Location"] == f"/cases/{case.id}"
    assert {u.id for u in case.supervisors} == {supervisor.id, partner.id}
    page = visible(web.get(res.headers["Location"]))
    assert f"已立案 {case.reference}" in page and "李强" in page and "记录走访宣讲" in page
    again = web.post(f"/enterprises/{enterprise.id}/cases/new",
                     data={"violations": ["no_union"], "supervisors": [str(supervisor.id)]})
    assert again.status_code == 409 and "请在原案件中办理" in visible(again)


def test_the_enterprise_page_has_a_button_to_open_a_case(web, client, session, make_enterprise, make_user):
    enterprise = make_enterprise()
    auditor = make_user(roles={Role.AUDITOR})
    session.commit()
    assert f'href="/enterprises/{enterprise.id}/cases/new#open">立案</a>' in text(web.get(f"/enterprises/{enterprise.id}"))
    reader = client.application.test_client()
    reader.post("/login", data={"login": auditor.login, "password": PASSWORD})
    assert "/cases/new" not in text(reader.get(f"/enterprises/{enterprise.id}"))


def test_an_enterprise_outside_the_scope_is_not_found(web, session):
    haidian = Enterprise(uscc=fresh_uscc(), name="海淀企业", jurisdiction=place(session, "110108"))
    session.add(haidian)
    session.commit()
    assert web.get(f"/enterprises/{haidian.id}/cases/new").status_code == 404
    assert web.post(f"/enterprises/{haidian.id}/cases/new", data={"violations": ["no_union"]}).status_code == 404
    assert session.scalar(select(func.count(Case.id)).where(Case.enterprise_id == haidian.id)) == 0


# --------------------------------------------------------------------------------------------- steps

def _render_step(app, case, trigger):
    from compliance.web.casework import step_view
    template = app.jinja_env.from_string('{% from "casework/_step.html" import step %}{{ step(s, case) }}')
    with app.test_request_context():
        return template.render(s=step_view(case, trigger), case=case)


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_every_trigger_renders_a_form_of_its_declared_inputs(app, make_case, trigger):
    case = make_case()
    spec = TRIGGERS[trigger]
    page = _render_step(app, case, trigger)
    assert f'action="/cases/{case.id}/steps/{trigger}"' in page and spec.label in page
    assert f'name="{trigger}-step_version" type="hidden" value="{case.version}"' in page
    assert f'name="{trigger}-step_note"' in page and "理由/备注" in page
    for field in spec.fields:
        assert f'name="{trigger}-{field.name}"' in page, field.name
        assert html.escape(field.label) in page, field.label
        if field.help:
            assert field.help in page
        tag = re.search(rf'<(input|textarea|select)[^>]*name="{trigger}-{field.name}"[^>]*>', page).group(0)
        if field.kind == "choice":   # a select offering the declared choices (the blank one when optional)
            for _value, label in field.choices:
                assert f">{label}</option>" in page
            assert ('>（不填）</option>' in page) != field.required
        if field.kind == "date":
            assert 'type="date"' in tag and f'max="{today()}"' in tag
        if field.kind == "days":
            assert 'type="number"' in tag
        if field.kind == "text":
            assert f'maxlength="{field.max_length}"' in tag
        assert ("required" in tag) == field.required


def test_the_case_page_offers_the_allowed_steps_as_forms_and_hides_the_version(web, make_case):
    case = make_case()
    page = text(web.get(f"/cases/{case.id}"))
    assert 'name="record_visit-visited_on"' in page and 'name="withdraw-reason"' in page
    assert 'name="issue_opinion-' not in page          # not allowed yet: no form
    assert "版本" not in visible(web.get(f"/cases/{case.id}"))
    assert f'name="record_visit-step_version" type="hidden" value="{case.version}"' in page
    assert 'href="/ladder"' in page and "执法流程图" in page


def test_readers_see_the_steps_without_forms(client, session, make_case, make_user):
    case = make_case()
    auditor = make_user(roles={Role.AUDITOR})
    session.commit()
    client.post("/login", data={"login": auditor.login, "password": PASSWORD})
    page = text(client.get(f"/cases/{case.id}"))
    assert "记录走访宣讲" in page and "<form method=\"post\" action=\"/cases/" not in page


def test_a_step_through_the_page_moves_the_case(web, session, make_case):
    case = make_case()
    session.commit()
    data = step_data("record_visit", case.version, note="首次走访，企业负责人在场",
                     visited_on=today(), findings="职工120人，未建会。", supervisors="王芳、李强",
                     rectification_days="20")
    res = web.post(f"/cases/{case.id}/steps/record_visit", data=data)
    assert res.status_code == 302 and res.headers["Location"] == f"/cases/{case.id}"
    session.expire_all()
    assert case.state == State.VISITED.value
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq.desc())).first()
    assert event.trigger == "record_visit" and event.reason == "首次走访，企业负责人在场"
    assert event.details["inputs"]["supervisors"] == ["王芳", "李强"] and event.details["inputs"]["rectification_days"] == 20
    page = visible(web.get(f"/cases/{case.id}"))
    assert "已记录走访宣讲，案件现为“已走访宣讲”" in page and "宣讲告知书" in page


def test_a_stale_form_is_refused_naming_who_changed_the_case(web, session, store, make_case, make_user, now):
    case = make_case()
    colleague = make_user(name="赵敏")
    shown = case.version
    fire_trigger(session, case.id, "record_visit", VISIT, actor=colleague, now=now)
    session.commit()
    before = unchanged(session, store)
    res = web.post(f"/cases/{case.id}/steps/withdraw", data=step_data("withdraw", shown, reason="企业已注销"))
    assert res.status_code == 409
    assert "此案件已由 赵敏 于 2026-11-24 10:00 修改，请刷新" in visible(res)
    assert unchanged(session, store) == before
    form = re.search(r'<details[^>]*id="step-withdraw"[^>]*>(.*?)</details>', text(res), re.S).group(1)
    assert "企业已注销" in form                           # what was typed is still there


def test_a_refused_step_shows_the_guards_reason(web, session, store, make_case, supervisor, send_letters, now):
    case = make_case(violations=("no_union",))
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
    send_letters(case.id, now)
    refuse_after_visit(session, case.id, actor=supervisor, now=now)  # the visit letter's period has not run
    fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=now)
    send_letters(case.id, now)
    fire_trigger(session, case.id, "record_refusal", {"refused_on": "2026-11-24", "summary": "拒绝"}, actor=supervisor,
                 now=now)
    fire_trigger(session, case.id, "issue_recommendation", {}, actor=supervisor, now=now)
    session.commit()
    page = visible(web.get(f"/cases/{case.id}"))
    reason = "本案没有欠缴工会经费（不缴费）的情形"
    assert f"催缴工会经费（税务稽查）：{reason}" in page      # listed as blocked, with why
    before = unchanged(session, store)
    res = web.post(f"/cases/{case.id}/steps/demand_payment", data=step_data("demand_payment", case.version))
    assert res.status_code == 409 and f"不能催缴工会经费（税务稽查）：{reason}" in visible(res)
    assert unchanged(session, store) == before


@pytest.mark.parametrize("inputs,message", [
    ({"findings": "未建会", "supervisors": "王芳、李强"}, "请填写走访日期"),
    ({"visited_on": "TODAY", "findings": "x" * 2001, "supervisors": "王芳、李强"}, "走访发现的问题不能超过2000字（现有2001字）"),
    ({"visited_on": "TODAY", "findings": "未建会", "supervisors": "王芳"}, "走访须由至少两名监督员共同进行"),
    ({"visited_on": "2999-01-01", "findings": "未建会", "supervisors": "王芳、李强"}, "走访日期（2999年1月1日）不能晚于今天"),
    ({"visited_on": "TODAY", "findings": "未建会", "supervisors": "王芳、李强", "rectification_days": "0"},
     "整改期限（日）应为1至"),
])
def test_missing_and_oversized_inputs_name_the_field(web, session, store, make_case, inputs, message):
    case = make_case()
    session.commit()
    inputs = {k: (today() if v == "TODAY" else v) for k, v in inputs.items()}
    before = unchanged(session, store)
    res = web.post(f"/cases/{case.id}/steps/record_visit", data=step_data("record_visit", case.version, **inputs))
    assert res.status_code == 422 and message in visible(res), visible(res)[:4000]
    form = re.search(r'<details[^>]*id="step-record_visit"[^>]*>(.*?)</details>', text(res), re.S)
    assert form and " open" in form.group(0)[:80] and html.escape(message)[:12] in form.group(1)
    assert unchanged(session, store) == before


def test_an_oversized_note_and_an_unknown_step_are_refused(web, session, store, make_case):
    case = make_case()
    session.commit()
    before = unchanged(session, store)
    res = web.post(f"/cases/{case.id}/steps/withdraw", data=step_data("withdraw", case.version, note="长" * 2001,
                                                                      reason="企业已注销"))
    assert res.status_code == 422 and "理由/备注不能超过2000个字符" in visible(res)
    assert web.post(f"/cases/{case.id}/steps/no_such_step", data={}).status_code == 404
    assert web.post(f"/cases/{case.id}/steps/withdraw", data={"withdraw-reason": "x"}).status_code == 422
    offside = web.post(f"/cases/{case.id}/steps/record_reply",
                       data=step_data("record_reply", case.version, summary="长" * 3000))
    assert offside.status_code == 422 and "不能记录企业书面答复：当前状态为“已立案”" in visible(offside)
    assert unchanged(session, store) == before


def test_the_rectification_step_picks_the_cases_evidence(web, session, make_case, supervisor, store, now):
    from compliance.operations.attachments import attach_evidence
    case = make_case()
    proof = attach_evidence(session, case.id, data=b"%PDF-1.4\n%%EOF\n", filename="工会成立批复.pdf",
                            description="区总工会批复", actor=supervisor, now=now, store=store)
    session.commit()
    page = text(web.get(f"/cases/{case.id}"))
    assert f'name="rectify-step_attachments" type="checkbox" value="{proof.id}"' in page and "工会成立批复.pdf" in page
    data = step_data("rectify", case.version, action_taken="已成立工会", rectified_on=today(), attachment_ref="",
                     step_attachments=[str(proof.id)])
    assert web.post(f"/cases/{case.id}/steps/rectify", data=data).status_code == 302
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger == "rectify")).one()
    assert event.details["inputs"]["attachment_ref"] == "工会成立批复.pdf"


# ----------------------------------------------------------------------------------------- supervisors

def test_assigning_supervisors_through_the_page(web, session, store, make_case, make_user, supervisor):
    case = make_case()
    partner = make_user(name="李强")
    outsider = make_user(name="海淀监督员", jurisdiction=place(session, "110108"))
    session.commit()
    before = unchanged(session, store)
    res = web.post(f"/cases/{case.id}/supervisors",
                   data={"assign-supervisors": [str(supervisor.id), str(outsider.id)], "assign-version": case.version})
    assert res.status_code == 422 and "海淀监督员 不能承办该案件" in visible(res)
    assert unchanged(session, store) == before
    res = web.post(f"/cases/{case.id}/supervisors",
                   data={"assign-supervisors": [str(partner.id)], "assign-version": case.version})
    assert res.status_code == 302
    session.expire_all()
    assert [u.id for u in case.supervisors] == [partner.id]
    event = session.scalars(select(CaseEvent).where(CaseEvent.action == "case.assigned",
                                                    CaseEvent.case_id == case.id)).one()
    assert event.details["added"] == [{"id": partner.id, "name": "李强"}]
    page = visible(web.get(f"/cases/{case.id}"))
    assert "调整承办监督员" in page and "新增：李强" in page and f"不再承办：{supervisor.name}" in page
    stale = web.post(f"/cases/{case.id}/supervisors",
                     data={"assign-supervisors": [str(supervisor.id)], "assign-version": case.version - 1})
    assert stale.status_code == 409 and f"此案件已由 {supervisor.name} 于" in visible(stale)


def test_assigning_the_same_supervisors_changes_nothing(session, make_case, supervisor, store, now):
    case = make_case()
    before = unchanged(session, store)
    assert assign_supervisors(session, case.id, [supervisor.id], actor=supervisor, now=now,
                              expected_version=case.version) is None
    assert unchanged(session, store) == before
    with pytest.raises(ValidationFailed):
        assign_supervisors(session, case.id, [], actor=supervisor, now=now)


# ----------------------------------------------------------------------------------------- the trail

DOTTED = re.compile(r"\b(case|notice)\.[a-z_]+")


def test_the_trail_speaks_chinese(web, session, make_case, supervisor, approver, send_letters, make_user, now):
    from compliance.operations.notices import return_notice, update_draft
    case = make_case(summary="职工186人，未建会。")
    fire_trigger(session, case.id, "record_visit", {**VISIT, "rectification_days": 20}, actor=supervisor, now=now,
                 reason="第一次走访")
    send_letters(case.id, now)
    refuse_after_visit(session, case.id, actor=supervisor, now=now)  # the visit letter's period has not run
    [opinion] = fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=now).notices
    update_draft(session, opinion.id, {"findings": ["职工186人，未建会。"]}, actor=supervisor, now=now)
    return_notice(session, opinion.id, approver=approver, reason="请写明职工人数的来源", now=now)
    assign_supervisors(session, case.id, [supervisor.id, make_user(name="李强").id], actor=supervisor, now=now)
    session.commit()
    res = web.get(f"/cases/{case.id}")
    page = visible(res)
    for words in ("立案", "违法情形：不建会", "案情摘要：职工186人，未建会。", "记录走访宣讲", "走访日期：2026年11月20日",
                  "走访监督员（至少两名）：刘洋（京朝监0231）、赵敏（京朝监0187）", "整改期限（日）：20日",
                  "理由/备注：第一次走访", "生成文书草稿：《工会劳动法律监督宣讲告知书》", "审批通过《工会劳动法律监督宣讲告知书》",
                  "签发《工会劳动法律监督宣讲告知书》", "签发人：王秀英（主任）", "发出监督意见书", "已走访宣讲 → 已发监督意见书",
                  "修改《工会劳动法律监督意见书》", "修改项目：查明的事实", "查明的事实：职工186人，未建会。",
                  "退回修改《工会劳动法律监督意见书》", "退回意见：请写明职工人数的来源", "调整承办监督员", "新增：李强"):
        assert words in page, words
    assert not DOTTED.search(page), DOTTED.search(page).group(0)
    assert "已走访宣讲 → 已走访宣讲" not in page and "已发监督意见书 → 已发监督意见书" not in page
    assert "record_visit" not in page and "no_union" not in page
    # the visit letter's 20 days wait for its service: shown as 待送达, with whose period it is
    assert "待送达" in page and "本会确定的期限" in page


def test_the_deadline_status_and_the_notice_links_fit_a_phone(web, session, make_case, supervisor, send_letters, now):
    case = make_case()
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
    send_letters(case.id, now)
    session.commit()
    page = text(web.get(f"/cases/{case.id}"))
    assert '<td data-label="状态" class="nowrap">' in page
    cell = re.search(r"<td[^>]*>\s*<a href=\"/notices/\d+\.pdf\">PDF</a>", page)
    assert cell and "data-label=" in cell.group(0)
    assert ".nowrap { white-space: nowrap; }" in text(web.get("/static/app.css"))


# ------------------------------------------------------------------------------------------ escaping

def test_an_enterprise_name_is_escaped_on_every_page(web, session, make_enterprise, supervisor, now):
    enterprise = make_enterprise(name=f"北京{XSS}有限公司")
    session.commit()
    pages = [web.get(f"/enterprises/{enterprise.id}/cases/new"),
             web.post("/enterprises/new", data=enterprise_data(enterprise.jurisdiction, uscc=enterprise.uscc))]
    opened = web.post(f"/enterprises/{enterprise.id}/cases/new",
                      data={"violations": ["no_union"], "supervisors": [str(supervisor.id)]}, follow_redirects=True)
    pages.append(opened)
    case = session.scalar(select(Case).where(Case.enterprise_id == enterprise.id))
    pages.append(web.post(f"/cases/{case.id}/steps/record_visit", data=step_data("record_visit", case.version)))
    registered = web.post("/enterprises/new", data=enterprise_data(enterprise.jurisdiction, name=f"另一家{XSS}公司"),
                          follow_redirects=True)
    pages.append(registered)
    for res in pages:
        body = text(res)
        assert XSS not in body and XSS_ESCAPED in body, res.request.path
        assert "<script" not in body and " style=" not in body


# ------------------------------------------------------------------------------------------- the ladder

def test_the_ladder_page_draws_every_state(client, session, make_user):
    admin = make_user(roles={Role.ADMIN})
    session.commit()
    assert client.get("/ladder").status_code == 302          # signed in only
    client.post("/login", data={"login": admin.login, "password": PASSWORD})
    res = client.get("/ladder")
    assert res.status_code == 200
    body = text(res)
    svg = re.search(r"<svg.*?</svg>", body, re.S).group(0)
    for state in State:
        assert f">{state.label}</text>" in svg, state
    for spec in TRIGGERS.values():
        assert spec.label in html.unescape(svg), spec.label
    assert "<script" not in body and " style=" not in body
    assert 'class="diagram"' in body                          # scrolls on a phone


def test_the_ladder_drawing_follows_the_transitions():
    from compliance.web.casework import ladder_diagram
    from workflows.ladder import TRANSITIONS
    diagram = ladder_diagram()
    ys = {n["label"]: n["y"] for n in diagram["nodes"]}
    for transition in TRANSITIONS:
        sources = transition["source"] if isinstance(transition["source"], list) else [transition["source"]]
        if transition["dest"] is None or len(sources) > 1:
            continue
        assert ys[State(transition["dest"]).label] > ys[State(sources[0]).label], transition["trigger"]
    boxes = [(n["x"], n["y"], n["x"] + n["w"], n["y"] + n["h"]) for n in diagram["nodes"]]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)   # no overlaps
