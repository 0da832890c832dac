"""The Idempotency-Key header: retries replay the first request, reuse is refused."""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from refunds.models import RefundRequest
from refunds.tests.factories import ORDERED_AT, IntegrationFactory, intake_payload

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:refund-request-list")


def post(client: APIClient, body: dict, key: str | None = None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(LIST_URL, body, format="json", headers=headers)


def post_raw(client: APIClient, raw: str, key: str):
    return client.post(
        LIST_URL, raw, content_type="application/json", headers={"Idempotency-Key": key}
    )


def test_retry_with_same_key_and_body_returns_the_same_request(api_client):
    first = post(api_client, intake_payload(), key="key-1")

    retry = post(api_client, intake_payload(), key="key-1")

    assert first.status_code == 201, first.json()
    assert retry.status_code == 201, retry.json()
    assert retry.json()["id"] == first.json()["id"]
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert retry["Location"] == first["Location"]
    assert RefundRequest.objects.count() == 1


def test_replay_writes_no_second_audit_event_and_enqueues_nothing(
    api_client, django_capture_on_commit_callbacks
):
    post(api_client, intake_payload(), key="key-1")

    with django_capture_on_commit_callbacks() as callbacks:
        post(api_client, intake_payload(), key="key-1")

    assert callbacks == []
    assert AuditEvent.objects.filter(event_type="refund_request.received").count() == 1


def test_key_is_stored_on_the_request(api_client, integration):
    post(api_client, intake_payload(), key="key-1")

    refund_request = RefundRequest.objects.get()
    assert refund_request.idempotency_key == "key-1"
    assert len(refund_request.idempotency_fingerprint) == 64


def test_reformatted_body_with_same_key_still_replays(api_client):
    body = intake_payload()
    first = post_raw(api_client, json.dumps(body), key="key-1")
    reordered = {
        k: (dict(reversed(v.items())) if isinstance(v, dict) else v)
        for k, v in reversed(body.items())
    }
    raw = json.dumps(reordered, indent=4, separators=(" ,", " :  "))
    assert raw != json.dumps(body)

    retry = post_raw(api_client, raw, key="key-1")

    assert retry.status_code == 201, retry.json()
    assert retry.json()["id"] == first.json()["id"]
    assert retry["Idempotent-Replayed"] == "true"
    assert RefundRequest.objects.count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"requested_amount": "20"}, id="amount-without-decimals"),
        pytest.param({"order": {"currency": "gbp"}}, id="currency-lower-case"),
        pytest.param({"order": {"ordered_at": ORDERED_AT.isoformat()}}, id="offset-not-z"),
        pytest.param(
            {"message": "  My widget arrived broken. Please refund me.  "}, id="message-padding"
        ),
    ],
)
def test_body_equal_after_validation_replays(api_client, overrides):
    first = post(api_client, intake_payload(), key="key-1")

    retry = post(api_client, intake_payload(**overrides), key="key-1")

    assert retry.status_code == 201, retry.json()
    assert retry.json()["id"] == first.json()["id"]
    assert RefundRequest.objects.count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"requested_amount": "15.00"}, id="amount"),
        pytest.param({"message": "A different complaint."}, id="message"),
        pytest.param({"customer": {"name": "Someone Else"}}, id="customer-snapshot"),
        pytest.param({"order": {"external_id": "o-2"}}, id="order"),
        pytest.param({"channel": "chat"}, id="channel"),
    ],
)
def test_same_key_with_different_body_is_refused_with_422(api_client, overrides):
    post(api_client, intake_payload(), key="key-1")

    response = post(api_client, intake_payload(**overrides), key="key-1")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in body["detail"]
    assert RefundRequest.objects.count() == 1


def test_same_key_under_another_integration_is_independent(api_client, api_key_for):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(IntegrationFactory())}")
    mine = post(api_client, intake_payload(), key="shared-key")

    theirs = post(other, intake_payload(message="Another integration's request."), key="shared-key")

    assert theirs.status_code == 201, theirs.json()
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != mine.json()["id"]
    assert RefundRequest.objects.filter(idempotency_key="shared-key").count() == 2


def test_different_keys_create_different_requests(api_client):
    first = post(api_client, intake_payload(), key="key-1")

    second = post(api_client, intake_payload(), key="key-2")

    assert second.json()["id"] != first.json()["id"]
    assert RefundRequest.objects.count() == 2


def test_requests_without_a_key_are_never_deduplicated(api_client):
    post(api_client, intake_payload())
    post(api_client, intake_payload())

    assert RefundRequest.objects.count() == 2
    assert not RefundRequest.objects.filter(idempotency_key__isnull=False).exists()


def test_blank_key_is_treated_as_no_key(api_client):
    post(api_client, intake_payload(), key="   ")
    response = post(api_client, intake_payload(), key="   ")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert RefundRequest.objects.count() == 2


def test_key_of_255_characters_is_accepted(api_client):
    response = post(api_client, intake_payload(), key="k" * 255)

    assert response.status_code == 201, response.json()
    assert RefundRequest.objects.get().idempotency_key == "k" * 255


def test_over_long_key_is_refused_with_400(api_client):
    response = post(api_client, intake_payload(), key="k" * 256)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "Idempotency-Key" in body["errors"]
    assert not RefundRequest.objects.exists()


def test_key_with_control_characters_is_refused_with_400(api_client):
    response = post(api_client, intake_payload(), key="key\t1")

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
