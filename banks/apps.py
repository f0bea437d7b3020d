from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BanksConfig(AppConfig):
    name = "banks"
    verbose_name = _("Partner bank API")

    def ready(self) -> None:
        from django.db import transaction
        from django.db.models.signals import post_delete, post_save

        from accounts.models import BankPartner
        from banks.models import BankSigningPolicy

        def partner_changed(**_kwargs: object) -> None:
            from banks.bankgen import bank_generation_bump
            from banks.selectors import bank_credentials_forget

            # Now (this process, and tests that never commit) and again at
            # commit, so no worker keeps a pre-commit read under the new token.
            bank_credentials_forget()
            bank_generation_bump()
            transaction.on_commit(bank_generation_bump)

        post_save.connect(
            partner_changed,
            sender=BankPartner,
            weak=False,
            dispatch_uid="bank-generation",
        )
        post_delete.connect(
            partner_changed,
            sender=BankPartner,
            weak=False,
            dispatch_uid="bank-generation-del",
        )
        # The signing policy is cached with the partner's credentials.
        post_save.connect(
            partner_changed,
            sender=BankSigningPolicy,
            weak=False,
            dispatch_uid="bank-generation-policy",
        )
        post_delete.connect(
            partner_changed,
            sender=BankSigningPolicy,
            weak=False,
            dispatch_uid="bank-generation-policy-del",
        )
