"""Turning pending notifications into messages: per user, everything pending becomes one
message — at once for users in immediate mode (several events in one run coalesce), once
the oldest has waited ``HITL_NOTIFY_DIGEST_MINUTES`` for users in digest mode. Each message
gets a delivery per channel the user has switched on, sent on commit."""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from reviews import permissions as perms

from . import links
from .delivery import enqueue_delivery
from .models import (
    Notification,
    NotificationDelivery,
    NotificationMessage,
    NotificationPreference,
)

Mode = NotificationPreference.Mode


def _line(notification: Notification, url: str) -> str:
    line = f"- {notification.get_kind_display()}: {notification.summary}"
    if url:
        return f"{line}\n  Open: {url}"
    if notification.task_id:  # an owner (or their stand-in) who does not work the queue
        return f"{line}\n  (You do not work this queue, so there is no link to the case.)"
    return line


def _link(notification: Notification, user, now: datetime) -> str:
    """A one-time confirm link for a notification about a case, if ``user`` may open the
    case (a queue owner who does not work the queue may not)."""
    if not notification.task_id or not perms.user_can_view_task(user, notification.task):
        return ""
    return links.confirm_link_create(notification=notification, now=now)


def _subject(notifications: list[Notification], *, is_digest: bool) -> str:
    if is_digest:
        return f"[hitl] Digest: {len(notifications)} notifications"
    if len(notifications) == 1:
        return f"[hitl] {notifications[0].get_kind_display()}"
    return f"[hitl] {len(notifications)} notifications"


def _channels(user, pref: NotificationPreference | None) -> list[tuple[str, str]]:
    channels = []
    if (pref is None or pref.email_enabled) and user.email:
        channels.append((NotificationDelivery.Channel.EMAIL, user.email))
    if pref is not None and pref.slack_webhook_url:
        channels.append((NotificationDelivery.Channel.SLACK, pref.slack_webhook_url))
    return channels


@transaction.atomic
def notification_message_create(
    *, user, notifications: list[Notification], is_digest: bool, now: datetime
) -> NotificationMessage | None:
    """One message to ``user`` carrying ``notifications`` (claimed by compare-and-set: if
    another dispatcher took any of them, nothing is made), a confirm link per task, and a
    delivery per channel, each queued on commit."""
    pref = NotificationPreference.objects.filter(user=user).first()
    message = NotificationMessage.objects.create(
        recipient=user,
        is_digest=is_digest,
        subject=_subject(notifications, is_digest=is_digest),
        body="",
        created_at=now,
    )
    ids = [n.pk for n in notifications]
    taken = Notification.objects.filter(pk__in=ids, message__isnull=True).update(message=message)
    if taken != len(ids):
        transaction.set_rollback(True)
        return None
    lines = []
    for n in notifications:
        lines.append(_line(n, _link(n, user, now)))
    message.body = (
        "\n".join(lines)
        + "\n\nEach link works once, for you only, and only while the case is as it was when"
        " this was sent. Preferences: "
        + f"{settings.HITL_SITE_URL}{reverse('notifications:preferences')}\n"
    )
    message.save(update_fields=["body"])
    for channel, target in _channels(user, pref):
        delivery = NotificationDelivery.objects.create(
            message=message, channel=channel, target=target, next_attempt_at=now
        )
        transaction.on_commit(lambda pk=delivery.pk: enqueue_delivery(pk), robust=True)
    return message


def notifications_dispatch(*, now: datetime | None = None) -> int:
    """Sends what is due (see the module docstring). Returns how many messages were made."""
    now = now or timezone.now()
    pending = (
        Notification.objects.filter(message__isnull=True)
        .select_related("recipient", "task__queue", "task__request")
        .order_by("recipient_id", "created_at", "id")
    )
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for n in pending:
        by_user[n.recipient_id].append(n)
    modes = dict(
        NotificationPreference.objects.filter(user_id__in=by_user).values_list("user_id", "mode")
    )
    digest_due = now - timedelta(minutes=settings.HITL_NOTIFY_DIGEST_MINUTES)
    made = 0
    for user_id, notifications in by_user.items():
        is_digest = modes.get(user_id) == Mode.DIGEST
        if is_digest and notifications[0].created_at > digest_due:
            continue
        user = notifications[0].recipient
        if notification_message_create(
            user=user, notifications=notifications, is_digest=is_digest, now=now
        ):
            made += 1
    return made
