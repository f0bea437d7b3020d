"""Policy parameters in the database: append-only and numeric (PostgreSQL).

A decided row never changes and no row is deleted: only a proposal's status,
decider and decision time may be set, once. Values are ASCII numbers, so a
value such as "sixteen" cannot reach the code that reads it. The finance
role proposes and approves (a second person approves rates and caps) instead
of editing rows in place.
"""

from django.db import migrations

APPEND_ONLY = r"""
CREATE OR REPLACE FUNCTION core_policyparameter_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'policy parameters are append-only (delete refused)';
    END IF;
    IF NEW.name IS DISTINCT FROM OLD.name
       OR NEW.value IS DISTINCT FROM OLD.value
       OR NEW.effective_from IS DISTINCT FROM OLD.effective_from
       OR NEW.note IS DISTINCT FROM OLD.note
       OR NEW.proposed_by_id IS DISTINCT FROM OLD.proposed_by_id
       OR OLD.status <> 'proposed' THEN
        RAISE EXCEPTION 'policy parameters are append-only (update refused)';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER core_policyparameter_append_only
    BEFORE UPDATE OR DELETE ON core_policyparameter
    FOR EACH ROW EXECUTE FUNCTION core_policyparameter_append_only();
ALTER TABLE core_policyparameter ADD CONSTRAINT policy_param_value_numeric
    CHECK (value ~ '^-?[0-9]+(\.[0-9]+)?$');
"""

DROP = """
DROP TRIGGER IF EXISTS core_policyparameter_append_only ON core_policyparameter;
DROP FUNCTION IF EXISTS core_policyparameter_append_only();
ALTER TABLE core_policyparameter DROP CONSTRAINT IF EXISTS policy_param_value_numeric;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


def grant_policy_roles(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    config = global_apps.get_app_config("core")
    config.models_module = True
    create_permissions(config, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="core")
    finance, _ = Group.objects.get_or_create(name="财务")
    finance.permissions.remove(*perms.filter(codename="change_policyparameter"))
    finance.permissions.add(
        *perms.filter(
            codename__in=[
                "view_policyparameter",
                "add_policyparameter",
                "approve_policyparameter",
            ]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_policy_parameters_append_only"),
        ("accounts", "0003_seed_reference_data"),
    ]
    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RunPython(grant_policy_roles, migrations.RunPython.noop),
    ]
