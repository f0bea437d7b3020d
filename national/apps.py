from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NationalConfig(AppConfig):
    name = "national"
    verbose_name = _("National platforms")

    def ready(self) -> None:
        # The national app's own inbound kinds (duplicate answers, acks) are
        # registered when its services load: load them with the app, so an
        # import through national.inbox alone finds them too.
        import national.services  # noqa: F401
