"""Issue 10's reshaping of the accounts floor.

- Actors: status changes and ledger transactions record who wrote them as
  (kind, user, reference); the old free-text label becomes the reference.
- The stored subsidy status goes: it is derived on the day it is read.
- Ledger: sub-accounts (parent), and purpose / external reference on
  transactions.
- Subsidy events and accrual stops move here from subsidies (their tables
  stay), because the deposits floor writes them too; the national platform
  records move down to ``national``.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

ACTOR_KINDS = [
    ("staff", "Staff"),
    ("depositor", "Depositor"),
    ("bank", "Partner bank"),
    ("system", "System"),
]


def labels_to_refs(apps, schema_editor):
    Change = apps.get_model("accounts", "AccountStatusChange")
    Change.objects.filter(actor__isnull=False).update(actor_kind="staff")
    for label in (
        Change.objects.filter(actor__isnull=True)
        .values_list("actor_label", flat=True)
        .distinct()
    ):
        kind = "bank" if label == "bank_app" else "system"
        Change.objects.filter(actor__isnull=True, actor_label=label).update(
            actor_kind=kind, actor_ref=label[:64]
        )
    for change in Change.objects.filter(actor__isnull=False).only("actor_label"):
        Change.objects.filter(pk=change.pk).update(actor_ref=change.actor_label[:64])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_id_disclosure_closed_zero_balance"),
        ("national", "0001_initial"),
        ("subsidies", "0002_events_move_to_accounts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="NationalAccountRecord")],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="accountstatuschange",
            name="actor_kind",
            field=models.CharField(
                choices=ACTOR_KINDS,
                default="system",
                max_length=10,
                verbose_name="actor kind",
            ),
        ),
        migrations.AddField(
            model_name="accountstatuschange",
            name="actor_ref",
            field=models.CharField(
                blank=True, max_length=64, verbose_name="actor reference"
            ),
        ),
        migrations.RunPython(labels_to_refs, migrations.RunPython.noop),
        migrations.RemoveField(model_name="accountstatuschange", name="actor_label"),
        migrations.RemoveField(model_name="fundaccount", name="subsidy_status"),
        migrations.RemoveField(model_name="historicalfundaccount", name="subsidy_status"),
        migrations.AddField(
            model_name="ledgeraccount",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="children",
                to="accounts.ledgeraccount",
                verbose_name="parent account",
            ),
        ),
        migrations.AddField(
            model_name="ledgertransaction",
            name="actor_kind",
            field=models.CharField(
                choices=ACTOR_KINDS,
                default="system",
                max_length=10,
                verbose_name="actor kind",
            ),
        ),
        migrations.AddField(
            model_name="ledgertransaction",
            name="actor_ref",
            field=models.CharField(
                blank=True, max_length=64, verbose_name="actor reference"
            ),
        ),
        migrations.AddField(
            model_name="ledgertransaction",
            name="external_ref",
            field=models.CharField(
                blank=True, max_length=64, verbose_name="external reference"
            ),
        ),
        migrations.AddField(
            model_name="ledgertransaction",
            name="purpose",
            field=models.CharField(blank=True, max_length=32, verbose_name="purpose"),
        ),
        migrations.AddIndex(
            model_name="ledgertransaction",
            index=models.Index(
                condition=models.Q(("external_ref", ""), _negated=True),
                fields=["external_ref"],
                name="ledger_txn_external_ref_idx",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SubsidyAccrualStop",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("stopped_on", models.DateField(verbose_name="stopped on")),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now,
                                verbose_name="created at",
                            ),
                        ),
                        (
                            "fund_account",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="subsidy_accrual_stop",
                                to="accounts.fundaccount",
                                verbose_name="fund account",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "subsidy accrual stop",
                        "verbose_name_plural": "subsidy accrual stops",
                        "db_table": "subsidies_subsidyaccrualstop",
                    },
                ),
                migrations.CreateModel(
                    name="SubsidyEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("terminated", "Terminated"),
                                    ("accrual_stopped", "Accrual stopped"),
                                ],
                                max_length=16,
                                verbose_name="kind",
                            ),
                        ),
                        (
                            "reason",
                            models.CharField(
                                choices=[
                                    ("withdrawal", "Withdrawal"),
                                    ("loan_application", "Loan application"),
                                    ("arrears", "Arrears"),
                                    ("sealing", "Sealing"),
                                    ("exit", "Exit"),
                                    ("transfer_out", "Transfer out"),
                                    ("cancellation", "Account cancelled"),
                                    ("conversion", "Conversion to an employee account"),
                                    ("staff", "Staff decision"),
                                ],
                                max_length=20,
                                verbose_name="reason",
                            ),
                        ),
                        ("occurred_on", models.DateField(verbose_name="occurred on")),
                        (
                            "note",
                            models.CharField(
                                blank=True, max_length=200, verbose_name="note"
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now,
                                verbose_name="created at",
                            ),
                        ),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="actor",
                            ),
                        ),
                        (
                            "fund_account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="subsidy_events",
                                to="accounts.fundaccount",
                                verbose_name="fund account",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "subsidy event",
                        "verbose_name_plural": "subsidy events",
                        "ordering": ["fund_account_id", "occurred_on", "id"],
                        "db_table": "subsidies_subsidyevent",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="subsidyevent",
            name="actor_kind",
            field=models.CharField(
                choices=ACTOR_KINDS,
                default="system",
                max_length=10,
                verbose_name="actor kind",
            ),
        ),
        migrations.AddField(
            model_name="subsidyevent",
            name="actor_ref",
            field=models.CharField(
                blank=True, max_length=64, verbose_name="actor reference"
            ),
        ),
        migrations.AddIndex(
            model_name="subsidyevent",
            index=models.Index(
                fields=["fund_account", "occurred_on"], name="subsidy_event_acct_idx"
            ),
        ),
    ]
