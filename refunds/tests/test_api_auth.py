"""Who may call the intake API (API keys) and how often (per-integration throttling)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services import Actor
from refunds.models import IntegrationAPIKey, RefundRequest
from refunds.services import integration_api_key_revoke
from refunds.tests.factories import IntegrationFactory, intake_payload

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:refund-request-list")


@pytest.fixture(autouse=True)
def _clear_throttle_buckets():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def plain_key(integration, api_key_for) -> str:
    return api_key_for(integration)


def client_with(**credentials) -> APIClient:
    client = APIClient()
    client.credentials(**credentials)
    return client


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]


# --- Authentication -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_no_key_is_401_with_www_authenticate(method):
    response = getattr(APIClient(), method)(LIST_URL, intake_payload(), format="json")

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"
    assert not RefundRequest.objects.exists()


def test_valid_key_in_authorization_header_is_accepted(plain_key):
    response = client_with(HTTP_AUTHORIZATION=f"Api-Key {plain_key}").get(LIST_URL)

    assert response.status_code == 200


def test_authorization_keyword_is_case_insensitive(plain_key):
    response = client_with(HTTP_AUTHORIZATION=f"api-key {plain_key}").get(LIST_URL)

    assert response.status_code == 200


def test_valid_key_in_x_api_key_header_is_accepted(plain_key, integration):
    client = client_with(HTTP_X_API_KEY=plain_key)

    response = client.post(LIST_URL, intake_payload(), format="json")

    assert response.status_code == 201, response.json()
    assert RefundRequest.objects.get().integration == integration


def test_wrong_key_with_a_known_prefix_is_401(plain_key):
    prefix, _, secret = plain_key.partition(".")
    wrong = f"{prefix}.{'A' * len(secret)}"

    response = client_with(HTTP_AUTHORIZATION=f"Api-Key {wrong}").get(LIST_URL)

    assert_error(response, 401, "invalid_api_key")
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(
    "key",
    [
        "not-a-key",
        "abcdefgh.ijklmnopqrstuvwxyz0123456789ABCD",
        ".",
        "....",
        "\u00e9t\u00e9.key",
    ],
)
def test_garbled_key_is_401(integration, plain_key, key):
    response = client_with(HTTP_AUTHORIZATION=f"Api-Key {key}").get(LIST_URL)

    assert_error(response, 401, "invalid_api_key")


def test_garbled_x_api_key_is_401(plain_key):
    response = client_with(HTTP_X_API_KEY="nonsense").get(LIST_URL)

    assert_error(response, 401, "invalid_api_key")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer {key}",
        "Token {key}",
        "ApiKey {key}",
        "Api-Key",
        "Api-Key    ",
        "{key}",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_malformed_authorization_header_is_401(plain_key, header):
    response = client_with(HTTP_AUTHORIZATION=header.format(key=plain_key)).get(LIST_URL)

    assert_error(response, 401, "invalid_authorization_header")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_malformed_authorization_header_is_not_rescued_by_x_api_key(plain_key):
    client = client_with(HTTP_AUTHORIZATION="Bearer x", HTTP_X_API_KEY=plain_key)

    assert client.get(LIST_URL).status_code == 401


def test_revoked_key_is_403(plain_key):
    api_key = IntegrationAPIKey.objects.get_from_key(plain_key)
    integration_api_key_revoke(api_key=api_key, actor=Actor.system("tests"))

    response = client_with(HTTP_AUTHORIZATION=f"Api-Key {plain_key}").post(
        LIST_URL, intake_payload(), format="json"
    )

    assert_error(response, 403, "api_key_revoked")
    assert not RefundRequest.objects.exists()


def test_revoking_a_key_is_audited(plain_key, integration):
    api_key = IntegrationAPIKey.objects.get_from_key(plain_key)

    integration_api_key_revoke(api_key=api_key, actor=Actor.system("tests"))

    event = AuditEvent.objects.get(event_type="integration.api_key_revoked")
    assert event.subject_id == str(integration.pk)
    assert event.payload["prefix"] == api_key.prefix


def test_revoking_one_key_leaves_the_integrations_other_keys_working(
    integration, api_key_for, plain_key
):
    other_key = api_key_for(integration)
    integration_api_key_revoke(
        api_key=IntegrationAPIKey.objects.get_from_key(plain_key), actor=Actor.system("tests")
    )

    response = client_with(HTTP_AUTHORIZATION=f"Api-Key {other_key}").get(LIST_URL)

    assert response.status_code == 200


def test_expired_key_is_403(plain_key):
    IntegrationAPIKey.objects.filter(prefix=plain_key.partition(".")[0]).update(
        expiry_date=timezone.now() - timedelta(minutes=1)
    )

    response = client_with(HTTP_AUTHORIZATION=f"Api-Key {plain_key}").get(LIST_URL)

    assert_error(response, 403, "api_key_expired")
    assert "expired" in response.json()["detail"]


def test_key_of_an_inactive_integration_is_403(plain_key, integration):
    integration.is_active = False
    integration.save(update_fields=["is_active"])

    response = client_with(HTTP_AUTHORIZATION=f"Api-Key {plain_key}").post(
        LIST_URL, intake_payload(), format="json"
    )

    assert_error(response, 403, "integration_inactive")
    assert not RefundRequest.objects.exists()


def test_detail_also_requires_a_key(api_client):
    public_id = api_client.post(LIST_URL, intake_payload(), format="json").json()["id"]

    response = APIClient().get(
        reverse("api:refund-request-detail", kwargs={"public_id": public_id})
    )

    assert_error(response, 401, "not_authenticated")


def test_keys_are_stored_hashed(plain_key):
    api_key = IntegrationAPIKey.objects.get()

    assert plain_key.partition(".")[2] not in api_key.hashed_key
    assert plain_key not in api_key.hashed_key


# --- Throttling ---------------------------------------------------------------------------


@pytest.fixture
def slow_integration(integration):
    integration.throttle_rate = "2/min"
    integration.save(update_fields=["throttle_rate"])
    return integration


def test_third_request_within_the_rate_is_429_throttled(slow_integration, api_client):
    statuses = [
        api_client.post(LIST_URL, intake_payload(), format="json").status_code for _ in range(2)
    ]

    response = api_client.post(LIST_URL, intake_payload(), format="json")

    assert statuses == [201, 201]
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert RefundRequest.objects.count() == 2


def test_reads_and_writes_share_the_integrations_bucket(slow_integration, api_client):
    api_client.get(LIST_URL)
    api_client.post(LIST_URL, intake_payload(), format="json")

    assert_error(api_client.get(LIST_URL), 429, "throttled")


def test_throttling_one_integration_leaves_another_unaffected(
    slow_integration, api_client, api_key_for
):
    other = client_with(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(IntegrationFactory())}")
    for _ in range(3):
        api_client.get(LIST_URL)
    assert api_client.get(LIST_URL).status_code == 429

    statuses = [other.get(LIST_URL).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


def test_the_bucket_is_per_integration_not_per_key(slow_integration, api_key_for):
    first = client_with(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(slow_integration)}")
    second = client_with(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(slow_integration)}")
    first.get(LIST_URL)
    first.get(LIST_URL)

    assert second.get(LIST_URL).status_code == 429


def test_integration_without_its_own_rate_uses_the_default(integration, api_client):
    assert integration.throttle_rate == ""

    statuses = {api_client.get(LIST_URL).status_code for _ in range(5)}

    assert statuses == {200}


@pytest.mark.parametrize("rate", ["2/fortnight", "two/min", "2/", "2", "/min"])
def test_unparseable_integration_rate_falls_back_to_the_default(
    integration, api_client, caplog, rate
):
    integration.throttle_rate = rate
    integration.save(update_fields=["throttle_rate"])

    statuses = {api_client.get(LIST_URL).status_code for _ in range(3)}

    assert statuses == {200}
    assert "invalid throttle rate" in caplog.text
