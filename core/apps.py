from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender: Any, **kwargs: Any) -> None:
    # Every migrate leaves the groups exactly as core.roles defines them, so
    # a permission added there needs no migration of its own.
    if sender.name != "core":
        return
    from core.roles import sync_roles

    sync_roles()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, dispatch_uid="core-sync-roles")
