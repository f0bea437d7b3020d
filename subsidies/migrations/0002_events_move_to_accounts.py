"""Subsidy events and accrual stops now belong to accounts (same tables)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ACTOR_KINDS = [
    ("staff", "Staff"),
    ("depositor", "Depositor"),
    ("bank", "Partner bank"),
    ("system", "System"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("subsidies", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="SubsidyEvent"),
                migrations.DeleteModel(name="SubsidyAccrualStop"),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="actor_kind",
            field=models.CharField(
                choices=ACTOR_KINDS,
                default="system",
                max_length=10,
                verbose_name="actor kind",
            ),
        ),
        migrations.AddField(
            model_name="settlementrun",
            name="actor_ref",
            field=models.CharField(
                blank=True, max_length=64, verbose_name="actor reference"
            ),
        ),
        migrations.AlterField(
            model_name="settlementrun",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="actor",
            ),
        ),
    ]
