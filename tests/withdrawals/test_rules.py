"""Every cap and every refusal of rules section 7, through the quote and the
filing service (the same rules answer both)."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts import ports
from core.exceptions import DomainError
from tests.policy import set_param
from tests.subsidies.helpers import monthly
from tests.withdrawals.conftest import doc
from withdrawals.selectors import withdrawal_quote
from withdrawals.services import withdrawal_approve, withdrawal_pay, withdrawal_submit

pytestmark = pytest.mark.django_db

RENT = {"rent_paid": "20000.00", "no_home_owned": True}
FILED = [doc("filing_certificate"), doc("tax_invoice")]


def _pay_out(staff, **kwargs):
    w = withdrawal_submit(actor=staff("clerk"), **kwargs)
    withdrawal_approve(withdrawal=w, actor=staff("reviewer"))
    return withdrawal_pay(withdrawal=w, actor=staff("finance"))


def _refused(code: str, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as exc:
        withdrawal_submit(**kwargs)
    assert exc.value.code == code, exc.value.message
    return exc.value


def _quote(account, type_, **kwargs):
    return withdrawal_quote(account=account, type=type_, **kwargs)


# --- rent ---------------------------------------------------------------------


def test_rent_single_is_capped_at_8000_a_calendar_year(funded, staff, business_day):
    account = funded(amount="2000")  # 20,000.00
    quote = _quote(account, "rent", declarations=RENT)
    assert (quote.allowed, quote.cap_rule, quote.refusals) == (
        Decimal("8000.00"),
        "rent_limit_single",
        [],
    )
    _pay_out(
        staff, account=account, type="rent", amount=Decimal("5000"), declarations=RENT
    )
    account.refresh_from_db()
    assert _quote(account, "rent", declarations=RENT).allowed == Decimal("3000.00")
    err = _refused(
        "amount_over_limit",
        account=account,
        type="rent",
        amount=Decimal("3000.01"),
        declarations=RENT,
        actor=staff("clerk"),
    )
    assert "3000.00" in err.message
    # A new calendar year brings the room back.
    business_day(dt.date(2026, 1, 10))
    account.refresh_from_db()
    assert _quote(account, "rent", declarations=RENT).allowed == Decimal("8000.00")


def test_rent_couple_shares_16000(funded, staff):
    husband = funded(amount="2000")
    wife = funded(amount="2000")
    couple = dict(spouse_account=wife, evidence=[doc("marriage_certificate")])
    q = _quote(
        husband,
        "rent",
        declarations=RENT,
        evidence_kinds=["marriage_certificate"],
        spouse_account=wife,
    )
    assert (q.allowed, q.cap_rule) == (Decimal("16000.00"), "rent_limit_couple")
    _pay_out(
        staff,
        account=husband,
        type="rent",
        amount=Decimal("10000"),
        declarations=RENT,
        **couple,
    )
    q = _quote(
        wife,
        "rent",
        declarations=RENT,
        spouse_account=husband,
        evidence_kinds=["marriage_certificate"],
    )
    assert (q.allowed, q.cap_rule) == (Decimal("6000.00"), "rent_limit_couple")
    # Without the marriage certificate the couple cap is not open to them.
    q = _quote(wife, "rent", declarations=RENT, spouse_account=husband)
    assert [r.code for r in q.refusals] == ["evidence_missing"]


def test_rent_with_filing_certificate_and_invoice_up_to_12000_and_24000(funded, staff):
    single = funded(amount="2000")
    q = _quote(
        single,
        "rent_filed",
        declarations=RENT,
        evidence_kinds=["filing_certificate", "tax_invoice"],
    )
    assert (q.allowed, q.cap_rule) == (Decimal("12000.00"), "rent_limit_invoice_single")
    q = _quote(single, "rent_filed", declarations=RENT, evidence_kinds=["tax_invoice"])
    assert [r.code for r in q.refusals] == ["evidence_missing"]
    assert "备案" in q.refusals[0].message
    husband = funded(amount="3000")  # 30,000.00
    wife = funded(amount="300")
    q = _quote(
        husband,
        "rent_filed",
        declarations={"rent_paid": "30000", "no_home_owned": True},
        spouse_account=wife,
        evidence_kinds=["filing_certificate", "tax_invoice", "marriage_certificate"],
    )
    assert (q.allowed, q.cap_rule) == (Decimal("24000.00"), "rent_limit_invoice_couple")


def test_rent_multichild_up_to_24000(funded):
    account = funded(amount="3000")
    declared = {"rent_paid": "30000", "no_home_owned": True, "children": 2}
    q = _quote(
        account, "rent_multichild", declarations=declared, evidence_kinds=["children"]
    )
    assert (q.allowed, q.cap_rule) == (Decimal("24000.00"), "rent_limit_multichild")
    q = _quote(
        account,
        "rent_multichild",
        declarations={**declared, "children": 1},
        evidence_kinds=["children"],
    )
    assert [r.code for r in q.refusals] == ["not_multichild"]


def test_rent_never_above_the_rent_paid_or_the_balance(funded):
    account = funded(amount="500")  # 5,000.00
    q = _quote(
        account, "rent", declarations={"rent_paid": "7000", "no_home_owned": True}
    )
    assert (q.allowed, q.cap_rule) == (Decimal("5000.00"), "balance")
    q = _quote(
        account, "rent", declarations={"rent_paid": "1200", "no_home_owned": True}
    )
    assert (q.allowed, q.cap_rule) == (Decimal("1200.00"), "rent_paid")


def test_rent_limit_follows_a_new_effective_value(funded, business_day):
    account = funded(amount="2000")
    set_param("rent_limit_single", "9000", dt.date(2026, 2, 1))
    business_day(dt.date(2026, 1, 31))
    assert _quote(account, "rent", declarations=RENT).allowed == Decimal("8000.00")
    business_day(dt.date(2026, 2, 1))
    assert _quote(account, "rent", declarations=RENT).allowed == Decimal("9000.00")


def test_rent_needs_continuity_and_no_home(
    fe_account, pay, funded, staff, business_day
):
    young = fe_account(dt.date(2025, 3, 1))
    pay(young, dt.date(2025, 3, 10))
    pay(young, dt.date(2025, 4, 10))
    q = _quote(young, "rent", declarations=RENT)
    assert [r.code for r in q.refusals] == ["continuity_short"]
    account = funded()
    q = _quote(account, "rent", declarations={"rent_paid": "3000"})
    assert [r.code for r in q.refusals] == ["home_owned"]
    q = _quote(account, "rent", declarations={"no_home_owned": True})
    assert [r.code for r in q.refusals] == ["declaration_missing"]
    # Three months in arrears: the continuity is broken.
    business_day(dt.date(2026, 4, 2))
    account.refresh_from_db()
    q = _quote(account, "rent", declarations=RENT)
    assert "continuity_short" in [r.code for r in q.refusals]


def test_the_minimum_continuity_follows_a_new_effective_value(fe_account, pay):
    account = fe_account(dt.date(2025, 3, 1))
    for day in monthly(dt.date(2025, 3, 10), dt.date(2025, 7, 31)):
        pay(account, day)  # five months
    assert _quote(account, "rent", declarations=RENT).refusals == []
    set_param("rent_min_continuous_months", "6", dt.date(2025, 7, 20))
    from core.clock import set_business_date

    set_business_date(dt.date(2025, 7, 20))
    q = _quote(account, "rent", declarations=RENT)
    assert [r.code for r in q.refusals] == ["continuity_short"]


# --- relocation (E4) ----------------------------------------------------------


def test_e4_relocation_rent_per_person_and_per_couple(fe_account, pay, staff):
    husband = fe_account(dt.date(2025, 3, 1), amount="950")
    wife = fe_account(dt.date(2025, 3, 1), amount="2000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2025, 12, 31)):
        pay(husband, day)
        pay(wife, day)
    husband.refresh_from_db()
    wife.refresh_from_db()
    assert (husband.balance, wife.balance) == (Decimal("9500.00"), Decimal("20000.00"))
    case = {"relocation_case": "CQ-2025-017", "rent_paid": "31200.00"}
    papers = [
        doc("relocation_agreement"),
        doc("filing_certificate"),
        doc("tax_invoice"),
        doc("marriage_certificate"),
    ]
    kinds = [p.kind for p in papers]
    q = _quote(
        husband,
        "rent_relocation",
        declarations=case,
        spouse_account=wife,
        evidence_kinds=kinds,
    )
    assert (q.allowed, q.cap_rule) == (Decimal("9500.00"), "balance")
    _pay_out(
        staff,
        account=husband,
        type="rent_relocation",
        amount=Decimal("9500"),
        declarations=case,
        spouse_account=wife,
        evidence=papers,
    )
    q = _quote(
        wife,
        "rent_relocation",
        declarations=case,
        spouse_account=husband,
        evidence_kinds=kinds,
    )
    assert (q.allowed, q.cap_rule) == (Decimal("14000.00"), "relocation_rent_person")
    _refused(
        "amount_over_limit",
        account=wife,
        type="rent_relocation",
        amount=Decimal("14000.01"),
        declarations=case,
        spouse_account=husband,
        evidence=papers,
        actor=staff("clerk"),
    )
    wife_paid = _pay_out(
        staff,
        account=wife,
        type="rent_relocation",
        amount=Decimal("14000"),
        declarations=case,
        spouse_account=husband,
        evidence=papers,
    )
    assert wife_paid.amount_paid + Decimal("9500.00") == Decimal("23500.00")
    # The case is used up for both; another case starts afresh.
    husband.refresh_from_db()
    q = _quote(
        husband,
        "rent_relocation",
        declarations=case,
        spouse_account=wife,
        evidence_kinds=kinds,
    )
    assert q.allowed == Decimal("0.00")


def test_relocation_couple_cap_follows_a_new_effective_value(
    fe_account, pay, staff, business_day
):
    a = fe_account(dt.date(2025, 3, 1), amount="3000")
    b = fe_account(dt.date(2025, 3, 1), amount="3000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2025, 12, 31)):
        pay(a, day)
        pay(b, day)
    case = {"relocation_case": "C1", "rent_paid": "50000"}
    papers = [
        doc("relocation_agreement"),
        doc("filing_certificate"),
        doc("tax_invoice"),
        doc("marriage_certificate"),
    ]
    kinds = [p.kind for p in papers]
    _pay_out(
        staff,
        account=b,
        type="rent_relocation",
        amount=Decimal("14000"),
        declarations=case,
        spouse_account=a,
        evidence=papers,
    )
    a.refresh_from_db()
    # 28,000 - 14,000 = 14,000: the person cap and the couple cap meet.
    q = _quote(
        a, "rent_relocation", declarations=case, spouse_account=b, evidence_kinds=kinds
    )
    assert (q.allowed, q.cap_rule) == (Decimal("14000.00"), "relocation_rent_person")
    set_param("relocation_rent_couple", "20000", dt.date(2026, 1, 1))
    business_day(dt.date(2026, 1, 1))
    q = _quote(
        a, "rent_relocation", declarations=case, spouse_account=b, evidence_kinds=kinds
    )
    assert (q.allowed, q.cap_rule) == (Decimal("6000.00"), "relocation_rent_couple")


# --- purchase -----------------------------------------------------------------

HOME = {
    "home_ref": "YT-HOME-1",
    "price": "500000.00",
    "loans": "400000.00",
    "contract_date": "2025-10-01",
}
DEEDS = [doc("purchase_contract"), doc("purchase_invoice")]


def test_purchase_price_less_loans_and_co_owners(funded, staff):
    kinds = ["purchase_contract", "purchase_invoice"]
    owner = funded(amount="4000")  # 40,000.00
    q = _quote(owner, "purchase", declarations=HOME, evidence_kinds=kinds)
    assert (q.allowed, q.cap_rule) == (Decimal("40000.00"), "balance")
    co_owner = funded(amount="5794")  # 57,940.00
    _pay_out(
        staff,
        account=co_owner,
        type="purchase",
        amount=Decimal("50000"),
        declarations=HOME,
        evidence=DEEDS,
    )
    _pay_out(
        staff,
        account=owner,
        type="purchase",
        amount=Decimal("40000"),
        declarations=HOME,
        evidence=DEEDS,
    )
    # 500,000 - 400,000 in loans - 90,000 the co-owners took = 10,000 left.
    third = funded(amount="5794")
    q = _quote(third, "purchase", declarations=HOME, evidence_kinds=kinds)
    assert (q.allowed, q.cap_rule, q.refusals) == (
        Decimal("10000.00"),
        "price_less_loans",
        [],
    )
    co_owner.refresh_from_db()
    q = _quote(co_owner, "purchase", declarations=HOME, evidence_kinds=kinds)
    assert [r.code for r in q.refusals] == ["home_already_used"]


def test_purchase_within_three_years_of_the_contract(funded, business_day):
    owner = funded(amount="1000")
    old = {**HOME, "contract_date": "2022-12-09"}
    kinds = ["purchase_contract", "purchase_invoice"]
    q = _quote(owner, "purchase", declarations=old, evidence_kinds=kinds)
    assert [r.code for r in q.refusals] == ["purchase_too_old"]
    q = _quote(
        owner,
        "purchase",
        declarations={**old, "contract_date": "2022-12-10"},
        evidence_kinds=kinds,
    )
    assert q.refusals == []
    q = _quote(owner, "purchase", declarations=HOME, evidence_kinds=[])
    assert [r.code for r in q.refusals] == ["evidence_missing"]


# --- loan repayment -----------------------------------------------------------


def test_loan_repayment_once_per_12_months_up_to_what_was_repaid(
    funded, staff, business_day
):
    account = funded(amount="2000")
    q = _quote(account, "loan_repayment")
    assert [r.code for r in q.refusals] == ["nothing_repaid"]
    declared = {"external_repaid": "6000.00"}
    q = _quote(account, "loan_repayment", declarations=declared)
    assert [r.code for r in q.refusals] == ["evidence_missing"]
    q = _quote(
        account,
        "loan_repayment",
        declarations=declared,
        evidence_kinds=["loan_statement"],
    )
    assert (q.allowed, q.cap_rule) == (Decimal("6000.00"), "repaid_12_months")
    _pay_out(
        staff,
        account=account,
        type="loan_repayment",
        amount=Decimal("6000"),
        declarations=declared,
        evidence=[doc("loan_statement")],
    )
    business_day(dt.date(2026, 12, 9))
    account.refresh_from_db()
    q = _quote(
        account,
        "loan_repayment",
        declarations=declared,
        evidence_kinds=["loan_statement"],
    )
    assert "once_per_12_months" in [r.code for r in q.refusals]
    business_day(dt.date(2026, 12, 11))
    q = _quote(
        account,
        "loan_repayment",
        declarations=declared,
        evidence_kinds=["loan_statement"],
    )
    assert q.refusals == []


def test_hpf_repayments_come_from_the_loans_interface(funded):
    account = funded(amount="2000")
    saved = (ports._loan_outstanding, ports._loan_repaid_between)
    ports.register_loan_facts(
        outstanding=lambda *, depositor: False,
        repaid_between=lambda *, account, start, end: Decimal("4321.00"),
    )
    try:
        q = _quote(account, "loan_repayment")
        assert (q.allowed, q.refusals) == (Decimal("4321.00"), [])
    finally:
        ports._loan_outstanding, ports._loan_repaid_between = saved


# --- closing types and the common refusals ------------------------------------


def test_exit_refused_while_a_loan_is_outstanding(funded, staff):
    account = funded()
    saved = (ports._loan_outstanding, ports._loan_repaid_between)
    ports.register_loan_facts(
        outstanding=lambda *, depositor: depositor.pk == account.depositor_id,
        repaid_between=lambda *, account, start, end: Decimal(0),
    )
    try:
        err = _refused(
            "loan_outstanding", account=account, type="exit", actor=staff("clerk")
        )
        assert err.status == 409
    finally:
        ports._loan_outstanding, ports._loan_repaid_between = saved
    assert withdrawal_submit(account=account, type="exit", actor=staff("clerk"))


def test_closing_types_need_their_grounds(funded, fe_account, pay):
    account = funded()
    assert [r.code for r in _quote(account, "death").refusals] == ["evidence_missing"]
    q = _quote(account, "death", evidence_kinds=["death_certificate", "heir_proof"])
    assert (q.refusals, q.cap_rule) == ([], "whole_balance")
    assert [r.code for r in _quote(account, "abroad").refusals] == ["evidence_missing"]
    assert [r.code for r in _quote(account, "leaving_city").refusals] == [
        "evidence_missing"
    ]
    assert [r.code for r in _quote(account, "incapacity").refusals] == [
        "evidence_missing"
    ]
    # Born 1990: retires decades from now.
    q = _quote(account, "retirement")
    assert [r.code for r in q.refusals] == ["not_retired"]


def test_one_live_application_at_a_time(funded, staff):
    account = funded()
    withdrawal_submit(account=account, type="exit", actor=staff("clerk"))
    err = _refused("exit_pending", account=account, type="exit", actor=staff("clerk"))
    assert err.status == 409
    err = _refused(
        "application_pending",
        account=account,
        type="rent",
        amount=Decimal("100"),
        declarations=RENT,
        actor=staff("clerk"),
    )
    assert err.status == 409


def test_rent_needs_an_open_account_and_a_real_spouse(funded, business_day):
    account = funded()
    q = _quote(
        account,
        "rent",
        declarations=RENT,
        spouse_account=account,
        evidence_kinds=["marriage_certificate"],
    )
    assert [r.code for r in q.refusals] == ["spouse_invalid"]
    from deposits.services import check_arrears

    for month in range(1, 7):
        business_day(dt.date(2026, month + 1, 1))
        check_arrears(month=dt.date(2026, month, 1))
    account.refresh_from_db()
    assert account.status == "sealed"
    q = _quote(account, "rent", declarations=RENT)
    assert q.refusals[0].code == "account_not_open"
    # A closing withdrawal is open to a sealed account.
    assert _quote(account, "exit").refusals == []


def test_nothing_is_written_when_the_rules_refuse(funded, staff):
    from withdrawals.models import Evidence, Withdrawal

    account = funded()
    _refused(
        "amount_over_limit",
        account=account,
        type="rent",
        amount=Decimal("8000.01"),
        declarations=RENT,
        evidence=FILED,
        actor=staff("clerk"),
    )
    _refused(
        "amount_missing",
        account=account,
        type="rent",
        declarations=RENT,
        actor=staff("clerk"),
    )
    assert not Withdrawal.objects.exists() and not Evidence.objects.exists()


def test_paid_rent_is_what_the_loan_limit_reads_through_the_port(
    funded, staff, business_day
):
    """The loans floor sums rent withdrawals of the 12 months before an
    application through accounts.ports, without importing withdrawals."""
    account = funded(amount="2000")
    _pay_out(
        staff, account=account, type="rent", amount=Decimal("3000"), declarations=RENT
    )
    business_day(dt.date(2026, 1, 10))
    account.refresh_from_db()
    _pay_out(
        staff, account=account, type="rent", amount=Decimal("2500"), declarations=RENT
    )
    window = dict(account=account, end=dt.date(2026, 6, 30))
    assert ports.rent_withdrawn_between(start=dt.date(2025, 7, 1), **window) == Decimal(
        "5500.00"
    )
    assert ports.rent_withdrawn_between(start=dt.date(2026, 1, 1), **window) == Decimal(
        "2500.00"
    )
