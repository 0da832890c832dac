"""Anchoring: the latest chain head written out of the database, so that truncating or
rewriting the log is detectable even by someone who can also rewrite the chain head.

Each anchor is one JSON line ``{"sequence", "hash", "anchored_at"}`` appended to
``HITL_AUDIT_ANCHOR_PATH`` (and logged, so it also lands in the log pipeline). Keep the
file somewhere the database's users cannot write (another host, WORM storage, a log
shipper); ``verify_audit`` then checks every anchor against the chain.
"""

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .hashing import GENESIS_HASH, format_time
from .models import AuditChainHead, AuditEvent
from .selectors import ChainBreak, ChainReport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Anchor:
    sequence: int
    hash: str
    anchored_at: str


class AnchorFileError(Exception):
    """The anchor file cannot be read as anchors (itself a sign of tampering)."""


def anchor_path(path: str | Path | None = None) -> Path:
    return Path(path or settings.HITL_AUDIT_ANCHOR_PATH)


def audit_anchor_write(*, path: str | Path | None = None) -> Anchor:
    """Appends the current chain head to the anchor file and logs it."""
    head = AuditChainHead.objects.filter(pk=1).first()
    anchor = Anchor(
        sequence=head.sequence if head else 0,
        hash=head.hash if head else GENESIS_HASH,
        anchored_at=format_time(timezone.now()),
    )
    target = anchor_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(anchor), sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    logger.info("audit chain anchored", extra={"audit_anchor": asdict(anchor)})
    return anchor


def audit_anchors_read(*, path: str | Path | None = None) -> list[Anchor]:
    """The anchors in the file, oldest first; [] if there is no file yet."""
    target = anchor_path(path)
    if not target.exists():
        return []
    anchors = []
    with target.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                anchors.append(
                    Anchor(int(data["sequence"]), str(data["hash"]), str(data["anchored_at"]))
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise AnchorFileError(f"{target}:{number}: not an anchor ({exc})") from exc
    return anchors


def audit_anchors_verify(
    *, anchors: list[Anchor], report: ChainReport, chunk_size: int = 500
) -> ChainBreak | None:
    """Checks a verified chain against the anchors: every anchored sequence must still
    exist (else events were truncated) with the anchored hash (else the chain was
    rewritten from there on). Returns the first disagreement, or None."""
    for anchor in sorted(anchors, key=lambda a: a.sequence):
        if anchor.sequence > report.checked:
            return ChainBreak(
                report.checked + 1,
                (
                    f"an anchor written at {anchor.anchored_at} records {anchor.sequence} events "
                    f"but only {report.checked} remain (events truncated)"
                ),
            )
    wanted = {a.sequence: a for a in anchors if a.sequence > 0}
    sequences = sorted(wanted)
    for start in range(0, len(sequences), chunk_size):
        chunk = sequences[start : start + chunk_size]
        stored = dict(AuditEvent.objects.filter(sequence__in=chunk).values_list("sequence", "hash"))
        for sequence in chunk:
            anchor = wanted[sequence]
            if stored.get(sequence) != anchor.hash:
                return ChainBreak(
                    sequence,
                    (
                        f"hash differs from the anchor written at {anchor.anchored_at} "
                        "(the chain was rewritten)"
                    ),
                )
    return None
