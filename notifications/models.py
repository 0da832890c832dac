"""Notifications to reviewers and queue owners: what happened (``Notification``, one per
recipient), the message that carried it (``NotificationMessage``: one immediate notice or
one digest), its sending per channel (``NotificationDelivery``), the one-time confirm links
in it (``ConfirmLink``), each user's preferences, and the collector's cursor in the audit
log (``NotificationCursor``).

Nothing here is written by the apps below: ``notifications.collect`` reads the audit log.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from reviews.models import ReviewTask

from .validators import validate_webhook_url


class Kind(models.TextChoices):
    ESCALATED = "escalated", "Case escalated to your queue"
    FOUR_EYES = "four_eyes", "Second approval needed"
    SLA_WARNING = "sla_warning", "SLA about to be missed"
    DRIFT = "drift", "Drift alert"


class NotificationCursor(models.Model):
    """A single row: the id of the last audit event the collector has read. Advanced in the
    transaction that creates the notifications for the events up to it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_event_id = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"audit event #{self.last_event_id}"


class NotificationPreference(models.Model):
    """How one user wants to be told. Without a row: e-mail, immediately, every kind."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", "Immediately"
        DIGEST = "digest", "Hourly digest"
        OFF = "off", "Off"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IMMEDIATE)
    email_enabled = models.BooleanField("E-mail", default=True)
    slack_webhook_url = models.URLField(
        "Slack-compatible incoming webhook URL",
        max_length=500,
        blank=True,
        validators=[validate_webhook_url],
        help_text='Optional. Messages are posted there as JSON {"text": …}. https only.',
    )
    escalated = models.BooleanField(Kind.ESCALATED.label, default=True)
    four_eyes = models.BooleanField(Kind.FOUR_EYES.label, default=True)
    sla_warning = models.BooleanField(Kind.SLA_WARNING.label, default=True)
    drift = models.BooleanField(Kind.DRIFT.label, default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Notification preferences of {self.user}"

    def wants(self, kind: str) -> bool:
        return self.mode != self.Mode.OFF and bool(getattr(self, kind, False))


class NotificationMessage(models.Model):
    """What one user was sent at once: one notification, several coalesced, or a digest."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_messages"
    )
    is_digest = models.BooleanField(default=False)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "is_digest", "-created_at"])]

    def __str__(self) -> str:
        return self.subject


class Notification(models.Model):
    """One thing one user should hear about. ``message`` is set when it is sent."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    task = models.ForeignKey(
        ReviewTask, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    # The audit event it was made from (none for an SLA warning, made by the scan).
    source_event_id = models.PositiveBigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=300, help_text="No customer personal data.")
    message = models.ForeignKey(
        NotificationMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "source_event_id"],
                condition=models.Q(source_event_id__isnull=False),
                name="notification_one_per_event_and_recipient",
            )
        ]
        indexes = [models.Index(fields=["message", "recipient", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient}"


class SlaWarning(models.Model):
    """The scan's marker: this task was warned about at this version. The unique constraint
    is what keeps two scanners from warning twice."""

    task = models.ForeignKey(ReviewTask, on_delete=models.CASCADE, related_name="sla_warnings")
    task_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "task_version"], name="sla_warning_one_per_task_version"
            )
        ]

    def __str__(self) -> str:
        return f"SLA warning for task {self.task_id} v{self.task_version}"


class NotificationDelivery(models.Model):
    """Sending one message over one channel, with its retries (see ``notifications.delivery``)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SLACK = "slack", "Slack-compatible webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up"

    message = models.ForeignKey(
        NotificationMessage, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    target = models.CharField(max_length=500, help_text="The address or the webhook URL.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "notification deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "channel"], name="notification_delivery_one_per_channel"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.message.recipient_id} ({self.status})"


class ConfirmLink(models.Model):
    """A one-time link to the confirm page: only the SHA-256 of its token is stored. Bound
    to one user, one task and what the task was when it was sent (version, assignee,
    queue); it works once, until ``expires_at``."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="confirm_links"
    )
    task = models.ForeignKey(ReviewTask, on_delete=models.CASCADE, related_name="confirm_links")
    task_version = models.PositiveIntegerField()
    task_assignee_id = models.BigIntegerField(null=True, blank=True)
    task_queue_id = models.BigIntegerField()
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="confirm_links"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Confirm link for task {self.task_id} to {self.user_id}"
