"""Every admin action and every history page, for every role, generated from
the admin registry (a new admin or action is covered without a new test)."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import CreditFlag, FundAccount
from accounts.services import credit_flag_set, fund_account_transition
from core.admin_base import ServiceOwnedHistoryAdmin

pytestmark = pytest.mark.django_db
ROLES = ["柜员", "复核员", "财务", "审计"]
# Django's own actions check their permission themselves.
BUILTIN = {"delete_selected"}


def _registry() -> list[tuple[type, admin.ModelAdmin]]:
    return sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label)


def _project_admins() -> list[tuple[type, admin.ModelAdmin]]:
    project = {"core", "accounts", "deposits", "subsidies", "banks", "withdrawals"}
    project |= {"loans", "risk", "ops", "national", "portal"}
    return [(m, a) for m, a in _registry() if m._meta.app_label in project]


def _request_for(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _role_user(django_user_model, role: str):
    user = django_user_model.objects.create_user(
        f"u-{abs(hash(role))}", password="pw", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def test_every_action_declares_its_permission(admin_user) -> None:
    request = _request_for(admin_user)
    missing = []
    for model, model_admin in _project_admins():
        for name, (func, _n, _d) in model_admin.get_actions(request).items():
            if name not in BUILTIN and not getattr(func, "allowed_permissions", ()):
                missing.append(f"{model._meta.label}.{name}")
    assert missing == []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_actions_its_permissions_allow(
    role, django_user_model
) -> None:
    user = _role_user(django_user_model, role)
    request = _request_for(user)
    for model, model_admin in _project_admins():
        opts = model._meta
        offered = set(model_admin.get_actions(request))
        for name, (func, _n, _d) in model_admin.get_actions(
            _request_for(django_user_model(is_superuser=True, is_staff=True))
        ).items():
            perms = getattr(func, "allowed_permissions", ("delete",))
            # The permission each declared word stands for, read from the
            # role's own grants (not from the admin that is under test).
            needed = []
            for perm in perms:
                codename = {
                    "approve": f"approve_{opts.model_name}",
                }.get(perm, f"{perm}_{opts.model_name}")
                needed.append(f"{opts.app_label}.{codename}")
            allowed = all(user.has_perm(p) for p in needed) and (
                model_admin.has_view_or_change_permission(request)
            )
            assert (name in offered) == allowed, (role, opts.label, name, needed)


def test_the_auditor_has_no_action_anywhere(django_user_model) -> None:
    request = _request_for(_role_user(django_user_model, "审计"))
    offered = {
        f"{m._meta.label}.{name}"
        for m, a in _project_admins()
        for name in a.get_actions(request)
    }
    assert offered == set()


def test_the_auditor_cannot_clear_a_credit_flag_by_posting_the_action(
    client, django_user_model, open_account, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    account = open_account(1)
    flag = credit_flag_set(depositor=account.depositor, reason="逾期")
    url = reverse("admin:accounts_creditflag_changelist")
    for role, cleared in [("审计", False), ("复核员", True)]:
        client.force_login(_role_user(django_user_model, role))
        client.post(url, {"action": "clear_flags", "_selected_action": [flag.pk]})
        flag.refresh_from_db()
        assert (flag.cleared_at is not None) is cleared, role
    assert CreditFlag.objects.get().cleared_by.groups.get().name == "复核员"


def test_no_history_page_can_revert(client, admin_user) -> None:
    # Every model with history: its state is owned by a service.
    for model, model_admin in _registry():
        if isinstance(model_admin, SimpleHistoryAdmin):
            assert isinstance(model_admin, ServiceOwnedHistoryAdmin), model


def test_a_sealed_account_is_not_reverted_to_open(
    client, admin_user, open_account, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    account = open_account(1)
    fund_account_transition(account=account, to="sealed", reason="staff", note="x")
    opened = account.history.order_by("history_id").first()
    assert opened.status == "open"
    client.force_login(admin_user)
    url = reverse(
        "admin:accounts_fundaccount_simple_history",
        args=[account.pk, opened.history_id],
    )
    assert client.get(url).status_code == 200
    assert "恢复" not in client.get(url).content.decode()
    response = client.post(url, {"bank": account.bank_id})
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.status == "sealed"
    assert account.status_changes.count() == 2
    assert FundAccount.objects.filter(status="open").count() == 0
