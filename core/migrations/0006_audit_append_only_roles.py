"""The audit log refuses UPDATE and DELETE (PostgreSQL), and the counter
roles are created from ``core.roles`` (which later migrates keep in step)."""

from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION core_auditrecord_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER core_auditrecord_append_only
    BEFORE UPDATE OR DELETE ON core_auditrecord
    FOR EACH ROW EXECUTE FUNCTION core_auditrecord_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS core_auditrecord_append_only ON core_auditrecord;
DROP FUNCTION IF EXISTS core_auditrecord_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


def seed_roles(apps, schema_editor):
    from core.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_auditrecord_role"),
        ("accounts", "0006_reshape_actors_subsidy_state_ledger"),
        ("deposits", "0005_actor_stamps"),
        ("subsidies", "0002_events_move_to_accounts"),
        ("banks", "0002_bank_signing_policy"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RunPython(seed_roles, migrations.RunPython.noop),
    ]
