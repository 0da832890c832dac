import pytest
from django.core.management import CommandError, call_command

from audit.hashing import event_hash
from audit.selectors import audit_chain_verify

pytestmark = pytest.mark.django_db


def test_verify_accepts_an_intact_chain(chain):
    report = audit_chain_verify()

    assert report.ok
    assert report.checked == 5


def test_verify_accepts_an_empty_log():
    assert audit_chain_verify().ok


def test_verify_detects_an_edited_payload(chain, tamper):
    tamper("UPDATE audit_auditevent SET payload = %s WHERE sequence = 3", ['{"n": 999}'])

    report = audit_chain_verify()

    assert report.broken.sequence == 3
    assert "edited" in report.broken.reason


def test_verify_detects_an_edited_actor(chain, tamper):
    tamper("UPDATE audit_auditevent SET actor_label = 'someone-else' WHERE sequence = 2")

    assert audit_chain_verify().broken.sequence == 2


def test_verify_detects_a_rehashed_edit_at_the_next_link(chain, tamper):
    """An attacker who recomputes the edited event's own hash still breaks the next link."""
    tamper("UPDATE audit_auditevent SET payload = %s WHERE sequence = 2", ['{"n": 7}'])
    from audit.models import AuditEvent

    edited = AuditEvent.objects.get(sequence=2)
    forged_hash = event_hash(
        sequence=2,
        created_at=edited.created_at,
        actor_type=edited.actor_type,
        actor_id=edited.actor_id,
        actor_label=edited.actor_label,
        event_type=edited.event_type,
        subject_type=edited.subject_type,
        subject_id=edited.subject_id,
        payload={"n": 7},
        prev_hash=edited.prev_hash,
    )
    tamper("UPDATE audit_auditevent SET hash = %s WHERE sequence = 2", [forged_hash])

    report = audit_chain_verify()

    assert report.broken.sequence == 3
    assert "prev_hash" in report.broken.reason


def test_verify_detects_a_deleted_event(chain, tamper):
    tamper("DELETE FROM audit_auditevent WHERE sequence = 3")

    report = audit_chain_verify()

    assert report.broken.sequence == 3
    assert "jumps" in report.broken.reason


def test_verify_detects_reordered_events(chain, tamper):
    tamper("UPDATE audit_auditevent SET sequence = 1000 WHERE sequence = 2")
    tamper("UPDATE audit_auditevent SET sequence = 2 WHERE sequence = 3")
    tamper("UPDATE audit_auditevent SET sequence = 3 WHERE sequence = 1000")

    report = audit_chain_verify()

    assert report.broken.sequence == 2


def test_verify_detects_an_inserted_event(chain, tamper):
    """A well-formed forged event slipped in after #2: later events are shifted up and the
    next one is relinked to the forgery, so every prev_hash matches; its own hash cannot."""
    from django.utils import timezone

    from audit.models import AuditEvent

    for sequence in (5, 4, 3):
        tamper(
            "UPDATE audit_auditevent SET sequence = sequence + 1 WHERE sequence = %s", [sequence]
        )
    fields = dict(
        sequence=3,
        created_at=timezone.now(),
        actor_type="system",
        actor_id="",
        actor_label="forger",
        event_type="test.event",
        subject_type="",
        subject_id="",
        payload={},
        prev_hash=chain[1].hash,
    )
    forged = AuditEvent(**fields, hash=event_hash(**fields))
    tamper("UPDATE audit_auditevent SET prev_hash = %s WHERE sequence = 4", [forged.hash])
    forged.save(force_insert=True)

    report = audit_chain_verify()

    assert report.broken.sequence == 4
    assert "edited" in report.broken.reason


def test_unique_prev_hash_refuses_a_forked_insertion(chain):
    """Two events can never claim the same predecessor: the database refuses the fork."""
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from audit.models import AuditEvent

    fields = dict(
        sequence=99,
        created_at=timezone.now(),
        actor_type="system",
        actor_id="",
        actor_label="forger",
        event_type="t",
        subject_type="",
        subject_id="",
        payload={},
        prev_hash=chain[1].hash,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent(**fields, hash=event_hash(**fields)).save(force_insert=True)


def test_verify_detects_a_truncated_tail(chain, tamper):
    tamper("DELETE FROM audit_auditevent WHERE sequence >= 4")

    report = audit_chain_verify()

    assert report.broken is not None
    assert "truncated" in report.broken.reason


def test_verify_audit_command_reports_ok(chain, capsys):
    call_command("verify_audit")

    assert "Audit chain OK: 5 events" in capsys.readouterr().out


def test_verify_audit_command_names_the_first_broken_link(chain, tamper):
    tamper("DELETE FROM audit_auditevent WHERE sequence = 2")

    with pytest.raises(CommandError, match="event #2"):
        call_command("verify_audit")
