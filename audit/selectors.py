"""Reads over the audit log, including the chain verification."""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from .hashing import GENESIS_HASH, event_hash_check
from .integrity import Verdict, parse_hash
from .models import AuditChainHead, AuditEvent

# How ``ChainReport.keys`` names the events from before keyed hashes.
UNKEYED = "sha256 (unkeyed)"


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
    # Events verified per key id (``UNKEYED`` for plain SHA-256 ones): which keys the
    # chain still needs (see README, "Integrity keys").
    keys: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.broken is None


def _hash_problem(event: AuditEvent, verdict: Verdict, keyed_seen: bool) -> str:
    """Why ``event``'s own hash is not acceptable here, or "" if it is."""
    if verdict == Verdict.VALID:
        return ""
    if verdict == Verdict.LEGACY_VALID:
        if not keyed_seen:
            return ""
        return (
            "unkeyed SHA-256 hash after keyed events (recomputed by someone without the "
            "integrity key: event edited or forged)"
        )
    if verdict == Verdict.UNKNOWN_KEY:
        parsed = parse_hash(event.hash)
        return (
            f"hashed with integrity key {parsed.key_id if parsed else '?'!r}, which is not "
            "configured (add it to HITL_INTEGRITY_KEYS_OLD to verify events made with it)"
        )
    if verdict == Verdict.MALFORMED:
        return "its hash is not a hash this system writes (event edited)"
    return "content does not match its hash (event edited)"


def audit_chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walks the whole chain in sequence order and returns the first broken link.

    Detects an edited event (its hash no longer matches its fields under the key it
    names), a deleted or inserted one (a gap in the sequence or a wrong ``prev_hash``),
    reordering, and a removed tail (the chain head, written with every append, is ahead of
    the last event).

    Plain SHA-256 hashes (events from before keyed hashes) are accepted only as a prefix
    of the chain: the first keyed event covers the last unkeyed one's hash, so that prefix
    cannot be rewritten without the key either. An unkeyed event after a keyed one, or a
    non-empty chain with no keyed event at all, is what a database writer who recomputed
    plain hashes leaves behind (the upgrade's migration seals old chains with a keyed
    event, ``audit.integrity_keyed``).
    """
    expected_prev = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    keys: Counter[str] = Counter()
    keyed_seen = False
    events: Iterator[AuditEvent] = AuditEvent.objects.order_by("sequence").iterator(
        chunk_size=chunk_size
    )

    def report(broken: ChainBreak | None = None) -> ChainReport:
        return ChainReport(checked, expected_prev, broken, dict(keys))

    for event in events:
        if event.sequence != expected_sequence:
            return report(
                ChainBreak(
                    expected_sequence,
                    f"sequence jumps from {expected_sequence - 1} to {event.sequence} "
                    "(events deleted or inserted)",
                )
            )
        if event.prev_hash != expected_prev:
            return report(
                ChainBreak(
                    event.sequence,
                    "prev_hash does not match the previous event's hash "
                    "(events reordered, removed or inserted)",
                )
            )
        verdict = event_hash_check(event)
        problem = _hash_problem(event, verdict, keyed_seen)
        if problem:
            return report(ChainBreak(event.sequence, problem))
        if verdict == Verdict.VALID:
            keyed_seen = True
            keys[parse_hash(event.hash).key_id] += 1  # type: ignore[union-attr]
        else:
            keys[UNKEYED] += 1
        expected_prev = event.hash
        expected_sequence += 1
        checked += 1
    if checked and not keyed_seen:
        return report(
            ChainBreak(
                checked,
                "no event carries a keyed hash (the whole chain was re-hashed without the "
                "integrity key, or `migrate` has not sealed the old chain yet)",
            )
        )
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.sequence, head.hash) != (checked, expected_prev):
        return report(
            ChainBreak(
                checked + 1,
                f"chain head records {head.sequence} events but {checked} remain "
                "(events truncated from the end)",
            )
        )
    return report()


def audit_event_is_authentic(event: AuditEvent) -> bool:
    """True if ``event``'s own hash is keyed and matches its fields: no database writer
    made or edited it. (Whether it is still linked into the chain is ``verify_audit``'s
    question.)"""
    return event_hash_check(event) == Verdict.VALID


def audit_latest_event(
    *, subject_type: str, subject_id: str, event_types: list[str]
) -> AuditEvent | None:
    """The subject's most recent event of one of ``event_types``."""
    return (
        AuditEvent.objects.filter(
            subject_type=subject_type, subject_id=subject_id, event_type__in=event_types
        )
        .order_by("-sequence")
        .first()
    )


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
