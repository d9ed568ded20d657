"""Citations printed on notices. Article numbers checked against the full texts:
《中华人民共和国工会法》(2021-12-24 修正), 《北京市实施〈中华人民共和国工会法〉办法》(2015-11-27 修订),
《中华人民共和国民事诉讼法》(2023-09-01 修正)."""

TU_LAW = '《中华人民共和国工会法》'
BJ_MEASURES = '《北京市实施〈中华人民共和国工会法〉办法》'
CPL = '《中华人民共和国民事诉讼法》'

#: violation label (DOMAIN.md §2) → what the notice says and which articles it cites
VIOLATIONS = {
    '不建会': {
        'description': '职工人数已达到法定建会条件，但未依法建立基层工会委员会',
        'basis': (
            f'{TU_LAW}第十一条第一款规定，用人单位有会员二十五人以上的，应当建立基层工会委员会；'
            '第十二条第二款规定，上级工会可以派员帮助和指导企业职工组建工会，任何单位和个人不得阻挠。',
            f'{BJ_MEASURES}第九条第一款规定，企业、事业单位、机关以及其他组织有会员25人以上的，'
            '应当建立基层工会委员会；第十一条第三款规定，企业、事业单位以及其他组织开业或者成立6个月'
            '尚未组建工会，职工有建会意愿的，上级工会应当派员帮助和指导职工组建工会。',
        ),
        'cite': f'{TU_LAW}第十一条和{BJ_MEASURES}第九条',
        'requirement': '依法支持职工组建工会',
    },
    '不协商': {
        'description': '对工会或者职工一方提出的集体协商要求拒绝或者拖延，未依法开展平等协商、签订集体合同',
        'basis': (
            f'{TU_LAW}第二十一条第二款规定，工会代表职工与企业进行平等协商，依法签订集体合同。',
            f'{BJ_MEASURES}第二十四条规定，企业、事业单位以及其他组织应当与工会或者职工协商代表建立平等'
            '协商机制，一方提出协商要求的，另一方不得以任何理由拒绝或者拖延；第六十六条规定，拒绝或者'
            '拖延进行平等协商，经责令改正拒不改正的，由人力资源社会保障部门纳入劳动保障守法诚信档案，'
            '由市场监督管理部门纳入企业信用信息公示系统。',
        ),
        'cite': f'{TU_LAW}第二十一条和{BJ_MEASURES}第二十四条',
        'requirement': '依法回应集体协商要求，开展平等协商并签订集体合同',
    },
    '不缴费': {
        'description': '未按照全部职工工资总额的2%按月向工会拨缴经费',
        'basis': (
            f'{TU_LAW}第四十三条第一款第二项规定，建立工会组织的用人单位按每月全部职工工资总额的'
            '百分之二向工会拨缴经费；第四十四条规定，无正当理由拖延或者拒不拨缴工会经费的，基层工会或者'
            '上级工会可以向当地人民法院申请支付令。',
            f'{BJ_MEASURES}第五十五条第二款规定，应当于每月15日前，按照全部职工上月工资总额的2%向工会'
            '拨缴经费；逾期未缴或者少缴的，应当及时补缴，并按照欠缴金额日5‰缴纳滞纳金。',
        ),
        'cite': f'{TU_LAW}第四十三条和{BJ_MEASURES}第五十五条',
        'requirement': '足额补缴欠缴的工会经费及滞纳金，并按月依法拨缴',
    },
}

ART_21 = (f'{BJ_MEASURES}第二十一条第一款规定，企业违反劳动法律、法规的，工会劳动法律监督员应当以书面'
          '形式提出意见和建议；拒不改正的，可以提请人力资源社会保障部门依法作出处理。')
ART_28 = (f'{BJ_MEASURES}第二十八条规定，用人单位应当予以研究处理，并在15日内向工会作出书面答复；'
          '人力资源社会保障部门接到工会书面处理建议，应当依法作出处理，并自作出处理决定之日起15个'
          '工作日内将处理结果书面告知工会。')
ART_57 = (f'{BJ_MEASURES}第五十七条规定，少缴、拖延或者拒不拨缴工会经费的，基层工会或者上级工会应当会同'
          '有关部门按照本市规定进行催缴；经催缴仍不缴纳的，可以向人民法院申请支付令。')
ART_63 = (f'{BJ_MEASURES}第六十三条规定，工会对违反本办法规定侵犯其合法权益的，有权提请本市各级人民政府'
          '或者有关部门予以处理；有关部门应当依法作出处理，并自作出处理决定之日起15个工作日内将处理'
          '结果书面告知工会。')
ART_64 = (f'{BJ_MEASURES}第六十四条规定，阻挠、限制职工参加和组织工会，或者阻挠上级工会派员帮助和指导'
          '职工组建工会，经责令限期改正拒不改正的，由人力资源社会保障部门纳入劳动保障守法诚信档案，'
          '由工商行政管理部门（现市场监督管理部门）纳入企业信用信息公示系统。')
ART_66 = VIOLATIONS['不协商']['basis'][1]
PAYMENT_ORDER = (f'{CPL}第二百二十五条、第二百二十七条规定，债权人请求债务人给付金钱，债权人与债务人没有'
                 '其他债务纠纷且支付令能够送达债务人的，可以向有管辖权的基层人民法院申请支付令；债务人'
                 '应当自收到支付令之日起十五日内清偿债务，或者向人民法院提出书面异议。')


def violation_views(labels, legal_basis=None):
    """Descriptions, requirements and citations for the case's violation labels."""
    views, basis = [], []
    for label in labels or ():
        known = VIOLATIONS.get(label)
        views.append({
            'label': label,
            'description': known['description'] if known else label,
            'requirement': known['requirement'] if known else '',
            'cite': known['cite'] if known else '',
        })
        for text in (known['basis'] if known else ()):
            if text not in basis:
                basis.append(text)
    return views, list(legal_basis) if legal_basis else basis
