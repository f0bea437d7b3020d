import datetime as dt
import logging

import pytest

from accounts.models import (
    AccountStatusChange,
    Depositor,
    FundAccount,
)
from accounts.services import account_open, credit_flag_set, fund_account_transition
from core.crypto import keyed_hash
from core.exceptions import DomainError
from core.logging import MaskIdNumbersFilter
from national.models import NationalRecord
from subsidies.selectors import subsidy_status_on
from tests.idgen import make_id

pytestmark = pytest.mark.django_db


def _open(bank, number: str, **kw):
    params = dict(
        id_number=number,
        name="王小明",
        phone="13800000001",
        employment_form="new_forms",
        industry_code="new_courier",
        bank=bank,
    )
    params.update(kw)
    return account_open(**params)


def test_open_registers_person_encrypted_and_masked(bank, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    account = _open(bank, "370602199005151239")
    person = account.depositor
    assert account.status == "open" and account.first_time
    assert account.account_no.startswith("3706") and len(account.account_no) == 13
    assert account.opened_on == dt.date(2025, 3, 1)
    assert (person.sex, person.birth_date) == ("M", dt.date(1990, 5, 15))
    assert person.id_number_masked == "370602********1239"
    assert "370602199005151239" not in person.id_number_encrypted
    assert person.id_number_hash == keyed_hash("370602199005151239")
    assert account.ledger_account.code == "2001-" + account.account_no
    change = AccountStatusChange.objects.get(fund_account=account)
    assert (change.from_status, change.to_status, change.reason) == (
        "",
        "open",
        "opened",
    )


def test_lower_case_x_person_is_the_same_person(bank, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    number = next(
        n
        for seq in range(0, 200, 2)
        if (n := make_id(dt.date(1985, 6, 1), seq=seq, male=False)).endswith("X")
    )
    _open(bank, number.lower())
    with pytest.raises(DomainError) as err:
        _open(bank, number)
    assert err.value.code == "duplicate_account"
    assert Depositor.objects.count() == 1


@pytest.mark.parametrize(
    ("birth", "today", "message"),
    [
        (dt.date(2009, 3, 2), dt.date(2025, 3, 1), "开户人在开户日应年满16周岁。"),
        (dt.date(1964, 6, 1), dt.date(2025, 3, 1), "开户人已达到法定退休年龄。"),
    ],
)
def test_age_gate_names_the_field_and_writes_nothing(
    bank, business_day, birth, today, message
) -> None:
    business_day(today)
    with pytest.raises(DomainError) as err:
        _open(bank, make_id(birth, seq=11))
    assert err.value.code == "age_not_allowed"
    assert err.value.fields == {"id_number": [message]}
    assert not Depositor.objects.exists() and not FundAccount.objects.exists()


def test_opening_on_the_sixteenth_birthday_is_allowed(bank, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    assert _open(bank, make_id(dt.date(2009, 3, 1), seq=13)).status == "open"


def test_invalid_id_writes_nothing(bank, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    with pytest.raises(DomainError) as err:
        _open(bank, "370602199005151238")
    assert err.value.fields["id_number"] == ["身份证号码校验位错误"]
    assert not Depositor.objects.exists()


def test_one_person_one_account_and_reopen_is_not_first_time(
    bank, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    first = _open(bank, "370602199005151239")
    with pytest.raises(DomainError) as err:
        _open(bank, "370602199005151239")
    assert (err.value.code, err.value.status) == ("duplicate_account", 409)
    assert err.value.message == "此人在本中心已有账户。"
    fund_account_transition(account=first, to="closed", reason="exit")
    second = _open(bank, "370602199005151239", name="王晓明")
    assert second.pk != first.pk and not second.first_time
    assert subsidy_status_on(second) == "not_eligible"
    assert second.depositor_id == first.depositor_id
    assert second.depositor.name == "王晓明"


def test_national_duplicate_and_bad_credit_are_refused(bank, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    NationalRecord.objects.create(
        id_number_hash=keyed_hash("370602199005151239"),
        city="青岛",
        reported_on=dt.date(2025, 2, 1),
    )
    with pytest.raises(DomainError) as err:
        _open(bank, "370602199005151239")
    assert err.value.code == "duplicate_account"

    number = make_id(dt.date(1990, 1, 1), seq=21)
    account = _open(bank, number)
    credit_flag_set(depositor=account.depositor, reason="贷款严重逾期")
    fund_account_transition(account=account, to="closed", reason="exit")
    with pytest.raises(DomainError) as err:
        _open(bank, number)
    assert err.value.code == "bad_credit"


def test_unknown_industry_is_a_field_error(bank, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    with pytest.raises(DomainError) as err:
        _open(bank, "370602199005151239", industry_code="nope")
    assert err.value.fields == {"industry": ["未知的行业代码。"]}


def test_id_numbers_never_reach_logs(caplog) -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "opening for %s", ("370602199005151239",), None
    )
    MaskIdNumbersFilter().filter(record)
    assert record.getMessage() == "opening for 370602********1239"
