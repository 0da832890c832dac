import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor_client(client, role_user):
    client.force_login(role_user("auditor"))
    return client


def test_auditor_can_list_audit_events(auditor_client, chain):
    response = auditor_client.get(reverse("admin:audit_auditevent_changelist"))

    assert response.status_code == 200
    assert b"test.event" in response.content


def test_audit_event_admin_offers_no_add(admin_client, chain):
    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403


def test_audit_event_admin_refuses_change_even_for_superuser(admin_client, chain):
    url = reverse("admin:audit_auditevent_change", args=[chain[0].pk])

    response = admin_client.post(url, {"event_type": "forged"})

    chain[0].refresh_from_db()
    assert response.status_code == 403
    assert chain[0].event_type == "test.event"


def test_audit_event_admin_refuses_delete_even_for_superuser(admin_client, chain):
    url = reverse("admin:audit_auditevent_delete", args=[chain[0].pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 403
