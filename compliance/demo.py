"""Demo data for `make run`: streets, people, enterprises and cases at several rungs of the ladder."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.clock import BEIJING
from compliance.identifiers import uscc_check_char
from compliance.models import Enterprise, Jurisdiction, JurisdictionLevel, Role, User
from compliance.operations.cases import fire_trigger, open_case
from compliance.operations.users import create_user
from compliance.seed import add_jurisdiction, seed_jurisdictions
from compliance.testing import invented_letterhead, serve_issued

DEMO_PASSWORD = "demo-2026!"

#: (district code, street code, street name, issuer code)
STREETS = [
    ("110105", "110105001", "建外街道", "京朝建外工监"), ("110105", "110105010", "呼家楼街道", "京朝呼工监"),
    ("110108", "110108013", "中关村街道", "京海中工监"), ("110108", "110108010", "学院路街道", "京海学工监"),
    ("110101", "110101001", "东华门街道", "京东华工监"), ("110102", "110102007", "金融街街道", "京西金工监"),
    ("110112", "110112004", "北苑街道", "京通北工监"), ("110199", "110199001", "荣华街道", "京开荣工监"),
]

#: (login, name, jurisdiction code, roles, supervisor number)
DEMO_USERS = [
    ("admin", "系统管理员", "110000", {Role.ADMIN}, None),
    ("city.chair", "王建国", "110000", {Role.APPROVER}, None),
    ("city.li", "李明", "110000", {Role.SUPERVISOR}, "京监110001"),
    ("city.zhao", "赵丽", "110000", {Role.SUPERVISOR}, "京监110002"),
    ("chaoyang.chair", "刘红", "110105", {Role.APPROVER}, None),
    ("chaoyang.sun", "孙堃", "110105", {Role.SUPERVISOR}, "京监110501"),
    ("chaoyang.zhou", "周玥", "110105", {Role.SUPERVISOR}, "京监110502"),
    ("jianwai.wu", "吴昇", "110105001", {Role.SUPERVISOR}, "京监1105001"),
    ("haidian.zheng", "郑喆", "110108", {Role.SUPERVISOR, Role.APPROVER}, "京监110801"),
    ("auditor", "审计员", "110000", {Role.AUDITOR}, None),
]


def demo_uscc(region: str, org: str, authority: str = "9", kind: str = "1") -> str:
    """A USCC with a correct check character (made up: organisation codes are not real companies')."""
    first17 = f"{authority}{kind}{region}{org}"
    return first17 + uscc_check_char(first17)


#: (jurisdiction code, name, org code, employees, members, has union, monthly payroll, industry, legal rep)
ENTERPRISES = [
    ("110105001", "北京堃昇科技有限公司", "MA01A1B2C", 120, 0, False, "1860000.00", "软件和信息技术服务业", "陈堃"),
    ("110105001", "北京玥喆餐饮管理有限公司", "MA02D3E4F", 86, 40, True, "702000.00", "餐饮业", "林玥"),
    ("110105010", "北京呼家楼物业服务有限公司", "MA03G5H6J", 45, 30, True, "315000.00", "物业管理", "高峰"),
    ("110105", "北京朝阳国际物流有限公司", "MA04K7L8M", 310, 0, False, "3410000.00", "道路货物运输", "马强"),
    ("110108013", "北京中关村智算科技有限公司", "MA05N9P0Q", 260, 120, True, "5200000.00", "软件和信息技术服务业", "赵昊"),
    ("110108010", "北京学院路教育咨询有限公司", "MA06R1T2U", 38, 0, False, "228000.00", "教育咨询", "钱芳"),
    ("110101001", "北京东华门老字号餐饮有限公司", "MA07W3X4Y", 64, 50, True, "416000.00", "餐饮业", "孙立"),
    ("110102007", "北京金融街资产管理有限公司", "MA08A5B6C", 150, 90, True, "6750000.00", "资本市场服务", "周敏"),
    ("110112004", "北京通州副中心建设工程有限公司", "MA09D7E8F", 540, 0, False, "4860000.00", "土木工程建筑业", "吴刚"),
    ("110199001", "北京亦庄精密制造有限公司", "MA0AG9H0J", 420, 200, True, "3780000.00", "通用设备制造业", "郑伟"),
]


def _at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=BEIJING).astimezone(dt.timezone.utc)


def load_demo(session: Session, store) -> str | None:
    """Load the demo set once; return a summary, or None when it is already there (no-op)."""
    if session.scalar(select(User.id).where(User.login == "admin")) is not None:
        return None
    seed_jurisdictions(session)
    by_code = {j.code: j for j in session.scalars(select(Jurisdiction))}
    for district, code, name, issuer in STREETS:
        parent = by_code[district]
        by_code[code] = add_jurisdiction(session, code=code, name=name, level=JurisdictionLevel.STREET,
                                         parent=parent, federation_name=f"{parent.name}{name}总工会",
                                         issuer_code=issuer)
    session.flush()
    for j in by_code.values():
        j.letterhead = invented_letterhead(j)
    users = {}
    for login, name, code, roles, number in DEMO_USERS:
        users[login] = create_user(session, login=login, name=name, password=DEMO_PASSWORD,
                                   jurisdiction=by_code[code], roles=roles, supervisor_number=number,
                                   email=f"{login}@example.org")
    enterprises = []
    for code, name, org, employees, members, has_union, payroll, industry, rep in ENTERPRISES:
        e = Enterprise(uscc=demo_uscc(code[:6], org), name=name, address=f"北京市{by_code[code[:6]].name}{name[2:5]}路1号",
                       jurisdiction=by_code[code], industry=industry, ownership_type="有限责任公司",
                       employee_count=employees, member_count=members, has_union=has_union,
                       monthly_payroll=Decimal(payroll), established_on=dt.date(2015, 3, 1),
                       legal_representative=rep, contact_name=rep, contact_phone="010-8888 0000")
        session.add(e)
        enterprises.append(e)
    session.flush()
    cases, issued = _demo_cases(session, enterprises, users, store)
    return (f"辖区 {len(STREETS)} 个街道、用户 {len(users)} 名、企业 {len(enterprises)} 家、案件 {cases} 件、"
            f"已签发文书 {issued} 份")


def _send(session: Session, case, approver: User, issuer: User, day: str, store) -> int:
    """The chair approves and the office issues every draft of the case that day (the letters go out)."""
    from compliance.models import Notice
    from compliance.operations.notices import approve_notice, issue_notice
    drafts = session.scalars(select(Notice).where(Notice.case_id == case.id, Notice.status == "draft")
                             .order_by(Notice.id)).all()
    for notice in drafts:
        approve_notice(session, notice.id, approver=approver, now=_at(day, 15))
        issue_notice(session, notice.id, actor=issuer, now=_at(day, 16), store=store)
    return len(drafts)


def _funds(session: Session, case, actor: User, help_started_on: str, day: str) -> None:
    """The unit has no union: funds are owed from the day the higher union started helping its workers prepare one
    (BJM 55(3)), so the demo's arrears start in that month, not at an arbitrary six months back."""
    from compliance.operations.funds import record_funds_facts
    record_funds_facts(session, case.id, actor=actor, now=_at(day, 11), has_union=False,
                       union_help_started_on=help_started_on)


def _demo_cases(session: Session, enterprises: list[Enterprise], users: dict[str, User], store) -> tuple[int, int]:
    sun, zhou, wu, li, zhao = (users[k] for k in ("chaoyang.sun", "chaoyang.zhou", "jianwai.wu", "city.li", "city.zhao"))
    cy_chair, city_chair = users["chaoyang.chair"], users["city.chair"]
    pair = [sun.name + "（" + sun.supervisor_number + "）", zhou.name + "（" + zhou.supervisor_number + "）"]
    issued = 0

    def serve(case, day, by, method="direct"):
        """The letters issued for the case were served on `day` (the 送达回证 signed by the enterprise)."""
        serve_issued(session, case.id, actor=by, served_on=dt.date.fromisoformat(day), now=_at(day, 17),
                     method=method)

    def visit(case, day, findings):
        fire_trigger(session, case.id, "record_visit", {"visited_on": day, "findings": findings, "supervisors": pair},
                     actor=sun, now=_at(day))

    # 1. Registered only.
    zheng = users["haidian.zheng"]
    open_case(session, enterprise=enterprises[5], violations=["no_union"], opened_by=zheng,
              supervisors=[zheng], now=_at("2026-11-20"), summary="职工38人，未建立工会，职工反映有建会意愿。")
    # 2. Visited, rectification period running: the visit notice went out and was served (the 30 days run from
    #    its receipt on Thu 5 Nov: to Sat 5 Dec, a rest day, so Mon 7 Dec).
    c = open_case(session, enterprise=enterprises[0], violations=["no_union", "unpaid_funds"], opened_by=wu,
                  supervisors=[wu, sun], now=_at("2026-10-26"), summary="职工120人，未建会，未缴纳工会经费。")
    _funds(session, c, wu, "2026-01-05", "2026-10-26")
    visit(c, "2026-11-03", "企业职工120人，尚未建立工会；2026年以来未缴纳工会经费。已宣讲《工会法》第十一条、第四十三条。")
    issued += _send(session, c, cy_chair, sun, "2026-11-03", store)
    serve(c, "2026-11-05", sun)
    # 3. Opinion issued, reply period running; the obstruction of organising is on file (BJM 64).
    c = open_case(session, enterprise=enterprises[3], violations=["no_union"], opened_by=sun,
                  supervisors=[sun, zhou], now=_at("2026-09-01"), summary="职工310人，拒不组建工会。")
    visit(c, "2026-09-08", "企业负责人表示暂无组建工会计划。")
    issued += _send(session, c, cy_chair, sun, "2026-09-08", store)
    serve(c, "2026-09-09", sun)   # 30 days: Fri 9 Oct
    fire_trigger(session, c.id, "record_obstruction",
                 {"observed_on": "2026-10-12", "facts": "企业负责人拒绝区总工会派员进入厂区指导职工筹建工会，并将两名筹建骨干调离原岗位。",
                  "evidence_ref": "2026年10月12日谈话记录"}, actor=sun, now=_at("2026-10-13"))
    fire_trigger(session, c.id, "issue_opinion", {}, actor=sun, now=_at("2026-11-16"))
    issued += _send(session, c, cy_chair, sun, "2026-11-16", store)
    serve(c, "2026-11-18", sun, method="mail")   # 15 working days from Wed 18 Nov: Wed 9 Dec
    # 4. Unpaid funds climbing to the payment demand, whose letters wait for approval.
    c = open_case(session, enterprise=enterprises[8], violations=["unpaid_funds"], opened_by=li,
                  supervisors=[li, zhao], now=_at("2026-06-01"), summary="连续十个月未缴纳工会经费。")
    _funds(session, c, li, "2025-11-10", "2026-06-01")
    fire_trigger(session, c.id, "record_visit", {"visited_on": "2026-06-10", "findings": "企业承认欠缴工会经费。",
                                                 "supervisors": [li.name, zhao.name]}, actor=li, now=_at("2026-06-10"))
    issued += _send(session, c, city_chair, li, "2026-06-10", store)
    serve(c, "2026-06-12", li)    # 30 days: Sun 12 Jul, so Mon 13 Jul
    fire_trigger(session, c.id, "issue_opinion", {}, actor=li, now=_at("2026-07-20"))
    issued += _send(session, c, city_chair, li, "2026-07-20", store)
    serve(c, "2026-07-21", li)    # 15 working days: Tue 11 Aug
    fire_trigger(session, c.id, "issue_recommendation", {}, actor=li, now=_at("2026-08-20"))
    issued += _send(session, c, city_chair, li, "2026-08-20", store)
    fire_trigger(session, c.id, "record_decision",
                 {"decided_on": "2026-09-01", "authority": "北京市通州区人力资源和社会保障局",
                  "content": "已立案调查，责令企业限期补缴工会经费", "reference": "通人社监〔2026〕41号"},
                 actor=li, now=_at("2026-09-10"))
    fire_trigger(session, c.id, "demand_payment", {}, actor=li, now=_at("2026-09-15"))
    # 5. Rectified: the collective contract was signed after the written bargaining request was answered.
    c = open_case(session, enterprise=enterprises[2], violations=["no_bargaining"], opened_by=sun,
                  supervisors=[sun, zhou], now=_at("2026-05-11"), summary="企业拒绝职工方提出的集体协商要约。")
    visit(c, "2026-05-20", "企业负责人同意启动集体协商。")
    issued += _send(session, c, cy_chair, sun, "2026-05-20", store)
    fire_trigger(session, c.id, "record_bargaining_request",
                 {"sent_on": "2026-05-21", "received_on": "2026-05-22", "summary": "工会书面提出就劳动报酬签订集体合同"},
                 actor=sun, now=_at("2026-05-22"))
    fire_trigger(session, c.id, "record_bargaining_answer",
                 {"answered_on": "2026-06-05", "summary": "企业书面答复同意于6月下旬开始协商"}, actor=sun, now=_at("2026-06-05"))
    fire_trigger(session, c.id, "rectify", {"action_taken": "已签订集体合同并报人社部门审查",
                                            "rectified_on": "2026-07-01", "attachment_ref": "集体合同备案回执.pdf"},
                 actor=sun, now=_at("2026-07-02"))
    issued += _send(session, c, cy_chair, sun, "2026-07-02", store)
    # 6. Refused bargaining ordered to correct by the district government (BJM 66): the order's 30 days have
    #    lapsed, so a listing may now be requested.
    c = open_case(session, enterprise=enterprises[1], violations=["no_bargaining"], opened_by=sun,
                  supervisors=[sun, zhou], now=_at("2026-04-01"), summary="企业对工会的集体协商要求不予答复。")
    visit(c, "2026-04-08", "企业未答复工会提出的集体协商要求，已宣讲《北京市集体合同条例》第三十二条。")
    issued += _send(session, c, cy_chair, sun, "2026-04-08", store)
    serve(c, "2026-04-09", sun)   # 30 days: Sat 9 May, a make-up working day
    fire_trigger(session, c.id, "record_bargaining_request",
                 {"sent_on": "2026-04-10", "received_on": "2026-04-13", "summary": "工会书面提出集体协商要求"},
                 actor=sun, now=_at("2026-04-13"))   # 20 days: Sun 3 May, a holiday, so Wed 6 May; never answered
    fire_trigger(session, c.id, "issue_opinion", {}, actor=sun, now=_at("2026-05-11"))
    issued += _send(session, c, cy_chair, sun, "2026-05-11", store)
    serve(c, "2026-05-12", sun)   # 15 working days: Tue 2 Jun
    fire_trigger(session, c.id, "issue_recommendation", {}, actor=sun, now=_at("2026-06-03"))
    issued += _send(session, c, cy_chair, sun, "2026-06-03", store)
    fire_trigger(session, c.id, "record_decision",
                 {"decided_on": "2026-06-10", "authority": "北京市朝阳区人民政府", "content": "决定责令企业改正，限期开展集体协商"},
                 actor=sun, now=_at("2026-06-15"))
    fire_trigger(session, c.id, "record_correction_order",
                 {"ordered_on": "2026-06-10", "authority": "北京市朝阳区人民政府", "reference": "朝政责改〔2026〕5号",
                  "correction_days": "30"}, actor=sun, now=_at("2026-06-15"))
    return 6, issued
