from django.db import migrations


def seed(apps, schema_editor):
    from core.policy import seed_policy_parameters

    seed_policy_parameters(apps.get_model("core", "PolicyParameter"))


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
