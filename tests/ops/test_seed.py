import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.idcard import age_on, parse_resident_id, retirement_date
from accounts.ledger import CENTER_SETTLEMENT
from accounts.models import (
    AccountStatusChange,
    BankPartner,
    Depositor,
    FundAccount,
    LedgerEntry,
)
from accounts.selectors import ledger_problems
from core.clock import add_months, month_index
from core.crypto import decrypt_text, keyed_hash
from deposits.models import ArrearsCheckRun, Deposit, DepositAgreement, due_date
from deposits.selectors import account_deposit_summary
from deposits.services import check_arrears
from ops.seed import demo_data_seed, pools
from tests.ops.conftest import SEED_DAY

pytestmark = pytest.mark.django_db

REGION_NAMES = {code: name for code, name, _w in pools.REGIONS}
LAST_CHECKED = dt.date(2026, 10, 1)


def _deposits_by_account() -> dict[int, list[Deposit]]:
    grouped: dict[int, list[Deposit]] = defaultdict(list)
    for deposit in Deposit.objects.select_related("agreement").order_by(
        "fund_account_id", "value_date", "first_month"
    ):
        grouped[deposit.fund_account_id].append(deposit)
    return grouped


def test_command_prints_a_summary_and_the_ledger_is_clean(seeded: str) -> None:
    assert "300/300" in seeded
    assert "已生成 300 人" in seeded
    assert ledger_problems() == []
    assert Depositor.objects.count() == 300
    accounts = FundAccount.objects.count()
    assert 300 < accounts < 340  # a few people also have an earlier account
    assert set(BankPartner.objects.values_list("code", flat=True)) == {
        "YTB",
        "CCBYT",
        "ICBCYT",
        "ABCYT",
    }
    for fa in FundAccount.objects.select_related("ledger_account"):
        assert fa.ledger_account.code == f"2001-{fa.account_no}"
        assert fa.ledger_account.type == "liability"
    assert DepositAgreement.objects.filter(version=1).count() == accounts
    assert DepositAgreement.objects.count() == accounts


def test_people_have_valid_unique_yantai_ids(seeded: str) -> None:
    numbers = []
    for person in Depositor.objects.all():
        number = decrypt_text(person.id_number_encrypted)
        rid = parse_resident_id(number)  # raises on an invalid number
        numbers.append(number)
        assert person.id_number_hash == keyed_hash(number)
        assert person.id_number_masked == number[:6] + "*" * 8 + number[-4:]
        assert (rid.sex, rid.birth_date) == (person.sex, person.birth_date)
        assert REGION_NAMES[number[:6]] == person.district
        assert 18 <= age_on(person.birth_date, SEED_DAY) <= 58
        assert SEED_DAY < retirement_date(
            person.sex, person.birth_date, person.female_original_retirement_age
        )
        assert 2 <= len(person.name) <= 3
        assert len(person.phone) == 11 and person.phone.startswith("1")
        assert person.industry.code in pools.INDUSTRIES
    assert len(set(numbers)) == len(numbers) == 300
    sexes = Counter(Depositor.objects.values_list("sex", flat=True))
    assert sexes["M"] > 100 and sexes["F"] > 50


def test_agreements_have_plausible_whole_yuan_amounts(seeded: str) -> None:
    amounts = list(DepositAgreement.objects.values_list("monthly_amount", flat=True))
    assert all(Decimal(220) <= a <= Decimal(5794) for a in amounts)
    assert all(a == a.to_integral_value() for a in amounts)
    common = {Decimal(v) for v in (300, 500, 800, 1000, 1500, 2000)}
    assert sum(a in common for a in amounts) > len(amounts) / 2
    cadences = Counter(DepositAgreement.objects.values_list("cadence", flat=True))
    assert cadences["monthly"] > cadences["quarterly"] > 0


def test_stored_fields_follow_the_deposits(seeded: str) -> None:
    by_account = _deposits_by_account()
    kinds: Counter[str] = Counter()
    for fa in FundAccount.objects.select_related("bank"):
        deposits = by_account.get(fa.pk, [])
        agreement = fa.agreements.get()
        assert fa.balance == sum((d.amount for d in deposits), Decimal(0))
        if not deposits:
            assert fa.paid_through is None and fa.last_deposit_on is None
            continue
        latest = max(deposits, key=lambda d: (d.value_date, d.first_month))
        assert fa.paid_through == latest.last_month
        assert fa.last_deposit_on == latest.value_date
        expected_first = agreement.first_month
        for deposit in deposits:
            kinds[deposit.kind] += 1
            assert fa.opened_on <= deposit.value_date <= SEED_DAY
            assert deposit.amount == agreement.monthly_amount * deposit.months
            assert 1 <= deposit.months <= 12
            assert deposit.last_month == add_months(
                deposit.first_month, deposit.months - 1
            )
            assert timezone.localtime(deposit.paid_at).date() == deposit.value_date
            if deposit.kind == Deposit.Kind.RESUME:
                # the current month of a sealed account: the gap stays unpaid
                assert deposit.first_month == deposit.value_date.replace(day=1)
                assert deposit.first_month > expected_first
            else:
                assert deposit.first_month == expected_first
                late = due_date(deposit.first_month, agreement.cadence) < (
                    deposit.value_date
                )
                assert (deposit.kind == Deposit.Kind.BACK_PAYMENT) == late
            expected_first = add_months(deposit.last_month, 1)
            assert deposit.bank_id == (
                None if deposit.channel == "counter" else fa.bank_id
            )
            assert (deposit.bank_txn_id == "") == (deposit.bank_id is None)
    assert kinds["regular"] > kinds["back_payment"] > 0


def test_each_deposit_is_one_balanced_ledger_transaction(seeded: str) -> None:
    deposits = Deposit.objects.select_related(
        "ledger_transaction", "fund_account__ledger_account", "bank"
    )
    entries: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in LedgerEntry.objects.select_related("ledger_account"):
        entries[entry.transaction_id].append(entry)
    for deposit in deposits:
        txn = deposit.ledger_transaction
        assert (txn.kind, txn.value_date) == ("deposit", deposit.value_date)
        assert txn.fund_account_id == deposit.fund_account_id
        assert txn.bank_id == deposit.bank_id
        debit, credit = sorted(entries[txn.pk], key=lambda e: e.side != "D")
        assert (debit.side, credit.side) == ("D", "C")
        assert debit.amount == credit.amount == deposit.amount
        assert credit.ledger_account == deposit.fund_account.ledger_account
        expected_debit = (
            f"1002-{deposit.bank.code}" if deposit.bank else CENTER_SETTLEMENT
        )
        assert debit.ledger_account.code == expected_debit
    assert Deposit.objects.count() == len(entries)


def test_statuses_and_their_history(seeded: str) -> None:
    statuses = Counter(FundAccount.objects.values_list("status", flat=True))
    assert statuses["open"] > statuses["closed"] > 0 and statuses["sealed"] > 0
    resumed = 0
    for fa in FundAccount.objects.prefetch_related("status_changes"):
        changes = list(fa.status_changes.order_by("created_at", "id"))
        assert (changes[0].from_status, changes[0].to_status) == ("", "open")
        assert changes[0].reason == "opened"
        assert changes[0].effective_on == fa.opened_on
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_status == before.to_status
            assert after.effective_on >= before.effective_on
        assert changes[-1].to_status == fa.status
        resumed += sum(c.reason == "resumed" for c in changes)
        if fa.status == "sealed":
            assert fa.arrears_months >= 6
            assert changes[-1].reason == "arrears"
            assert changes[-1].actor_label == "check_arrears"
            assert changes[-1].effective_on.day in (28, 29, 30, 31)
        if fa.status == "closed":
            assert fa.balance == 0 and fa.closed_on == changes[-1].effective_on
            assert changes[-1].reason == "idle_cancel"
            assert not fa.deposits.exists()
        if fa.status != "closed":
            assert fa.closed_on is None
    assert resumed > 0


def test_returning_people_are_not_first_time(seeded: str) -> None:
    returning = 0
    for person in Depositor.objects.prefetch_related("accounts"):
        accounts = sorted(person.accounts.all(), key=lambda a: a.pk)
        live = [a for a in accounts if a.status != "closed"]
        assert len(live) <= 1
        if len(accounts) == 2:
            returning += 1
            earlier, current = accounts
            assert earlier.status == "closed" and earlier.closed_on < current.opened_on
            assert earlier.first_time
            assert not current.first_time
            assert current.subsidy_status == "not_eligible"
        else:
            assert accounts[0].first_time
            assert accounts[0].subsidy_status != "not_eligible"
    assert returning > 0


def test_subsidy_fields_follow_the_arrears_rules(seeded: str) -> None:
    by_account = _deposits_by_account()
    statuses: Counter[str] = Counter()
    for fa in FundAccount.objects.all():
        statuses[fa.subsidy_status] += 1
        deposits = by_account.get(fa.pk, [])
        had_arrears = (
            fa.arrears_months > 0
            or fa.status in ("sealed", "closed")
            or any(d.kind != "regular" for d in deposits)
            or fa.status_changes.filter(reason="arrears").exists()
        )
        if had_arrears:
            assert fa.subsidy_terminated_on is not None
        if fa.subsidy_terminated_on is not None:
            assert fa.subsidy_terminated_on.day == 1
            assert fa.subsidy_terminated_on <= SEED_DAY
        if not fa.first_time:
            assert fa.subsidy_status == "not_eligible"
        elif fa.subsidy_terminated_on is not None:
            assert fa.subsidy_status == "terminated"
        elif deposits and add_months(deposits[0].value_date, 12) <= SEED_DAY:
            assert fa.subsidy_status == "accruing"
        else:
            assert fa.subsidy_status == "not_yet_eligible"
    assert min(statuses["accruing"], statuses["terminated"]) > 0


def test_the_arrears_job_finds_nothing_left_to_do(seeded: str) -> None:
    runs = ArrearsCheckRun.objects.filter(actor_label="seed_demo")
    assert runs.filter(month=LAST_CHECKED).exists()
    assert runs.count() == 18 - 1  # every month before the business date's
    assert sum(runs.values_list("sealed", flat=True)) == (
        AccountStatusChange.objects.filter(reason="arrears").count()
    )
    before = list(
        FundAccount.objects.order_by("pk").values_list(
            "status", "arrears_months", "subsidy_status", "subsidy_terminated_on"
        )
    )
    summary = check_arrears(month=LAST_CHECKED)
    assert summary.checked > 250
    assert (summary.arrears_updated, summary.sealed, summary.cancelled) == (0, 0, 0)
    assert summary.subsidy_terminated == 0
    after = list(
        FundAccount.objects.order_by("pk").values_list(
            "status", "arrears_months", "subsidy_status", "subsidy_terminated_on"
        )
    )
    assert after == before


def test_deposit_summary_selector_agrees_with_stored_fields(seeded: str) -> None:
    for fa in FundAccount.objects.all():
        summary = account_deposit_summary(fa)
        agreement = fa.agreements.get()
        assert summary["paid_through"] == fa.paid_through
        assert summary["first_month"] == agreement.first_month
        assert summary["months_paid"] == sum(
            fa.deposits.values_list("months", flat=True)
        )
        if fa.status != "closed":
            # Closed accounts stop counting at their closing day (selector).
            assert summary["arrears_months"] == fa.arrears_months, fa.account_no


def _fingerprint() -> list[tuple[Any, ...]]:
    """Everything seeded except ids (sequences are not rolled back)."""
    deposits: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in Deposit.objects.order_by("id").values_list(
        "fund_account_id",
        "amount",
        "first_month",
        "months",
        "kind",
        "value_date",
        "paid_at",
        "channel",
        "bank__code",
        "ledger_transaction__memo",
        "ledger_transaction__posted_at",
    ):
        deposits[row[0]].append(row[1:])
    changes: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in AccountStatusChange.objects.order_by("id").values_list(
        "fund_account_id",
        "from_status",
        "to_status",
        "reason",
        "effective_on",
        "created_at",
        "actor_label",
    ):
        changes[row[0]].append(row[1:])
    accounts = FundAccount.objects.order_by("id").values_list(
        "id",
        "depositor__id_number_hash",
        "depositor__name",
        "depositor__phone",
        "depositor__birth_date",
        "depositor__district",
        "depositor__industry__code",
        "depositor__created_at",
        "status",
        "balance",
        "channel",
        "first_time",
        "opened_on",
        "closed_on",
        "paid_through",
        "arrears_months",
        "last_deposit_on",
        "subsidy_status",
        "subsidy_terminated_on",
        "bank__code",
        "agreements__monthly_amount",
        "agreements__cadence",
        "agreements__first_month",
        "agreements__accepted_at",
    )
    return [
        (*row[1:], deposits[row[0]], changes[row[0]]) for row in accounts.iterator()
    ]


class _Undo(Exception):
    pass


def _seed_and_fingerprint(**options: Any) -> list[tuple[Any, ...]]:
    try:
        with transaction.atomic():
            demo_data_seed(**options)
            assert ledger_problems() == []
            fingerprint = _fingerprint()
            raise _Undo
    except _Undo:
        pass
    return fingerprint


def test_same_seed_same_data_with_either_writer(business_day: Any) -> None:
    business_day(SEED_DAY)
    options = dict(accounts=60, months=14, seed=3, chunk_size=25)
    first = _seed_and_fingerprint(**options)
    assert len(first) >= 60 and sum(len(row[-2]) for row in first) > 200
    assert _seed_and_fingerprint(**options) == first
    assert _seed_and_fingerprint(**options, writer="orm") == first
    other = _seed_and_fingerprint(**{**options, "seed": 4})
    assert other != first
    assert {row[0] for row in other}.isdisjoint({row[0] for row in first})


def test_if_empty_does_nothing_when_accounts_exist(seed_demo: Any) -> None:
    seed_demo(accounts=5, months=3, seed=2)
    count = FundAccount.objects.count()
    out = seed_demo(accounts=50, months=3, seed=9, if_empty=True)
    assert FundAccount.objects.count() == count
    assert "--if-empty" in out


def test_seeding_again_adds_new_people(seed_demo: Any) -> None:
    seed_demo(accounts=40, months=6, seed=2)
    seed_demo(accounts=40, months=6, seed=2)  # same seed: IDs must not clash
    assert Depositor.objects.count() == 80
    assert ledger_problems() == []


def test_history_starts_no_earlier_than_the_pilot(seed_demo: Any) -> None:
    out = seed_demo(accounts=40, months=36, seed=2, day=dt.date(2025, 8, 15))
    opened = FundAccount.objects.order_by("opened_on").first()
    assert opened is not None and opened.opened_on >= dt.date(2025, 1, 1)
    assert "2025-01" in out
    assert max(
        month_index(d) for d in Deposit.objects.values_list("value_date", flat=True)
    ) == month_index(dt.date(2025, 8, 1))


def _comparable() -> list[tuple[Any, ...]]:
    """What the services and the bulk writers must agree on: everything but
    ids and the wall-clock times the services stamp (created/posted at)."""
    deposits: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in Deposit.objects.order_by("value_date", "first_month").values_list(
        "fund_account_id",
        "amount",
        "first_month",
        "months",
        "kind",
        "value_date",
        "paid_at",
        "channel",
        "bank__code",
        "ledger_transaction__memo",
        "ledger_transaction__value_date",
    ):
        deposits[row[0]].append(row[1:])
    changes: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in AccountStatusChange.objects.order_by("effective_on", "id").values_list(
        "fund_account_id", "from_status", "to_status", "reason", "effective_on"
    ):
        changes[row[0]].append(row[1:])
    rows = []
    for row in FundAccount.objects.values_list(
        "id",
        "depositor__id_number_hash",
        "opened_on",
        "status",
        "balance",
        "channel",
        "first_time",
        "closed_on",
        "paid_through",
        "arrears_months",
        "last_deposit_on",
        "subsidy_status",
        "subsidy_terminated_on",
        "bank__code",
        "agreements__monthly_amount",
        "agreements__cadence",
        "agreements__first_month",
        "agreements__text_version",
    ):
        # Turning "not yet eligible" into "accruing" is the subsidy code's job.
        subsidy = "not_yet_eligible" if row[11] == "accruing" else row[11]
        rows.append((*row[1:11], subsidy, *row[12:], deposits[row[0]], changes[row[0]]))
    return sorted(rows)


@pytest.mark.django_db(transaction=True)
def test_bulk_writers_leave_what_the_real_services_would(business_day: Any) -> None:
    """Path (b): the same plans posted through account_open_with_agreement,
    deposit_post and the monthly check_arrears, in time order."""
    business_day(SEED_DAY)
    options = dict(accounts=40, months=14, seed=12)
    try:
        with transaction.atomic():
            summary = demo_data_seed(**options, writer="copy")
            bulk = _comparable()
            raise _Undo
    except _Undo:
        pass
    assert not FundAccount.objects.exists()
    replay = demo_data_seed(**options, writer="services")  # durable services
    assert ledger_problems() == []
    assert replay.deposits == summary.deposits > 150
    assert {row[2] for row in bulk} >= {"open", "closed"}
    assert _comparable() == bulk
    assert ArrearsCheckRun.objects.filter(actor_label="check_arrears").count() == 13
