"""What notices say about the law, built from workflows/law.py (the one place for citations and quotations).

Nothing here words a rule itself: a basis paragraph is the provision's citation and its verbatim quotation
(“第X条规定：“…””), a citation is ``workflows.law.cite``. Templates reach these through the ``law`` object of
the rendering context (letters/render.py): ``law.cite('bjm.57')``, ``law.quote('tul.44')``, ``law.art64``.
"""

from __future__ import annotations

from workflows.law import PROVISIONS, TEXTS, cite, quote

TU_LAW = TEXTS['tul'].cited
BJ_MEASURES = TEXTS['bjm'].cited
CPL = TEXTS['cpl'].cited

#: violation label → what the notice says and which provisions it quotes (basis, one paragraph per text) and
#: cites (cite: the rule the enterprise broke). The descriptions and requirements are the service's words.
VIOLATIONS = {
    '不建会': {
        'description': '职工人数已达到法定建会条件，但未依法建立基层工会委员会',
        'basis': (('tul.11.1', 'tul.12.2'), ('bjm.9.1', 'bjm.11.3')),
        'cite': ('tul.11.1', 'bjm.9.1'),
        'requirement': '依法支持职工组建工会',
    },
    '不协商': {
        'description': '对工会或者职工一方提出的集体协商要求拒绝或者拖延，未依法开展平等协商、签订集体合同',
        'basis': (('tul.21.2',), ('bjm.24',), ('bjcc.32.2',)),
        'cite': ('tul.21.2', 'bjm.24'),
        'requirement': '依法回应集体协商要求，开展平等协商并签订集体合同',
    },
    '不缴费': {
        'description': '未按照全部职工工资总额的2%按月向工会拨缴经费',
        'basis': (('tul.43.1.2', 'tul.44'), ('bjm.55.2', 'bjm.57')),
        'cite': ('tul.43.1.2', 'bjm.55.2'),
        'requirement': '足额补缴欠缴的工会经费及滞纳金，并按月依法拨缴',
        # A unit without a union owes funds only from the day the higher union starts helping its workers
        # (BJM 55(3)); TUL 43 (units with a union) is neither quoted nor cited for it.
        'no_union': {'basis': (('tul.44',), ('bjm.55.2', 'bjm.55.3', 'bjm.57')), 'cite': ('bjm.55.3',)},
    },
}

#: The listing article per violation (BJM 64: obstruction of organising; BJM 66: refused bargaining). Unpaid
#: funds have none: a listing request for them cites only the basis the user states (``listing_basis``).
LISTING_PROVISIONS = {'不建会': 'bjm.64.1', '不协商': 'bjm.66.1.2'}

ART_21 = quote('bjm.21')
ART_28 = quote('bjm.28.2')
ART_57 = quote('bjm.57')
ART_63 = quote('bjm.63.1', 'bjm.63.2')
ART_64 = quote('bjm.64.1')
ART_66 = quote('bjm.66.1.2')
PAYMENT_ORDER = quote('cpl.225')


def violation_views(labels, legal_basis=None, has_union=None):
    """Descriptions, requirements and citations for the case's violation labels, and the basis paragraphs
    (``legal_basis`` given in the facts replaces the quoted ones). ``has_union`` False: the unit has no union
    (the funds rules of BJM 55(3) instead of TUL 43)."""
    views, basis = [], []
    for label in labels or ():
        known = VIOLATIONS.get(label)
        if known and has_union is False and 'no_union' in known:
            known = {**known, **known['no_union']}
        views.append({
            'label': label,
            'description': known['description'] if known else label,
            'requirement': known['requirement'] if known else '',
            'cite': cite(*known['cite']) if known else '',
        })
        for keys in (known['basis'] if known else ()):
            text = quote(*keys)
            if text not in basis:
                basis.append(text)
    if legal_basis:
        return views, [legal_basis] if isinstance(legal_basis, str) else list(legal_basis)
    return views, basis


def listing_grounds(labels, listing_basis=None) -> dict:
    """What a listing request rests on: the user's stated basis for unpaid funds (and then nothing else), or
    BJM 64 / 66 for the case's obstruction / bargaining violations."""
    if listing_basis:
        stated = [listing_basis] if isinstance(listing_basis, str) else [b for b in listing_basis if b]
        return {'stated': stated, 'quotes': [], 'provisions': []}
    keys = [LISTING_PROVISIONS[label] for label in LISTING_PROVISIONS if label in (labels or ())]
    return {'stated': [], 'quotes': [quote(key) for key in keys], 'provisions': keys}


class LawView:
    """The ``law`` object templates see: names, citations, quotations."""

    tu_law = TU_LAW
    bj_measures = BJ_MEASURES
    cpl = CPL
    art21 = ART_21
    art28 = ART_28
    art57 = ART_57
    art63 = ART_63
    art64 = ART_64
    art66 = ART_66
    payment_order = PAYMENT_ORDER

    @staticmethod
    def cite(*keys: str) -> str:
        return cite(*keys)

    @staticmethod
    def quote(*keys: str) -> str:
        return quote(*keys)

    @staticmethod
    def words(key: str) -> str:
        return PROVISIONS[key].words


LAW = LawView()
