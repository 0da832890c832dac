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
    content = {
        "actor_type": str(actor.type),
        "actor_id": actor.id,
        "actor_label": actor.label[:150],
        "event_type": event_type,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "payload": to_json_safe(payload or {}),
    }
    connection = transaction.get_connection()
    # No savepoint of its own: a failed append aborts the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        guess = getattr(connection, _HEAD_GUESS, None)
        event = _linked(content, guess) if guess else None
        if event is None or not _advance_head(event):
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
            event = _linked(content, (head.sequence, head.hash))  # timed under the lock
            _advance_head(event)
        event.save(force_insert=True)
        setattr(connection, _HEAD_GUESS, (event.sequence, event.hash))
    return event


# The head this connection wrote last, as (sequence, hash). Inside one transaction it is
# the head (the transaction holds the lock), so each further append skips reading it: two
# statements per event instead of three (the pipeline writes seven events per case). It
# is only a guess, checked by ``_advance_head`` in the statement that takes the lock, so a
# guess made stale by a rollback or another writer costs one statement, never a fork.
_HEAD_GUESS = "_audit_chain_head_guess"


def _linked(content: dict[str, Any], head: tuple[int, str]) -> AuditEvent:
    sequence, prev_hash = head
    fields = {
        **content,
        "sequence": sequence + 1,
        "created_at": timezone.now(),
        "prev_hash": prev_hash,
    }
    return AuditEvent(**fields, hash=event_hash(**fields))


def _advance_head(event: AuditEvent) -> bool:
    """Compare-and-set: moves the head to ``event`` only if the head is still ``event``'s
    predecessor; on PostgreSQL the update also takes (or re-takes) the head's row lock."""
    return bool(
        AuditChainHead.objects.filter(
            pk=1, sequence=event.sequence - 1, hash=event.prev_hash
        ).update(sequence=event.sequence, hash=event.hash)
    )
