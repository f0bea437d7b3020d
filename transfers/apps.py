from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = _("Transfers and conversions")

    def ready(self) -> None:
        # The transfer platform's answers arrive as lines of imported files;
        # national (a lower floor) calls these for their kinds.
        from national.services import register_inbox_handler
        from transfers.services import transfer_in_arrived, transfer_out_acknowledged

        register_inbox_handler("transfer_in", transfer_in_arrived)
        register_inbox_handler("transfer_out_ack", transfer_out_acknowledged)
