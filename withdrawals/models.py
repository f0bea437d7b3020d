"""Withdrawal applications (提取), their evidence and their review trail."""

import os
import secrets

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import FundAccount, LedgerTransaction
from core.models import ActorStamp, StatusChangeRecord


class EvidenceStorage(FileSystemStorage):
    """Outside the web root, never under a URL (``url()`` refuses): files
    reach staff only through the permission-checking view. The location is
    read from settings on use, so tests can point it elsewhere."""

    @property
    def base_location(self) -> str:  # type: ignore[override]
        return str(settings.EVIDENCE_ROOT)

    @property
    def location(self) -> str:  # type: ignore[override]
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:  # type: ignore[override]
        return None


def evidence_storage() -> FileSystemStorage:
    return EvidenceStorage()


def evidence_path(instance: "Evidence", filename: str) -> str:
    # A random name: the uploaded name is kept only as data.
    ext = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
    return f"{secrets.token_hex(2)}/{secrets.token_hex(16)}" + ext.get(
        instance.content_type, ""
    )


class Withdrawal(ActorStamp):
    """One application. ``actor`` is who entered it (staff, depositor, bank)."""

    class Type(models.TextChoices):
        RENT = "rent", _("Rent")
        RENT_FILED = "rent_filed", _("Rent with a filing certificate")
        RENT_MULTICHILD = "rent_multichild", _("Rent, two- or three-child family")
        RENT_RELOCATION = "rent_relocation", _("Relocation rent")
        PURCHASE = "purchase", _("House purchase")
        LOAN_REPAYMENT = "loan_repayment", _("Loan repayment")
        EXIT = "exit", _("Exit")
        RETIREMENT = "retirement", _("Retirement")
        LEAVING_CITY = "leaving_city", _("Leaving the city")
        ABROAD = "abroad", _("Settling abroad")
        DEATH = "death", _("Death (to heirs)")
        INCAPACITY = "incapacity", _("Loss of working capacity")

    # The types that pay out the whole balance and close the account.
    CLOSING_TYPES = frozenset(
        {
            Type.EXIT,
            Type.RETIREMENT,
            Type.LEAVING_CITY,
            Type.ABROAD,
            Type.DEATH,
            Type.INCAPACITY,
        }
    )
    RENT_TYPES = frozenset(
        {Type.RENT, Type.RENT_FILED, Type.RENT_MULTICHILD, Type.RENT_RELOCATION}
    )

    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS: dict[str, set[str]] = {
        Status.PENDING_REVIEW: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
        Status.APPROVED: {Status.PAID, Status.REJECTED},
        Status.REJECTED: set(),
        Status.PAID: set(),
        Status.CANCELLED: set(),
    }
    LIVE_STATUSES = (Status.PENDING_REVIEW, Status.APPROVED)

    class Channel(models.TextChoices):
        COUNTER = "counter", _("Counter")
        PORTAL = "portal", _("Portal")
        BANK_APP = "bank_app", _("Bank app")

    withdrawal_no = models.CharField(
        _("withdrawal number"), max_length=20, unique=True, editable=False
    )
    fund_account = models.ForeignKey(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="withdrawals",
        verbose_name=_("fund account"),
    )
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING_REVIEW,
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.COUNTER
    )
    # Yuan; null for the closing types (the whole balance is paid).
    amount_requested = models.DecimalField(
        _("amount requested"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    # What the rules allowed when last checked (filing, approval).
    amount_allowed = models.DecimalField(
        _("amount allowed"), max_digits=14, decimal_places=2, default=0
    )
    cap_rule = models.CharField(_("capping rule"), max_length=40, blank=True)
    amount_paid = models.DecimalField(
        _("amount paid"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    interest_paid = models.DecimalField(
        _("interest paid"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    # The quote's figure at filing; the payout does not change it.
    subsidy_forfeited = models.DecimalField(
        _("subsidy forfeited"), max_digits=14, decimal_places=2, default=0
    )
    spouse_account = models.ForeignKey(
        FundAccount,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("spouse's fund account"),
    )
    # What the applicant declared (rent paid, no home owned, case numbers,
    # the home's price and loans...): the rule of the type reads it.
    declarations = models.JSONField(_("declarations"), default=dict, blank=True)
    payout_card = models.CharField(_("payout bank card"), max_length=32, blank=True)
    payout_holder = models.CharField(_("payout card holder"), max_length=50, blank=True)
    submitted_on = models.DateField(_("submitted on"))
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("first approver"),
    )
    second_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("second approver"),
    )
    reason = models.CharField(_("rejection reason"), max_length=24, blank=True)
    reason_text = models.CharField(_("rejection note"), max_length=200, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    payout_transaction = models.OneToOneField(
        LedgerTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("payout transaction"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_requested__isnull=True) | Q(amount_requested__gt=0),
                name="withdrawal_amount_requested_positive",
            ),
            models.CheckConstraint(
                condition=Q(amount_allowed__gte=0),
                name="withdrawal_allowed_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__isnull=True) | Q(amount_paid__gte=0),
                name="withdrawal_paid_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending_review",
                        "approved",
                        "rejected",
                        "paid",
                        "cancelled",
                    ]
                ),
                name="withdrawal_status_valid",
            ),
            # Paid means money moved: the figures and the ledger row are there
            # (no row only when nothing was left to pay, a zero-balance exit).
            models.CheckConstraint(
                condition=~Q(status="paid")
                | Q(amount_paid__isnull=False, paid_on__isnull=False)
                & (Q(payout_transaction__isnull=False) | Q(amount_paid=0)),
                name="withdrawal_paid_has_payout",
            ),
            # One live application of a person at a time (one person, one
            # account): a second one waits until the first is decided.
            models.UniqueConstraint(
                fields=["fund_account"],
                condition=Q(status__in=["pending_review", "approved"]),
                name="withdrawal_one_live_per_account",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "type"], name="withdrawal_status_type_idx"),
            models.Index(
                fields=["fund_account", "type", "paid_on"],
                name="withdrawal_paid_by_type_idx",
            ),
        ]
        permissions = [
            ("review_withdrawal", _("Can approve or reject withdrawals")),
            ("pay_withdrawal", _("Can pay out approved withdrawals")),
            ("view_evidence", _("Can view withdrawal evidence files")),
        ]

    def __str__(self) -> str:
        return self.withdrawal_no

    @property
    def closes_account(self) -> bool:
        return self.type in self.CLOSING_TYPES

    @property
    def repay_loan_no(self) -> str:
        """The HPF loan a loan-repayment withdrawal pays straight into (its
        payout goes to the loan, not to a card), or ''."""
        if self.type != self.Type.LOAN_REPAYMENT:
            return ""
        return str((self.declarations or {}).get("repay_loan_no") or "")


class WithdrawalStatusChange(StatusChangeRecord):
    class Reason(models.TextChoices):
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid out")
        DEPOSITOR_CANCELLED = "depositor_cancelled", _("Cancelled by the depositor")
        EVIDENCE_INSUFFICIENT = "evidence_insufficient", _("Evidence insufficient")
        NOT_QUALIFIED = "not_qualified", _("Does not qualify for this type")
        AMOUNT_NOT_SUPPORTED = "amount_not_supported", _("Amount not supported")
        DUPLICATE = "duplicate", _("Duplicate application")
        BALANCE_CHANGED = "balance_changed", _("Balance no longer covers it")
        OTHER = "other", _("Other")

    REJECT_REASONS = frozenset(
        {
            Reason.EVIDENCE_INSUFFICIENT,
            Reason.NOT_QUALIFIED,
            Reason.AMOUNT_NOT_SUPPORTED,
            Reason.DUPLICATE,
            Reason.BALANCE_CHANGED,
            Reason.OTHER,
        }
    )
    REASONS: dict[tuple[str, str], set[str]] = {
        ("pending_review", "approved"): {Reason.APPROVED},
        ("pending_review", "rejected"): set(REJECT_REASONS),
        ("pending_review", "cancelled"): {Reason.DEPOSITOR_CANCELLED},
        ("approved", "paid"): {Reason.PAID},
        ("approved", "rejected"): set(REJECT_REASONS),
    }

    withdrawal = models.ForeignKey(
        Withdrawal,
        on_delete=models.PROTECT,
        related_name="status_changes",
        verbose_name=_("withdrawal"),
    )
    reason = models.CharField(_("reason"), max_length=24, choices=Reason.choices)

    class Meta:
        verbose_name = _("withdrawal status change")
        verbose_name_plural = _("withdrawal status changes")
        ordering = ["withdrawal_id", "id"]


class Evidence(ActorStamp):
    """An uploaded document (PDF, JPEG or PNG, checked by its content)."""

    class Kind(models.TextChoices):
        LEASE = "lease", _("Lease contract")
        FILING_CERTIFICATE = "filing_certificate", _("Lease filing certificate")
        TAX_INVOICE = "tax_invoice", _("Rent tax invoice")
        CHILDREN = "children", _("Proof of children (household register)")
        RELOCATION_AGREEMENT = "relocation_agreement", _("Relocation agreement")
        PURCHASE_CONTRACT = "purchase_contract", _("Purchase contract or title")
        PURCHASE_INVOICE = "purchase_invoice", _("Purchase invoice")
        LOAN_STATEMENT = "loan_statement", _("Loan repayment statement")
        DEATH_CERTIFICATE = "death_certificate", _("Death certificate")
        HEIR_PROOF = "heir_proof", _("Proof of inheritance")
        INCAPACITY_CERTIFICATE = (
            "incapacity_certificate",
            _("Certificate of lost working capacity"),
        )
        LEAVING_PROOF = "leaving_proof", _("Proof of leaving the city")
        EMIGRATION_PROOF = "emigration_proof", _("Proof of settling abroad")
        MARRIAGE_CERTIFICATE = "marriage_certificate", _("Marriage certificate")
        OTHER = "other", _("Other")

    withdrawal = models.ForeignKey(
        Withdrawal,
        on_delete=models.PROTECT,
        related_name="evidence",
        verbose_name=_("withdrawal"),
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    file = models.FileField(
        _("file"), storage=evidence_storage, upload_to=evidence_path, max_length=120
    )
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    original_name = models.CharField(_("original file name"), max_length=120)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["withdrawal_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    content_type__in=["application/pdf", "image/jpeg", "image/png"]
                ),
                name="evidence_content_type_allowed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.original_name})"
