"""The national platform records move here from accounts; the table stays."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("accounts", "0005_id_disclosure_closed_zero_balance")]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="NationalRecord",
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
                            "id_number_hash",
                            models.CharField(
                                db_index=True,
                                max_length=64,
                                verbose_name="resident ID hash",
                            ),
                        ),
                        ("city", models.CharField(max_length=50, verbose_name="city")),
                        (
                            "kind",
                            models.CharField(
                                choices=[("account", "Account"), ("loan", "Loan")],
                                default="account",
                                max_length=20,
                                verbose_name="kind",
                            ),
                        ),
                        (
                            "is_active",
                            models.BooleanField(default=True, verbose_name="active"),
                        ),
                        ("reported_on", models.DateField(verbose_name="reported on")),
                    ],
                    options={
                        "verbose_name": "national platform record",
                        "verbose_name_plural": "national platform records",
                        "db_table": "accounts_nationalaccountrecord",
                    },
                )
            ],
            database_operations=[],
        )
    ]
