"""The law the service applies, as data: the texts (with their revision), the provisions it cites, verbatim
quotations from them, and the periods they set.

Pure data and string building (no Flask, no database, no clock). Every citation a notice prints, every
quotation and every legal period is defined here and nowhere else, so a new revision of a text (the Beijing
Measures had a revised draft's first reading in November 2025) is one edit in one file. The full texts are in
``docs/law/`` (``Text.file``); ``tests/workflows/test_law.py`` checks every quotation against them, word for
word, at the article, paragraph and item its citation names. ``docs/law.md`` explains each rule in prose.

API (all names below are stable)::

    TEXTS['bjm'].cited                  -> '《北京市实施〈中华人民共和国工会法〉办法》'
    PROVISIONS['bjm.57'].citation       -> '《北京市实施〈中华人民共和国工会法〉办法》第五十七条'
    cite('tul.44', 'bjm.55.2', 'bjm.57') -> '《中华人民共和国工会法》第四十四条、《北京市…办法》第五十五条第二款、第五十七条'
    quote('bjm.57')                     -> '《…办法》第五十七条规定：“企业、事业单位……强制执行。”'
    PERIODS['court_objection'].legal_basis -> '《中华人民共和国民事诉讼法》第二百二十七条第二款'

Provision keys are ``<text>.<article>[.<paragraph>[.<item>]]`` with Arabic numbers (``bjm.66.1.2`` is Art 66,
paragraph 1, item (2)). A quotation is one or more verbatim fragments of that provision; fragments that are not
contiguous print joined by “……”.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = ['TEXTS', 'PROVISIONS', 'PERIODS', 'Text', 'Provision', 'Period', 'cite', 'quote', 'cn_number',
           'COUNTING_RULE']


def cn_number(number: int) -> str:
    """1 → 一, 10 → 十, 21 → 二十一, 105 → 一百零五, 225 → 二百二十五 (article numbers as laws write them)."""
    digits = '零一二三四五六七八九'
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 1000:
        raise ValueError(f'article number out of range: {number!r}')
    hundreds, rest = divmod(number, 100)
    tens, ones = divmod(rest, 10)
    out = ''
    if hundreds:
        out += digits[hundreds] + '百'
        if rest and tens == 0:
            out += '零'
    if tens:
        out += ('' if tens == 1 and not hundreds else digits[tens]) + '十'
    if ones:
        out += digits[ones]
    return out


@dataclass(frozen=True)
class Text:
    """One legal text in the revision the service applies."""

    key: str
    title: str          #: as published, e.g. 北京市实施《中华人民共和国工会法》办法
    revision: str       #: the revision applied, e.g. 2015年11月27日修订
    in_force: str       #: ISO date it (this revision) took effect, '' when not recorded
    file: str           #: the full text in docs/law/ ('' for a text only cited, never quoted)
    note: str = ''      #: what a reader should know about its status

    @property
    def cited(self) -> str:
        """The title in book-title marks, inner marks turned to 〈〉: 《北京市实施〈中华人民共和国工会法〉办法》."""
        return '《' + self.title.replace('《', '〈').replace('》', '〉') + '》'


@dataclass(frozen=True)
class Provision:
    """An article (paragraph, item) of a text and the words the service quotes from it."""

    key: str
    text: Text
    article: int
    paragraph: int | None = None
    item: int | None = None
    #: verbatim fragments of the provision (after removing whitespace), in order
    fragments: tuple[str, ...] = ()
    #: what the provision is for, in the service's words (docs/law.md; never printed as the law's words)
    purpose: str = ''

    @property
    def ref(self) -> str:
        """第五十五条第二款 / 第六十六条第一款第二项 (without the text's title)."""
        out = f'第{cn_number(self.article)}条'
        if self.paragraph:
            out += f'第{cn_number(self.paragraph)}款'
        if self.item:
            out += f'第{cn_number(self.item)}项'
        return out

    @property
    def citation(self) -> str:
        return self.text.cited + self.ref

    @property
    def words(self) -> str:
        """The quotation as printed between the quotation marks."""
        return '……'.join(self.fragments)

    def quoted(self, with_title: bool = True) -> str:
        """X规定：“…”, closed with 。 after the mark when the quotation does not end a sentence itself."""
        if not self.fragments:
            raise ValueError(f'{self.key}: cited only, no quotation (its text is not in docs/law/)')
        head = self.citation if with_title else self.ref
        words = self.words
        end = '' if words.endswith(('。', '！', '？')) else '。'
        return f'{head}规定：“{words}”{end}'


@dataclass(frozen=True)
class Period:
    """A time limit the law sets: how long, how counted, from what, and where it is written."""

    key: str
    label: str
    length: int
    unit: str            #: 日 | 工作日 | 月 | 年
    counting: str        #: natural_days | working_days | months | years (workflows.deadlines.Counting values)
    starts: str          #: the event the period runs from, e.g. 自收到支付令之日起
    provisions: tuple[str, ...] = field(default=())

    @property
    def legal_basis(self) -> str:
        return cite(*self.provisions)

    @property
    def wording(self) -> str:
        """自收到支付令之日起15日内."""
        return f'{self.starts}{self.length}{self.unit}内'


# ------------------------------------------------------------------------------------------------------------
# The texts

_TEXTS = (
    Text('tul', '中华人民共和国工会法', '2021年12月24日第三次修正', '2022-01-01', 'trade-union-law-2021.md'),
    Text('bjm', '北京市实施《中华人民共和国工会法》办法', '2015年11月27日修订', '2016-01-01',
         'beijing-measures-2015.md',
         '新的修订草案已于2025年11月提请北京市人大常委会第一次审议；修订通过后，本模块的条文须逐条核对。'),
    Text('cpl', '中华人民共和国民事诉讼法', '2023年9月1日第五次修正', '2024-01-01',
         'civil-procedure-law-2023-excerpt.md',
         '2024年1月1日以前的督促程序条文为第二百二十一条至第二百二十四条。'),
    Text('spc', '最高人民法院关于在民事审判工作中适用《中华人民共和国工会法》若干问题的解释',
         '2020年12月23日修正', '2021-01-01', 'spc-interpretation-trade-union-law-2020.md',
         '解释所称“工会法第四十三条”，即2021年修正后的《中华人民共和国工会法》第四十四条。'),
    Text('bjcc', '北京市集体合同条例', '2005年7月22日通过', '', 'beijing-collective-contract-regulation.md'),
    Text('lsir', '劳动保障监察条例', '2004年11月1日公布', '2004-12-01', 'labour-security-inspection-regulation-2004.md'),
    Text('zjs', '浙江省工会劳动法律监督条例', '2016年9月29日通过', '',
         'zhejiang-union-labour-law-supervision-regulation-2016.md', '浙江省地方性法规，不是北京市的法律规定，仅作参照。'),
    # Cited only (its text is not in docs/law/, so nothing of it is quoted).
    Text('civil', '中华人民共和国民法典', '2020年5月28日通过', '2021-01-01', ''),
)
TEXTS: Mapping[str, Text] = MappingProxyType({t.key: t for t in _TEXTS})


def _p(key: str, *fragments: str, purpose: str = '') -> Provision:
    text_key, *numbers = key.split('.')
    article, paragraph, item = (list(map(int, numbers)) + [None, None])[:3]
    return Provision(key, TEXTS[text_key], article, paragraph, item, tuple(fragments), purpose)


# ------------------------------------------------------------------------------------------------------------
# The provisions (quotations copied from docs/law/*.md; whitespace inside a quotation is not allowed)

_PROVISIONS = (
    # 中华人民共和国工会法 (2021)
    _p('tul.11.1', '用人单位有会员二十五人以上的，应当建立基层工会委员会',
       purpose='有会员二十五人以上的用人单位应当建立基层工会委员会（不建会）'),
    _p('tul.12.2', '上级工会可以派员帮助和指导企业职工组建工会，任何单位和个人不得阻挠。',
       purpose='上级工会派员帮助指导组建工会，不得阻挠'),
    _p('tul.21.2', '工会代表职工与企业、实行企业化管理的事业单位、社会组织进行平等协商，依法签订集体合同。',
       purpose='平等协商、签订集体合同（不协商）'),
    _p('tul.43.1.2', '工会经费的来源：', '（二）建立工会组织的用人单位按每月全部职工工资总额的百分之二向工会拨缴的经费',
       purpose='拨缴经费为全部职工工资总额的百分之二（不缴费）'),
    _p('tul.44', '企业、事业单位、社会组织无正当理由拖延或者拒不拨缴工会经费，基层工会或者上级工会可以向当地人民法院'
       '申请支付令；拒不执行支付令的，工会可以依法申请人民法院强制执行。',
       purpose='拖欠经费的，工会可以向当地人民法院申请支付令'),
    _p('tul.51', '违反本法第三条、第十二条规定，阻挠职工依法参加和组织工会或者阻挠上级工会帮助、指导职工筹建工会的，'
       '由劳动行政部门责令其改正；拒不改正的，由劳动行政部门提请县级以上人民政府处理',
       purpose='阻挠组建工会的，由劳动行政部门责令改正'),
    _p('tul.54.1.4', '违反本法规定，有下列情形之一的，由县级以上人民政府责令改正，依法处理：', '（四）无正当理由拒绝进行平等协商的。',
       purpose='无正当理由拒绝平等协商的，由县级以上人民政府责令改正'),
    # 北京市实施《中华人民共和国工会法》办法 (2015)
    _p('bjm.2.3', '任何组织和个人不得以职工户籍、就业期限、就业形式等为由，以解除劳动合同、降低工资、不缴纳社会保险费等手段，'
       '阻挠和限制职工参加和组织工会；不得对参加和组织工会的职工进行打击报复。',
       purpose='不得阻挠、限制职工参加和组织工会'),
    _p('bjm.9.1', '企业、事业单位、机关以及其他组织有会员25人以上的，应当建立基层工会委员会',
       purpose='有会员25人以上的应当建立基层工会委员会（不建会）'),
    _p('bjm.11.2', '上级工会可以派员帮助和指导企业、事业单位以及其他组织的职工组建工会，任何组织和个人不得阻挠。',
       purpose='上级工会派员帮助指导组建工会，不得阻挠'),
    _p('bjm.11.3', '企业、事业单位以及其他组织开业或者成立6个月尚未组建工会，职工有建会意愿的，上级工会应当派员帮助和指导'
       '职工组建工会。',
       purpose='开业或者成立6个月未建会、职工有意愿的，上级工会应当派员帮助指导'),
    _p('bjm.21', '企业违反劳动法律、法规的，工会劳动法律监督员应当以书面形式提出意见和建议；拒不改正的，可以提请人力资源'
       '社会保障部门依法作出处理。',
       purpose='监督员以书面形式提出意见和建议（意见书）；拒不改正的提请人力资源社会保障部门处理（建议书）'),
    _p('bjm.24', '一方提出协商要求的，另一方不得以任何理由拒绝或者拖延。',
       purpose='一方提出协商要求的，另一方不得拒绝或者拖延（不协商）'),
    _p('bjm.28.1', '有下列侵犯职工劳动权益情形之一的，工会应当代表职工与其交涉，要求停止侵害，采取措施予以改正；'
       '单位应当予以研究处理，并在15日内向工会作出书面答复',
       purpose='所列侵犯职工劳动权益情形，单位15日内书面答复（所列情形不含不建会、不协商、不缴费）'),
    _p('bjm.28.2', '人力资源社会保障部门、安全生产监督管理部门和卫生计生行政部门接到工会书面处理建议，应当依法作出处理，'
       '并自作出处理决定之日起15个工作日内将处理结果书面告知工会。',
       purpose='有关部门自作出处理决定之日起15个工作日内书面告知工会（第一款所列侵权情形）'),
    _p('bjm.55.2', '建立工会组织的企业、事业单位、机关以及其他组织，应当于每月15日前，按照全部职工上月工资总额的2%向工会'
       '拨缴经费。逾期未缴或者少缴的，应当及时补缴，并按照欠缴金额日5‰缴纳滞纳金。',
       purpose='每月15日前按上月工资总额的2%拨缴，逾期按日5‰缴纳滞纳金（不缴费）'),
    _p('bjm.55.3', '未建立工会的企业、事业单位以及其他组织，职工有组建工会意愿的，自上级工会帮助和指导职工筹备组建工会之日起，'
       '拨缴经费用于组建工会和服务职工。',
       purpose='未建会单位自上级工会帮助筹建之日起拨缴经费'),
    _p('bjm.57', '企业、事业单位以及其他组织少缴、拖延或者拒不拨缴工会经费的，基层工会或者上级工会应当会同有关部门按照本市'
       '规定进行催缴。经催缴仍不缴纳的，基层工会或者上级工会可以按照民事诉讼法的有关规定向人民法院申请支付令；拒不执行'
       '支付令的，工会可以依法申请人民法院强制执行。',
       purpose='工会会同有关部门催缴；经催缴仍不缴纳的申请支付令'),
    _p('bjm.63.1', '工会对违反本办法规定侵犯其合法权益的，有权进行调查，并提请本市各级人民政府或者有关部门采取责令改正、'
       '通报批评、行政处分等措施予以处理，或者向人民法院提起诉讼。',
       purpose='工会权益受侵犯的，提请人民政府或者有关部门处理（建议书）'),
    _p('bjm.63.2', '县级以上人民政府或者有关部门接到工会提出的申请，应当依法作出处理，并自作出处理决定之日起15个工作日内'
       '将处理结果书面告知工会。',
       purpose='有关部门自作出处理决定之日起15个工作日内书面告知工会'),
    _p('bjm.64.1', '企业有下列情形之一的，由人力资源社会保障部门责令其限期改正；拒不改正的，由人力资源社会保障部门提请市和'
       '区、县人民政府处理，并由人力资源社会保障部门纳入劳动保障守法诚信档案，由工商行政管理部门纳入企业信用信息公示系统：'
       '（一）违反本办法第二条第三款的规定，阻挠、限制职工参加和组织工会或者对参加和组织工会的职工实施打击报复的；'
       '（二）违反本办法第十一条第二款的规定，阻挠上级工会派员帮助和指导职工组建工会的。',
       purpose='阻挠建会，经责令限期改正拒不改正的，纳入守法诚信档案和企业信用信息公示系统'),
    _p('bjm.66.1.2', '违反本办法规定，有下列情形之一的，由市或者区、县人民政府责令改正，依法处理；拒不改正的，由人力资源'
       '社会保障部门纳入劳动保障守法诚信档案，由工商行政管理部门纳入企业信用信息公示系统：', '（二）拒绝或者拖延进行平等协商的',
       purpose='拒绝或者拖延平等协商，经责令改正拒不改正的，纳入守法诚信档案和企业信用信息公示系统'),
    # 中华人民共和国民事诉讼法 (2023)
    _p('cpl.85.2', '期间以时、日、月、年计算。期间开始的时和日，不计算在期间内。',
       purpose='期间开始之日不计算在内'),
    _p('cpl.85.3', '期间届满的最后一日是法定休假日的，以法定休假日后的第一日为期间届满的日期。',
       purpose='最后一日是法定休假日的，顺延至休假日后的第一日'),
    _p('cpl.225', '债权人请求债务人给付金钱、有价证券，符合下列条件的，可以向有管辖权的基层人民法院申请支付令：'
       '（一）债权人与债务人没有其他债务纠纷的；（二）支付令能够送达债务人的。'
       '申请书应当写明请求给付金钱或者有价证券的数量和所根据的事实、证据。',
       purpose='申请支付令的条件和申请书的内容'),
    _p('cpl.226', '债权人提出申请后，人民法院应当在五日内通知债权人是否受理。', purpose='法院5日内通知是否受理'),
    _p('cpl.227.1', '人民法院受理申请后，经审查债权人提供的事实、证据，对债权债务关系明确、合法的，应当在受理之日起十五日内'
       '向债务人发出支付令；申请不成立的，裁定予以驳回。', purpose='法院自受理之日起15日内发出支付令'),
    _p('cpl.227.2', '债务人应当自收到支付令之日起十五日内清偿债务，或者向人民法院提出书面异议。',
       purpose='债务人自收到支付令之日起15日内清偿或者提出书面异议'),
    _p('cpl.227.3', '债务人在前款规定的期间不提出异议又不履行支付令的，债权人可以向人民法院申请执行。',
       purpose='不异议又不履行的，申请执行'),
    _p('cpl.228.1', '人民法院收到债务人提出的书面异议后，经审查，异议成立的，应当裁定终结督促程序，支付令自行失效。',
       purpose='异议成立的，督促程序终结'),
    # 最高人民法院关于在民事审判工作中适用《中华人民共和国工会法》若干问题的解释 (2020)
    _p('spc.3', '基层工会或者上级工会依照工会法第四十三条规定向人民法院申请支付令的，由被申请人所在地的基层人民法院管辖。',
       purpose='支付令申请由被申请人所在地的基层人民法院管辖'),
    _p('spc.7', '对于企业、事业单位无正当理由拖延或者拒不拨缴工会经费的，工会组织向人民法院请求保护其权利的诉讼时效期间，'
       '适用民法典第一百八十八条的规定。', purpose='欠缴经费的诉讼时效适用民法典第一百八十八条（三年）'),
    # 北京市集体合同条例
    _p('bjcc.32.2', '一方提出集体协商要求，另一方应当在收到集体协商要求之日起二十日内给以书面答复，无正当理由不得拒绝或者'
       '拖延集体协商', purpose='收到集体协商要求之日起20日内书面答复'),
    # 劳动保障监察条例
    _p('lsir.22', '劳动保障行政部门应当建立用人单位劳动保障守法诚信档案。', purpose='人社部门建立劳动保障守法诚信档案'),
    # 中华人民共和国民法典: cited, never quoted
    _p('civil.188', purpose='诉讼时效期间为三年'),
    _p('civil.201', purpose='期间开始的当日不计入，自下一日开始计算'),
    _p('civil.203', purpose='期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日'),
    # 浙江省工会劳动法律监督条例 (a model only)
    _p('zjs.22', '用人单位应当自收到工会劳动法律监督意见书之日起十五个工作日内作出书面答复，说明情况和改正措施。',
       purpose='（浙江省，参照）收到意见书之日起15个工作日内书面答复'),
)
PROVISIONS: Mapping[str, Provision] = MappingProxyType({p.key: p for p in _PROVISIONS})


def _provision(key: str) -> Provision:
    try:
        return PROVISIONS[key]
    except KeyError:
        raise KeyError(f'no provision {key!r} in workflows/law.py') from None


def cite(*keys: str) -> str:
    """The provisions' citation, one title per text and one article number per article in a row:
    《工会法》第四十四条、《…办法》第五十五条第二款、第三款、第五十七条."""
    parts: list[str] = []
    last = None
    for key in keys:
        provision = _provision(key)
        if last is not None and provision.text is last.text and provision.article == last.article \
                and provision.paragraph and last.paragraph and not provision.item and not last.item:
            parts.append(f'第{cn_number(provision.paragraph)}款')      # 第五十五条第二款、第三款
        else:
            parts.append(provision.ref if last is not None and provision.text is last.text else provision.citation)
        last = provision
    return '、'.join(parts)


def quote(*keys: str) -> str:
    """Each provision's quotation: 《…》第X条规定：“…”。第Y条规定：“…”。 (title once per text in a row)."""
    out: list[str] = []
    last_text = None
    for key in keys:
        provision = _provision(key)
        out.append(provision.quoted(with_title=provision.text is not last_text))
        last_text = provision.text
    return ''.join(out)


# ------------------------------------------------------------------------------------------------------------
# Periods the law sets (the ladder's other deadlines are the committee's own choice: workflows/deadlines.py)

#: How every period is counted (Civil Procedure Law Art 85; Civil Code Arts 201–203 say the same).
COUNTING_RULE = ('cpl.85.2', 'cpl.85.3')

_PERIODS = (
    Period('authority_reply', '有关部门书面告知处理结果', 15, '工作日', 'working_days', '自作出处理决定之日起',
           ('bjm.28.2', 'bjm.63.2')),
    Period('bargaining_reply', '书面答复集体协商要求', 20, '日', 'natural_days', '自收到集体协商要求之日起',
           ('bjcc.32.2',)),
    Period('court_acceptance', '法院通知是否受理支付令申请', 5, '日', 'natural_days', '自提出申请之日起', ('cpl.226',)),
    Period('court_order', '法院发出支付令', 15, '日', 'natural_days', '自受理之日起', ('cpl.227.1',)),
    Period('court_objection', '债务人清偿或者提出书面异议', 15, '日', 'natural_days', '自收到支付令之日起', ('cpl.227.2',)),
    Period('funds_limitation', '请求拨缴工会经费的诉讼时效', 3, '年', 'years', '自知道或者应当知道权利受到损害之日起',
           ('spc.7',)),
    Period('opinion_reply_model', '书面答复监督意见书（浙江省规定，参照）', 15, '工作日', 'working_days',
           '自收到工会劳动法律监督意见书之日起', ('zjs.22',)),
)
PERIODS: Mapping[str, Period] = MappingProxyType({p.key: p for p in _PERIODS})

#: What BJM 55(2) fixes for union funds: due before the 15th of each month, 2% of last month's total payroll,
#: a late fee of 5‰ of the arrears a day (value, provision key).
FUNDS_DUE_DAY = (15, 'bjm.55.2')
FUNDS_RATE = ('0.02', 'bjm.55.2')
LATE_FEE_RATE = ('0.005', 'bjm.55.2')
