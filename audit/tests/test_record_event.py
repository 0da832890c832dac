import itertools
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit import services
from audit.hashing import GENESIS_HASH, hash_of
from audit.models import AuditChainHead, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor, audit_deferred, record_event
from refunds.tests.factories import IntegrationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_first_event_links_to_the_genesis_hash():
    event = record_event(event_type="test.event", actor=Actor.system())

    assert (event.sequence, event.prev_hash) == (1, GENESIS_HASH)


def test_each_event_links_to_the_previous_events_hash(chain):
    for previous, current in itertools.pairwise(chain):
        assert current.prev_hash == previous.hash
        assert current.sequence == previous.sequence + 1


def test_stored_event_hash_recomputes_from_its_stored_fields(chain):
    for event in AuditEvent.objects.all():
        assert hash_of(event) == event.hash


def test_payload_is_stored_json_safe():
    event = record_event(
        event_type="test.event", actor=Actor.system(), payload={"amount": Decimal("12.50")}
    )

    event.refresh_from_db()
    assert event.payload == {"amount": "12.50"}


def test_actor_from_user_and_integration_records_id_and_label():
    user = UserFactory(username="rita")
    integration = IntegrationFactory(name="chat")

    by_user = record_event(event_type="t", actor=Actor.user(user))
    by_integration = record_event(event_type="t", actor=Actor.integration(integration))

    assert (by_user.actor_type, by_user.actor_id, by_user.actor_label) == (
        "user",
        str(user.pk),
        "rita",
    )
    assert (by_integration.actor_type, by_integration.actor_label) == ("integration", "chat")


def test_subject_model_instance_is_recorded_by_label_and_pk():
    integration = IntegrationFactory()

    event = record_event(event_type="t", actor=Actor.system(), subject=integration)

    assert (event.subject_type, event.subject_id) == ("refunds.integration", str(integration.pk))


def test_rollback_leaves_neither_change_nor_event():
    with pytest.raises(RuntimeError), transaction.atomic():
        IntegrationFactory(name="rolled-back")
        record_event(event_type="t", actor=Actor.system())
        raise RuntimeError("boom")

    assert not AuditEvent.objects.exists()
    assert not AuditChainHead.objects.filter(sequence__gt=0).exists()


def test_event_cannot_be_updated_through_the_orm(chain):
    event = chain[0]
    event.event_type = "forged"

    with pytest.raises(PermissionError):
        event.save()


def test_event_cannot_be_deleted_through_the_orm(chain):
    with pytest.raises(PermissionError):
        chain[0].delete()


def test_queryset_update_and_delete_are_refused(chain):
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(sequence=1).update(event_type="forged")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 5


def test_a_further_event_in_the_same_transaction_does_not_read_the_head():
    with transaction.atomic():
        record_event(event_type="first", actor=Actor.system())
        with CaptureQueriesContext(connection) as queries:
            record_event(event_type="second", actor=Actor.system())

    assert [q["sql"].split()[0] for q in queries] == ["UPDATE", "INSERT"]


def test_an_append_after_a_rolled_back_append_links_to_the_stored_head():
    record_event(event_type="kept", actor=Actor.system())
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(event_type="rolled back", actor=Actor.system())
        raise RuntimeError("boom")

    event = record_event(event_type="after", actor=Actor.system())

    assert (event.sequence, event.prev_hash) == (2, AuditEvent.objects.get(sequence=1).hash)
    assert audit_chain_verify().ok


def test_an_append_after_a_rolled_back_savepoint_links_to_the_stored_head():
    with transaction.atomic():
        record_event(event_type="kept", actor=Actor.system())
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event(event_type="rolled back", actor=Actor.system())
            raise RuntimeError("boom")
        event = record_event(event_type="after", actor=Actor.system())

    assert event.sequence == 2
    assert audit_chain_verify().ok


def test_an_append_with_a_stale_head_guess_links_to_the_stored_head(chain):
    # As after another process appended events 4 and 5 since this connection wrote 3.
    setattr(connection, services._HEAD_GUESS, (connection.atomic_blocks[0], 3, chain[2].hash))

    event = record_event(event_type="next", actor=Actor.system())

    assert (event.sequence, event.prev_hash) == (6, chain[4].hash)


def test_deferred_events_are_appended_when_the_block_ends_in_the_order_recorded():
    with transaction.atomic(), audit_deferred():
        record_event(event_type="first", actor=Actor.system())
        record_event(event_type="second", actor=Actor.system())
        assert not AuditEvent.objects.exists()

    assert list(AuditEvent.objects.values_list("sequence", "event_type")) == [
        (1, "first"),
        (2, "second"),
    ]
    assert audit_chain_verify().ok


def test_a_deferred_event_returned_by_record_event_is_saved_when_the_block_ends():
    with transaction.atomic(), audit_deferred():
        event = record_event(event_type="first", actor=Actor.system())

    assert AuditEvent.objects.get(pk=event.pk).hash == event.hash


def test_nothing_deferred_is_appended_when_the_block_raises():
    with pytest.raises(RuntimeError), transaction.atomic(), audit_deferred():
        record_event(event_type="lost", actor=Actor.system())
        raise RuntimeError("boom")

    assert not AuditEvent.objects.exists()


def test_a_deferred_event_of_a_rolled_back_savepoint_is_dropped():
    with transaction.atomic(), audit_deferred():
        record_event(event_type="kept", actor=Actor.system())
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event(event_type="rolled back", actor=Actor.system())
            raise RuntimeError("boom")
        record_event(event_type="also kept", actor=Actor.system())

    assert list(AuditEvent.objects.values_list("event_type", flat=True)) == ["kept", "also kept"]
    assert audit_chain_verify().ok


def test_a_nested_deferred_block_is_appended_with_the_outer_one():
    with transaction.atomic(), audit_deferred():
        with audit_deferred():
            record_event(event_type="inner", actor=Actor.system())
        assert not AuditEvent.objects.exists()
        record_event(event_type="outer", actor=Actor.system())

    assert list(AuditEvent.objects.values_list("event_type", flat=True)) == ["inner", "outer"]


def test_deferred_events_take_the_head_once_and_insert_in_one_statement():
    AuditChainHead.objects.create(pk=1)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, audit_deferred():
        for n in range(5):
            record_event(event_type=f"e{n}", actor=Actor.system())

    assert [q["sql"].split()[0] for q in queries] == ["SELECT", "UPDATE", "INSERT"]
