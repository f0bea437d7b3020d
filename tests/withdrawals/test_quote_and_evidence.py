"""The quote's forfeited subsidy on a worked case, and evidence files checked
by their content, stored outside the web root under random names."""

import datetime as dt
import os
from decimal import Decimal

import pytest
from django.conf import settings

from core.exceptions import DomainError
from subsidies.services import settle_year
from tests.subsidies.helpers import monthly
from tests.withdrawals.conftest import JPEG, PDF, PNG, doc
from withdrawals.evidence import EvidenceUpload, evidence_check
from withdrawals.models import Evidence, Withdrawal
from withdrawals.selectors import withdrawal_quote
from withdrawals.services import withdrawal_submit

pytestmark = pytest.mark.django_db

RENT = {"rent_paid": "3000.00", "no_home_owned": True}


def test_the_quote_shows_the_subsidy_a_withdrawal_would_forfeit(
    fe_account, pay, business_day
) -> None:
    """E1's account on 2026-09-15, before the E2 rent withdrawal."""
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 9, 10)):
        pay(account, day)
        if day in (dt.date(2025, 6, 10), dt.date(2026, 6, 10)):
            business_day(day.replace(day=30))
            settle_year(year=day.year)
    business_day(dt.date(2026, 9, 15))
    account.refresh_from_db()
    # 16,173.47 after the 2026 settlement + 3 deposits (Jul, Aug, Sep 2026).
    assert account.balance == Decimal("19173.47")
    quote = withdrawal_quote(
        account=account, type="rent", amount=Decimal("3000"), declarations=RENT
    )
    assert quote.subsidy_status == "accruing"
    # Accrued since 2026-06-30: the 2025-03..06 tranches (eligible before the
    # period) 77 days each = 4 x 1,000 x 77 = 308,000; 2025-07-10 eligible
    # 2026-07-10 (67 days), 2025-08-10 -> 2026-08-10 (36), 2025-09-10 ->
    # 2026-09-10 (5): 108,000 more. 416,000 x 1.2 % / 360 = 13.8666 -> 13.87
    assert quote.subsidy_accrued == Decimal("13.87")
    # The rest of the window (2026-03-10 + 5 years = 2031-03-10) at today's
    # balance: 1,637 days; 19,173.47 x 1.2 % x 1,637 / 360 = 1,046.232...
    assert quote.subsidy_future == Decimal("1046.23")
    assert quote.subsidy_forfeited == Decimal("1060.10")
    filed = withdrawal_submit(
        account=account,
        type="rent",
        amount=Decimal("3000"),
        declarations=RENT,
        actor=None,
    )
    assert filed.subsidy_forfeited == Decimal("1060.10")


def test_nothing_to_forfeit_for_a_person_who_is_not_first_time(funded) -> None:
    from accounts.models import FundAccount

    account = funded()
    FundAccount.objects.filter(pk=account.pk).update(first_time=False)
    account.refresh_from_db()
    quote = withdrawal_quote(account=account, type="rent", declarations=RENT)
    assert (quote.subsidy_status, quote.subsidy_forfeited) == (
        "not_eligible",
        Decimal("0"),
    )


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(PDF, "application/pdf"), (JPEG, "image/jpeg"), (PNG, "image/png")],
)
def test_the_three_formats_are_recognised_by_content(data, content_type) -> None:
    # Named wrongly on purpose: the name does not matter.
    checked = evidence_check(EvidenceUpload("lease", "photo.txt", data))
    assert checked.content_type == content_type


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"just some text, not a document", "evidence_type_refused"),
        (b"%PDF-1.4 truncated without its end", "evidence_type_refused"),
        (b"MZ\x90\x00 an executable", "evidence_type_refused"),
        (b"GIF89a not accepted", "evidence_type_refused"),
        (b"", "evidence_empty"),
    ],
)
def test_other_content_is_refused_whatever_its_name(data, code) -> None:
    with pytest.raises(DomainError) as exc:
        evidence_check(EvidenceUpload("lease", "lease.pdf", data))
    assert exc.value.code == code
    assert exc.value.fields == {"evidence": [exc.value.message]}


def test_a_file_over_the_size_limit_is_refused(settings) -> None:
    settings.EVIDENCE_MAX_BYTES = 1024
    big = PDF[:-7] + b" " * 2000 + b"%%EOF\n"
    with pytest.raises(DomainError) as exc:
        evidence_check(EvidenceUpload("lease", "big.pdf", big))
    assert exc.value.code == "evidence_too_large"
    assert evidence_check(EvidenceUpload("lease", "small.pdf", PDF))


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(DomainError) as exc:
        evidence_check(EvidenceUpload("selfie", "a.pdf", PDF))
    assert exc.value.code == "evidence_kind_unknown"


def test_files_are_stored_outside_the_web_root_under_random_names(
    funded, staff
) -> None:
    account = funded()
    w = withdrawal_submit(
        account=account,
        type="rent_filed",
        amount=Decimal("3000"),
        declarations=RENT,
        evidence=[
            doc("filing_certificate", PDF, "租赁备案.pdf"),
            doc("tax_invoice", PNG, "invoice.png"),
        ],
        actor=staff("clerk"),
    )
    rows = list(Evidence.objects.filter(withdrawal=w).order_by("id"))
    assert [(r.kind, r.content_type, r.original_name) for r in rows] == [
        ("filing_certificate", "application/pdf", "租赁备案.pdf"),
        ("tax_invoice", "image/png", "invoice.png"),
    ]
    root = os.path.abspath(settings.EVIDENCE_ROOT)
    for row in rows:
        path = os.path.abspath(row.file.path)
        assert path.startswith(root + os.sep)
        assert row.original_name not in row.file.name
        assert not path.startswith(os.path.abspath(settings.STATIC_ROOT))
        assert not path.startswith(os.path.abspath(settings.MEDIA_ROOT))
        with pytest.raises(ValueError):
            row.file.url  # noqa: B018 - never served by URL
        with row.file.open("rb") as f:
            assert f.read() in (PDF, PNG)
    assert rows[0].sha256 != rows[1].sha256


def test_a_refused_file_files_nothing(funded, staff) -> None:
    account = funded()
    with pytest.raises(DomainError) as exc:
        withdrawal_submit(
            account=account,
            type="rent_filed",
            amount=Decimal("3000"),
            declarations=RENT,
            evidence=[
                doc("filing_certificate", b"<html>not a pdf</html>", "a.pdf"),
                doc("tax_invoice"),
            ],
            actor=staff("clerk"),
        )
    assert exc.value.code == "evidence_type_refused"
    assert not Withdrawal.objects.exists()
