"""HPF loans: the application, review and life of a loan, its schedule and
its repayments."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import BankPartner, FundAccount, LedgerTransaction
from core.models import ActorStamp, StatusChangeRecord


def _money(verbose: object, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(verbose, max_digits=14, decimal_places=2, **kwargs)


class Loan(ActorStamp):
    """One loan from its application to its settlement. ``actor`` is who
    entered the application (staff, or the servicing bank)."""

    class Kind(models.TextChoices):
        HPF = "hpf", _("HPF loan")
        COMBINATION = "combination", _("Combination loan")
        CONVERSION = "conversion", _("Commercial-to-HPF conversion")
        RELOCATION = "relocation", _("Relocation housing loan")

    class Home(models.TextChoices):
        FIRST = "first", _("First home")
        SECOND = "second", _("Second home")

    class Method(models.TextChoices):
        EQUAL_INSTALMENT = "equal_instalment", _("Equal instalments")
        EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")

    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        ACTIVE = "active", _("Active")
        SETTLED = "settled", _("Settled")

    TRANSITIONS: dict[str, set[str]] = {
        Status.PENDING_REVIEW: {Status.APPROVED, Status.REJECTED},
        Status.APPROVED: {Status.ACTIVE, Status.REJECTED},
        Status.ACTIVE: {Status.SETTLED},
        Status.REJECTED: set(),
        Status.SETTLED: set(),
    }
    # A person with one of these has a loan outstanding (rules section 8).
    OUTSTANDING = (Status.PENDING_REVIEW, Status.APPROVED, Status.ACTIVE)

    class Bucket(models.TextChoices):
        CURRENT = "current", _("Current")
        M1 = "M1", _("M1 (1-30 days)")
        M2 = "M2", _("M2 (31-60 days)")
        M3 = "M3", _("M3 (61-90 days)")
        NPL = "NPL", _("Non-performing (over 90 days)")

    # Days past due of the oldest overdue instalment -> bucket: up to 30 M1,
    # up to 60 M2, up to 90 M3, beyond NPL. The daily job's SQL and the
    # position read on any day are both built from this one table.
    BUCKET_UPTO: tuple[tuple[int, str], ...] = ((30, "M1"), (60, "M2"), (90, "M3"))

    @classmethod
    def bucket_for(cls, days_overdue: int | None) -> str:
        if not days_overdue or days_overdue <= 0:
            return cls.Bucket.CURRENT
        for upto, bucket in cls.BUCKET_UPTO:
            if days_overdue <= upto:
                return bucket
        return cls.Bucket.NPL

    loan_no = models.CharField(_("loan number"), max_length=20, unique=True)
    fund_account = models.ForeignKey(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="loans",
        verbose_name=_("borrower's fund account"),
    )
    co_applicant = models.ForeignKey(
        FundAccount,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="co_loans",
        verbose_name=_("co-applicant's fund account"),
    )
    bank = models.ForeignKey(
        BankPartner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("servicing bank"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    home = models.CharField(_("home"), max_length=6, choices=Home.choices)
    price = _money(_("price"))
    high_quality = models.BooleanField(_("high-quality home"), default=False)
    children = models.PositiveSmallIntegerField(_("children"), default=0)
    talent = models.BooleanField(_("high-level talent"), default=False)
    monthly_income = _money(_("declared monthly household income"))
    term_months = models.PositiveSmallIntegerField(_("term (months)"))
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    principal = _money(_("principal"))
    # The limit and its components as the calculator gave them at filing.
    limit = _money(_("limit"))
    components = models.JSONField(_("limit components"), default=dict)
    rate = models.DecimalField(_("annual rate"), max_digits=7, decimal_places=5)
    # The commercial part (combination) or the settled commercial loan
    # (conversion), as recorded.
    details = models.JSONField(_("details"), default=dict, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING_REVIEW,
    )
    applied_on = models.DateField(_("applied on"))
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
    contract_no = models.CharField(_("contract number"), max_length=32, blank=True)
    disbursed_on = models.DateField(_("disbursed on"), null=True, blank=True)
    disbursement_txn_id = models.CharField(
        _("disbursement bank transaction id"), max_length=64, blank=True
    )
    outstanding_principal = _money(_("outstanding principal"), default=0)
    bucket = models.CharField(
        _("bucket"), max_length=8, choices=Bucket.choices, default=Bucket.CURRENT
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(principal__gt=0), name="loan_principal_positive"
            ),
            models.CheckConstraint(
                condition=Q(outstanding_principal__gte=0),
                name="loan_outstanding_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(term_months__gte=1, term_months__lte=360),
                name="loan_term_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending_review",
                        "approved",
                        "rejected",
                        "active",
                        "settled",
                    ]
                ),
                name="loan_status_valid",
            ),
            # One loan of a borrower under way at a time (rules section 10).
            models.UniqueConstraint(
                fields=["fund_account"],
                condition=Q(status__in=["pending_review", "approved", "active"]),
                name="loan_one_outstanding_per_borrower",
            ),
            models.UniqueConstraint(
                fields=["bank", "disbursement_txn_id"],
                condition=~Q(disbursement_txn_id=""),
                name="loan_disbursement_txn_unique",
            ),
        ]
        permissions = [
            ("review_loan", _("Can approve or reject loans")),
        ]

    def __str__(self) -> str:
        return self.loan_no


class LoanStatusChange(StatusChangeRecord):
    class Reason(models.TextChoices):
        APPROVED = "approved", _("Approved")
        DISBURSED = "disbursed", _("Disbursed")
        SETTLED = "settled", _("Repaid in full")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")
        NATIONAL_HIT = "national_hit", _("National check found another loan")
        INCOME_NOT_PROVEN = "income_not_proven", _("Income not proven")
        OTHER = "other", _("Other")

    REJECT_REASONS = frozenset(
        {
            Reason.NOT_ELIGIBLE,
            Reason.NATIONAL_HIT,
            Reason.INCOME_NOT_PROVEN,
            Reason.OTHER,
        }
    )
    REASONS: dict[tuple[str, str], set[str]] = {
        ("pending_review", "approved"): {Reason.APPROVED},
        ("pending_review", "rejected"): set(REJECT_REASONS),
        ("approved", "rejected"): set(REJECT_REASONS),
        ("approved", "active"): {Reason.DISBURSED},
        ("active", "settled"): {Reason.SETTLED},
    }

    loan = models.ForeignKey(
        Loan,
        on_delete=models.PROTECT,
        related_name="status_changes",
        verbose_name=_("loan"),
    )
    reason = models.CharField(_("reason"), max_length=24, choices=Reason.choices)

    class Meta:
        verbose_name = _("loan status change")
        verbose_name_plural = _("loan status changes")
        ordering = ["loan_id", "id"]


class Instalment(models.Model):
    """One row of the schedule in force. Rows not yet paid are rewritten when
    the rest of the schedule is recomputed (early repayment, repricing)."""

    class Status(models.TextChoices):
        DUE = "due", _("Due")
        PAID = "paid", _("Paid")
        PARTLY_PAID = "partly_paid", _("Partly paid")
        OVERDUE = "overdue", _("Overdue")

    loan = models.ForeignKey(
        Loan,
        on_delete=models.PROTECT,
        related_name="instalments",
        verbose_name=_("loan"),
    )
    n = models.PositiveSmallIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    principal = _money(_("principal"))
    interest = _money(_("interest"))
    paid_principal = _money(_("principal paid"), default=0)
    paid_interest = _money(_("interest paid"), default=0)
    paid_penalty = _money(_("penalty paid"), default=0)
    # Penalty interest accrued (not rounded until posted) up to a day.
    penalty_accrued = models.DecimalField(
        _("penalty accrued"), max_digits=22, decimal_places=10, default=0
    )
    penalty_through = models.DateField(_("penalty accrued through"), null=True)
    # Once overdue, always counted for the credit flag (rules section 8).
    ever_overdue = models.BooleanField(_("was overdue"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DUE
    )

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["loan_id", "n"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "n"], name="instalment_loan_n"),
            models.CheckConstraint(
                condition=Q(paid_principal__lte=models.F("principal"))
                & Q(paid_interest__lte=models.F("interest")),
                name="instalment_not_overpaid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="instalment_due_idx"),
            # The daily job reads only what is unpaid, and what was ever
            # overdue: small slices of a table that grows by 360 rows a loan.
            models.Index(
                fields=["due_date"],
                condition=~Q(status="paid"),
                name="instalment_unpaid_due_idx",
            ),
            models.Index(
                fields=["loan", "n"],
                condition=Q(ever_overdue=True),
                name="instalment_ever_overdue_idx",
            ),
        ]


class Repayment(ActorStamp):
    loan = models.ForeignKey(
        Loan,
        on_delete=models.PROTECT,
        related_name="repayments",
        verbose_name=_("loan"),
    )
    amount = _money(_("amount"))
    principal = _money(_("principal"))
    interest = _money(_("interest"))
    penalty = _money(_("penalty"))
    early = models.CharField(_("early repayment choice"), max_length=16, blank=True)
    bank = models.ForeignKey(
        BankPartner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("bank"),
    )
    bank_txn_id = models.CharField(_("bank transaction id"), max_length=64, blank=True)
    # Set when a loan-repayment withdrawal paid it from the fund balance:
    # such a repayment never counts again as "repaid" for a later
    # loan-repayment withdrawal (the money already came from the fund).
    withdrawal_no = models.CharField(
        _("paid by withdrawal"), max_length=20, blank=True, db_index=True
    )
    paid_at = models.DateTimeField(_("paid at"))
    ledger_transaction = models.OneToOneField(
        LedgerTransaction,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ledger transaction"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("loan repayment")
        verbose_name_plural = _("loan repayments")
        ordering = ["loan_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="repayment_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["bank", "bank_txn_id"],
                condition=~Q(bank_txn_id=""),
                name="repayment_bank_txn_unique",
            ),
        ]
