"""``RefundRequest.submitted_by`` and its backfill from the audit log (migration 0016)."""

from importlib import import_module

import pytest
from django.apps import apps

from audit.services import Actor, record_event
from refunds import events
from refunds.models import RefundRequest
from refunds.tests.factories import RefundRequestFactory, UserFactory

pytestmark = pytest.mark.django_db

backfill_submitted_by = import_module(
    "refunds.migrations.0016_refund_request_submitted_by"
).backfill_submitted_by


def test_backfill_sets_the_submitter_from_the_user_actor_of_the_received_event():
    submitted = RefundRequestFactory()
    by_integration = RefundRequestFactory()
    other_event = RefundRequestFactory()
    user = UserFactory()
    record_event(
        event_type=events.REFUND_REQUEST_RECEIVED, actor=Actor.user(user), subject=submitted
    )
    record_event(
        event_type=events.REFUND_REQUEST_RECEIVED,
        actor=Actor.integration(by_integration.integration),
        subject=by_integration,
    )
    record_event(event_type=events.CUSTOMER_REPLIED, actor=Actor.user(user), subject=other_event)

    backfill_submitted_by(apps, None)

    submitters = dict(RefundRequest.objects.values_list("pk", "submitted_by"))
    assert submitters == {submitted.pk: user.pk, by_integration.pk: None, other_event.pk: None}


def test_backfill_skips_an_actor_that_is_no_longer_a_user_and_is_idempotent():
    request = RefundRequestFactory()
    gone = UserFactory()
    record_event(event_type=events.REFUND_REQUEST_RECEIVED, actor=Actor.user(gone), subject=request)
    gone.delete()

    backfill_submitted_by(apps, None)
    backfill_submitted_by(apps, None)

    assert RefundRequest.objects.get(pk=request.pk).submitted_by is None


def test_intake_through_an_integration_records_no_submitter(api_key_for):
    from rest_framework.test import APIClient

    from refunds.tests.factories import IntegrationFactory, intake_payload

    integration = IntegrationFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(integration)}")
    response = client.post("/api/v1/refund-requests/", intake_payload(), format="json")

    assert response.status_code == 201
    assert RefundRequest.objects.get().submitted_by is None
