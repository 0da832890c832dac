"""Appending to the audit chain from a data migration, with the migration's historical
models (``apps.get_model``), so that an old migration keeps working when the models move
on. Migrations run alone, so this takes the chain head's lock and appends one event,
without the batching of ``audit.services``."""

from typing import Any

from django.utils import timezone

from .hashing import event_hash, to_json_safe


def migration_event_append(
    apps,
    *,
    event_type: str,
    actor_label: str,
    payload: dict[str, Any],
    subject_type: str = "",
    subject_id: str = "",
) -> str:
    """Appends one system event, keyed under the current integrity key; returns its hash."""
    event_model = apps.get_model("audit", "AuditEvent")
    head_model = apps.get_model("audit", "AuditChainHead")
    head, _ = head_model.objects.select_for_update().get_or_create(pk=1)
    fields = {
        "sequence": head.sequence + 1,
        "created_at": timezone.now(),
        "actor_type": "system",
        "actor_id": "",
        "actor_label": actor_label,
        "event_type": event_type,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "payload": to_json_safe(payload),
        "prev_hash": head.hash,
    }
    hash_ = event_hash(**fields)
    event_model.objects.create(**fields, hash=hash_)
    head_model.objects.filter(pk=1).update(sequence=fields["sequence"], hash=hash_)
    return hash_
