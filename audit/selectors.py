"""Reads over the audit log, including the chain verification."""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import models
from django.db.models import Q

from .hashing import GENESIS_HASH, hash_of
from .models import AuditChainHead, AuditEvent


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    reason: str

    def __str__(self) -> str:
        return f"event #{self.sequence}: {self.reason}"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    last_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def audit_chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walks the whole chain in sequence order and returns the first broken link.

    Detects an edited event (its hash no longer matches its fields), a deleted or
    inserted one (a gap in the sequence or a wrong ``prev_hash``), reordering, and a
    removed tail (the chain head, written with every append, is ahead of the last event).
    """
    expected_prev = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    events: Iterator[AuditEvent] = AuditEvent.objects.order_by("sequence").iterator(
        chunk_size=chunk_size
    )
    for event in events:
        if event.sequence != expected_sequence:
            return ChainReport(
                checked,
                expected_prev,
                ChainBreak(
                    expected_sequence,
                    f"sequence jumps from {expected_sequence - 1} to {event.sequence} "
                    "(events deleted or inserted)",
                ),
            )
        if event.prev_hash != expected_prev:
            return ChainReport(
                checked,
                expected_prev,
                ChainBreak(
                    event.sequence,
                    "prev_hash does not match the previous event's hash "
                    "(events reordered, removed or inserted)",
                ),
            )
        if hash_of(event) != event.hash:
            return ChainReport(
                checked,
                expected_prev,
                ChainBreak(event.sequence, "content does not match its hash (event edited)"),
            )
        expected_prev = event.hash
        expected_sequence += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.sequence, head.hash) != (checked, expected_prev):
        return ChainReport(
            checked,
            expected_prev,
            ChainBreak(
                checked + 1,
                f"chain head records {head.sequence} events but {checked} remain "
                "(events truncated from the end)",
            ),
        )
    return ChainReport(checked, expected_prev, None)


def audit_events_for_subject(*, subject_type: str, subject_id: str):
    return AuditEvent.objects.filter(subject_type=subject_type, subject_id=subject_id)


def audit_subjects_condition(subjects: Iterable[models.Model]) -> Q:
    """The events about any of ``subjects`` (as ``record_event`` names a subject), as a
    condition: one ``IN`` per model, on the (subject_type, subject_id) index."""
    ids: dict[str, list[str]] = defaultdict(list)
    for subject in subjects:
        ids[subject._meta.label_lower].append(str(subject.pk))
    condition = Q(pk__in=[])
    for subject_type, subject_ids in ids.items():
        condition |= Q(subject_type=subject_type, subject_id__in=subject_ids)
    return condition


def audit_events_between(*, since=None, until=None):
    """Events with ``since <= created_at < until`` (either bound optional), in chain order."""
    events = AuditEvent.objects.order_by("sequence")
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events
