"""The counter roles are defined once (core.roles) and the database follows."""

import pytest
from django.contrib.auth.models import Permission

from core.models import Role
from core.roles import ROLES, role_group, sync_roles

pytestmark = pytest.mark.django_db


def _held(code: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in role_group(code).permissions.select_related("content_type")
    }


@pytest.mark.parametrize("code", sorted(ROLES))
def test_each_role_holds_exactly_its_permissions(code: str) -> None:
    assert _held(code) == set(ROLES[code].permissions)
    assert role_group(code).name == ROLES[code].name


def test_every_named_permission_exists() -> None:
    for spec in ROLES.values():
        for dotted in spec.permissions:
            app_label, codename = dotted.split(".")
            assert Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).exists(), dotted


def test_sync_removes_what_the_table_does_not_grant() -> None:
    group = role_group("auditor")
    group.permissions.add(Permission.objects.get(codename="add_fundaccount"))
    assert "accounts.add_fundaccount" in _held("auditor")
    sync_roles()
    assert "accounts.add_fundaccount" not in _held("auditor")
    assert Role.objects.count() == len(ROLES)


def test_the_auditor_reads_and_changes_nothing() -> None:
    assert all(
        p.split(".")[1].startswith("view_") for p in ROLES["auditor"].permissions
    )
