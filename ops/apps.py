from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = _("Operations")

    def ready(self) -> None:
        # verify_audit recomputes each seeded chunk's digest.
        from core.audit import register_digest_check
        from ops.seed.writers import SEED_CHUNK_ACTION, seed_chunk_check

        register_digest_check(SEED_CHUNK_ACTION, seed_chunk_check)
