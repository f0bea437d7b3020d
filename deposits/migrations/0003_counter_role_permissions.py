"""Counter roles (seeded by accounts 0003) get the deposits permissions."""

from django.db import migrations

ROLES = {
    "柜员": [
        "view_depositagreement",
        "add_depositagreement",
        "view_deposit",
        "add_deposit",
    ],
    "复核员": ["view_depositagreement", "view_deposit", "view_arrearscheckrun"],
    "审计": ["view_depositagreement", "view_deposit", "view_arrearscheckrun"],
}


def grant(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    config = global_apps.get_app_config("deposits")
    config.models_module = True
    create_permissions(config, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="deposits", codename__in=codenames
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("deposits", "0002_grid_constraints_arrears_runs"),
        ("accounts", "0003_seed_reference_data"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
