"""The basic people's court where an enterprise is (SPC interpretation Art 3: a payment-order application goes to
the basic court of the respondent's domicile), read from its registered address."""

from __future__ import annotations

#: Beijing's districts, each with its basic people's court (北京市X区人民法院).
BEIJING_DISTRICTS = ('东城区', '西城区', '朝阳区', '海淀区', '丰台区', '石景山区', '门头沟区', '房山区', '通州区',
                     '顺义区', '昌平区', '大兴区', '怀柔区', '平谷区', '密云区', '延庆区')


def basic_court(address: str | None) -> str | None:
    """北京市朝阳区…路10号 → 北京市朝阳区人民法院; None when the address names no Beijing district (the
    drafter then names the court: 北京经济技术开发区 addresses, for one, belong to a district's court)."""
    text = (address or '').replace(' ', '')
    if text.startswith('北京市'):
        text = text[len('北京市'):]
    elif text.startswith('北京'):
        text = text[len('北京'):]
    for district in BEIJING_DISTRICTS:
        if text.startswith(district):
            return f'北京市{district}人民法院'
    return None
