"""``record_event``: the one way any part of the system writes to the audit log."""

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from .hashing import hash_of, to_json_safe
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
    serialises all writers of the log. Inside ``audit_deferred()`` the event is appended
    when that block ends instead; the returned event is saved then.
    """
    subject_type, subject_id = _subject_ref(subject)
    event = AuditEvent(
        actor_type=str(actor.type),
        actor_id=actor.id,
        actor_label=actor.label[:150],
        event_type=event_type,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=to_json_safe(payload or {}),
    )
    connection = transaction.get_connection()
    deferred = getattr(connection, _DEFERRED, None)
    if deferred is not None and connection.in_atomic_block:
        deferred.append(_Pending(event))
    else:
        _append(connection, [event])
    return event


@contextmanager
def audit_deferred():
    """Events recorded inside the block are appended to the chain together when it ends.

    For a transaction that records several events among other work (the pipeline records
    seven per case): the chain head is then locked from the end of the block to the
    commit, not from the first event, so other writers wait less, and the events go in as
    one insert. Nothing is appended if the block raises; events recorded inside a savepoint
    that rolled back are dropped, as Django drops that savepoint's on-commit callbacks.
    Must run inside a transaction; a nested block joins the outer one.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise TransactionManagementError("audit_deferred() must run inside a transaction.")
    if getattr(connection, _DEFERRED, None) is not None:
        yield
        return
    pending: list[_Pending] = []
    setattr(connection, _DEFERRED, pending)
    try:
        yield
    finally:
        setattr(connection, _DEFERRED, None)
    kept = {id(callback) for _, callback, _ in connection.run_on_commit}
    events = [p.event for p in pending if id(p) in kept]
    if events:
        _append(connection, events)


class _Pending:
    """An event waiting for the end of ``audit_deferred``. Registered as a (no-op)
    on-commit callback only so that a savepoint rollback drops it, exactly as it drops
    everything else that savepoint meant to happen."""

    def __init__(self, event: AuditEvent):
        self.event = event
        transaction.on_commit(self)

    def __call__(self) -> None:
        pass


_DEFERRED = "_audit_deferred_events"
# (outermost atomic block, sequence, hash) of the last append on this connection: while
# that block's transaction lasts it holds the chain head's lock and knows the head, so a
# further append skips reading it. Checked by compare-and-set anyway (a savepoint may have
# rolled the head back), so a wrong guess costs one statement, never a fork.
_HEAD_GUESS = "_audit_chain_head_guess"


def _append(connection, events: list[AuditEvent]) -> None:
    # No savepoint of its own: a failed append aborts the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        transaction_block = connection.atomic_blocks[0]
        guess = getattr(connection, _HEAD_GUESS, None)
        if guess is not None and guess[0] is transaction_block:
            head = guess[1:]
            _link(events, head)
            linked = _advance_head(head, events[-1])
        else:
            linked = False
        if not linked:
            locked, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
            head = (locked.sequence, locked.hash)
            _link(events, head)  # timed under the lock: times rise with the sequence
            _advance_head(head, events[-1])
        AuditEvent.objects.bulk_create(events)
        last = events[-1]
        setattr(connection, _HEAD_GUESS, (transaction_block, last.sequence, last.hash))


def _link(events: list[AuditEvent], head: tuple[int, str]) -> None:
    sequence, prev_hash = head
    now = timezone.now()
    for event in events:
        sequence += 1
        event.sequence, event.created_at, event.prev_hash = sequence, now, prev_hash
        event.hash = prev_hash = hash_of(event)


def _advance_head(head: tuple[int, str], last: AuditEvent) -> bool:
    """Compare-and-set: moves the chain head from ``head`` to ``last`` only if it is still
    at ``head``; on PostgreSQL the update also takes (or re-takes) the head's row lock."""
    sequence, hash_ = head
    return bool(
        AuditChainHead.objects.filter(pk=1, sequence=sequence, hash=hash_).update(
            sequence=last.sequence, hash=last.hash
        )
    )
