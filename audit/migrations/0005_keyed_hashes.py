"""Keyed event hashes (HMAC-SHA256, ``hmac-sha256:<key id>:<hex>``; see audit.integrity).

1. The hash columns grow to hold the key id.
2. An existing chain, hashed with plain SHA-256, is sealed: one keyed event,
   ``audit.integrity_keyed``, whose hash covers the last unkeyed event's. From then on the
   old events cannot be rewritten without the key either, and ``verify_audit`` accepts
   unkeyed hashes only before that first keyed event.
3. On PostgreSQL, a CHECK constraint refuses any new event that is not keyed (``NOT VALID``:
   old rows are not checked). A process still running the old code during the upgrade then
   fails to write instead of appending unkeyed events after keyed ones, which
   ``verify_audit`` would report as tampering.
"""

from django.db import migrations, models

from audit.integrity import HASH_MAX_LENGTH, keyring, parse_hash
from audit.migrating import migration_event_append

CONSTRAINT = "audit_event_hash_keyed"
ADD_CONSTRAINT = (
    f"ALTER TABLE audit_auditevent ADD CONSTRAINT {CONSTRAINT} "
    "CHECK (hash LIKE 'hmac-sha256:%') NOT VALID"
)
DROP_CONSTRAINT = f"ALTER TABLE audit_auditevent DROP CONSTRAINT IF EXISTS {CONSTRAINT}"


def seal_unkeyed_chain(apps, schema_editor):
    head = apps.get_model("audit", "AuditChainHead").objects.filter(pk=1).first()
    if head is None or head.sequence == 0:
        return
    parsed = parse_hash(head.hash)
    if parsed is None or not parsed.legacy:
        return
    migration_event_append(
        apps,
        event_type="audit.integrity_keyed",
        actor_label="migration",
        payload={
            "unkeyed_events": head.sequence,
            "unkeyed_head": head.hash,
            "key_id": keyring().current.id,
        },
    )


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_CONSTRAINT, params=None)
        schema_editor.execute(ADD_CONSTRAINT, params=None)


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_CONSTRAINT, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_refuse_truncate")]
    operations = [
        migrations.AlterField(
            model_name="auditchainhead",
            name="hash",
            field=models.CharField(default="0" * 64, max_length=HASH_MAX_LENGTH),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(editable=False, max_length=HASH_MAX_LENGTH, unique=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(editable=False, max_length=HASH_MAX_LENGTH, unique=True),
        ),
        # The sealing event stays: audit history is never removed, not even by a rollback.
        migrations.RunPython(seal_unkeyed_chain, migrations.RunPython.noop),
        migrations.RunPython(add_constraint, drop_constraint),
    ]
