import datetime as dt

import pytest

from accounts.idcard import parse_resident_id, retirement_date, retirement_delay_months
from core.exceptions import DomainError
from tests.idgen import make_id


def test_valid_ids_from_rules_e5() -> None:
    rid = parse_resident_id("370602199005151239")
    assert (rid.birth_date, rid.sex) == (dt.date(1990, 5, 15), "M")
    assert rid.masked == "370602********1239"
    woman = parse_resident_id("11010519491231002X")
    assert (woman.birth_date, woman.sex) == (dt.date(1949, 12, 31), "F")


def test_lower_case_x_is_accepted_and_stored_upper() -> None:
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("370602199005151238", "身份证号码校验位错误"),
        ("37060219900515123", "身份证号码应为18位"),
        ("3706021990051512A9", "身份证号码应为17位数字加1位数字或X"),
    ],
)
def test_invalid_ids_name_the_field(raw: str, message: str) -> None:
    with pytest.raises(DomainError) as err:
        parse_resident_id(raw)
    assert err.value.code == "invalid_id_number"
    assert err.value.fields["id_number"] == [message]


def test_bad_birth_date_with_a_correct_check_digit() -> None:
    body = "37060219900230123"  # 30 February
    from stdnum.cn import ric

    number = body + ric.calc_check_digit(body + "0")
    with pytest.raises(DomainError) as err:
        parse_resident_id(number)
    assert err.value.fields["id_number"] == ["身份证号码中的出生日期无效"]


def test_unknown_province_is_refused() -> None:
    number = make_id(dt.date(1990, 1, 1), region="990101")
    with pytest.raises(DomainError) as err:
        parse_resident_id(number)
    assert err.value.fields["id_number"] == ["身份证号码的地区代码无效"]


@pytest.mark.parametrize(
    ("sex", "birth", "female_age", "delay", "retires"),
    [
        # Men: step 4, cap 36 reached by those born 1976-09.
        ("M", dt.date(1976, 8, 10), 50, 35, dt.date(2039, 7, 10)),
        ("M", dt.date(1976, 9, 10), 50, 36, dt.date(2039, 9, 10)),
        # Women with original age 50: step 2, cap 60 reached from 1984-11.
        ("F", dt.date(1984, 10, 5), 50, 59, dt.date(2039, 9, 5)),
        ("F", dt.date(1984, 11, 5), 50, 60, dt.date(2039, 11, 5)),
        # First month of the reform: one month's delay.
        ("M", dt.date(1965, 1, 20), 50, 1, dt.date(2025, 2, 20)),
        # Retired before the reform: no delay.
        ("M", dt.date(1964, 12, 31), 50, 0, dt.date(2024, 12, 31)),
        # Women with original age 55: step 4, cap 36.
        ("F", dt.date(1975, 3, 1), 55, 16, dt.date(2031, 7, 1)),
    ],
)
def test_retirement_formula_boundaries(
    sex: str, birth: dt.date, female_age: int, delay: int, retires: dt.date
) -> None:
    assert retirement_delay_months(sex, birth, female_age) == delay
    assert retirement_date(sex, birth, female_age) == retires
