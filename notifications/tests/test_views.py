"""The preferences page: each user edits only their own; per-role access."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from notifications.models import NotificationPreference
from notifications.validators import validate_webhook_url

URL = "/review/notifications/"


def _form(**overrides) -> dict:
    data = {"mode": "digest", "email_enabled": "on", "escalated": "on", "four_eyes": "on"}
    return {**data, **overrides}


def test_the_preferences_page_is_under_the_review_pages():
    assert reverse("notifications:preferences") == URL


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("reviewer", 200),
        ("senior_reviewer", 200),
        ("policy_admin", 200),
        ("auditor", 200),
        ("integration", 403),
        ("anonymous", 302),
    ],
)
def test_who_may_open_the_preferences_page(client, role_user, role, expected):
    if role != "anonymous":
        client.force_login(role_user(role))

    assert client.get(URL).status_code == expected


def test_a_reviewer_saves_their_own_preferences_and_it_is_audited(client, role_user):
    user = role_user("reviewer")
    client.force_login(user)

    response = client.post(URL, _form(slack_webhook_url="https://hooks.example.org/T/B/x"))

    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=user)
    assert (preference.mode, preference.sla_warning) == ("digest", False)
    event = AuditEvent.objects.get(event_type="notification.preference_changed")
    assert event.payload["slack_webhook"] is True
    assert "hooks.example.org" not in str(event.payload)  # the URL is a credential


def test_a_posted_user_id_cannot_edit_someone_elses_preferences(client, role_user):
    me, other = role_user("reviewer"), role_user("reviewer")
    client.force_login(me)

    client.post(URL, _form(user=other.pk))

    assert not NotificationPreference.objects.filter(user=other).exists()
    assert NotificationPreference.objects.filter(user=me).exists()


def test_a_plain_http_webhook_url_is_refused_with_a_clear_error(client, role_user):
    client.force_login(role_user("reviewer"))

    response = client.post(URL, _form(slack_webhook_url="http://hooks.example.org/x"))

    assert response.status_code == 400
    assert "must start with https://" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_the_preferences_page_query_count(client, role_user, django_assert_num_queries):
    client.force_login(role_user("reviewer"))

    with django_assert_num_queries(QUERIES_PREFERENCES_PAGE):
        client.get(URL)


# session, user, machine check, the preference row, the header's permissions and queues
QUERIES_PREFERENCES_PAGE = 6


@pytest.mark.parametrize(
    ("url", "local_http", "ok"),
    [
        ("https://hooks.example.org/services/T/B/x", False, True),
        ("http://127.0.0.1:9000/hook", True, True),
        ("http://127.0.0.1:9000/hook", False, False),
        ("http://hooks.example.org/x", True, False),
        ("https://user:pw@hooks.example.org/x", False, False),
        ("ftp://hooks.example.org/x", True, False),
    ],
)
def test_webhook_url_validation(settings, url, local_http, ok):
    settings.HITL_NOTIFY_ALLOW_LOCAL_HTTP = local_http
    if ok:
        validate_webhook_url(url)
    else:
        with pytest.raises(ValidationError):
            validate_webhook_url(url)
