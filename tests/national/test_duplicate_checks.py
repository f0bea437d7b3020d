"""Opening and loan approval ask the supervision platform: a loan waits for
the answer (and is refused on a hit); an opening goes through and its check
waits in the queue."""

import datetime as dt

import pytest
from django.utils import translation

from accounts.services import account_open
from core.crypto import keyed_hash
from core.exceptions import ConflictError, DomainError
from loans.calculator import loan_estimate
from loans.models import Loan
from loans.services import loan_apply, loan_approve
from national.models import DuplicateCheck, NationalMessage, NationalRecord
from national.selectors import pending_checks
from national.services import duplicate_check_request, inbox_import, outbox_export
from tests.idgen import make_id
from tests.national.conftest import answer, loan_ask

pytestmark = pytest.mark.django_db


def _loan_checks(loan: Loan) -> list[DuplicateCheck]:
    return list(
        DuplicateCheck.objects.filter(subject=f"loan:{loan.loan_no}").order_by("pk")
    )


def _approve_twice(loan: Loan, staff) -> Loan:
    loan_approve(loan=loan, actor=staff("reviewer"))
    return loan_approve(loan=loan, actor=staff("reviewer"))


def test_an_unanswered_check_holds_the_approval_until_a_clear_answer(
    files_mode, paid_account, staff, tmp_path, platform_file
) -> None:
    borrower = paid_account()
    spouse = paid_account()
    loan = loan_apply(ask=loan_ask(borrower, co_applicant=spouse), actor=staff("clerk"))
    checks = _loan_checks(loan)
    assert [(c.purpose, c.status) for c in checks] == [
        ("loan", "pending"),
        ("loan", "pending"),
    ]
    assert {c.id_number_hash for c in checks} == {
        borrower.depositor.id_number_hash,
        spouse.depositor.id_number_hash,
    }
    with pytest.raises(ConflictError) as err:
        loan_approve(loan=loan, actor=staff("reviewer"))
    assert (err.value.code, err.value.status) == ("national_check_pending", 409)
    loan.refresh_from_db()
    assert loan.first_approver_id is None and loan.status == "pending_review"
    assert {c.pk for c in pending_checks()} >= {c.pk for c in checks}

    # Exported with the people's real ID numbers, answered clear for one:
    # still waiting for the other.
    outbox_export(out_dir=tmp_path)
    inbox_import(path=platform_file([answer(checks[0], hit=False)]))
    with pytest.raises(ConflictError) as err:
        loan_approve(loan=loan, actor=staff("reviewer"))
    assert err.value.code == "national_check_pending"
    inbox_import(path=platform_file([answer(checks[1], hit=False)]))
    approved = _approve_twice(loan, staff)
    assert approved.status == "approved"


def test_the_pending_refusal_message(files_mode, paid_account, staff) -> None:
    loan = loan_apply(ask=loan_ask(paid_account()), actor=staff("clerk"))
    with translation.override("en"), pytest.raises(ConflictError) as err:
        loan_approve(loan=loan, actor=staff("reviewer"))
    assert err.value.message == (
        "The national platform has not answered the duplicate-loan check yet; "
        "the application waits in the queue."
    )


def test_a_hit_answer_refuses_the_approval(
    files_mode, paid_account, staff, platform_file
) -> None:
    loan = loan_apply(ask=loan_ask(paid_account()), actor=staff("clerk"))
    (check,) = _loan_checks(loan)
    outcome = inbox_import(
        path=platform_file([answer(check, hit=True, cities=["威海"])])
    )
    assert outcome.applied == 1
    with pytest.raises(ConflictError) as err:
        loan_approve(loan=loan, actor=staff("reviewer"))
    assert err.value.code == "national_check_hit"
    assert NationalRecord.objects.filter(
        id_number_hash=check.id_number_hash, kind="loan", city="威海"
    ).exists()


def test_a_loan_filed_before_the_checks_is_asked_at_approval_and_waits(
    files_mode, paid_account, staff, platform_file
) -> None:
    loan = loan_apply(ask=loan_ask(paid_account()), actor=staff("clerk"))
    # As if filed before this change: no check, no message.
    (old,) = _loan_checks(loan)
    request = old.request
    old.delete()
    request.delete()
    with pytest.raises(ConflictError) as err:
        loan_approve(loan=loan, actor=staff("reviewer"))
    assert err.value.code == "national_check_pending"
    # The question survived the refused approval: it waits to be exported.
    (asked,) = _loan_checks(loan)
    assert asked.status == "pending" and asked.request.status == "pending"
    inbox_import(path=platform_file([answer(asked, hit=False)]))
    assert _approve_twice(loan, staff).status == "approved"


def test_the_estimate_names_a_pending_check(files_mode, paid_account, staff) -> None:
    account = paid_account()
    assert "national_check_pending" not in loan_estimate(loan_ask(account)).reasons
    duplicate_check_request(
        id_number_hash=account.depositor.id_number_hash,
        id_number=make_id(dt.date(1990, 1, 2), seq=1),
        purpose="loan",
        subject="loan:L-EARLIER",
    )
    reasons = loan_estimate(loan_ask(account)).reasons
    assert "national_check_pending" in reasons
    # An account check waiting does not stop a loan.
    other = paid_account()
    duplicate_check_request(
        id_number_hash=other.depositor.id_number_hash,
        id_number=make_id(dt.date(1990, 1, 3), seq=1),
        purpose="account",
        subject="account:X",
    )
    assert "national_check_pending" not in loan_estimate(loan_ask(other)).reasons


def test_loopback_answers_at_once_through_the_inbox(paid_account, staff) -> None:
    # The test settings' mode: no file, the answer applied as an inbound
    # message with no file.
    loan = loan_apply(ask=loan_ask(paid_account()), actor=staff("clerk"))
    (check,) = _loan_checks(loan)
    assert check.status == "clear" and check.answered_at is not None
    check.request.refresh_from_db()
    assert check.request.status == "answered"
    inbound = NationalMessage.objects.get(
        direction="in", correlation_id=check.request.message_id
    )
    assert (inbound.kind, inbound.status, inbound.file) == (
        "duplicate_answer",
        "applied",
        None,
    )
    assert _approve_twice(loan, staff).status == "approved"


def test_a_hit_reported_after_the_application_refuses_in_loopback(
    paid_account, staff, business_day
) -> None:
    account = paid_account()
    loan = loan_apply(ask=loan_ask(account), actor=staff("clerk"))
    NationalRecord.objects.create(
        id_number_hash=account.depositor.id_number_hash,
        city="青岛",
        kind="loan",
        reported_on=dt.date(2026, 3, 5),
    )
    with pytest.raises(ConflictError) as err:
        loan_approve(loan=loan, actor=staff("reviewer"))
    assert err.value.code == "national_check_hit"


# --- opening --------------------------------------------------------------------


def _open(bank, number: str) -> object:
    return account_open(
        id_number=number,
        name="王小明",
        phone="13800000000",
        employment_form="new_forms",
        industry_code="new_courier",
        bank=bank,
    )


def test_an_opening_goes_through_and_its_check_waits(
    files_mode, bank, business_day, tmp_path
) -> None:
    business_day(dt.date(2025, 3, 1))
    number = make_id(dt.date(1991, 6, 1), seq=61)
    account = _open(bank, number)
    assert account.status == "open"
    (check,) = DuplicateCheck.objects.all()
    assert (check.purpose, check.subject, check.status) == (
        "account",
        f"account:{account.account_no}",
        "pending",
    )
    assert check.id_number_hash == keyed_hash(number)
    assert list(pending_checks()) == [check]
    (path,) = outbox_export(out_dir=tmp_path)
    assert number in path.read_text(encoding="utf-8")


def test_a_mirror_hit_blocks_an_opening_and_asks_nothing(
    files_mode, bank, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    number = make_id(dt.date(1991, 6, 1), seq=63)
    NationalRecord.objects.create(
        id_number_hash=keyed_hash(number),
        city="青岛",
        kind="account",
        reported_on=dt.date(2025, 2, 1),
    )
    with pytest.raises(DomainError) as err:
        _open(bank, number)
    assert err.value.code == "duplicate_account"
    assert not DuplicateCheck.objects.exists()
    assert not NationalMessage.objects.exists()


def test_a_check_is_asked_once_per_subject(files_mode) -> None:
    ask = dict(id_number_hash="h", id_number="x", purpose="loan", subject="loan:L1")
    first = duplicate_check_request(**ask)
    assert duplicate_check_request(**ask).pk == first.pk
    assert NationalMessage.objects.count() == 1
