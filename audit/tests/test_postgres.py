"""Needs PostgreSQL: real concurrent connections, the append-only and no-TRUNCATE triggers,
and the CHECK that refuses unkeyed event hashes."""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from audit.hashing import event_hash_unkeyed
from audit.models import AuditChainHead, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor, record_event

pytestmark = [pytest.mark.postgres]

WRITERS = 8
EVENTS_EACH = 15


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_appends_form_one_unbroken_chain():
    barrier = threading.Barrier(WRITERS)
    errors = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(EVENTS_EACH):
                with transaction.atomic():
                    record_event(
                        event_type="test.concurrent",
                        actor=Actor.system(f"w{n}"),
                        payload={"writer": n, "i": i},
                    )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    report = audit_chain_verify()
    assert report.ok, report.broken
    assert report.checked == WRITERS * EVENTS_EACH
    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == list(
        range(1, WRITERS * EVENTS_EACH + 1)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET event_type = 'forged'",
        "DELETE FROM audit_auditevent",
    ],
)
def test_database_refuses_update_and_delete_of_audit_events(chain, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert AuditEvent.objects.count() == 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE audit_auditevent",
        "TRUNCATE audit_auditevent RESTART IDENTITY CASCADE",
        "TRUNCATE audit_auditchainhead",
        "TRUNCATE audit_auditevent, audit_auditchainhead",
    ],
)
def test_database_refuses_truncate_of_the_audit_tables(chain, statement):
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert AuditEvent.objects.count() == 5
    assert AuditChainHead.objects.get().sequence == 5
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_database_refuses_a_new_event_with_an_unkeyed_hash(chain):
    """What a process still running the code from before keyed hashes would write: the
    CHECK constraint refuses it, so the chain never gets unkeyed events after keyed ones."""
    from django.utils import timezone

    fields = dict(
        sequence=6,
        created_at=timezone.now(),
        actor_type="system",
        actor_id="",
        actor_label="old-code",
        event_type="test.event",
        subject_type="",
        subject_id="",
        payload={},
        prev_hash=chain[-1].hash,
    )
    with pytest.raises(DatabaseError, match="audit_event_hash_keyed"), transaction.atomic():
        AuditEvent(**fields, hash=event_hash_unkeyed(**fields)).save(force_insert=True)

    assert AuditEvent.objects.count() == 5
