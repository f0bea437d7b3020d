"""Credit profile consent rules, statements, industries, throttle, request log."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import BankPartner, FundAccount, LedgerTransaction
from banks.models import ApiRequestLog, Consent
from banks.services import consent_grant, consent_revoke
from clients.fund_bank_client import FundBankClient
from tests.banks.conftest import PAID_AT, account_fields, deposit_fields, error_code

pytestmark = pytest.mark.django_db


def _depositor(no: str) -> Any:
    return FundAccount.objects.select_related("depositor").get(account_no=no).depositor


def test_credit_profile_needs_consent_even_for_servicing_bank(
    api: FundBankClient, bank: Any, open_via_api: Any
) -> None:
    no = open_via_api(api)
    api.post_deposit(**deposit_fields(no, amount="2400.00", months=3))
    refused = api.credit_profile(no)
    assert refused.status_code == 403
    assert error_code(refused) == "no_consent"
    assert refused.json()["error"]["message"] == "缴存人未向本行授予有效的授权。"
    consent_grant(depositor=_depositor(no), bank=bank)
    response = api.credit_profile(no)
    assert response.status_code == 200
    assert response.json() == {
        "balance": "2400.00",
        "first_month": "2026-01",
        "months_paid": 3,
        "continuous_months": 3,
        "arrears_months_24": 0,
        "status": "open",
        "as_of": "2026-01-15",
    }


def test_credit_profile_for_another_consented_bank(
    api: FundBankClient,
    other_api: FundBankClient,
    other_bank: Any,
    open_via_api: Any,
) -> None:
    no = open_via_api(api)
    # No relation at all: indistinguishable from an unknown number.
    unrelated = other_api.credit_profile(no)
    unknown = other_api.credit_profile("370600000000000")
    assert unrelated.status_code == unknown.status_code == 404
    assert unrelated.json() == unknown.json()
    consent = consent_grant(depositor=_depositor(no), bank=other_bank)
    assert other_api.credit_profile(no).status_code == 200
    # Still not theirs to read the account itself.
    assert other_api.get_account(no).status_code == 404
    consent_revoke(consent=consent)
    revoked = other_api.credit_profile(no)
    assert revoked.status_code == 403
    assert error_code(revoked) == "no_consent"


def test_consent_expires_after_policy_days(
    api: FundBankClient, bank: Any, open_via_api: Any, business_day: Any
) -> None:
    no = open_via_api(api)
    consent = consent_grant(depositor=_depositor(no), bank=bank)
    assert consent.expires_on == dt.date(2026, 1, 15) + dt.timedelta(days=365)
    business_day(consent.expires_on - dt.timedelta(days=1))
    assert api.credit_profile(no).status_code == 200
    business_day(consent.expires_on)
    assert error_code(api.credit_profile(no)) == "no_consent"


def test_regrant_replaces_live_consent(bank: Any, api: Any, open_via_api: Any) -> None:
    no = open_via_api(api)
    first = consent_grant(depositor=_depositor(no), bank=bank)
    second = consent_grant(depositor=_depositor(no), bank=bank)
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
    assert Consent.objects.filter(revoked_at__isnull=True).count() == 1


def test_statement_lists_own_postings_with_cursor(
    api: FundBankClient,
    other_api: FundBankClient,
    open_via_api: Any,
) -> None:
    mine = [open_via_api(api) for _ in range(3)]
    theirs = open_via_api(other_api)
    for i, no in enumerate(mine):
        r = api.post_deposit(
            **deposit_fields(no, amount="1600.00", months=2, bank_txn_id=f"S{i}")
        )
        assert r.status_code == 201
    assert other_api.post_deposit(**deposit_fields(theirs)).status_code == 201
    today = timezone.localdate().isoformat()
    first = api.statement(today, page_size=2)
    assert first.status_code == 200
    body = first.json()
    assert body["date"] == today
    assert body["count"] == 3 and body["total"] == "4800.00"
    assert [i["bank_txn_id"] for i in body["items"]] == ["S0", "S1"]
    assert body["items"][0]["kind"] == "deposit"
    assert body["items"][0]["account_no"] == mine[0]
    assert body["items"][0]["amount"] == "1600.00"
    assert body["next_cursor"]
    second = api.statement(today, cursor=body["next_cursor"], page_size=2).json()
    assert [i["bank_txn_id"] for i in second["items"]] == ["S2"]
    assert second["next_cursor"] is None and second["count"] == 3
    assert [i["bank_txn_id"] for i in api.statement_all(today, page_size=1)] == [
        "S0",
        "S1",
        "S2",
    ]
    theirs_body = other_api.statement(today).json()
    assert theirs_body["count"] == 1 and theirs_body["total"] == "800.00"


def test_statement_reads_the_banks_own_postings_from_the_ledger(
    api: FundBankClient,
    bank: Any,
    other_api: FundBankClient,
    other_bank: Any,
    open_via_api: Any,
) -> None:
    """A statement is the bank's side of each deposit posting (its settlement
    entry, the transaction's purpose and reference): a counter deposit to an
    account the bank services is not on it, nor another bank's posting to an
    account that moved there."""
    from accounts.services import fund_account_bank_change
    from deposits.services import deposit_post

    no = open_via_api(api)
    mine = api.post_deposit(**deposit_fields(no, bank_txn_id="MINE-1"))
    assert mine.status_code == 201, mine.text
    account = FundAccount.objects.get(account_no=no)
    deposit_post(
        account=account,
        amount=Decimal("1600.00"),
        first_month=dt.date(2026, 2, 1),
        months=2,
        paid_at=dt.datetime.fromisoformat(PAID_AT),
        bank=None,
        channel="counter",
    )
    fund_account_bank_change(account=account, bank=other_bank)
    theirs = other_api.post_deposit(
        **deposit_fields(no, first_month="2026-04", bank_txn_id="THEIRS-1")
    )
    assert theirs.status_code == 201, theirs.text
    purposes = LedgerTransaction.objects.filter(fund_account=account)
    assert sorted(purposes.values_list("purpose", flat=True)) == ["deposit"] * 3

    today = timezone.localdate().isoformat()
    body = api.statement(today).json()
    assert (body["count"], body["total"]) == (1, "800.00")
    (item,) = body["items"]
    posted = LedgerTransaction.objects.get(bank=bank, external_ref="MINE-1")
    assert item == {
        "kind": "deposit",
        "bank_txn_id": "MINE-1",
        "account_no": no,
        "amount": "800.00",
        "posted_at": item["posted_at"],
    }
    assert dt.datetime.fromisoformat(item["posted_at"]) == posted.posted_at
    other = other_api.statement(today).json()
    assert (other["count"], other["total"]) == (1, "800.00")
    assert [i["bank_txn_id"] for i in other["items"]] == ["THEIRS-1"]


def test_statement_day_is_shanghai_day(api: FundBankClient, open_via_api: Any) -> None:
    from banks.selectors import _day_bounds

    start, end = _day_bounds(dt.date(2026, 3, 1))
    assert start == dt.datetime(2026, 2, 28, 16, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(days=1)
    no = open_via_api(api)
    api.post_deposit(**deposit_fields(no, bank_txn_id="EDGE"))
    posted = LedgerTransaction.objects.get(kind="deposit").posted_at
    local_day = timezone.localtime(posted).date()
    assert api.statement(local_day.isoformat()).json()["count"] == 1
    before = (local_day - dt.timedelta(days=1)).isoformat()
    empty = api.statement(before).json()
    assert empty == {
        "date": before,
        "count": 0,
        "total": "0.00",
        "items": [],
        "next_cursor": None,
    }


@pytest.mark.parametrize(
    "path, code",
    [
        ("/api/v1/statements/2026-1-5/", "invalid_date"),
        ("/api/v1/statements/2026-02-30/", "invalid_date"),
        ("/api/v1/statements/today/", "invalid_date"),
        ("/api/v1/statements/2026-01-15/?cursor=!!!", "invalid_cursor"),
        ("/api/v1/statements/2026-01-15/?cursor=eyJhIjoxfQ", "invalid_cursor"),
        ("/api/v1/statements/2026-01-15/?page_size=0", "invalid_page_size"),
        ("/api/v1/statements/2026-01-15/?page_size=501", "invalid_page_size"),
        ("/api/v1/statements/2026-01-15/?page_size=x", "invalid_page_size"),
    ],
)
def test_statement_bad_input(api: FundBankClient, path: str, code: str) -> None:
    response = api.get(path)
    assert response.status_code == 400
    assert error_code(response) == code


def test_statement_query_count(
    api: FundBankClient, open_via_api: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(5):
        no = open_via_api(api)
        api.post_deposit(**deposit_fields(no, bank_txn_id=f"Q{i}"))
    day = timezone.localdate().isoformat()
    # Bank, day aggregate, page rows, request log (its relaxed-commit SET and
    # INSERT, plus a savepoint pair inside the test transaction); not one
    # query per item.
    with django_assert_max_num_queries(7):
        assert api.statement(day).json()["count"] == 5


def test_throttle_per_bank(api: FundBankClient, bank: Any, other_api: Any) -> None:
    cache.clear()
    BankPartner.objects.filter(pk=bank.pk).update(throttle_per_minute=3)
    statuses = [api.industries().status_code for _ in range(5)]
    if statuses[:3] != [200, 200, 200]:  # the minute rolled over mid-test
        cache.clear()
        statuses = [api.industries().status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    throttled = api.industries()
    assert error_code(throttled) == "throttled"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert other_api.industries().status_code == 200


def test_request_log_masks_ids_and_keeps_no_secret(
    api: FundBankClient, bank: Any
) -> None:
    fields = account_fields(90, monthly_amount="1.00")
    response = api.open_account(idempotency_key="log-1", **fields)
    assert response.status_code == 400
    api.industries()
    rows = list(ApiRequestLog.objects.order_by("id"))
    assert [(r.method, r.status) for r in rows] == [("POST", 400), ("GET", 200)]
    failed = rows[0]
    assert failed.bank_id == bank.pk
    assert failed.path == "/api/v1/accounts/"
    assert failed.idempotency_key == "log-1"
    assert failed.error_code == "amount_out_of_range"
    assert failed.latency_ms >= 0
    id_number = fields["id_number"]
    assert id_number not in failed.body_excerpt
    assert id_number[:6] + "********" + id_number[-4:] in failed.body_excerpt
    everything = " ".join(
        f"{r.path} {r.body_excerpt} {r.idempotency_key} {r.error_code}" for r in rows
    )
    assert bank.plain_secret not in everything
    assert rows[1].body_excerpt == ""


def test_request_log_for_unauthenticated_and_id_in_path(api: FundBankClient) -> None:
    from tests.idgen import make_id

    number = make_id(dt.date(1990, 5, 15), seq=301)
    response = api._http.get(f"/api/v1/accounts/{number}/")
    assert response.status_code == 401
    row = ApiRequestLog.objects.get()
    assert row.bank is None and row.status == 401
    assert row.error_code == "signature_missing"
    assert number not in row.path and "********" in row.path
