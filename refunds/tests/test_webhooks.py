"""Outbound webhooks: which status changes are sent, the HMAC signature, retries with
backoff, giving up, the periodic sweep."""

import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import httpx
import pytest
from django.utils import timezone

from audit.services import Actor
from refunds.models import RefundRequest, WebhookDelivery
from refunds.states import RefundStatus
from refunds.tests.factories import (
    IntegrationFactory,
    IntegrationWebhookFactory,
    OrderFactory,
    RefundRequestFactory,
    final_decision,
)
from refunds.transitions import refund_request_transition
from refunds.webhooks import (
    backoff_seconds,
    webhook_delivery_create,
    webhook_delivery_requeue,
    webhook_delivery_send,
    webhooks_deliver_due,
)

pytestmark = pytest.mark.django_db
S = RefundStatus
SYSTEM = Actor.system("tests")


@pytest.fixture
def hooked():
    """A request whose integration has a webhook URL and a known secret."""
    hook = IntegrationWebhookFactory()
    return RefundRequestFactory(order=OrderFactory(customer__integration=hook.integration))


def move(request, from_status, to_status, capture):
    RefundRequest.objects.filter(pk=request.pk).update(status=from_status)
    with mock.patch("refunds.webhooks.enqueue_webhook_delivery") as enqueue, capture(execute=True):
        refund_request_transition(request=request, to_status=to_status, actor=SYSTEM)
    return enqueue


class Receiver:
    """An httpx transport that answers with scripted status codes and keeps requests."""

    def __init__(self, *codes):
        self.codes = list(codes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        code = self.codes.pop(0) if self.codes else 200
        if code == "error":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(code, text="ok")

    @property
    def transport(self):
        return httpx.MockTransport(self)


@pytest.mark.parametrize(
    ("from_status", "to_status", "event"),
    [
        (S.GATED, S.IN_REVIEW, "refund_request.in_review"),
        (S.IN_REVIEW, S.APPROVED, "refund_request.decided"),
        (S.IN_REVIEW, S.REJECTED, "refund_request.decided"),
        (S.GATED, S.AUTO_APPROVED, "refund_request.decided"),
        (S.EXECUTING, S.EXECUTED, "refund_request.executed"),
        (S.EXECUTING, S.EXECUTION_FAILED, "refund_request.failed"),
        (S.AWAITING_CUSTOMER, S.RECEIVED, "refund_request.received"),
    ],
)
def test_status_changes_the_integration_cares_about_are_sent(
    hooked, django_capture_on_commit_callbacks, from_status, to_status, event
):
    enqueue = move(hooked, from_status, to_status, django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert delivery.event == event
    assert delivery.payload["data"] == {"from": from_status, "to": to_status}
    assert delivery.payload["refund_request"]["id"] == str(hooked.public_id)
    assert delivery.payload["id"] == str(delivery.public_id)
    enqueue.assert_called_once_with(delivery.pk)


def test_internal_moves_are_not_sent(hooked, django_capture_on_commit_callbacks):
    move(hooked, S.RECEIVED, S.DRAFTING, django_capture_on_commit_callbacks)

    assert not WebhookDelivery.objects.exists()


def test_integration_without_a_webhook_url_gets_nothing(django_capture_on_commit_callbacks):
    request = RefundRequestFactory()

    move(request, S.GATED, S.IN_REVIEW, django_capture_on_commit_callbacks)

    assert not WebhookDelivery.objects.exists()


def test_a_rolled_back_transition_sends_nothing(hooked, django_capture_on_commit_callbacks):
    from django.db import transaction

    RefundRequest.objects.filter(pk=hooked.pk).update(status=S.GATED)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        refund_request_transition(request=hooked, to_status=S.IN_REVIEW, actor=SYSTEM)
        raise RuntimeError

    assert callbacks == [] and not WebhookDelivery.objects.exists()


def test_delivery_is_signed_with_the_integration_secret(hooked):
    delivery = webhook_delivery_create(
        integration=hooked.integration, request=hooked, event="refund_request.executed", data={}
    )
    receiver = Receiver(200)

    sent = webhook_delivery_send(delivery_id=delivery.pk, transport=receiver.transport)

    assert sent.status == WebhookDelivery.Status.DELIVERED and sent.attempts == 1
    (request,) = receiver.requests
    assert str(request.url) == hooked.integration.webhook_url
    assert request.headers["X-Hitl-Event"] == "refund_request.executed"
    assert request.headers["X-Hitl-Delivery"] == str(delivery.public_id)
    parts = dict(p.split("=", 1) for p in request.headers["X-Hitl-Signature"].split(","))
    secret = hooked.integration.webhook.secret
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + request.content, hashlib.sha256
    ).hexdigest()
    assert parts["v1"] == expected
    assert json.loads(request.content)["event"] == "refund_request.executed"


@pytest.mark.parametrize("failure", [500, 404, "error"])
def test_failed_delivery_is_retried_with_backoff(hooked, failure, settings):
    settings.HITL_WEBHOOK_BACKOFF = 30
    delivery = webhook_delivery_create(
        integration=hooked.integration, request=hooked, event="refund_request.executed", data={}
    )
    receiver = Receiver(failure, failure, 200)

    first = webhook_delivery_send(delivery_id=delivery.pk, transport=receiver.transport)

    assert first.status == WebhookDelivery.Status.PENDING and first.attempts == 1
    assert first.last_error
    assert timezone.now() + timedelta(seconds=25) < first.next_attempt_at
    second = webhook_delivery_send(delivery_id=delivery.pk, transport=receiver.transport)
    assert second.attempts == 2
    third = webhook_delivery_send(delivery_id=delivery.pk, transport=receiver.transport)
    assert third.status == WebhookDelivery.Status.DELIVERED
    assert webhook_delivery_send(delivery_id=delivery.pk, transport=receiver.transport) is None
    assert len(receiver.requests) == 3


def test_backoff_doubles_and_is_capped(settings):
    settings.HITL_WEBHOOK_BACKOFF = 30

    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(30) == 3600


def test_delivery_gives_up_after_the_last_attempt(hooked, settings):
    settings.HITL_WEBHOOK_MAX_ATTEMPTS = 2
    delivery = webhook_delivery_create(
        integration=hooked.integration, request=hooked, event="refund_request.failed", data={}
    )
    receiver = Receiver(503, 503)

    webhook_delivery_send(delivery_id=delivery.pk, transport=receiver.transport)
    final = webhook_delivery_send(delivery_id=delivery.pk, transport=receiver.transport)

    assert final.status == WebhookDelivery.Status.FAILED and final.last_status_code == 503
    webhook_delivery_requeue(delivery=final)
    final.refresh_from_db()
    assert (final.status, final.attempts) == (WebhookDelivery.Status.PENDING, 0)


def test_sweep_sends_only_what_is_due(hooked):
    due = webhook_delivery_create(
        integration=hooked.integration, request=hooked, event="refund_request.executed", data={}
    )
    later = webhook_delivery_create(
        integration=hooked.integration, request=hooked, event="refund_request.executed", data={}
    )
    WebhookDelivery.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    with mock.patch("refunds.webhooks.webhook_delivery_send") as send:
        assert webhooks_deliver_due() == 1

    send.assert_called_once_with(delivery_id=due.pk)


def test_switched_off_webhook_records_nothing(hooked):
    type(hooked.integration.webhook).objects.update(is_active=False)
    hooked.integration.refresh_from_db()

    assert (
        webhook_delivery_create(integration=hooked.integration, request=hooked, event="x", data={})
        is None
    )


def test_secret_is_created_on_first_use():
    integration = IntegrationFactory(webhook_url="https://hooks.example.com/new")

    delivery = webhook_delivery_create(integration=integration, event="x", data={})

    assert delivery is not None
    assert integration.webhook.secret.startswith("whsec_")


def test_send_task_delivers(hooked):
    from refunds import tasks

    delivery = webhook_delivery_create(
        integration=hooked.integration, request=hooked, event="x", data={}
    )
    with mock.patch("refunds.webhooks.httpx.Client.post", return_value=httpx.Response(204)):
        tasks.webhook_delivery_send(delivery.pk)
        tasks.webhooks_deliver_due()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED


def test_intake_sends_a_received_webhook(django_capture_on_commit_callbacks, api_key_for):
    from rest_framework.test import APIClient

    from refunds.tests.factories import intake_payload

    hook = IntegrationWebhookFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(hook.integration)}")
    with (
        mock.patch("refunds.jobs.async_task"),
        mock.patch("refunds.webhooks.enqueue_webhook_delivery") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            "/api/v1/refund-requests/", intake_payload(order={"items": []}), format="json"
        )

    assert response.status_code == 201
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "refund_request.received"
    assert delivery.payload["refund_request"]["id"] == response.json()["id"]
    enqueue.assert_called_once_with(delivery.pk)


def test_a_crash_right_after_the_transition_commits_loses_no_webhook(
    hooked, django_capture_on_commit_callbacks
):
    RefundRequest.objects.filter(pk=hooked.pk).update(status=S.GATED)
    with django_capture_on_commit_callbacks(execute=False):  # the process dies at commit
        refund_request_transition(request=hooked, to_status=S.IN_REVIEW, actor=SYSTEM)

    with mock.patch("refunds.webhooks.webhook_delivery_send") as send:
        assert webhooks_deliver_due() == 1  # the sweep finds it

    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "refund_request.in_review"
    send.assert_called_once_with(delivery_id=delivery.pk)


def test_the_payload_shows_the_request_in_its_new_status(
    hooked, django_capture_on_commit_callbacks
):
    move(hooked, S.GATED, S.IN_REVIEW, django_capture_on_commit_callbacks)

    assert WebhookDelivery.objects.get().payload["refund_request"]["status"] == S.IN_REVIEW


# --- Money in payloads: two decimals, as in the API's responses -----------------------------

WEBHOOK_MONEY_FIELDS = [("refund_request", "final_amount")]


@pytest.mark.parametrize("field", WEBHOOK_MONEY_FIELDS, ids=".".join)
def test_every_money_value_in_webhook_payloads_has_two_decimals(hooked, field):
    final_decision(request=hooked, amount="7.5")

    deliveries = list(WebhookDelivery.objects.all())

    assert [d.event for d in deliveries] == ["refund_request.decided"]
    value = deliveries[0].payload
    for key in field:
        value = value[key]
    assert value == "7.50"


def test_webhook_amount_has_two_decimals_whatever_the_instance_holds(hooked):
    hooked.final_amount = Decimal("20")  # an in-memory value, not re-read from the column

    delivery = webhook_delivery_create(
        integration=hooked.integration, event="refund_request.decided", data={}, request=hooked
    )

    assert delivery.payload["refund_request"]["final_amount"] == "20.00"


def test_webhook_amount_is_null_before_a_decision(hooked):
    delivery = webhook_delivery_create(
        integration=hooked.integration, event="refund_request.in_review", data={}, request=hooked
    )

    assert delivery.payload["refund_request"]["final_amount"] is None
