"""统一社会信用代码 (GB 32100-2015) and 注册号 validation."""
import pytest

from compliance.identifiers import (InvalidIdentifier, is_valid_uscc, normalize_registration_number,
                                    normalize_uscc, uscc_check_char)


def test_known_valid_code():
    assert normalize_uscc("91110108551385082Q") == "91110108551385082Q"


def test_check_character_computed_by_hand():
    # 9·1+1·3+1·9+1·27+0·19+1·26+0·16+8·17+5·20+5·29+1·25+3·13+8·8+5·24+0·10+8·30+2·28 = 999;
    # 999 mod 31 = 7; 31 − 7 = 24; the alphabet's 25th character (index 24) is Q.
    assert uscc_check_char("91110108551385082") == "Q"


@pytest.mark.parametrize("raw", ["91110108551385082q", " 9111 0108 5513 8508 2Q ", "91110108551385082Q\n",
                                 "９１１１０１０８５５１３８５０８２Ｑ", "91110108-551385082Q"])
def test_lowercase_whitespace_and_fullwidth_are_normalised(raw):
    assert normalize_uscc(raw) == "91110108551385082Q"


def test_wrong_check_character_names_the_expected_one():
    with pytest.raises(InvalidIdentifier, match="第18位应为“Q”"):
        normalize_uscc("91110108551385082R")


@pytest.mark.parametrize("raw,fragment", [
    ("9111010855138508", "应为18位"),
    ("91110108551385082Q1", "应为18位"),
    ("", "应为18位"),
    ("9111010855138508IQ", "不允许的字符"),  # I is not in the alphabet
    ("Z1110108551385082Q", "不允许的字符"),
    ("01110108551385082Q", "登记管理部门"),
])
def test_invalid_codes_are_refused_with_a_reason(raw, fragment):
    with pytest.raises(InvalidIdentifier, match=fragment):
        normalize_uscc(raw)


@pytest.mark.parametrize("authority", ["A", "N", "Y", "1", "5", "8", "9"])
def test_every_registering_authority_is_accepted(authority):
    # python-stdnum rejects A, N and Y; GB 32100 allows them (DOMAIN.md §5).
    first17 = f"{authority}1110108551385082"
    code = first17 + uscc_check_char(first17)
    assert normalize_uscc(code) == code
    assert is_valid_uscc(code.lower())


def test_flipping_any_character_breaks_the_check():
    code = "91110108551385082Q"
    for i in range(1, 17):
        replacement = "1" if code[i] != "1" else "2"
        assert not is_valid_uscc(code[:i] + replacement + code[i + 1:]), i


def test_registration_number_check_digit():
    assert normalize_registration_number("110108000000016") == "110108000000016"
    with pytest.raises(InvalidIdentifier, match="校验位"):
        normalize_registration_number("110108000000017")
    with pytest.raises(InvalidIdentifier, match="15位"):
        normalize_registration_number("11010800000001")
