from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubsidiesConfig(AppConfig):
    name = "subsidies"
    verbose_name = _("Interest and subsidy")

    def ready(self) -> None:
        # The arrears job (deposits, a floor down) cancels idle accounts
        # through the close-out owned here.
        from core.audit import register_digest_check
        from deposits.ports import register_idle_close_out
        from subsidies.lifecycle import idle_accounts_close_out
        from subsidies.selectors import settlement_chunk_check
        from subsidies.services import SETTLEMENT_CHUNK_ACTION

        register_idle_close_out(idle_accounts_close_out)
        register_digest_check(SETTLEMENT_CHUNK_ACTION, settlement_chunk_check)
