"""Sending a message over one channel, retried through the queue.

A ``NotificationDelivery`` row is created with its message (an outbox row); a django-q2
task sends it on commit; ``notification_deliveries_due`` (every minute) sends whatever is
due, so a lost task or a failed attempt only delays it. Each attempt is audited
(``notification.delivery_sent`` / ``notification.delivery_failed``).

States (``notification_delivery_transition``)::

    pending ──attempt──> sent | retrying | failed
    retrying ──attempt──> sent | retrying | failed     (sent is final)
    failed ──sent again by an admin──> pending         (a fresh budget of attempts)
"""

import logging
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError

from . import events
from .models import NotificationDelivery
from .validators import validate_webhook_url

logger = logging.getLogger(__name__)

S = NotificationDelivery.Status
ALLOWED: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.SENT, S.RETRYING, S.FAILED}),
    S.RETRYING: frozenset({S.SENT, S.RETRYING, S.FAILED}),
    S.SENT: frozenset(),
    S.FAILED: frozenset({S.PENDING}),
}
OPEN_STATUSES = (S.PENDING, S.RETRYING)
MAX_BACKOFF_SECONDS = 3600
ACTOR = Actor.system("notifications")


def backoff_seconds(attempts: int) -> int:
    return min(settings.HITL_NOTIFY_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def enqueue_delivery(delivery_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "notifications.tasks.notification_delivery_send",
        delivery_id,
        task_name=f"notification-delivery-{delivery_id}",
        group="notifications",
    )


@transaction.atomic
def notification_delivery_transition(
    *,
    delivery: NotificationDelivery,
    to_status: str,
    error: str = "",
    now: datetime,
    actor: Actor = ACTOR,
) -> NotificationDelivery:
    """Records one attempt's outcome, or (to ``pending``) an admin's "send again": locks
    the row, checks the move, saves, audits."""
    locked = NotificationDelivery.objects.select_for_update().get(pk=delivery.pk)
    if to_status not in ALLOWED[locked.status]:
        raise ApplicationError(
            f"A {locked.status} delivery cannot become {to_status}.", code="illegal_transition"
        )
    if to_status == S.PENDING:
        locked.status, locked.attempts, locked.next_attempt_at = to_status, 0, now
        event_type = events.DELIVERY_REQUEUED
    else:
        locked.status, locked.attempts, locked.last_error = to_status, locked.attempts + 1, error
        locked.next_attempt_at = (
            now + timedelta(seconds=backoff_seconds(locked.attempts))
            if to_status == S.RETRYING
            else None
        )
        if to_status == S.SENT:
            locked.delivered_at = now
        event_type = events.DELIVERY_SENT if to_status == S.SENT else events.DELIVERY_FAILED
    locked.save(
        update_fields=["status", "attempts", "last_error", "next_attempt_at", "delivered_at"]
    )
    record_event(
        event_type=event_type,
        actor=actor,
        subject=locked,
        payload={
            "message": locked.message_id,
            "channel": locked.channel,
            "attempt": locked.attempts,
            "status": to_status,
            "error": error[:300],
        },
    )
    return locked


def notification_delivery_requeue(*, delivery: NotificationDelivery, by) -> NotificationDelivery:
    """Sends a failed delivery again (admin action, after the cause is fixed): back to
    ``pending`` with a fresh budget, attempted by the queue once the change commits."""
    requeued = notification_delivery_transition(
        delivery=delivery, to_status=S.PENDING, now=timezone.now(), actor=Actor.user(by)
    )
    transaction.on_commit(lambda: enqueue_delivery(requeued.pk), robust=True)
    return requeued


def _send_email(delivery: NotificationDelivery) -> None:
    message = delivery.message
    EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.target],
    ).send(fail_silently=False)


def _send_slack(delivery: NotificationDelivery, transport) -> None:
    validate_webhook_url(delivery.target)  # the setting may have changed since it was saved
    text = f"*{delivery.message.subject}*\n{delivery.message.body}"
    with httpx.Client(timeout=settings.HITL_NOTIFY_TIMEOUT, transport=transport) as client:
        response = client.post(delivery.target, json={"text": text})
    if not 200 <= response.status_code < 300:
        # The status only: the URL is the user's own, so the body of whatever answered it
        # (an internal service, say) must not land in the admin and the audit log.
        raise OSError(f"HTTP {response.status_code}")


def notification_delivery_send(
    *,
    delivery_id: int,
    transport: httpx.BaseTransport | None = None,
    now: datetime | None = None,
) -> NotificationDelivery | None:
    """One attempt at a pending or retrying delivery (None if it is not due or another
    worker claimed it). A failure schedules the next attempt with exponential backoff,
    until ``HITL_NOTIFY_MAX_ATTEMPTS``; then it is ``failed``. ``now``: the reconciler's."""
    now = now or timezone.now()
    # Claim it: push next_attempt_at past the attempt so a concurrent sweep skips it. The
    # lease runs from the clock, not from ``now``: a sweep's ``now`` is when it started,
    # and a long sweep would otherwise hand out leases already over.
    slowest = max(settings.HITL_NOTIFY_TIMEOUT, settings.EMAIL_TIMEOUT or 0)
    lease = max(now, timezone.now()) + timedelta(seconds=slowest * 2 + 5)
    claimed = NotificationDelivery.objects.filter(
        pk=delivery_id, status__in=OPEN_STATUSES, next_attempt_at__lte=now
    ).update(next_attempt_at=lease)
    if not claimed:
        return None
    delivery = NotificationDelivery.objects.select_related("message").get(pk=delivery_id)
    error = ""
    try:
        if delivery.channel == NotificationDelivery.Channel.EMAIL:
            _send_email(delivery)
        else:
            _send_slack(delivery, transport)
    except (OSError, httpx.HTTPError, ValidationError) as exc:  # smtplib errors are OSErrors
        error = f"{type(exc).__name__}: {exc}"[:1000]
    if not error:
        status = S.SENT
    elif delivery.attempts + 1 >= settings.HITL_NOTIFY_MAX_ATTEMPTS:
        status = S.FAILED
        logger.warning("notification delivery gave up", extra={"delivery": delivery.pk})
    else:
        status = S.RETRYING
    return notification_delivery_transition(
        delivery=delivery, to_status=status, error=error, now=timezone.now()
    )


def notification_deliveries_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """The reconciler (every minute): one attempt at each delivery whose time has come."""
    now = now or timezone.now()
    due = list(
        NotificationDelivery.objects.filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        notification_delivery_send(delivery_id=delivery_id, now=now)
    return len(due)
