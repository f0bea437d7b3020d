"""The center accounts sections 4, 7, 8 and 10 need (payout clearing,
penalty income, value-added income)."""

from django.db import migrations


def seed_center_accounts(apps, schema_editor):
    from accounts.ledger.chart import seed_center_accounts as seed

    seed(apps.get_model("accounts", "LedgerAccount"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_reshape_actors_subsidy_state_ledger")]
    operations = [migrations.RunPython(seed_center_accounts, migrations.RunPython.noop)]
