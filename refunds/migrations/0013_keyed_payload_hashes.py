"""Keyed final-payload hashes (HMAC-SHA256; see refunds.decisions and audit.integrity).

1. The hash columns grow to hold ``hmac-sha256:<key id>:<hex>``.
2. Decisions that may still reach the executor (auto_approved, approved, executing,
   execution_failed) and carry a plain SHA-256 are re-keyed, because the executor no
   longer pays on an unkeyed hash: only where the plain hash still matches the request's
   fields *and* equals the hash that the ``decision.finalized`` audit event recorded. Each
   re-keying is itself an audit event, ``decision.payload_rekeyed`` (old and new hash),
   which the executor's audit cross-check then reads. The execution row of such a decision
   gets the new hash too; its idempotency key does not change (it is derived from the
   unkeyed digest). Anything else is left as it is, and the executor refuses it.

Decisions already executed keep their plain hashes: nothing re-checks them.
"""

from decimal import Decimal

from django.db import migrations, models

from audit.integrity import HASH_MAX_LENGTH, keyed_hash, parse_hash, plain_hash
from audit.migrating import migration_event_append

MAY_STILL_EXECUTE = ["auto_approved", "approved", "executing", "execution_failed"]
SUBJECT_TYPE = "refunds.refundrequest"


def _canonical(request) -> bytes:
    from refunds.decisions import FinalPayload
    from refunds.money import quantize

    amount = quantize(request.final_amount or Decimal("0"))
    return FinalPayload(
        str(request.public_id), request.final_action, amount, request.currency
    ).canonical()


def rekey_pending_decisions(apps, schema_editor):
    request_model = apps.get_model("refunds", "RefundRequest")
    execution_model = apps.get_model("refunds", "Execution")
    event_model = apps.get_model("audit", "AuditEvent")
    pending = request_model.objects.filter(status__in=MAY_STILL_EXECUTE).exclude(
        final_payload_hash=""
    )
    for request in pending.order_by("pk").iterator():
        old = request.final_payload_hash
        parsed = parse_hash(old)
        if parsed is None or not parsed.legacy:
            continue
        canonical = _canonical(request)
        finalized = (
            event_model.objects.filter(
                subject_type=SUBJECT_TYPE,
                subject_id=str(request.pk),
                event_type="decision.finalized",
            )
            .order_by("-sequence")
            .first()
        )
        recorded = (finalized.payload or {}).get("payload_hash") if finalized else None
        if plain_hash(canonical) != old or recorded != old:
            continue  # changed since it was approved: the executor will refuse it
        new = keyed_hash(canonical)
        request_model.objects.filter(pk=request.pk).update(final_payload_hash=new)
        execution_model.objects.filter(request_id=request.pk, payload_hash=old).update(
            payload_hash=new
        )
        migration_event_append(
            apps,
            event_type="decision.payload_rekeyed",
            actor_label="migration",
            subject_type=SUBJECT_TYPE,
            subject_id=str(request.pk),
            payload={"previous_hash": old, "payload_hash": new},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0012_integration_manage_keys_permission"),
        ("audit", "0005_keyed_hashes"),
    ]
    operations = [
        migrations.AlterField(
            model_name="execution",
            name="payload_hash",
            field=models.CharField(max_length=HASH_MAX_LENGTH),
        ),
        migrations.AlterField(
            model_name="refundrequest",
            name="final_payload_hash",
            field=models.CharField(blank=True, editable=False, max_length=HASH_MAX_LENGTH),
        ),
        # Re-keying is recorded in the audit log, which is never rolled back.
        migrations.RunPython(rekey_pending_decisions, migrations.RunPython.noop),
    ]
