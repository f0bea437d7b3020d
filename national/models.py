"""What the national platforms report about people (by ID hash only).

The supervision platform (全国住房公积金监管服务平台) reports accounts and
loans a person holds in other cities; opening and loan approval read these
records so that one person never holds two accounts or two loans. This app
sits just above ``core``: it knows no fund account, only hashes of
canonical resident IDs.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NationalRecord(models.Model):
    class Kind(models.TextChoices):
        ACCOUNT = "account", _("Account")
        LOAN = "loan", _("Loan")

    id_number_hash = models.CharField(
        _("resident ID hash"), max_length=64, db_index=True
    )
    city = models.CharField(_("city"), max_length=50)
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.ACCOUNT
    )
    is_active = models.BooleanField(_("active"), default=True)
    reported_on = models.DateField(_("reported on"))

    class Meta:
        db_table = "accounts_nationalaccountrecord"
        verbose_name = _("national platform record")
        verbose_name_plural = _("national platform records")
