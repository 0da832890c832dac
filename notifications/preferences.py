"""Writing a user's notification preferences (the page and the admin go through here)."""

from django.db import transaction

from audit.services import Actor, record_event

from . import events
from .models import NotificationPreference

FIELDS = (
    "mode",
    "email_enabled",
    "slack_webhook_url",
    "escalated",
    "four_eyes",
    "sla_warning",
    "drift",
)


def preference_for(user) -> NotificationPreference:
    """The user's row, or an unsaved one with the defaults."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(
        user=user
    )


@transaction.atomic
def notification_preference_save(
    *, preference: NotificationPreference, by
) -> NotificationPreference:
    """Saves a validated preference row (``full_clean`` done by the form) and audits what
    it now says; the webhook URL is recorded only as set or not (it is a credential)."""
    preference.save()
    record_event(
        event_type=events.PREFERENCE_CHANGED,
        actor=Actor.user(by),
        subject=preference,
        payload={
            "user": preference.user_id,
            **{f: getattr(preference, f) for f in FIELDS if f != "slack_webhook_url"},
            "slack_webhook": bool(preference.slack_webhook_url),
        },
    )
    return preference
