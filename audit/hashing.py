"""The canonical encoding that the chain hashes: stable across databases and Python runs."""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


def to_json_safe(value: Any) -> Any:
    """Round-trips through JSON so what is stored is exactly what was hashed (Decimals,
    UUIDs and datetimes become strings once, here)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder
    ).encode("utf-8")


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    sequence: int,
    created_at: datetime,
    actor_type: str,
    actor_id: str,
    actor_label: str,
    event_type: str,
    subject_type: str,
    subject_id: str,
    payload: Any,
    prev_hash: str,
) -> str:
    fields = {
        "sequence": sequence,
        "created_at": format_time(created_at),
        "actor_type": actor_type,
        "actor_id": actor_id,
        "actor_label": actor_label,
        "event_type": event_type,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def hash_of(event) -> str:
    """Recomputes an event's hash from its stored fields."""
    return event_hash(
        sequence=event.sequence,
        created_at=event.created_at,
        actor_type=event.actor_type,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        event_type=event.event_type,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        payload=event.payload,
        prev_hash=event.prev_hash,
    )
