"""Anchors written to a second place the database host cannot rewrite: a command (anchor
JSON on stdin; in production an upload to an append-only bucket) and an HTTP endpoint.
A sink that fails is reported, never silently dropped, and never stops the others."""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command

from audit.anchors import AnchorSinkError, audit_anchor_write, audit_anchors_read
from audit.models import AuditChainHead

pytestmark = pytest.mark.django_db

# Stands in for `aws s3 cp - s3://bucket/anchors/$HITL_AUDIT_ANCHOR_NAME`: stores stdin as
# one object per anchor, named by the name the sink passes in the environment.
UPLOAD = """
import os, pathlib, sys
folder = pathlib.Path(sys.argv[1])
folder.mkdir(exist_ok=True)
(folder / os.environ["HITL_AUDIT_ANCHOR_NAME"]).write_text(sys.stdin.read())
"""


@pytest.fixture
def anchors(tmp_path, settings):
    settings.HITL_AUDIT_ANCHOR_PATH = str(tmp_path / "audit-anchors.jsonl")
    settings.HITL_AUDIT_ANCHOR_TIMEOUT = 5.0
    return tmp_path / "audit-anchors.jsonl"


@pytest.fixture
def bucket(tmp_path, settings):
    script = tmp_path / "upload.py"
    script.write_text(UPLOAD)
    folder = tmp_path / "bucket"
    settings.HITL_AUDIT_ANCHOR_COMMAND = f"{sys.executable} {script} {folder}"
    return folder


class AnchorReceiver(ThreadingHTTPServer):
    """A small anchor endpoint on 127.0.0.1: records each POST, answers ``status``."""

    def __init__(self):
        self.posts: list[tuple[dict, dict]] = []  # (headers, JSON body)
        self.status = 201
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/anchors"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: AnchorReceiver

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((dict(self.headers), json.loads(body)))
        reply = b'{"stored": true}' if self.server.status < 300 else b"bucket unavailable"
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def receiver(settings):
    server = AnchorReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.HITL_AUDIT_ANCHOR_URL = server.url
    settings.HITL_AUDIT_ANCHOR_URL_TOKEN = "anchor-token"
    yield server
    server.shutdown()
    server.server_close()


def local_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- the command sink --------------------------------------------------------------------------


def test_command_sink_gets_the_anchor_as_json_on_stdin(chain, anchors, bucket):
    anchor = audit_anchor_write()

    [stored] = sorted(bucket.iterdir())
    assert stored.name == anchor.object_name
    assert stored.name.startswith("000000000005-")
    assert json.loads(stored.read_text()) == local_lines(anchors)[0]
    assert json.loads(stored.read_text())["hash"] == AuditChainHead.objects.get().hash


def test_verify_reads_a_copy_of_the_bucket(chain, anchors, bucket, capsys):
    """The production check: copy the bucket's objects down, verify against them."""
    audit_anchor_write()
    from audit.services import Actor, record_event

    record_event(event_type="test.more", actor=Actor.system("t"))
    audit_anchor_write()
    anchors.unlink()  # the local copy is gone; the bucket's copy is what counts

    call_command("verify_audit", "--anchors", str(bucket))

    assert "2 anchors agree" in capsys.readouterr().out
    assert [a.sequence for a in audit_anchors_read(path=bucket)] == [5, 6]


@pytest.mark.parametrize(
    ("command", "reported"),
    [
        (
            f"{sys.executable} -c \"import sys; sys.stderr.write('AccessDenied'); sys.exit(3)\"",
            "exit status 3: AccessDenied",
        ),
        (f'{sys.executable} -c "import time; time.sleep(10)"', "timed out after 0.5 s"),
        ("/nonexistent/anchor-uploader", "No such file"),
    ],
    ids=["exit-status", "timeout", "missing-command"],
)
def test_failed_command_sink_is_reported_and_the_file_still_written(
    chain, anchors, settings, caplog, command, reported
):
    settings.HITL_AUDIT_ANCHOR_COMMAND = command
    settings.HITL_AUDIT_ANCHOR_TIMEOUT = 0.5
    caplog.set_level("ERROR", logger="audit.anchors")

    with pytest.raises(AnchorSinkError, match=reported) as exc:
        audit_anchor_write()

    assert [sink for sink, _ in exc.value.failures] == ["HITL_AUDIT_ANCHOR_COMMAND"]
    assert exc.value.anchor.sequence == 5
    assert local_lines(anchors)[0]["sequence"] == 5
    assert "audit anchor NOT stored" in caplog.text


def test_anchor_command_and_task_fail_loudly_when_a_sink_fails(chain, anchors, settings):
    settings.HITL_AUDIT_ANCHOR_COMMAND = f'{sys.executable} -c "raise SystemExit(1)"'

    with pytest.raises(CommandError, match="not stored by HITL_AUDIT_ANCHOR_COMMAND"):
        call_command("anchor_audit")
    from audit.tasks import audit_anchor_write as task

    with pytest.raises(AnchorSinkError):
        task()  # django-q2 records the scheduled run as failed


# --- the URL sink ------------------------------------------------------------------------------


def test_url_sink_posts_the_anchor_as_json(chain, anchors, receiver):
    anchor = audit_anchor_write()

    [(headers, body)] = receiver.posts
    assert body == {"sequence": 5, "hash": anchor.hash, "anchored_at": anchor.anchored_at}
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer anchor-token"
    assert headers["Idempotency-Key"] == anchor.object_name


def test_url_sink_error_status_is_reported(chain, anchors, receiver):
    receiver.status = 503

    with pytest.raises(CommandError, match="HTTP 503: bucket unavailable"):
        call_command("anchor_audit")

    assert len(receiver.posts) == 1
    assert local_lines(anchors)[0]["sequence"] == 5


def test_unreachable_url_sink_is_reported(chain, anchors, settings):
    closed = AnchorReceiver()  # bound, then closed: nothing listens on its port
    closed.server_close()
    settings.HITL_AUDIT_ANCHOR_URL = closed.url
    settings.HITL_AUDIT_ANCHOR_TIMEOUT = 2.0

    with pytest.raises(AnchorSinkError) as exc:
        audit_anchor_write()

    [(sink, error)] = exc.value.failures
    assert sink.startswith("HITL_AUDIT_ANCHOR_URL http://127.0.0.1:")
    assert error


def test_one_failed_sink_does_not_stop_the_others(chain, anchors, bucket, receiver):
    receiver.status = 500

    with pytest.raises(AnchorSinkError) as exc:
        audit_anchor_write()

    assert [sink.split()[0] for sink, _ in exc.value.failures] == ["HITL_AUDIT_ANCHOR_URL"]
    assert len(list(bucket.iterdir())) == 1  # the command sink has it
    assert local_lines(anchors)[0]["sequence"] == 5  # and so does the file


def test_every_sink_succeeding_writes_each_once(chain, anchors, bucket, receiver, capsys):
    call_command("anchor_audit")

    assert "Anchored #5" in capsys.readouterr().out
    assert len(receiver.posts) == 1 and len(list(bucket.iterdir())) == 1
    assert len(local_lines(anchors)) == 1
