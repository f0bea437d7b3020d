import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from banks.selectors import bank_credentials_forget
from core.clock import clear_business_date_cache, set_business_date
from core.policy import clear_policy_cache
from tests.idgen import make_id


@pytest.fixture(autouse=True)
def _fresh_policy_cache() -> Iterator[None]:
    clear_policy_cache()
    clear_business_date_cache()
    bank_credentials_forget()
    yield
    clear_policy_cache()
    clear_business_date_cache()
    bank_credentials_forget()


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
