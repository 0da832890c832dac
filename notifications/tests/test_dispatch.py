"""Pending notifications become messages: coalesced, digested, one delivery per channel."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import dispatch
from notifications.dispatch import notifications_dispatch
from notifications.models import (
    ConfirmLink,
    NotificationDelivery,
    NotificationMessage,
    NotificationPreference,
)
from refunds.tests.factories import UserFactory

from .factories import notification_for


@pytest.fixture
def enqueued(monkeypatch):
    ids: list[int] = []
    monkeypatch.setattr(dispatch, "enqueue_delivery", ids.append)
    return ids


@pytest.fixture
def user(reviewer_of):
    return reviewer_of("standard", email="rev@example.org")


def test_several_notifications_for_one_user_in_one_run_coalesce_into_one_message(user, enqueued):
    notification_for(user)
    notification_for(user)

    assert notifications_dispatch() == 1

    message = NotificationMessage.objects.get()
    assert message.notifications.count() == 2
    assert message.subject == "[hitl] 2 notifications"


def test_a_dispatched_notification_is_not_sent_again(user, enqueued):
    notification_for(user)
    notifications_dispatch()

    assert notifications_dispatch() == 0
    assert NotificationMessage.objects.count() == 1


def test_digest_mode_holds_notifications_until_the_digest_is_due(user, enqueued, settings):
    settings.HITL_NOTIFY_DIGEST_MINUTES = 60
    NotificationPreference.objects.create(user=user, mode="digest")
    notification_for(user)
    notification_for(user)

    assert notifications_dispatch() == 0
    assert notifications_dispatch(now=timezone.now() + timedelta(minutes=61)) == 1

    message = NotificationMessage.objects.get()
    assert message.is_digest and message.notifications.count() == 2
    assert message.subject == "[hitl] Digest: 2 notifications"


def test_a_message_gets_one_delivery_per_channel_switched_on(
    user, enqueued, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(
        user=user, slack_webhook_url="https://hooks.example.org/services/T/B/x"
    )
    notification_for(user)

    with django_capture_on_commit_callbacks(execute=True):
        notifications_dispatch()

    deliveries = NotificationDelivery.objects.order_by("channel")
    assert [(d.channel, d.target) for d in deliveries] == [
        ("email", "rev@example.org"),
        ("slack", "https://hooks.example.org/services/T/B/x"),
    ]
    assert sorted(enqueued) == sorted(d.pk for d in deliveries)


def test_deliveries_are_queued_only_on_commit(user, enqueued, django_capture_on_commit_callbacks):
    notification_for(user)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notifications_dispatch()

    assert enqueued == [] and len(callbacks) == 1


def test_email_switched_off_and_no_webhook_makes_no_delivery(user, enqueued):
    NotificationPreference.objects.create(user=user, email_enabled=False)
    notification_for(user)

    notifications_dispatch()

    assert NotificationMessage.objects.count() == 1
    assert not NotificationDelivery.objects.exists()


def test_the_message_carries_a_one_time_link_and_no_customer_personal_data(user, enqueued):
    notification = notification_for(user)
    customer = notification.task.request.customer

    notifications_dispatch()

    body = NotificationMessage.objects.get().body
    link = ConfirmLink.objects.get()
    token = body.split("/review/confirm/")[1].split("/")[0]
    assert link.user == user and link.task == notification.task
    assert link.task_version == notification.task.version
    assert token not in link.token_hash  # only the hash is stored
    for personal in (customer.name, customer.email, customer.phone, customer.address):
        assert not personal or personal not in body
    assert str(notification.task.request.public_id) not in body  # the id is masked


def test_an_owner_who_does_not_work_the_queue_is_told_without_a_link(enqueued):
    owner = UserFactory(is_staff=True, email="lead@example.org")
    notification_for(owner)

    notifications_dispatch()

    body = NotificationMessage.objects.get(recipient=owner).body
    assert "/review/confirm/" not in body
    assert "You do not work this queue" in body
    assert not ConfirmLink.objects.exists()
