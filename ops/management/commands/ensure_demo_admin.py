import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.exceptions import DomainError
from ops.services import demo_users_ensure

LOGIN_URL = "http://127.0.0.1:8000/admin/"


class Command(BaseCommand):
    help = (
        "Outside production: create or reset the superuser 'admin' and one demo "
        "user per role, and print the logins."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        admin_password = os.environ.get("DEMO_ADMIN_PASSWORD") or "admin12345"
        user_password = os.environ.get("DEMO_USER_PASSWORD") or "demo12345"
        try:
            logins = demo_users_ensure(
                admin_password=admin_password, user_password=user_password
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(_("Log in at %(url)s") % {"url": LOGIN_URL})
        for login in logins:
            role = _("superuser") if login.role == "superuser" else login.role
            self.stdout.write(
                _("  %(role)s: %(username)s / %(password)s")
                % {
                    "role": role,
                    "username": login.username,
                    "password": login.password,
                }
            )
