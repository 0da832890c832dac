"""POST /api/v1/refund-requests/: the happy path, the upserts and the side effects."""

import json
import uuid
from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from refunds.models import Customer, Order, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import IntegrationFactory, intake_payload

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:refund-request-list")


def post(client: APIClient, body: dict, **headers):
    return client.post(LIST_URL, body, format="json", headers=headers)


@pytest.fixture
def other_client(api_key_for):
    """A client for a second, unrelated integration."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(IntegrationFactory())}")
    return client


def test_create_returns_201_with_public_id_status_and_status_url(api_client, integration):
    response = post(api_client, intake_payload())

    assert response.status_code == 201, response.json()
    body = response.json()
    refund_request = RefundRequest.objects.get()
    assert body["id"] == str(refund_request.public_id)
    assert body["status"] == RefundStatus.RECEIVED == "received"
    assert body["status_url"] == (
        f"http://testserver/api/v1/refund-requests/{refund_request.public_id}/"
    )
    assert response["Location"] == body["status_url"]
    assert "Idempotent-Replayed" not in response
    assert refund_request.integration == integration


def test_create_answers_with_the_same_body_as_a_later_read(api_client):
    created = post(api_client, intake_payload(requested_amount="19.5", priority=2)).json()

    assert api_client.get(created["status_url"]).json() == created


def test_create_stores_the_normalised_body(api_client, integration):
    post(api_client, intake_payload(priority=2, conversation_id="conv-9"))

    refund_request = RefundRequest.objects.select_related("customer", "order").get()
    assert refund_request.channel == RefundRequest.Channel.WEB
    assert refund_request.external_reference == "ticket-1"
    assert refund_request.conversation_id == "conv-9"
    assert refund_request.priority == RefundRequest.Priority.HIGH
    assert refund_request.message == "My widget arrived broken. Please refund me."
    assert refund_request.requested_amount == Decimal("20.00")
    assert refund_request.currency == "GBP"
    assert refund_request.customer.external_id == "c-1"
    assert refund_request.customer.email == "ada@example.com"
    assert refund_request.order.external_id == "o-1"
    assert refund_request.order.amount == Decimal("20.00")
    assert refund_request.order.customer == refund_request.customer
    assert refund_request.order.status == Order.Status.DELIVERED
    assert refund_request.idempotency_key is None


def test_create_stores_order_items_with_exact_unit_prices(api_client):
    items = [{"sku": "S1", "name": "Widget", "quantity": 2, "unit_price": "9.95"}]

    response = post(api_client, intake_payload(order={"items": items}))

    assert response.status_code == 201, response.json()
    stored = Order.objects.get().items
    assert len(stored) == 1
    assert stored[0]["sku"] == "S1"
    assert stored[0]["quantity"] == 2
    assert Decimal(stored[0]["unit_price"]) == Decimal("9.95")


def test_create_without_requested_amount_stores_null(api_client):
    body = intake_payload()
    del body["requested_amount"]

    response = post(api_client, body)

    assert response.status_code == 201, response.json()
    assert response.json()["requested_amount"] is None
    assert RefundRequest.objects.get().requested_amount is None


def test_create_message_is_trimmed(api_client):
    post(api_client, intake_payload(message="  Broken on arrival.  \n"))

    assert RefundRequest.objects.get().message == "Broken on arrival."


def test_second_request_reuses_customer_and_order_and_updates_customer_snapshot(api_client):
    post(api_client, intake_payload())

    response = post(
        api_client,
        intake_payload(
            customer={"name": "Ada King", "email": "ada.king@example.com", "tier": "premium"},
            external_reference="ticket-2",
        ),
    )

    assert response.status_code == 201, response.json()
    assert RefundRequest.objects.count() == 2
    assert Customer.objects.count() == 1
    assert Order.objects.count() == 1
    customer = Customer.objects.get()
    assert (customer.name, customer.email, customer.tier) == (
        "Ada King",
        "ada.king@example.com",
        Customer.Tier.PREMIUM,
    )
    assert set(RefundRequest.objects.values_list("customer", flat=True)) == {customer.pk}


def test_second_request_updates_the_order_snapshot(api_client):
    post(api_client, intake_payload(order={"status": "shipped", "delivered_at": None}))

    post(api_client, intake_payload(order={"status": "delivered"}))

    order = Order.objects.get()
    assert order.status == Order.Status.DELIVERED
    assert order.delivered_at is not None


def test_an_unchanged_snapshot_does_not_rewrite_the_customer_or_order(api_client):
    post(api_client, intake_payload())
    stamps = (Customer.objects.get().updated_at, Order.objects.get().updated_at)

    post(api_client, intake_payload(external_reference="ticket-2"))

    assert (Customer.objects.get().updated_at, Order.objects.get().updated_at) == stamps


def test_same_external_ids_under_another_integration_are_different_rows(
    api_client, other_client, integration
):
    post(api_client, intake_payload())

    response = post(other_client, intake_payload())

    assert response.status_code == 201, response.json()
    assert Customer.objects.count() == 2
    assert Order.objects.count() == 2
    mine, theirs = (
        RefundRequest.objects.filter(integration=integration).get(),
        RefundRequest.objects.exclude(integration=integration).get(),
    )
    assert mine.customer_id != theirs.customer_id
    assert mine.order_id != theirs.order_id
    assert theirs.customer.integration == theirs.integration


def test_create_enqueues_processing_on_commit_with_the_request_pk(
    api_client, django_capture_on_commit_callbacks
):
    with mock.patch("refunds.jobs.async_task") as async_task:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = post(api_client, intake_payload())
        assert response.status_code == 201
        assert async_task.call_count == 0  # nothing is enqueued before the commit
        assert len(callbacks) == 1
        callbacks[0]()

    refund_request = RefundRequest.objects.get()
    async_task.assert_called_once()
    func, request_id = async_task.call_args.args
    assert func == "refunds.tasks.refund_request_process"
    assert request_id == refund_request.pk


def test_create_schedules_exactly_one_enqueue(api_client, django_capture_on_commit_callbacks):
    with (
        mock.patch("refunds.jobs.enqueue_refund_request_processing") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        post(api_client, intake_payload())

    enqueue.assert_called_once_with(RefundRequest.objects.get().pk)


def test_create_writes_received_audit_event(api_client, integration):
    post(api_client, intake_payload())

    refund_request = RefundRequest.objects.get()
    event = AuditEvent.objects.get(event_type="refund_request.received")
    assert event.actor_type == "integration"
    assert event.actor_id == str(integration.pk)
    assert event.subject_type == "refunds.refundrequest"
    assert event.subject_id == str(refund_request.pk)
    assert event.payload["public_id"] == str(refund_request.public_id)
    assert event.payload["customer"] == "c-1"
    assert event.payload["order"] == "o-1"
    assert Decimal(event.payload["requested_amount"]) == Decimal("20.00")


def test_refused_request_writes_nothing(api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(api_client, intake_payload(channel="fax"))

    assert response.status_code == 400
    assert callbacks == []
    assert not RefundRequest.objects.exists()
    assert not Customer.objects.exists()
    assert not AuditEvent.objects.filter(event_type="refund_request.received").exists()


def test_json_number_amount_with_a_fraction_is_stored_exactly(api_client):
    body = intake_payload(
        order={"amount": "PLACEHOLDER_AMOUNT"}, requested_amount="PLACEHOLDER_REQUESTED"
    )
    raw = (
        json.dumps(body)
        .replace('"PLACEHOLDER_AMOUNT"', "20.10")
        .replace('"PLACEHOLDER_REQUESTED"', "0.30")
    )

    response = api_client.post(LIST_URL, raw, content_type="application/json")

    assert response.status_code == 201, response.json()
    refund_request = RefundRequest.objects.select_related("order").get()
    assert refund_request.order.amount == Decimal("20.10")
    assert refund_request.requested_amount == Decimal("0.30")
    assert response.json()["requested_amount"] == "0.30"
    assert response.json()["order"]["amount"] == "20.10"


def test_json_integer_amount_is_accepted(api_client):
    response = post(api_client, intake_payload(order={"amount": 20}, requested_amount=5))

    assert response.status_code == 201, response.json()
    assert RefundRequest.objects.get().requested_amount == Decimal("5.00")


@pytest.mark.parametrize(("sent", "stored"), [("gbp", "GBP"), ("Gbp", "GBP")])
def test_currency_in_any_case_is_normalised_to_upper_case(api_client, sent, stored):
    response = post(api_client, intake_payload(order={"currency": sent}))

    assert response.status_code == 201, response.json()
    assert RefundRequest.objects.get().currency == stored
    assert Order.objects.get().currency == stored


def test_country_in_lower_case_is_normalised(api_client):
    response = post(api_client, intake_payload(customer={"country": "de"}))

    assert response.status_code == 201, response.json()
    assert Customer.objects.get().country == "DE"


@pytest.mark.parametrize("channel", [c.value for c in RefundRequest.Channel])
def test_every_channel_is_accepted(api_client, channel):
    response = post(api_client, intake_payload(channel=channel))

    assert response.status_code == 201, response.json()
    assert response.json()["channel"] == channel


def test_requested_amount_equal_to_order_amount_is_accepted(api_client):
    response = post(api_client, intake_payload(order={"amount": "35.50"}, requested_amount="35.50"))

    assert response.status_code == 201, response.json()


def test_message_at_the_limit_is_accepted(api_client, settings):
    response = post(api_client, intake_payload(message="x" * settings.API_MAX_MESSAGE_CHARS))

    assert response.status_code == 201, response.json()


def test_public_ids_are_uuids_and_unique(api_client):
    ids = {
        post(api_client, intake_payload(external_reference=f"t-{i}")).json()["id"] for i in range(3)
    }

    assert len(ids) == 3
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_snapshot_without_optional_fields_keeps_the_stored_tier_and_items(api_client):
    first = intake_payload(customer={"tier": "premium"})
    assert api_client.post(LIST_URL, first, format="json").status_code == 201
    later = intake_payload(external_reference="ticket-2")
    del later["customer"]["tier"]
    del later["order"]["items"]

    assert api_client.post(LIST_URL, later, format="json").status_code == 201

    customer = Customer.objects.get(external_id="c-1")
    assert customer.tier == Customer.Tier.PREMIUM
    assert Order.objects.get(external_id="o-1").items[0]["sku"] == "S1"
