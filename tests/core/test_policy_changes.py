"""Policy parameters are append-only effective-dated rows; rates and caps
take two people; a value is a number; every process sees a change at once."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from core import policy
from core.exceptions import ConflictError, DomainError
from core.models import PolicyParameter
from core.policy import policy_value
from core.services import (
    policy_parameter_approve,
    policy_parameter_propose,
    policy_parameter_reject,
)
from tests.policy import finance_staff, set_param

pytestmark = pytest.mark.django_db
TOMORROW = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today(business_day):
    business_day(dt.date(2026, 3, 1))


@pytest.mark.parametrize("value", ["sixteen", "16岁", "١٦", "1e3", "", "NaN", "-"])
def test_a_value_must_be_a_number_in_digits(value) -> None:
    with pytest.raises(DomainError) as err:
        policy_parameter_propose(
            name="min_opening_age",
            value=value,
            effective_from=TOMORROW,
            actor=finance_staff(1),
        )
    assert "value" in err.value.fields
    assert not PolicyParameter.objects.filter(effective_from=TOMORROW).exists()


def test_values_are_type_and_range_checked() -> None:
    for name, value in [
        ("min_opening_age", "16.5"),
        ("interest_rate", "1.5"),
        ("interest_rate", "-0.01"),
    ]:
        with pytest.raises(DomainError):
            policy_parameter_propose(
                name=name, value=value, effective_from=TOMORROW, actor=finance_staff(1)
            )
    row = policy_parameter_propose(
        name="min_opening_age",
        value="１８",
        effective_from=TOMORROW,
        actor=finance_staff(1),
    )
    assert row.value == "18"


def test_a_change_is_future_dated_never_back_dated() -> None:
    for day in [dt.date(2026, 3, 1), dt.date(2025, 7, 1)]:
        with pytest.raises(DomainError) as err:
            policy_parameter_propose(
                name="min_opening_age",
                value="18",
                effective_from=day,
                actor=finance_staff(1),
            )
        assert err.value.code == "effective_not_future"


def test_in_force_rows_cannot_be_edited_or_deleted_even_by_sql() -> None:
    row = PolicyParameter.objects.get(name="interest_rate")
    for sql in [
        "UPDATE core_policyparameter SET value = '0.03' WHERE id = %s",
        "UPDATE core_policyparameter SET effective_from = '2024-01-01' WHERE id = %s",
        "DELETE FROM core_policyparameter WHERE id = %s",
    ]:
        with pytest.raises(DatabaseError), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(sql, [row.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO core_policyparameter (name, value, effective_from, note,"
                " status, created_at) VALUES ('min_opening_age', 'sixteen',"
                " '2030-01-01', '', 'approved', now())"
            )
    assert policy_value("interest_rate") == Decimal("0.015")


def test_a_rate_needs_a_second_person() -> None:
    maker, checker = finance_staff(1), finance_staff(2)
    row = policy_parameter_propose(
        name="interest_rate", value="0.02", effective_from=TOMORROW, actor=maker
    )
    assert row.status == "proposed"
    assert policy_value("interest_rate", on=TOMORROW) == Decimal("0.015")
    with pytest.raises(ConflictError) as err:
        policy_parameter_approve(row=row, actor=maker)
    assert err.value.code == "self_approval"
    policy_parameter_approve(row=row, actor=checker)
    policy.clear_policy_cache()
    assert policy_value("interest_rate", on=TOMORROW) == Decimal("0.02")
    assert policy_value("interest_rate", on=dt.date(2026, 3, 1)) == Decimal("0.015")
    with pytest.raises(ConflictError):
        policy_parameter_reject(row=row, actor=checker)


def test_a_non_rate_takes_effect_without_a_second_person() -> None:
    row = policy_parameter_propose(
        name="idle_cancel_months",
        value="9",
        effective_from=TOMORROW,
        actor=finance_staff(1),
    )
    assert row.status == "approved"
    policy.clear_policy_cache()
    assert policy_value("idle_cancel_months", on=TOMORROW) == 9


def test_a_rejected_proposal_never_applies_and_the_date_is_free_again() -> None:
    row = policy_parameter_propose(
        name="loan_cap",
        value="1200000",
        effective_from=TOMORROW,
        actor=finance_staff(1),
    )
    policy_parameter_reject(row=row, actor=finance_staff(2))
    policy.clear_policy_cache()
    assert policy_value("loan_cap", on=TOMORROW) == Decimal("1000000")
    again = policy_parameter_propose(
        name="loan_cap",
        value="1100000",
        effective_from=TOMORROW,
        actor=finance_staff(1),
    )
    assert again.status == "proposed"


def test_a_clerk_may_not_propose(django_user_model) -> None:
    clerk = django_user_model.objects.create_user("c", is_staff=True)
    with pytest.raises(DomainError) as err:
        policy_parameter_propose(
            name="min_opening_age", value="18", effective_from=TOMORROW, actor=clerk
        )
    assert err.value.status == 403


def test_the_admin_adds_rows_and_edits_none(client) -> None:
    maker = finance_staff(1)
    client.force_login(maker)
    row = PolicyParameter.objects.get(name="interest_rate")
    change = reverse("admin:core_policyparameter_change", args=[row.pk])
    client.post(change, {"value": "0.03", "effective_from": "2025-01-01"})
    row.refresh_from_db()
    assert row.value == "0.015" and row.effective_from == dt.date(2025, 1, 1)
    add = reverse("admin:core_policyparameter_add")
    response = client.post(
        add,
        {"name": "interest_rate", "value": "sixteen", "effective_from": "2026-04-01"},
    )
    assert response.status_code == 200 and "数字" in response.content.decode()
    response = client.post(
        add, {"name": "interest_rate", "value": "0.016", "effective_from": "2026-04-01"}
    )
    assert response.status_code == 302
    proposal = PolicyParameter.objects.get(value="0.016")
    assert proposal.status == "proposed" and proposal.proposed_by == maker
    changelist = reverse("admin:core_policyparameter_changelist")
    client.post(changelist, {"action": "approve", "_selected_action": [proposal.pk]})
    proposal.refresh_from_db()
    assert proposal.status == "proposed"  # the maker cannot approve
    client.force_login(finance_staff(2))
    client.post(changelist, {"action": "approve", "_selected_action": [proposal.pk]})
    proposal.refresh_from_db()
    assert proposal.status == "approved"


def test_another_process_change_is_seen_at_once(monkeypatch) -> None:
    """A change approved in another worker: this process holds the old rows,
    sees the new generation in the shared cache and reloads."""
    from django.core.cache import cache

    monkeypatch.setattr(policy, "GENERATION_CHECK_SECONDS", 0.0)
    assert policy_value("min_opening_age", on=TOMORROW) == 16
    with connection.cursor() as cur:  # the other worker's committed row
        cur.execute(
            "INSERT INTO core_policyparameter (name, value, effective_from, note,"
            " status, created_at) VALUES ('min_opening_age', '18', %s, '',"
            " 'approved', now())",
            [TOMORROW],
        )
    assert policy_value("min_opening_age", on=TOMORROW) == 16  # cached, same token
    cache.set(policy.GENERATION_KEY, uuid.uuid4().hex, timeout=None)  # its bump
    assert policy_value("min_opening_age", on=TOMORROW) == 18


def test_a_new_opening_age_is_followed_from_its_date(
    open_account, business_day
) -> None:
    set_param("min_opening_age", 18, dt.date(2026, 6, 1))
    seventeen = dt.date(2009, 3, 1)
    business_day(dt.date(2026, 5, 31))
    assert open_account(1, birth=seventeen).status == "open"
    business_day(dt.date(2026, 6, 1))
    with pytest.raises(DomainError) as err:
        open_account(2, birth=seventeen)
    assert err.value.code == "age_not_allowed" and "18" in err.value.message
