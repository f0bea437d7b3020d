import datetime as dt

import pytest

from accounts.models import AccountStatusChange, FundAccount
from accounts.services import fund_account_transition, fund_accounts_transition_bulk
from core.actors import Actor
from core.audit import audit_problems
from core.exceptions import DomainError, InvalidTransition
from core.models import OutboxEvent

pytestmark = pytest.mark.django_db

ALL = ["open", "sealed", "closed"]
ALLOWED = {
    ("open", "sealed"),
    ("open", "closed"),
    ("sealed", "open"),
    ("sealed", "closed"),
}
REASONS = [r.value for r in AccountStatusChange.Reason]


def _account_in(open_account, status: str, n: int) -> FundAccount:
    account = open_account(n)
    if status in ("sealed", "closed"):
        FundAccount.objects.filter(pk=account.pk).update(
            status=status, closed_on=dt.date(2025, 1, 1) if status == "closed" else None
        )
        account.refresh_from_db()
    return account


@pytest.mark.parametrize("src", ALL)
@pytest.mark.parametrize("dst", ALL)
def test_transition_table(open_account, business_day, src: str, dst: str) -> None:
    business_day(dt.date(2025, 6, 30))
    account = _account_in(open_account, src, 1)
    before = AccountStatusChange.objects.filter(fund_account=account).count()
    if (src, dst) in ALLOWED:
        reason = "staff" if dst != "closed" else "exit"
        fund_account_transition(account=account, to=dst, reason=reason, note="复核")
        account.refresh_from_db()
        assert account.status == dst
        assert (account.closed_on is not None) == (dst == "closed")
        change = AccountStatusChange.objects.filter(fund_account=account).latest("id")
        assert (change.from_status, change.to_status, change.reason) == (
            src,
            dst,
            reason,
        )
        assert change.effective_on == dt.date(2025, 6, 30)
        assert (change.actor_kind, change.actor_ref) == ("system", "system")
        assert audit_problems() == []
    else:
        with pytest.raises(InvalidTransition) as err:
            fund_account_transition(account=account, to=dst, reason="staff")
        assert err.value.status == 409
        assert err.value.code == (
            "account_closed" if src == "closed" else "invalid_transition"
        )
        account.refresh_from_db()
        assert account.status == src
        assert (
            AccountStatusChange.objects.filter(fund_account=account).count() == before
        )


@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("edge", sorted(ALLOWED))
def test_reasons_are_codes_checked_per_edge(
    open_account, business_day, edge, reason
) -> None:
    business_day(dt.date(2025, 6, 30))
    src, dst = edge
    account = _account_in(open_account, src, 7)
    allowed = reason in AccountStatusChange.REASONS[edge]
    if allowed:
        fund_account_transition(account=account, to=dst, reason=reason)
        account.refresh_from_db()
        assert account.status == dst
    else:
        with pytest.raises(DomainError) as err:
            fund_account_transition(account=account, to=dst, reason=reason)
        assert err.value.code == "invalid_reason"
        account.refresh_from_db()
        assert account.status == src


def test_staff_never_close_an_account() -> None:
    for edge, reasons in AccountStatusChange.REASONS.items():
        assert ("staff" in reasons) is (edge[1] != "closed")


def test_sealing_and_closing_tell_the_servicing_bank(
    open_account, business_day
) -> None:
    business_day(dt.date(2025, 6, 30))
    account = open_account(2)
    fund_account_transition(account=account, to="sealed", reason="arrears")
    fund_account_transition(account=account, to="closed", reason="exit")
    events = list(OutboxEvent.objects.order_by("id").values_list("topic", "audience"))
    assert events == [("account.sealed", "YTB"), ("account.closed", "YTB")]


def test_bulk_transition_only_moves_allowed_accounts(
    open_account, business_day
) -> None:
    business_day(dt.date(2025, 6, 30))
    a, b, c = open_account(3), open_account(4), open_account(5)
    fund_account_transition(account=c, to="closed", reason="exit")
    changed = fund_accounts_transition_bulk(
        account_ids=[a.pk, b.pk, c.pk],
        to="sealed",
        reason="arrears",
        actor=Actor.system("check_arrears"),
        effective_on=dt.date(2025, 6, 30),
        audit_stream="arrears:test",
    )
    assert sorted(changed) == sorted([a.pk, b.pk])
    assert set(
        FundAccount.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)
    ) == {"sealed"}
    assert FundAccount.objects.get(pk=c.pk).status == "closed"
    rows = AccountStatusChange.objects.filter(reason="arrears")
    assert {(r.fund_account_id, r.from_status, r.actor_ref) for r in rows} == {
        (a.pk, "open", "check_arrears"),
        (b.pk, "open", "check_arrears"),
    }
    # Running it again changes nothing.
    again = fund_accounts_transition_bulk(
        account_ids=[a.pk, b.pk],
        to="sealed",
        reason="arrears",
        actor=Actor.system("check_arrears"),
        effective_on=dt.date(2025, 6, 30),
        audit_stream="arrears:test",
    )
    assert again == [] and rows.count() == 2
