"""On PostgreSQL, the database also refuses TRUNCATE of the audit tables. Row triggers
(0002) do not see TRUNCATE, a table-level statement; a statement-level BEFORE TRUNCATE
trigger does. The chain head is covered too: emptying it would stop every append."""

from django.db import migrations

TABLES = {
    "audit_auditevent": "audit_event_no_truncate",
    "audit_auditchainhead": "audit_chain_head_no_truncate",
}

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)
    for table, trigger in TABLES.items():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}", params=None)
        schema_editor.execute(
            f"CREATE TRIGGER {trigger} BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate()",
            params=None,
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, trigger in TABLES.items():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_refuse_truncate()", params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_anchor_schedule")]
    operations = [migrations.RunPython(forwards, backwards)]
