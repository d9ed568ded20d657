"""Reference data every installation needs: the Beijing city federation and its districts."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.models import Jurisdiction, JurisdictionLevel

CITY = ("110000", "北京市", "京")
#: (GB/T 2260 code, district, abbreviation used in document numbers). The abbreviations are local
#: practice and live in the database, so an office can change its 发文机关代字 without a release.
DISTRICTS = [
    ("110101", "东城区", "东"), ("110102", "西城区", "西"), ("110105", "朝阳区", "朝"),
    ("110106", "丰台区", "丰"), ("110107", "石景山区", "石"), ("110108", "海淀区", "海"),
    ("110109", "门头沟区", "门"), ("110111", "房山区", "房"), ("110112", "通州区", "通"),
    ("110113", "顺义区", "顺"), ("110114", "昌平区", "昌"), ("110115", "大兴区", "大"),
    ("110116", "怀柔区", "怀"), ("110117", "平谷区", "平"), ("110118", "密云区", "密"),
    ("110119", "延庆区", "延"),
    # The development zone has its own union federation but no GB/T 2260 code: a local code.
    ("110199", "北京经济技术开发区", "开"),
]


def add_jurisdiction(session: Session, *, code: str, name: str, level: JurisdictionLevel,
                     parent: Jurisdiction | None, federation_name: str, issuer_code: str) -> Jurisdiction:
    """Insert a jurisdiction with its materialised path."""
    j = Jurisdiction(code=code, name=name, level=level.value, parent=parent, federation_name=federation_name,
                     committee_name=f"{federation_name}劳动法律监督委员会", issuer_code=issuer_code, path="")
    session.add(j)
    session.flush()
    j.path = f"{parent.path if parent else '/'}{j.id}/"
    return j


def seed_jurisdictions(session: Session) -> int:
    """Create the city and its districts when missing; return how many rows were added."""
    existing = set(session.scalars(select(Jurisdiction.code)))
    added = 0
    city = session.scalar(select(Jurisdiction).where(Jurisdiction.code == CITY[0]))
    if city is None:
        city = add_jurisdiction(session, code=CITY[0], name=CITY[1], level=JurisdictionLevel.CITY, parent=None,
                                federation_name="北京市总工会", issuer_code="京工监")
        added += 1
    for code, name, abbr in DISTRICTS:
        if code in existing:
            continue
        federation = f"{name}总工会"
        add_jurisdiction(session, code=code, name=name, level=JurisdictionLevel.DISTRICT, parent=city,
                         federation_name=federation, issuer_code=f"京{abbr}工监")
        added += 1
    session.flush()
    return added
