"""Sending through real servers on 127.0.0.1: SMTP (aiosmtpd) and a Slack-compatible
webhook receiver with injected faults; retries with backoff; every attempt audited."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from hitl_site.errors import ApplicationError
from notifications.delivery import (
    notification_deliveries_due,
    notification_delivery_requeue,
    notification_delivery_send,
    notification_delivery_transition,
)
from notifications.models import NotificationDelivery
from refunds.tests.factories import UserFactory

from .factories import message_for
from .servers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def user(db):
    return UserFactory(is_staff=True, email="rev@example.org")


def _only(channel: str) -> NotificationDelivery:
    return NotificationDelivery.objects.get(channel=channel)


def _attempt_events() -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(event_type__startswith="notification.delivery_").values_list(
            "event_type", "payload__status"
        )
    )


def test_email_goes_through_a_real_smtp_server(user, smtp_server):
    message = message_for(user)

    delivery = notification_delivery_send(delivery_id=_only("email").pk)

    assert delivery.status == "sent" and delivery.delivered_at is not None
    [envelope] = smtp_server.messages
    assert envelope.rcpt_tos == ["rev@example.org"]
    assert f"Subject: {message.subject}" in envelope.content.decode()
    assert _attempt_events() == [("notification.delivery_sent", "sent")]


def test_email_to_a_server_that_is_down_is_retried_with_backoff(user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    settings.HITL_NOTIFY_BACKOFF = 30
    message_for(user)
    before = timezone.now()

    delivery = notification_delivery_send(delivery_id=_only("email").pk)

    assert delivery.status == "retrying" and delivery.attempts == 1
    assert "ConnectionRefused" in delivery.last_error
    assert delivery.next_attempt_at >= before + timedelta(seconds=30)
    assert _attempt_events() == [("notification.delivery_failed", "retrying")]


def test_slack_webhook_gets_the_message_as_json_text(user, slack_server):
    message = message_for(user, slack_url=slack_server.url, email=False)

    delivery = notification_delivery_send(delivery_id=_only("slack").pk)

    assert delivery.status == "sent"
    [post] = slack_server.posts
    assert post == {"text": f"*{message.subject}*\n{message.body}"}


def test_slack_500_is_retried_by_the_reconciler_and_then_sent(user, slack_server):
    slack_server.faults.append("error_500")
    message_for(user, slack_url=slack_server.url, email=False)
    first = notification_delivery_send(delivery_id=_only("slack").pk)
    assert first.status == "retrying" and "HTTP 500" in first.last_error

    assert notification_deliveries_due(now=first.next_attempt_at) == 1

    delivery = _only("slack")
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(slack_server.posts) == 2
    assert _attempt_events() == [
        ("notification.delivery_failed", "retrying"),
        ("notification.delivery_sent", "sent"),
    ]


def test_what_a_webhook_answered_is_not_kept_only_its_status(user, slack_server):
    slack_server.faults.append("error_500")  # answers "boom"
    message_for(user, slack_url=slack_server.url, email=False)

    delivery = notification_delivery_send(delivery_id=_only("slack").pk)

    assert delivery.last_error == "OSError: HTTP 500"
    errors = AuditEvent.objects.values_list("payload__error", flat=True)
    assert not [e for e in errors if e and "boom" in e]


def test_slack_timeout_is_retried(user, slack_server):
    slack_server.faults.append("timeout")
    message_for(user, slack_url=slack_server.url, email=False)

    delivery = notification_delivery_send(delivery_id=_only("slack").pk)

    assert delivery.status == "retrying" and "Timeout" in delivery.last_error


def test_a_delivery_gives_up_after_the_last_attempt(user, slack_server, settings):
    settings.HITL_NOTIFY_MAX_ATTEMPTS = 2
    slack_server.faults.extend(["error_500", "error_500"])
    message_for(user, slack_url=slack_server.url, email=False)
    first = notification_delivery_send(delivery_id=_only("slack").pk)

    notification_deliveries_due(now=first.next_attempt_at)

    delivery = _only("slack")
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)


def test_a_retry_that_is_not_due_yet_is_left_alone(user, slack_server):
    slack_server.faults.append("error_500")
    message_for(user, slack_url=slack_server.url, email=False)
    notification_delivery_send(delivery_id=_only("slack").pk)

    assert notification_deliveries_due() == 0
    assert notification_delivery_send(delivery_id=_only("slack").pk) is None
    assert len(slack_server.posts) == 1


def test_a_plain_http_webhook_is_refused_where_local_http_is_not_allowed(
    user, slack_server, settings
):
    message_for(user, slack_url=slack_server.url, email=False)
    settings.HITL_NOTIFY_ALLOW_LOCAL_HTTP = False

    delivery = notification_delivery_send(delivery_id=_only("slack").pk)

    assert delivery.status == "retrying" and "https" in delivery.last_error
    assert slack_server.posts == []


def test_a_sent_delivery_cannot_move_again(user, smtp_server):
    message_for(user)
    delivery = notification_delivery_send(delivery_id=_only("email").pk)

    with pytest.raises(ApplicationError) as exc:
        notification_delivery_transition(
            delivery=delivery, to_status="retrying", now=timezone.now()
        )
    assert exc.value.code == "illegal_transition"


def _failed_slack_delivery(user, slack_server, settings) -> NotificationDelivery:
    settings.HITL_NOTIFY_MAX_ATTEMPTS = 1
    slack_server.faults.append("error_500")
    message_for(user, slack_url=slack_server.url, email=False)
    return notification_delivery_send(delivery_id=_only("slack").pk)


def test_a_failed_delivery_sent_again_by_an_admin_gets_a_fresh_budget_and_goes_out(
    user, slack_server, settings, django_capture_on_commit_callbacks
):
    failed = _failed_slack_delivery(user, slack_server, settings)
    admin_user = UserFactory(is_superuser=True)

    with django_capture_on_commit_callbacks() as callbacks:
        requeued = notification_delivery_requeue(delivery=failed, by=admin_user)
    delivery = notification_delivery_send(delivery_id=requeued.pk)

    assert (requeued.status, requeued.attempts) == ("pending", 0)
    assert len(callbacks) == 1  # the queue is asked to send it
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert len(slack_server.posts) == 2


def test_sending_a_delivery_again_is_audited_with_the_admin(user, slack_server, settings):
    failed = _failed_slack_delivery(user, slack_server, settings)
    admin_user = UserFactory(is_superuser=True)

    notification_delivery_requeue(delivery=failed, by=admin_user)

    event = AuditEvent.objects.get(event_type="notification.delivery_requeued")
    assert (event.actor_type, event.actor_id) == ("user", str(admin_user.pk))


def test_only_a_failed_delivery_can_be_sent_again(user, smtp_server):
    message_for(user)
    sent = notification_delivery_send(delivery_id=_only("email").pk)

    with pytest.raises(ApplicationError) as exc:
        notification_delivery_requeue(delivery=sent, by=UserFactory(is_superuser=True))
    assert exc.value.code == "illegal_transition"


def test_the_admin_action_sends_the_failed_ones_of_a_selection_again(
    user, slack_server, settings, client
):
    failed = _failed_slack_delivery(user, slack_server, settings)
    other = UserFactory(is_staff=True, email="other@example.org")
    pending = message_for(other).deliveries.get(channel="email")
    client.force_login(UserFactory(is_superuser=True, is_staff=True))

    response = client.post(
        reverse("admin:notifications_notificationdelivery_changelist"),
        {"action": "requeue", "_selected_action": [failed.pk, pending.pk]},
        follow=True,
    )

    assert "Sent again: 1 delivery(ies); 1 not failed, left alone." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == "pending"


def test_a_sweep_that_started_long_ago_still_leases_from_the_clock(user, slack_server, monkeypatch):
    from notifications import delivery as delivery_module

    message_for(user, slack_url=slack_server.url, email=False)
    pk = _only("slack").pk
    started = timezone.now() - timedelta(minutes=5)  # the sweep began long ago
    NotificationDelivery.objects.filter(pk=pk).update(next_attempt_at=started)
    send = delivery_module._send_slack
    concurrent = []

    def slow_send(delivery, transport):
        concurrent.append(notification_delivery_send(delivery_id=pk))  # another worker
        send(delivery, transport)

    monkeypatch.setattr(delivery_module, "_send_slack", slow_send)

    notification_delivery_send(delivery_id=pk, now=started)

    assert concurrent == [None]
    assert len(slack_server.posts) == 1
