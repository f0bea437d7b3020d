"""Cross-city transfers (异地转移接续, rules section 9).

Out: the depositor leaves for another city; interest to date is posted, the
balance goes to the national transfer clearing (2241) and the account
closes, in one transaction, with the message to the transfer platform
queued in the same one. The platform's acknowledgement settles the
clearing.

In: the center asks the platform for a person's fund in another city (the
person's details are taken at the counter); when the platform's answer
arrives (an imported file), an account opens here with the money and the
months deposited there. The person is then not a first-time participant
(rules section 6): the money, and later deposits, earn no subsidy.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import BankPartner, FundAccount, Industry, LedgerTransaction
from core.models import ActorStamp
from core.money import MoneyField


class TransferOut(ActorStamp):
    class Status(models.TextChoices):
        SENT = "sent", _("Sent to the platform")
        SETTLED = "settled", _("Acknowledged and settled")

    fund_account = models.OneToOneField(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="transfer_out",
        verbose_name=_("fund account"),
    )
    to_city = models.CharField(_("to city"), max_length=50)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.SENT
    )
    interest = MoneyField(_("interest to date"))
    amount = MoneyField(_("amount transferred"))
    transfer_ref = models.CharField(_("transfer number"), max_length=40, unique=True)
    message_id = models.UUIDField(_("platform message"), unique=True)
    requested_on = models.DateField(_("requested on"))
    payout_transaction = models.OneToOneField(
        LedgerTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("close-out posting"),
    )
    settled_transaction = models.OneToOneField(
        LedgerTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("settlement posting"),
    )
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("transfer out")
        verbose_name_plural = _("transfers out")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(interest__gte=0),
                name="transfer_out_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund_account} -> {self.to_city}"


class TransferIn(ActorStamp):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested from the platform")
        ARRIVED = "arrived", _("Arrived; account opened")
        REFUSED = "refused", _("Refused")

    # The person, as the counter took them; the ID only encrypted.
    id_number_encrypted = models.TextField(_("resident ID (encrypted)"), editable=False)
    id_number_hash = models.CharField(
        _("resident ID hash"), max_length=64, db_index=True, editable=False
    )
    id_number_masked = models.CharField(_("resident ID"), max_length=18, editable=False)
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20)
    employment_form = models.CharField(_("employment form"), max_length=16)
    industry = models.ForeignKey(
        Industry, on_delete=models.PROTECT, related_name="+", verbose_name=_("industry")
    )
    district = models.CharField(_("district"), max_length=32, blank=True)
    bank = models.ForeignKey(
        BankPartner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("servicing bank"),
    )
    from_city = models.CharField(_("from city"), max_length=50)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    request_message_id = models.UUIDField(_("request message"), unique=True)
    requested_on = models.DateField(_("requested on"))
    # What the platform sent back.
    transfer_ref = models.CharField(_("platform transfer number"), max_length=40)
    amount = MoneyField(_("amount"), null=True, blank=True)
    first_month = models.DateField(_("first month deposited there"), null=True)
    last_month = models.DateField(_("last month deposited there"), null=True)
    months_paid = models.PositiveSmallIntegerField(_("months paid there"), null=True)
    fund_account = models.OneToOneField(
        FundAccount,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfer_in",
        verbose_name=_("account opened"),
    )
    ledger_transaction = models.OneToOneField(
        LedgerTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("posting"),
    )
    arrived_on = models.DateField(_("arrived on"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("transfer in")
        verbose_name_plural = _("transfers in")
        ordering = ["-id"]
        constraints = [
            # One request waiting per person.
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=Q(status="requested"),
                name="transfer_in_one_waiting",
            ),
            models.CheckConstraint(
                condition=~Q(status="arrived")
                | (Q(fund_account__isnull=False) & Q(amount__gte=0)),
                name="transfer_in_arrived_has_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_masked} <- {self.from_city}"
