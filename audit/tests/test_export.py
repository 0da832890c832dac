"""Export by date range, JSON Lines and CSV, streamed; the auditor's download."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from audit.export import export_csv, export_jsonl, parse_bound
from audit.hashing import hash_of
from audit.models import AuditEvent
from audit.selectors import audit_events_between
from audit.services import Actor, record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def dated_events(tamper):
    """Three events on 1, 2 and 3 November 2026 (moved there after recording; the export
    does not verify, it only selects)."""
    events = [
        record_event(
            event_type=f"test.day{d}",
            actor=Actor.system("t"),
            subject=("tests.thing", str(d)),
            payload={"day": d, "note": 'comma, "quote"'},
        )
        for d in (1, 2, 3)
    ]
    for d, event in zip((1, 2, 3), events, strict=True):
        tamper(
            "UPDATE audit_auditevent SET created_at = %s WHERE id = %s",
            [datetime(2026, 11, d, 12, tzinfo=UTC), event.pk],
        )
    return events


def test_range_is_inclusive_of_both_days(dated_events):
    events = audit_events_between(
        since=parse_bound("2026-11-02"), until=parse_bound("2026-11-03", end=True)
    )

    assert [e.event_type for e in events] == ["test.day2", "test.day3"]


def test_jsonl_rows_carry_the_hashes(dated_events):
    lines = list(export_jsonl(AuditEvent.objects.order_by("sequence")))

    rows = [json.loads(line) for line in lines]
    assert [r["event_type"] for r in rows] == ["test.day1", "test.day2", "test.day3"]
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    assert rows[0]["payload"] == {"day": 1, "note": 'comma, "quote"'}
    assert rows[0]["created_at"] == "2026-11-01T12:00:00.000000Z"


def test_csv_round_trips(dated_events):
    text = "".join(export_csv(AuditEvent.objects.order_by("sequence")))

    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["event_type"] for r in rows] == ["test.day1", "test.day2", "test.day3"]
    assert json.loads(rows[2]["payload"]) == {"day": 3, "note": 'comma, "quote"'}


def test_export_streams_with_a_chunked_iterator(dated_events, django_assert_num_queries):
    """Rows come out one by one from a server-side iterator, not a loaded list."""
    events = AuditEvent.objects.order_by("sequence")
    stream = export_jsonl(events)
    with django_assert_num_queries(1):
        first = next(stream)
        rest = list(stream)

    assert json.loads(first)["sequence"] == 1 and len(rest) == 2


def test_export_command_writes_a_file(dated_events, tmp_path):
    target = tmp_path / "out.csv"

    call_command(
        "export_audit", "--since", "2026-11-02", "--format", "csv", "--output", str(target)
    )

    assert [r["event_type"] for r in csv.DictReader(target.open())] == ["test.day2", "test.day3"]


def test_export_command_to_stdout(dated_events, capsys):
    call_command("export_audit", "--until", "2026-11-01")

    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["event_type"] == "test.day1"


def test_export_command_refuses_a_bad_date():
    with pytest.raises(CommandError, match="not a date"):
        call_command("export_audit", "--since", "yesterday")


def test_auditor_downloads_a_streamed_export(dated_events, client, role_user):
    client.force_login(role_user("auditor"))
    url = reverse("admin:audit_auditevent_export")

    response = client.get(url, {"since": "2026-11-02", "until": "2026-11-02", "format": "jsonl"})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert [json.loads(line)["event_type"] for line in body.splitlines()] == ["test.day2"]


def test_export_form_and_bad_input(client, role_user):
    client.force_login(role_user("auditor"))
    url = reverse("admin:audit_auditevent_export")

    assert client.get(url).status_code == 200
    assert client.get(url, {"format": "xml"}).status_code == 400
    assert client.get(url, {"format": "csv", "since": "soon"}).status_code == 400


def test_reviewer_cannot_export(client, role_user):
    client.force_login(role_user("reviewer"))

    response = client.get(reverse("admin:audit_auditevent_export"), {"format": "csv"})

    assert response.status_code == 403


def test_exported_rows_rehash_to_their_hash(dated_events):
    """An export is evidence on its own: each row's fields still hash to its hash."""
    record_event(event_type="test.fresh", actor=Actor.system("t"))
    event = AuditEvent.objects.get(event_type="test.fresh")
    (line,) = export_jsonl(AuditEvent.objects.filter(pk=event.pk))

    row = json.loads(line)
    assert row["hash"] == hash_of(event)
    assert parse_bound("2026-11-02T10:00:00") < parse_bound("2026-11-02", end=True)
    assert parse_bound("2026-11-02", end=True) - parse_bound("2026-11-02") == timedelta(days=1)
