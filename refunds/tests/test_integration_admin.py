"""The Integration and API-key admin pages: minting and revoking keys needs
``refunds.manage_integration_keys``; anyone else who POSTs the action gets no key, changes
nothing, and leaves an ``admin.action_refused`` event."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from hitl_site import roles
from refunds.models import IntegrationAPIKey
from refunds.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REFUSED_ROLES = [
    roles.REVIEWER,
    roles.SENIOR_REVIEWER,
    roles.POLICY_ADMIN,
    roles.AUDITOR,
    roles.INTEGRATION,
]
INTEGRATIONS_URL = reverse("admin:refunds_integration_changelist")
KEYS_URL = reverse("admin:refunds_integrationapikey_changelist")


def post_action(client, url, action, *pks):
    """The change list's action form as the browser sends it."""
    data = {"action": action, "index": "0", "select_across": "0", ACTION_CHECKBOX_NAME: pks}
    return client.post(url, data, follow=True)


def key_holder(*view_perms: str):
    user = UserFactory(is_staff=True)
    codenames = ["manage_integration_keys", *view_perms]
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="refunds", codename__in=codenames)
    )
    return user


def api_status(plain_key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plain_key}")
    return client.get(reverse("api:refund-request-list")).status_code


def refusals():
    return list(AuditEvent.objects.filter(event_type="admin.action_refused"))


@pytest.mark.parametrize("role", REFUSED_ROLES)
def test_create_api_key_refused_without_the_permission_and_audited(
    client, role_user, integration, role
):
    user = role_user(role)
    client.force_login(user)

    response = post_action(client, INTEGRATIONS_URL, "create_api_key", integration.pk)

    assert "API key for" not in response.text
    assert not IntegrationAPIKey.objects.exists()
    assert not AuditEvent.objects.filter(event_type="integration.api_key_created").exists()
    [event] = refusals()
    assert (event.actor_id, event.actor_label) == (str(user.pk), user.username)
    assert (event.subject_type, event.subject_id) == ("refunds.integration", str(integration.pk))
    assert event.payload == {
        "model": "refunds.integration",
        "action": "create_api_key",
        "selected": [str(integration.pk)],
        "select_across": False,
    }


def test_a_role_that_sees_integrations_is_told_why(client, role_user, integration):
    client.force_login(role_user(roles.AUDITOR))

    response = post_action(client, INTEGRATIONS_URL, "create_api_key", integration.pk)

    assert response.status_code == 200  # back on the change list it may read
    assert "You may not run “Create a new API key (shown once)”" in response.text


@pytest.mark.parametrize("holder", ["superuser", "key_holder"])
def test_create_api_key_with_the_permission_shows_a_working_key(client, integration, holder):
    if holder == "superuser":
        user = UserFactory(is_staff=True, is_superuser=True)
    else:
        user = key_holder("view_integration")
    client.force_login(user)

    response = post_action(client, INTEGRATIONS_URL, "create_api_key", integration.pk)

    [message] = [m.message for m in response.context["messages"]]
    plain_key = message.split(": ", 1)[1].split(" ")[0]
    assert api_status(plain_key) == 200
    assert AuditEvent.objects.filter(event_type="integration.api_key_created").count() == 1
    assert refusals() == []


@pytest.mark.parametrize("role", REFUSED_ROLES)
def test_revoke_keys_refused_without_the_permission_and_audited(
    client, role_user, integration, api_key_for, role
):
    plain_key = api_key_for(integration)
    api_key = IntegrationAPIKey.objects.get()
    user = role_user(role)
    client.force_login(user)

    post_action(client, KEYS_URL, "revoke_keys", api_key.pk)

    api_key.refresh_from_db()
    assert not api_key.revoked and api_status(plain_key) == 200
    [event] = refusals()
    assert event.actor_id == str(user.pk)
    assert event.payload["action"] == "revoke_keys"
    assert event.subject_type == "refunds.integrationapikey"


def test_revoke_keys_with_the_permission_ends_the_key(client, integration, api_key_for):
    plain_key = api_key_for(integration)
    client.force_login(key_holder("view_integrationapikey"))

    response = post_action(client, KEYS_URL, "revoke_keys", IntegrationAPIKey.objects.get().pk)

    assert "Revoked 1 key(s)." in response.text
    assert api_status(plain_key) == 403
    assert AuditEvent.objects.filter(event_type="integration.api_key_revoked").count() == 1


def test_changing_a_key_needs_the_key_permission_too(client, integration, api_key_for):
    api_key_for(integration)
    url = reverse(
        "admin:refunds_integrationapikey_change", args=[IntegrationAPIKey.objects.get().pk]
    )
    editor = UserFactory(is_staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="change_integrationapikey"))
    client.force_login(editor)

    form = client.get(url)

    assert form.status_code == 200  # viewable, but the expiry date is no longer a field
    assert 'name="expiry_date' not in form.text
