"""Anchors: the chain head written out of the database catches what the chain alone cannot
(a truncation with the head row rewritten too, a chain re-hashed from some point on)."""

import json

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from audit.anchors import (
    AnchorFileError,
    audit_anchor_write,
    audit_anchors_read,
    audit_anchors_verify,
)
from audit.hashing import event_hash
from audit.models import AuditChainHead, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor, record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def anchors(tmp_path, settings):
    settings.HITL_AUDIT_ANCHOR_PATH = str(tmp_path / "anchors" / "audit-anchors.jsonl")
    return tmp_path / "anchors" / "audit-anchors.jsonl"


def truncate_to(sequence, tamper):
    """Deletes events after ``sequence`` and rewrites the head to match: invisible to the
    chain walk alone."""
    tamper("DELETE FROM audit_auditevent WHERE sequence > %s", [sequence])
    last = AuditEvent.objects.get(sequence=sequence)
    with __import__("django.db").db.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditchainhead SET sequence = %s, hash = %s", [sequence, last.hash]
        )


def test_anchor_appends_the_chain_head_and_logs_it(chain, anchors, caplog):
    caplog.set_level("INFO", logger="audit.anchors")
    first = audit_anchor_write()
    record_event(event_type="test.more", actor=Actor.system("t"))
    second = audit_anchor_write()

    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    assert [(line["sequence"], line["hash"]) for line in lines] == [
        (5, chain[-1].hash),
        (6, AuditChainHead.objects.get().hash),
    ]
    assert (first.sequence, second.sequence) == (5, 6)
    assert "audit chain anchored" in caplog.text


def test_anchor_of_an_empty_log_is_the_genesis(anchors):
    assert audit_anchor_write().sequence == 0
    assert audit_anchors_verify(anchors=audit_anchors_read(), report=audit_chain_verify()) is None


def test_intact_chain_agrees_with_its_anchors(chain, anchors, capsys):
    audit_anchor_write()
    record_event(event_type="test.more", actor=Actor.system("t"))
    audit_anchor_write()

    call_command("verify_audit")

    assert "2 anchors agree" in capsys.readouterr().out


def test_truncation_with_a_rewritten_head_is_caught_by_the_anchor(chain, anchors, tamper):
    audit_anchor_write()
    truncate_to(3, tamper)
    assert audit_chain_verify().ok  # the chain alone cannot see it

    with pytest.raises(CommandError, match="records 5 events but only 3 remain"):
        call_command("verify_audit")


def test_chain_rehashed_from_an_anchored_event_is_caught(chain, anchors, tamper):
    audit_anchor_write()
    # Rewrite event 5 and re-hash it: the chain still links, the head is updated too.
    tamper("UPDATE audit_auditevent SET payload = %s WHERE sequence = 5", ['{"n": 500}'])
    forged = AuditEvent.objects.get(sequence=5)
    new_hash = event_hash(
        sequence=5,
        created_at=forged.created_at,
        actor_type=forged.actor_type,
        actor_id=forged.actor_id,
        actor_label=forged.actor_label,
        event_type=forged.event_type,
        subject_type=forged.subject_type,
        subject_id=forged.subject_id,
        payload={"n": 500},
        prev_hash=forged.prev_hash,
    )
    tamper("UPDATE audit_auditevent SET hash = %s WHERE sequence = 5", [new_hash])
    AuditChainHead.objects.update(hash=new_hash)
    assert audit_chain_verify().ok

    broken = audit_anchors_verify(anchors=audit_anchors_read(), report=audit_chain_verify())

    assert broken.sequence == 5 and "rewritten" in broken.reason


def test_verify_without_anchors_says_so(chain, anchors, capsys):
    call_command("verify_audit")

    assert "No anchors yet" in capsys.readouterr().out


def test_unreadable_anchor_file_fails_verification(chain, anchors):
    anchors.parent.mkdir(parents=True)
    anchors.write_text('{"sequence": 1}\n')

    with pytest.raises(AnchorFileError):
        audit_anchors_read()
    with pytest.raises(CommandError, match="UNREADABLE"):
        call_command("verify_audit")
    call_command("verify_audit", "--no-anchors")


def test_anchor_command_and_schedule(chain, anchors, capsys):
    call_command("anchor_audit")

    assert "Anchored #5" in capsys.readouterr().out
    assert Schedule.objects.filter(func="audit.tasks.audit_anchor_write").exists()
    from audit.tasks import audit_anchor_write as task

    task()
    assert len(audit_anchors_read()) == 2
