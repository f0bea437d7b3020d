from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WithdrawalsConfig(AppConfig):
    name = "withdrawals"
    verbose_name = _("Withdrawals")

    def ready(self) -> None:
        # Loans read paid rent withdrawals (the limit's add-back) through
        # accounts.ports, never by importing this app.
        from accounts.ports import register_withdrawal_facts
        from withdrawals.selectors import rent_withdrawn_between, withdrawal_live

        register_withdrawal_facts(
            rent_withdrawn_between=rent_withdrawn_between, live=withdrawal_live
        )
