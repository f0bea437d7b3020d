import datetime as dt
import json
import random
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.idcard import age_on, parse_resident_id, retirement_date
from accounts.ledger import (
    CENTER_SETTLEMENT,
    C,
    D,
    Leg,
    bank_settlement_account,
    center_account,
    depositor_account,
    post_transaction,
)
from accounts.ledger.sql import txn_copy_row
from accounts.models import (
    AccountStatusChange,
    BankPartner,
    Depositor,
    FundAccount,
    LedgerEntry,
    LedgerTransaction,
    SubsidyEvent,
)
from accounts.selectors import ledger_problems
from core import audit
from core.audit import audit_problems
from core.clock import add_months, month_index
from core.crypto import decrypt_text, keyed_hash
from core.models import AuditRecord
from deposits.models import ArrearsCheckRun, Deposit, DepositAgreement, due_date
from deposits.selectors import account_deposit_summary
from deposits.services import check_arrears
from deposits.services.posting_sql import deposit_memo
from ops.seed import demo_data_seed, pools
from ops.seed.plan import Planner, SeedContext
from ops.seed.rows import SEED_ACTOR, deposit_txn_row
from ops.seed.writers import SEED_CHUNK_ACTION, seed_chunk_check
from subsidies.selectors import (
    derive_subsidy_status,
    subsidy_status_on,
    subsidy_statuses,
    subsidy_window,
)
from tests.ops.conftest import SEED_DAY

pytestmark = pytest.mark.django_db

REGION_NAMES = {code: name for code, name, _w in pools.REGIONS}
LAST_CHECKED = dt.date(2026, 10, 1)
SEEDER = ("system", None, "seed_demo")  # actor kind, user id, reference
SEED_ACTOR_COLUMNS = {
    "actor_kind": "system",
    "actor_id": None,
    "actor_ref": "seed_demo",
}


@pytest.fixture
def seed_chunk_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify_audit with the seeder's digest check (the ops app registers it)."""
    monkeypatch.setitem(audit._digest_checks, SEED_CHUNK_ACTION, seed_chunk_check)


def _deposits_by_account() -> dict[int, list[Deposit]]:
    grouped: dict[int, list[Deposit]] = defaultdict(list)
    for deposit in Deposit.objects.select_related("agreement").order_by(
        "fund_account_id", "value_date", "first_month"
    ):
        grouped[deposit.fund_account_id].append(deposit)
    return grouped


def test_command_prints_a_summary_and_the_ledger_is_clean(
    seeded: str, seed_chunk_checked: None
) -> None:
    assert "300/300" in seeded
    assert "已生成 300 人" in seeded
    assert ledger_problems() == []
    assert audit_problems() == []
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
        assert {(c.actor_kind, c.actor_id, c.actor_ref) for c in changes} == {SEEDER}
        if fa.status == "sealed":
            assert fa.arrears_months >= 6
            assert changes[-1].reason == "arrears"
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
            assert subsidy_status_on(current, SEED_DAY) == "not_eligible"
        else:
            assert accounts[0].first_time
            assert subsidy_status_on(accounts[0], SEED_DAY) != "not_eligible"
    assert returning > 0


def test_subsidy_fields_follow_the_arrears_rules(seeded: str) -> None:
    by_account = _deposits_by_account()
    statuses: Counter[str] = Counter()
    for fa in FundAccount.objects.all():
        status = subsidy_status_on(fa, SEED_DAY)
        statuses[status] += 1
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
            assert status == "not_eligible"
        elif fa.subsidy_terminated_on is not None:
            assert status == "terminated"
        elif deposits and add_months(deposits[0].value_date, 12) <= SEED_DAY:
            assert status == "accruing"
        else:
            assert status == "not_yet_eligible"
    assert min(statuses["accruing"], statuses["terminated"]) > 0


def test_every_termination_is_a_subsidy_event(seeded: str) -> None:
    """As accounts.subsidy_state records it: one event per termination, the
    account keeping the earliest day."""
    events: dict[int, list[SubsidyEvent]] = defaultdict(list)
    for event in SubsidyEvent.objects.order_by("id"):
        events[event.fund_account_id].append(event)
    terminated = 0
    for fa in FundAccount.objects.all():
        mine = events.pop(fa.pk, [])
        if fa.subsidy_terminated_on is None:
            assert mine == []
            continue
        terminated += 1
        assert [
            (e.kind, e.reason, e.occurred_on, e.actor_kind, e.actor_id, e.actor_ref)
            for e in mine
        ] == [("terminated", "arrears", fa.subsidy_terminated_on, *SEEDER)]
        assert timezone.localtime(mine[0].created_at).date() >= mine[0].occurred_on
    assert events == {} and terminated > 20


def test_derived_subsidy_status_is_what_the_plan_expects(seeded: str) -> None:
    """Plan the same people again (same seed, same day) and derive each
    account's status from the plan's facts; the stored facts must give the
    same, through the Python and the SQL twin."""
    ctx = SeedContext(
        today=SEED_DAY,
        months=18,
        bank_codes=[code for code, _n, _w in pools.BANKS[:4]],
    )
    planner = Planner(ctx, random.Random(5))
    expected: dict[tuple[str, dt.date], str] = {}
    for _ in range(300):
        person = planner.plan_person()
        for plan in person.accounts:
            first_paid = plan.deposits[0][3] if plan.deposits else None
            expected[(keyed_hash(person.id_number), plan.opened_on)] = (
                derive_subsidy_status(
                    first_time=plan.first_time,
                    terminated_on=plan.subsidy_terminated_on,
                    stopped_on=None,
                    window=subsidy_window(
                        first_paid, wait=ctx.subsidy_wait, years=ctx.subsidy_years
                    ),
                    on=SEED_DAY,
                )
            )
    accounts = list(FundAccount.objects.select_related("depositor"))
    assert len(accounts) == len(expected)
    by_sql = subsidy_statuses([fa.pk for fa in accounts], SEED_DAY)
    for fa in accounts:
        want = expected[(fa.depositor.id_number_hash, fa.opened_on)]
        assert subsidy_status_on(fa, SEED_DAY) == want == by_sql[fa.pk]
    assert set(expected.values()) >= {
        "not_eligible",
        "not_yet_eligible",
        "accruing",
        "terminated",
    }


def test_one_audit_record_per_chunk_with_a_digest(
    seed_demo: Any, seed_chunk_checked: None
) -> None:
    seed_demo(accounts=50, months=12, seed=8, chunk_size=20)
    records = list(AuditRecord.objects.filter(stream="seed:8").order_by("id"))
    assert [r.action for r in records] == [SEED_CHUNK_ACTION] * 3
    assert {(r.actor_kind, r.actor_user_id, r.actor_ref) for r in records} == {SEEDER}
    assert audit_problems() == []
    chunks = [json.loads(r.body)["data"] for r in records]
    assert sorted(c["people"] for c in chunks) == [10, 20, 20]
    assert sum(c["deposits"] for c in chunks) == Deposit.objects.count()
    assert sum(c["count"] for c in chunks) == LedgerTransaction.objects.count()
    assert sum(c["subsidy_events"] for c in chunks) == SubsidyEvent.objects.count()
    assert sum(c["accounts"] for c in chunks) == FundAccount.objects.count()
    for chunk in chunks:
        assert seed_chunk_check(chunk) == ""
        tampered = {**chunk, "digest": "0" * 64}
        assert seed_chunk_check(tampered) != ""


def test_the_arrears_job_finds_nothing_left_to_do(seeded: str) -> None:
    runs = ArrearsCheckRun.objects.filter(actor_label="seed_demo")
    assert runs.filter(month=LAST_CHECKED).exists()
    assert runs.count() == 18 - 1  # every month before the business date's
    assert sum(runs.values_list("sealed", flat=True)) == (
        AccountStatusChange.objects.filter(reason="arrears").count()
    )
    assert sum(runs.values_list("subsidy_terminated", flat=True)) == (
        SubsidyEvent.objects.filter(reason="arrears").count()
    )

    def state() -> list[Any]:
        accounts = list(
            FundAccount.objects.order_by("pk").values_list(
                "pk", "status", "arrears_months", "subsidy_terminated_on"
            )
        )
        statuses = subsidy_statuses([row[0] for row in accounts], SEED_DAY)
        return [
            accounts,
            statuses,
            AccountStatusChange.objects.count(),
            SubsidyEvent.objects.count(),
        ]

    before = state()
    for method in ("sql", "python"):  # PostgreSQL's statement and SQLite's twin
        summary = check_arrears(month=LAST_CHECKED, method=method)
        assert summary.checked > 250
        changed = (
            summary.arrears_updated,
            summary.subsidy_terminated,
            summary.sealed,
            summary.cancelled,
        )
        assert changed == (0, 0, 0, 0)
        assert state() == before
    assert ledger_problems() == [] and audit_problems() == []


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


# Every ledger transaction column but the ids (the bank's is compared by
# code, the external reference with the deposit's bank transaction id).
_TXN_FIELDS = [
    f.attname
    for f in LedgerTransaction._meta.concrete_fields
    if f.attname not in ("id", "fund_account_id", "bank_id", "external_ref")
]


def _fingerprint() -> list[tuple[Any, ...]]:
    """Everything seeded except ids (sequences are not rolled back)."""
    deposits: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in Deposit.objects.order_by("id").values_list(
        "fund_account_id",
        "bank_txn_id",
        "ledger_transaction__external_ref",
        "amount",
        "first_month",
        "months",
        "kind",
        "value_date",
        "paid_at",
        "channel",
        "bank__code",
        "created_at",
        "actor_kind",
        "actor_id",
        "actor_ref",
        *(f"ledger_transaction__{name}" for name in _TXN_FIELDS),
    ):
        fa_id, bank_txn_id, external_ref, *fields = row
        assert external_ref == bank_txn_id
        # The id ends with the deposit's id; sequences are not rolled back.
        deposits[fa_id].append((bank_txn_id[:-10], *fields))
    changes: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in AccountStatusChange.objects.order_by("id").values_list(
        "fund_account_id",
        "from_status",
        "to_status",
        "reason",
        "note",
        "effective_on",
        "created_at",
        "actor_kind",
        "actor_id",
        "actor_ref",
    ):
        changes[row[0]].append(row[1:])
    events: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in SubsidyEvent.objects.order_by("id").values_list(
        "fund_account_id",
        "kind",
        "reason",
        "occurred_on",
        "note",
        "created_at",
        "actor_kind",
        "actor_id",
        "actor_ref",
    ):
        events[row[0]].append(row[1:])
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
        "subsidy_terminated_on",
        "bank__code",
        "agreements__monthly_amount",
        "agreements__cadence",
        "agreements__first_month",
        "agreements__accepted_at",
        "agreements__signed_at",
        "agreements__actor_kind",
        "agreements__actor_id",
        "agreements__actor_ref",
    )
    return [
        (*row[1:], deposits[row[0]], changes[row[0]], events[row[0]])
        for row in accounts.iterator()
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
    assert len(first) >= 60 and sum(len(row[-3]) for row in first) > 200
    assert sum(len(row[-1]) for row in first) > 5  # subsidy events
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
        "actor_kind",
        "actor_ref",
        "ledger_transaction__memo",
        "ledger_transaction__value_date",
        "ledger_transaction__kind",
        "ledger_transaction__purpose",
        "ledger_transaction__actor_kind",
        "ledger_transaction__actor_ref",
        "ledger_transaction__bank__code",
        # Each writer makes up its own bank transaction ids.
        "bank_txn_id",
        "ledger_transaction__external_ref",
    ):
        *fields, bank_txn_id, external_ref = row
        assert external_ref == bank_txn_id
        deposits[row[0]].append((*fields[1:], bank_txn_id != ""))
    changes: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in AccountStatusChange.objects.order_by("effective_on", "id").values_list(
        "fund_account_id",
        "from_status",
        "to_status",
        "reason",
        "effective_on",
        "actor_kind",
        "actor_ref",
    ):
        changes[row[0]].append(row[1:])
    events: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    # Not the reference: the arrears job names itself on the events it writes
    # whatever actor_label it runs under.
    for row in SubsidyEvent.objects.order_by("occurred_on", "id").values_list(
        "fund_account_id", "kind", "reason", "occurred_on", "note", "actor_kind"
    ):
        events[row[0]].append(row[1:])
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
        "subsidy_terminated_on",
        "bank__code",
        "agreements__monthly_amount",
        "agreements__cadence",
        "agreements__first_month",
        "agreements__text_version",
        "agreements__actor_kind",
        "agreements__actor_ref",
    ):
        rows.append(
            (
                *row[1:],
                subsidy_status_on(FundAccount.objects.get(pk=row[0]), SEED_DAY),
                deposits[row[0]],
                changes[row[0]],
                events[row[0]],
            )
        )
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
    assert ledger_problems() == [] and audit_problems() == []
    assert replay.deposits == summary.deposits > 150
    assert {row[2] for row in bulk} >= {"open", "closed"}
    assert sum(len(row[-1]) for row in bulk) > 5  # subsidy events
    assert _comparable() == bulk
    # The real job recorded its runs (the bulk writers record the same months).
    assert ArrearsCheckRun.objects.filter(actor_label="seed_demo").count() == 13


def _columns(obj: Any, skip: set[str]) -> dict[str, Any]:
    return {
        f.column: getattr(obj, f.attname)
        for f in type(obj)._meta.concrete_fields
        if f.column not in skip
    }


@pytest.mark.parametrize("writer", ["copy", "orm"])
def test_seeded_transactions_are_what_post_transaction_writes(
    business_day: Any, seed_chunk_checked: None, writer: str
) -> None:
    """The same deposit posted through the ledger's own service: every column
    of the transaction and of its legs agrees, ids and timestamps aside."""
    business_day(SEED_DAY)
    demo_data_seed(accounts=40, months=6, seed=21, writer=writer)
    assert ledger_problems() == [] and audit_problems() == []
    seen: set[bool] = set()
    deposits = Deposit.objects.select_related("fund_account", "bank").order_by("id")
    for deposit in deposits:
        at_counter = deposit.bank is None
        if at_counter in seen:
            continue
        seen.add(at_counter)
        debit = (
            center_account(CENTER_SETTLEMENT)
            if at_counter
            else bank_settlement_account(deposit.bank)
        )
        posted = post_transaction(
            kind=LedgerTransaction.Kind.DEPOSIT,
            legs=[
                Leg(debit, D, deposit.amount),
                Leg(depositor_account(deposit.fund_account), C, deposit.amount),
            ],
            value_date=deposit.value_date,
            fund_account=deposit.fund_account,
            bank=deposit.bank,
            memo=deposit_memo(deposit.first_month, deposit.last_month),
            actor=SEED_ACTOR,
            purpose="deposit",
            external_ref=deposit.bank_txn_id,
        )
        seeded = LedgerTransaction.objects.get(pk=deposit.ledger_transaction_id)
        posted.refresh_from_db()
        skip = {"id", "posted_at"}
        assert _columns(seeded, skip) == _columns(posted, skip)
        assert seeded.external_ref == deposit.bank_txn_id
        assert (seeded.purpose, seeded.actor_ref) == ("deposit", "seed_demo")

        def legs(txn: LedgerTransaction) -> list[dict[str, Any]]:
            return sorted(
                (_columns(e, {"id", "transaction_id"}) for e in txn.entries.all()),
                key=lambda row: row["side"],
            )

        assert legs(seeded) == legs(posted)
        stamp = {name: getattr(deposit, name) for name in SEED_ACTOR_COLUMNS}
        assert stamp == SEED_ACTOR_COLUMNS
    assert seen == {True, False}


def test_the_seeders_transaction_row_is_txn_copy_row() -> None:
    """The positional fast path builds exactly the row of the ledger's own
    COPY helper, with its defaults, for both kinds of deposit."""
    posted = (dt.date(2026, 3, 5), 36_000)
    for bank_id, ref in ((7, "YTB202603050000000042"), (None, "")):
        assert deposit_txn_row(42, 9, bank_id, posted[0], posted, "m", ref) == (
            txn_copy_row(
                id=42,
                kind="deposit",
                fund_account_id=9,
                bank_id=bank_id,
                value_date=posted[0],
                posted_at=posted,
                memo="m",
                purpose="deposit",
                external_ref=ref,
                **SEED_ACTOR_COLUMNS,
            )
        )
