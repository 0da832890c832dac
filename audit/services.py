"""``record_event``: the one way any part of the system writes to the audit log."""

from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .hashing import event_hash, to_json_safe
from .models import ActorType, AuditChainHead, AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who did it. Build one with the class methods so the label is always filled in."""

    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def user(cls, user) -> "Actor":
        return cls(ActorType.USER, str(user.pk), user.get_username())

    @classmethod
    def integration(cls, integration) -> "Actor":
        return cls(ActorType.INTEGRATION, str(integration.pk), integration.name)

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(ActorType.SYSTEM, "", name)

    @classmethod
    def model(cls, name: str) -> "Actor":
        return cls(ActorType.MODEL, "", name)


def _subject_ref(subject: models.Model | tuple[str, str] | None) -> tuple[str, str]:
    if subject is None:
        return "", ""
    if isinstance(subject, tuple):
        return subject
    return subject._meta.label_lower, str(subject.pk)


def record_event(
    *,
    event_type: str,
    actor: Actor,
    subject: models.Model | tuple[str, str] | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Appends one event to the chain inside the caller's transaction.

    Call it in the same transaction as the change it records (a rollback then removes
    both) and as late as possible in it: it locks the chain head until commit, which
    serialises all writers of the log.
    """
    subject_type, subject_id = _subject_ref(subject)
    safe_payload = to_json_safe(payload or {})
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        created_at = timezone.now()
        sequence = head.sequence + 1
        fields = {
            "sequence": sequence,
            "created_at": created_at,
            "actor_type": str(actor.type),
            "actor_id": actor.id,
            "actor_label": actor.label[:150],
            "event_type": event_type,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "payload": safe_payload,
            "prev_hash": head.hash,
        }
        event = AuditEvent(**fields, hash=event_hash(**fields))
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(sequence=sequence, hash=event.hash)
    return event
