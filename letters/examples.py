"""Realistic, complete snapshots of facts for each notice type (tests, benchmarks, demo).

All names, codes and figures are invented; the USCC check characters are valid.
"""

from __future__ import annotations

import copy

ISSUER = {
    'name': '北京市朝阳区总工会劳动法律监督委员会',
    'code': '京朝工监',
    'mark': '北京市朝阳区总工会劳动法律监督委员会',
    'address': '北京市朝阳区朝阳北路101号',
    'contact': '王磊，010-65001234',
}
ENTERPRISE = {
    'name': '北京京华智造科技有限公司',
    'uscc': '91110105MA01R8QX3C',
    'address': '北京市朝阳区酒仙桥路10号院3号楼5层',
    'legal_representative': '陈建国',
}
HRSS = '北京市朝阳区人力资源和社会保障局'
SAMR = '北京市朝阳区市场监督管理局'
TAX = '国家税务总局北京市朝阳区税务局'
COURT = '北京市朝阳区人民法院'

COMMON = {
    'issuer': ISSUER,
    'addressee': {'name': ENTERPRISE['name']},
    'enterprise': ENTERPRISE,
    'case': {
        'reference': '朝监案〔2026〕318号',
        'violations': ['不建会', '不缴费'],
        'opened_on': '2026-08-03',
    },
    'issued_on': '2026-11-24',
    'signatory': {'name': '张国栋', 'title': '主任'},
    'cc': ['北京市总工会劳动法律监督委员会'],
    'printed_by': '北京市朝阳区总工会办公室',
    'printed_on': '2026-11-24',
}

VISIT = {
    'visited_on': '2026-09-16',
    'supervisors': ['刘洋（劳动法律监督员证号：京朝监0231）', '赵敏（劳动法律监督员证号：京朝监0187）'],
    'place': '北京市朝阳区酒仙桥路10号院3号楼5层企业会议室',
    'met': '人力资源部经理孙莉',
}

ARREARS = {
    'computed_on': '2026-11-20',
    'months': [
        {'month': '2026-01', 'payroll': '1286400.00'},
        {'month': '2026-02', 'payroll': '1279850.50'},
        {'month': '2026-03', 'payroll': '1302716.35'},
        {'month': '2026-04', 'payroll': '1311020.00', 'paid': '10000.00'},
        {'month': '2026-05', 'payroll': '1298540.80'},
        {'month': '2026-06', 'payroll': '1324007.15'},
    ],
}

FINDINGS = [
    '你单位现有职工186人，其中有入会意愿的职工42人，已达到应当建立基层工会委员会的条件，但至今未建立工会。',
    '自2026年1月起未按月向工会拨缴经费。',
]
#: The same facts as a letter to an authority states them: of the enterprise, never to it (该单位, not 你单位).
THIRD_PARTY_FINDINGS = [f.replace('你单位', '该单位') for f in FINDINGS]

PER_TYPE = {
    'visit': {
        'visit': VISIT,
        'findings': FINDINGS,
        'rectification_due': '2026-12-31',
    },
    'opinion': {
        'case': {**COMMON['case'], 'violations': ['不建会']},
        'visit': VISIT,
        'findings': ['你单位现有职工186人，已达到应当建立基层工会委员会的条件，但至今未建立工会。'],
        'rectification_due': '2026-12-31',
        'reply_due': '2026-12-09',
    },
    'recommendation': {
        'addressee': {'name': HRSS},
        'findings': THIRD_PARTY_FINDINGS,
        'opinion_ref': {'number': '京朝工监意〔2026〕12号', 'issued_on': '2026-10-09'},
        'enterprise_response': '该单位逾期未作书面答复，亦未进行整改',
        'requests': [
            '依法责令该单位限期改正，支持职工依法组建工会；',
            '对该单位欠缴工会经费的问题依法予以处理；',
            '自作出处理决定之日起15个工作日内将处理结果书面告知本会。',
        ],
        'attachments': ['工会劳动法律监督意见书及送达回证', '走访记录', '职工建会意愿书（复印件）'],
    },
    'payment_demand': {
        'case': {**COMMON['case'], 'violations': ['不缴费']},
        # the demand is made in the union's name (BJM 57)
        'union': {'name': '北京市朝阳区总工会'},
        'arrears': ARREARS,
        'payment_due': '2026-12-09',
        'bank': {'account_name': '北京市朝阳区总工会', 'bank': '中国工商银行北京朝阳支行',
                 'account_no': '0200 0034 0902 4567 891'},
    },
    'tax_referral': {
        'addressee': {'name': TAX},
        'case': {**COMMON['case'], 'violations': ['不缴费']},
        'arrears': ARREARS,
        'demand_ref': {'number': '京朝工监催〔2026〕7号', 'issued_on': '2026-10-12'},
        'attachments': ['工会经费催缴通知书及送达回证', '欠缴工会经费及滞纳金计算表'],
    },
    'payment_order': {
        'addressee': {'name': COURT},
        'case': {**COMMON['case'], 'violations': ['不缴费']},
        'applicant': {'name': '北京市朝阳区总工会', 'address': ISSUER['address'],
                      'representative': '李卫东', 'representative_title': '主席',
                      'phone': '010-65001200'},
        'arrears': ARREARS,
        'demand_ref': {'number': '京朝工监催〔2026〕7号', 'issued_on': '2026-10-12'},
        'evidence': ['工会经费催缴通知书及送达回证', '被申请人2026年1月至6月工资总额统计资料',
                     '欠缴工会经费及滞纳金计算表', '被申请人营业执照信息'],
    },
    'listing_request': {
        'addressee': {'name': f'{HRSS}、{SAMR}'},
        'case': {**COMMON['case'], 'violations': ['不建会']},
        'findings': THIRD_PARTY_FINDINGS[:1],
        'opinion_ref': {'number': '京朝工监意〔2026〕12号', 'issued_on': '2026-10-09'},
        'order_ref': {'authority': HRSS, 'number': '京朝人社监责字〔2026〕88号',
                      'issued_on': '2026-10-28', 'due': '2026-11-18'},
        'refusal': '截至2026年11月20日，该单位仍拒不改正',
        'attachments': ['工会劳动法律监督意见书', '责令改正决定书（复印件）', '走访记录'],
    },
    'credit_repair': {
        'listing': {'authority': HRSS, 'listed_on': '2026-03-02',
                    'reference': '京朝人社诚信〔2026〕15号'},
        'rectified_on': '2026-09-01',
        'rectification': ['2026年8月25日召开工会会员大会，选举产生工会委员会，并经上级工会批准',
                          '2026年9月1日补缴2026年1月至7月工会经费及滞纳金'],
        'repair': {'earliest_on': '2027-03-01', 'wait': '6个月'},
    },
    'rectification_closing': {
        'rectified_on': '2026-12-18',
        'rectification': ['已于2026年12月10日召开工会会员大会，选举产生基层工会委员会，并经上级工会批准',
                          '已于2026年12月18日足额补缴2026年1月至6月工会经费及滞纳金'],
        'evidence': ['工会成立批复', '工会经费缴款凭证'],
    },
    'withdrawal': {
        'original': {'number': '京朝工监意〔2026〕12号', 'title': '工会劳动法律监督意见书',
                     'issued_on': '2026-10-09'},
        'reason': '经核实，该文书所载企业统一社会信用代码有误',
    },
}


def example_facts(key: str) -> dict:
    """A realistic complete snapshot for the notice type ``key`` (a fresh copy)."""
    if key not in PER_TYPE:
        raise ValueError(f'unknown notice type {key!r}')
    facts = copy.deepcopy(COMMON)
    facts.update(copy.deepcopy(PER_TYPE[key]))
    return facts
