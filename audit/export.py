"""Exporting audit events by date range as JSON Lines or CSV, streamed: events are read in
chunks (``.iterator()``) and written row by row, so an export of any size runs in
constant memory. Each row carries its hash and prev_hash, so an export can be re-verified
on its own."""

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime, time, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from .hashing import format_time
from .models import AuditEvent

FIELDS = [
    "sequence",
    "created_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "event_type",
    "subject_type",
    "subject_id",
    "payload",
    "prev_hash",
    "hash",
]
FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
CHUNK_SIZE = 2000


def parse_bound(value: str | None, *, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` (a whole day: as an end bound, the day is included) or an ISO 8601
    datetime (naive ones are in the site's time zone). Raises ValueError otherwise."""
    if not value:
        return None
    try:
        day = parse_date(value)
        moment = None if day else parse_datetime(value)
    except ValueError:
        day = moment = None
    if day is not None:
        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    if moment is None:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or an ISO datetime.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def event_row(event: AuditEvent) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in FIELDS}
    row["created_at"] = format_time(event.created_at)
    return row


def _events(events) -> Iterator[AuditEvent]:
    return events.iterator(chunk_size=CHUNK_SIZE) if hasattr(events, "iterator") else events


def export_jsonl(events: Iterable[AuditEvent]) -> Iterator[str]:
    for event in _events(events):
        yield (
            json.dumps(event_row(event), sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
            + "\n"
        )


class _Echo:
    """A file-like object whose ``write`` returns the line, for streaming csv.writer."""

    def write(self, value: str) -> str:
        return value


def export_csv(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(FIELDS)
    for event in _events(events):
        row = event_row(event)
        row["payload"] = json.dumps(
            row["payload"], sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder
        )
        yield writer.writerow([row[name] for name in FIELDS])


def export_lines(events, fmt: str) -> Iterator[str]:
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    return export_jsonl(events) if fmt == "jsonl" else export_csv(events)
