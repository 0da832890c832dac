from django.utils import timezone

from notifications.collect import task_summary
from notifications.dispatch import notification_message_create
from notifications.models import Kind, Notification, NotificationPreference
from reviews.tests.factories import task_with_proposal


def notification_for(user, *, task=None, kind: str = Kind.ESCALATED, **fields) -> Notification:
    task = task or task_with_proposal()
    return Notification.objects.create(
        recipient=user, kind=kind, task=task, summary=task_summary(task), **fields
    )


def message_for(user, *, slack_url: str = "", email: bool = True, task=None):
    """A message to ``user`` about one notification, with its deliveries."""
    if slack_url or not email:
        NotificationPreference.objects.update_or_create(
            user=user, defaults={"slack_webhook_url": slack_url, "email_enabled": email}
        )
    notification = notification_for(user, task=task)
    return notification_message_create(
        user=user, notifications=[notification], is_digest=False, now=timezone.now()
    )
