"""Anchoring: the latest chain head written out of the database, so that truncating or
rewriting the log is detectable even by someone who can also rewrite the chain head.

Each anchor is one JSON object ``{"sequence", "hash", "anchored_at"}``, written to every
configured sink:

- always, one line appended to ``HITL_AUDIT_ANCHOR_PATH`` (and logged, so it also lands
  in the log pipeline): the local copy that ``verify_audit`` reads by default;
- ``HITL_AUDIT_ANCHOR_COMMAND``: a command (split like a shell would, run without one)
  that gets the anchor as one JSON line on stdin, and ``HITL_AUDIT_ANCHOR_SEQUENCE``,
  ``HITL_AUDIT_ANCHOR_HASH`` and ``HITL_AUDIT_ANCHOR_NAME`` (a unique object name) in its
  environment; exit status 0 means stored. The production choice: an upload to an
  append-only bucket that the database host's credentials cannot rewrite (S3 Object Lock
  in compliance mode, a GCS bucket with a locked retention policy; README, "The audit log");
- ``HITL_AUDIT_ANCHOR_URL``: an HTTP endpoint that gets the anchor as a JSON POST
  (``Authorization: Bearer HITL_AUDIT_ANCHOR_URL_TOKEN`` when set); any 2xx means stored.

A sink that fails never stops the others, and is never silent: it is logged as an error
and ``audit_anchor_write`` raises ``AnchorSinkError`` naming every failed sink once all
were tried, so the scheduled task is marked failed and ``anchor_audit`` exits non-zero.
``verify_audit`` checks every anchor it reads against the chain.
"""

import json
import logging
import os
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
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

    def line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def object_name(self) -> str:
        """Unique and sortable: ``000000001234-20261125T101500123456Z.json``."""
        moment = "".join(ch for ch in self.anchored_at if ch not in "-:.")
        return f"{self.sequence:012d}-{moment}.json"


class AnchorFileError(Exception):
    """The anchor file cannot be read as anchors (itself a sign of tampering)."""


class AnchorSinkError(Exception):
    """The anchor was not stored in one or more sinks (the others have it)."""

    def __init__(self, anchor: Anchor, failures: list[tuple[str, str]]):
        self.anchor = anchor
        self.failures = failures
        detail = "; ".join(f"{sink}: {error}" for sink, error in failures)
        super().__init__(f"Anchor #{anchor.sequence} was not stored by {detail}")


def anchor_path(path: str | Path | None = None) -> Path:
    return Path(path or settings.HITL_AUDIT_ANCHOR_PATH)


def _to_file(anchor: Anchor, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(anchor.line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _to_command(anchor: Anchor, command: str, timeout: float) -> None:
    env = {
        **os.environ,
        "HITL_AUDIT_ANCHOR_SEQUENCE": str(anchor.sequence),
        "HITL_AUDIT_ANCHOR_HASH": anchor.hash,
        "HITL_AUDIT_ANCHOR_NAME": anchor.object_name,
    }
    try:
        done = subprocess.run(
            shlex.split(command),
            input=anchor.line() + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"timed out after {timeout:g} s") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout or "").strip()[-500:]
        raise RuntimeError(f"exit status {done.returncode}" + (f": {said}" if said else ""))


def _to_url(
    anchor: Anchor,
    url: str,
    token: str,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> None:
    headers = {"Content-Type": "application/json", "Idempotency-Key": anchor.object_name}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(timeout=timeout, transport=transport) as client:
        response = client.post(url, content=anchor.line().encode(), headers=headers)
    if not response.is_success:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text.strip()[:200]}")


def _sinks(path: str | Path | None) -> list[tuple[str, Callable[[Anchor], None]]]:
    timeout = settings.HITL_AUDIT_ANCHOR_TIMEOUT
    target = anchor_path(path)
    sinks: list[tuple[str, Callable[[Anchor], None]]] = [
        (f"file {target}", lambda anchor: _to_file(anchor, target))
    ]
    command = settings.HITL_AUDIT_ANCHOR_COMMAND
    if command:
        sinks.append(
            ("HITL_AUDIT_ANCHOR_COMMAND", lambda anchor: _to_command(anchor, command, timeout))
        )
    url = settings.HITL_AUDIT_ANCHOR_URL
    if url:
        token = settings.HITL_AUDIT_ANCHOR_URL_TOKEN
        sinks.append(
            (f"HITL_AUDIT_ANCHOR_URL {url}", lambda anchor: _to_url(anchor, url, token, timeout))
        )
    return sinks


def audit_anchor_write(*, path: str | Path | None = None) -> Anchor:
    """Writes the current chain head to every configured sink and logs it.

    Raises ``AnchorSinkError`` (after trying them all) if any sink failed to store it.
    """
    head = AuditChainHead.objects.filter(pk=1).first()
    anchor = Anchor(
        sequence=head.sequence if head else 0,
        hash=head.hash if head else GENESIS_HASH,
        anchored_at=format_time(timezone.now()),
    )
    failures: list[tuple[str, str]] = []
    for name, write in _sinks(path):
        try:
            write(anchor)
        except Exception as exc:  # any failure of one sink: report it, try the next one
            failures.append((name, str(exc) or type(exc).__name__))
            logger.error(
                "audit anchor NOT stored",
                extra={"audit_anchor": asdict(anchor), "sink": name, "error": str(exc)},
            )
    if failures:
        raise AnchorSinkError(anchor, failures)
    logger.info("audit chain anchored", extra={"audit_anchor": asdict(anchor)})
    return anchor


def audit_anchors_read(*, path: str | Path | None = None) -> list[Anchor]:
    """The anchors in the file, oldest first; [] if there is no file yet.

    ``path`` may also be a folder (e.g. a copy of the anchor bucket): every file in it is
    read, in name order, one or more anchors per file."""
    target = anchor_path(path)
    if target.is_dir():
        files = sorted(p for p in target.iterdir() if p.is_file())
    else:
        files = [target] if target.exists() else []
    anchors = []
    for file in files:
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    anchors.append(
                        Anchor(int(data["sequence"]), str(data["hash"]), str(data["anchored_at"]))
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    raise AnchorFileError(f"{file}:{number}: not an anchor ({exc})") from exc
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
