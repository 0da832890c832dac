"""``create_api_key`` and ``revoke_api_key``: the operator's way to issue and withdraw keys."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from refunds.models import IntegrationAPIKey
from refunds.tests.factories import IntegrationFactory, intake_payload

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:refund-request-list")


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def client_for(plain_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plain_key}")
    return client


@pytest.fixture
def shop():
    return IntegrationFactory(name="shop")


def test_create_api_key_prints_a_key_that_works_against_the_api(shop):
    plain_key = run("create_api_key", "shop").strip()

    response = client_for(plain_key).post(LIST_URL, intake_payload(), format="json")

    assert response.status_code == 201, response.json()
    api_key = IntegrationAPIKey.objects.get()
    assert api_key.integration == shop
    assert api_key.name == "cli"
    assert plain_key.startswith(f"{api_key.prefix}.")


def test_create_api_key_prints_only_the_key(shop):
    out = run("create_api_key", "shop")

    assert out.count("\n") == 1
    assert IntegrationAPIKey.objects.is_valid(out.strip())


def test_create_api_key_takes_a_label_and_is_audited(shop):
    run("create_api_key", "shop", "--name", "checkout-widget")

    assert IntegrationAPIKey.objects.get().name == "checkout-widget"
    event = AuditEvent.objects.get(event_type="integration.api_key_created")
    assert event.actor_label == "create_api_key"
    assert event.subject_id == str(shop.pk)


def test_create_api_key_for_unknown_integration_names_the_known_ones(shop):
    IntegrationFactory(name="mailer")

    with pytest.raises(CommandError, match=r"No integration named 'shoop' \(known: mailer, shop\)"):
        run("create_api_key", "shoop")

    assert not IntegrationAPIKey.objects.exists()


def test_create_api_key_with_no_integrations_at_all_says_so(db):
    with pytest.raises(CommandError, match=r"No integration named 'shop' \(known: none\)"):
        run("create_api_key", "shop")


def test_create_api_key_for_inactive_integration_is_refused(shop):
    shop.is_active = False
    shop.save(update_fields=["is_active"])

    with pytest.raises(CommandError, match="inactive"):
        run("create_api_key", "shop")

    assert not IntegrationAPIKey.objects.exists()


def test_revoke_api_key_by_prefix_makes_the_key_fail_with_403(shop):
    plain_key = run("create_api_key", "shop").strip()
    prefix = plain_key.partition(".")[0]

    out = run("revoke_api_key", prefix)

    assert out.strip() == f"Revoked key {prefix} of shop."
    assert IntegrationAPIKey.objects.get().revoked
    response = client_for(plain_key).get(LIST_URL)
    assert response.status_code == 403
    assert response.json()["code"] == "api_key_revoked"


def test_revoke_api_key_accepts_the_whole_key(shop):
    plain_key = run("create_api_key", "shop").strip()

    run("revoke_api_key", plain_key)

    assert IntegrationAPIKey.objects.get().revoked


def test_revoke_api_key_is_audited_once_even_when_repeated(shop):
    prefix = run("create_api_key", "shop").strip().partition(".")[0]

    run("revoke_api_key", prefix)
    run("revoke_api_key", prefix)

    assert AuditEvent.objects.filter(event_type="integration.api_key_revoked").count() == 1


def test_revoke_api_key_leaves_other_keys_working(shop):
    revoked = run("create_api_key", "shop").strip()
    kept = run("create_api_key", "shop").strip()

    run("revoke_api_key", revoked.partition(".")[0])

    assert client_for(kept).get(LIST_URL).status_code == 200


def test_revoke_api_key_with_unknown_prefix_is_a_command_error(shop):
    run("create_api_key", "shop")

    with pytest.raises(CommandError, match="No API key with prefix 'nope'"):
        run("revoke_api_key", "nope")

    assert not IntegrationAPIKey.objects.filter(revoked=True).exists()
