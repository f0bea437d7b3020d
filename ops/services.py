"""Operations writes: demo logins for the embedded demo."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext as _

from core.exceptions import DomainError

# One demo login per counter role; the groups come from accounts migration 0003.
DEMO_ROLE_USERS: list[tuple[str, str]] = [
    ("teller", "柜员"),
    ("reviewer", "复核员"),
    ("finance", "财务"),
    ("auditor", "审计"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str  # group name, or "superuser"


@transaction.atomic
def demo_users_ensure(
    *, admin_password: str, user_password: str, actor: Any = None
) -> list[DemoLogin]:
    """Create or reset the superuser ``admin`` and one staff user per role.

    Refused in production: these are well-known passwords.
    """
    if settings.FUND_ENV == "production":
        raise DomainError(
            _("Demo logins are never created in production."), "production_refused"
        )
    if not admin_password or not user_password:
        raise DomainError(_("A demo password must not be empty."), "invalid_password")
    user_model = get_user_model()
    admin, _created = user_model.objects.get_or_create(username="admin")
    admin.is_staff = admin.is_superuser = admin.is_active = True
    admin.set_password(admin_password)
    admin.save()
    logins = [DemoLogin("admin", admin_password, "superuser")]
    for username, group_name in DEMO_ROLE_USERS:
        group, _created = Group.objects.get_or_create(name=group_name)
        user, _created = user_model.objects.get_or_create(username=username)
        user.is_staff, user.is_superuser, user.is_active = True, False, True
        user.set_password(user_password)
        user.save()
        user.groups.set([group])
        logins.append(DemoLogin(username, user_password, group_name))
    return logins
