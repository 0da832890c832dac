"""The canonical encoding that the chain hashes (stable across databases and Python runs),
and the event hash: HMAC-SHA256 under the integrity key (``audit.integrity``), stored as
``hmac-sha256:<key id>:<hex>``. Events from before keyed hashes carry a plain SHA-256 of
the same encoding; ``event_hash_check`` verifies either, with the key its hash names."""

import json
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from .integrity import IntegrityKey, Verdict, check_hash, keyed_hash, plain_hash

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


def event_canonical(
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
) -> bytes:
    """The bytes an event's hash covers: every field, and the previous event's hash."""
    return canonical_bytes(
        {
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
    )


def event_hash(*, key: IntegrityKey | None = None, **fields: Any) -> str:
    """The keyed hash of an event's fields (default: under the current integrity key)."""
    return keyed_hash(event_canonical(**fields), key=key)


def event_hash_unkeyed(**fields: Any) -> str:
    """The plain SHA-256 that events had before keyed hashes: anyone with database access
    can recompute it, which is why the chain accepts it only before the first keyed event."""
    return plain_hash(event_canonical(**fields))


def _fields_of(event) -> dict[str, Any]:
    return {
        "sequence": event.sequence,
        "created_at": event.created_at,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "event_type": event.event_type,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }


def hash_of(event) -> str:
    """The hash an append gives ``event``: keyed under the current key, from its fields."""
    return event_hash(**_fields_of(event))


def event_hash_check(event) -> Verdict:
    """Checks an event's stored hash against its stored fields, with the key it names."""
    return check_hash(event_canonical(**_fields_of(event)), event.hash)
