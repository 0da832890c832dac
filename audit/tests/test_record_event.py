import itertools
from decimal import Decimal

import pytest
from django.db import transaction

from audit.hashing import GENESIS_HASH, hash_of
from audit.models import AuditChainHead, AuditEvent
from audit.services import Actor, record_event
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
