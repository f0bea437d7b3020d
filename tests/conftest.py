import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from banks.selectors import bank_credentials_forget
from core.clock import clear_business_date_cache, set_business_date
from core.policy import clear_policy_cache
from tests.idgen import make_id

SHANGHAI = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """An aware payment time on ``day`` in Shanghai."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _fresh_policy_cache() -> Iterator[None]:
    from accounts.ledger.posting import center_accounts_forget

    clear_policy_cache()
    clear_business_date_cache()
    bank_credentials_forget()
    center_accounts_forget()
    yield
    clear_policy_cache()
    clear_business_date_cache()
    bank_credentials_forget()
    center_accounts_forget()


@pytest.fixture
def business_day(db: Any) -> Callable[[dt.date], dt.date]:
    """Pin the business date: ``business_day(date(2026, 6, 30))``."""

    def _set(day: dt.date) -> dt.date:
        set_business_date(day)
        return day

    return _set


@pytest.fixture
def bank(db: Any) -> Any:
    from accounts.services import bank_partner_create

    partner, secret = bank_partner_create(code="YTB", name="烟台银行")
    partner.plain_secret = secret
    return partner


@pytest.fixture
def open_account(db: Any, bank: Any) -> Callable[..., Any]:
    """Open an account for a fresh person (ID derived from ``n``)."""
    from accounts.services import account_open

    def _open(
        n: int = 1,
        *,
        birth: dt.date = dt.date(1990, 5, 15),
        male: bool = True,
        **kwargs: Any,
    ) -> Any:
        params = dict(
            id_number=make_id(birth, seq=n * 2 + (1 if male else 0), male=male),
            name=kwargs.pop("name", f"测试{n}"),
            phone="13800000000",
            employment_form="new_forms",
            industry_code="new_courier",
            district="芝罘区",
            bank=bank,
        )
        params.update(kwargs)
        return account_open(**params)

    return _open


@pytest.fixture
def fe_account(db: Any, bank: Any) -> Callable[..., Any]:
    """Open an account with its agreement on ``opened`` (business date pinned)."""
    from deposits.services import account_open_with_agreement

    def _open(
        opened: dt.date = dt.date(2025, 3, 1),
        *,
        first_month: dt.date | None = None,
        amount: str = "1000",
        cadence: str = "monthly",
        **kwargs: Any,
    ) -> Any:
        set_business_date(opened)
        n = next(_seq)
        account, _agreement = account_open_with_agreement(
            id_number=make_id(
                dt.date(1990, 1, 1) + dt.timedelta(days=n), seq=n % 500 * 2 + 1
            ),
            name=f"灵活{n}",
            phone="13800000000",
            employment_form="new_forms",
            industry_code="new_courier",
            bank=kwargs.pop("bank", bank),
            channel=kwargs.pop("channel", "bank_app"),
            monthly_amount=Decimal(amount),
            cadence=cadence,
            start_month=first_month or opened.replace(day=1),
            **kwargs,
        )
        return account

    return _open


@pytest.fixture
def pay(bank: Any) -> Callable[..., Any]:
    """Post a deposit paid on ``day`` (business date moved there first)."""
    from deposits.services import deposit_post

    counter = itertools.count(1)

    def _pay(
        account: Any,
        day: dt.date,
        *,
        first_month: dt.date | None = None,
        months: int = 1,
        amount: Decimal | None = None,
        via_bank: bool = True,
        txn: str | None = None,
        move_date: bool = True,
    ) -> Any:
        from deposits.selectors import current_agreement, next_unpaid_month

        if move_date:
            set_business_date(day)
        account.refresh_from_db()
        first = first_month or next_unpaid_month(account)
        if amount is None:
            amount = current_agreement(account).monthly_amount * months
        return deposit_post(
            account=account,
            amount=amount,
            first_month=first,
            months=months,
            paid_at=at(day),
            bank=bank if via_bank else None,
            bank_txn_id=txn or (f"T{next(counter):06d}" if via_bank else ""),
            channel="bank_app" if via_bank else "counter",
        )

    return _pay


def reseed_reference_data() -> None:
    """Put back what the data migrations seed (policy parameters, industries,
    center ledger accounts, role groups): a transactional test's flush empties
    every table, and the next transactional test expects them."""
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations.special import RunPython

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    project_apps = {
        "core",
        "accounts",
        "deposits",
        "subsidies",
        "withdrawals",
        "loans",
        "risk",
        "banks",
        "ops",
    }
    with connection.schema_editor(atomic=True) as editor:
        for key in sorted(loader.graph.nodes):
            if key[0] not in project_apps:
                continue
            for operation in loader.graph.nodes[key].operations:
                code = getattr(operation, "code", None)
                if isinstance(operation, RunPython) and getattr(
                    code, "__name__", ""
                ).startswith(("seed", "grant")):
                    code(apps, editor)
    clear_policy_cache()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    yield
    if nextitem is None:
        return  # the session's test databases are already gone
    marker = item.get_closest_marker("django_db")
    transactional = marker is not None and bool(
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    )
    if transactional or "live_server" in getattr(item, "fixturenames", ()):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            reseed_reference_data()


_DB_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """After every test that used the database, still inside its transaction:
    every ledger invariant (verify_ledger) and every audit chain
    (verify_audit) must hold. A test that breaks them on purpose says so
    with ``@pytest.mark.breaks_invariants``."""
    outcome = yield
    if outcome.excinfo is not None or item.get_closest_marker("breaks_invariants"):
        return
    uses_db = item.get_closest_marker("django_db") is not None or bool(
        _DB_FIXTURES & set(getattr(item, "fixturenames", ()))
    )
    if not uses_db:
        return
    from django.db import connection

    if connection.connection is None or not connection.is_usable():
        return
    from accounts.selectors import ledger_problems
    from core.audit import audit_problems

    problems = ledger_problems(limit=5) + audit_problems(limit=5)
    if problems:
        outcome.force_exception(
            AssertionError("invariants broken after the test:\n" + "\n".join(problems))
        )


_staff_users = itertools.count(1)


@pytest.fixture
def staff(db: Any) -> Callable[[str], Any]:
    """``staff("reviewer")``: a new member of staff in that role, as an Actor."""
    from django.contrib.auth.models import User

    from core.actors import Actor
    from core.roles import role_group

    def _make(role: str) -> Any:
        user = User.objects.create_user(
            username=f"{role}-{next(_staff_users)}", password="x", is_staff=True
        )
        user.groups.add(role_group(role))
        return Actor.staff(user)

    return _make
