"""What the executor did for each final decision, the embedded backends' own records
(ledger refunds, replacement orders, customer messages), customer replies, and the
outbound webhooks with their delivery log."""

import secrets
import uuid

from django.db import models

from audit.integrity import HASH_MAX_LENGTH

from ..money import DECIMAL_PLACES, MAX_DIGITS
from .core import Integration, Order, RefundRequest


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Execution(models.Model):
    """One per final decision: the idempotency key and the phase reached so far.

    Phases follow Brandur Leach's "atomic phases": each is committed before the next
    begins, so a crash anywhere resumes from the last committed phase. The key is stored
    (``started``) before the first provider call and never changes, so every resend of an
    ambiguous call carries the same key and the provider does the work at most once.
    """

    class Phase(models.TextChoices):
        STARTED = "started", "Started (key stored, nothing sent)"
        PROVIDER_CALLED = "provider_called", "Provider called (outcome may be unknown)"
        RECORDED = "recorded", "Recorded (finished)"
        FAILED = "failed", "Failed (nothing done; will not heal by itself)"

    request = models.ForeignKey(RefundRequest, on_delete=models.PROTECT, related_name="executions")
    # The final decision this executes: its payload hash and the time it was made (a
    # request that went back to the customer and was decided again is a new decision).
    payload_hash = models.CharField(max_length=HASH_MAX_LENGTH)
    decided_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=64, unique=True, editable=False)
    action = models.CharField(max_length=32)
    amount = _money()
    currency = models.CharField(max_length=3)
    backend = models.CharField(max_length=32, blank=True)
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.STARTED)
    attempts = models.PositiveIntegerField(default=0)
    first_called_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The in-flight lock: whoever holds it (until it expires) is the only executor.
    locked_until = models.DateTimeField(null=True, blank=True)
    lock_owner = models.CharField(max_length=64, blank=True)
    provider_reference = models.CharField(max_length=128, null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "payload_hash", "decided_at"],
                name="execution_one_per_final_decision",
            ),
            models.UniqueConstraint(
                fields=["backend", "provider_reference"],
                condition=models.Q(provider_reference__isnull=False),
                name="execution_unique_provider_reference",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="execution_amount_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["phase", "next_attempt_at"]),
            # The dashboard's execution figures and the daily roll-up read executions by
            # their start time (analytics.facts, analytics.counting).
            models.Index(fields=["created_at"], name="execution_created"),
        ]
        permissions = [("retry_execution", "Can retry or close a failed execution")]

    def __str__(self) -> str:
        return f"{self.action} {self.amount} {self.currency} ({self.phase})"


class LedgerRefund(models.Model):
    """A refund paid by the embedded ``ledger`` payment backend (our own books)."""

    reference = models.CharField(max_length=40, unique=True, editable=False)
    idempotency_key = models.CharField(max_length=64, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="ledger_refunds")
    request = models.ForeignKey(
        RefundRequest, on_delete=models.PROTECT, related_name="ledger_refunds"
    )
    amount = _money()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="ledger_refund_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.amount} {self.currency}"


class ReplacementOrder(models.Model):
    """A replacement created by the embedded ``records`` fulfilment backend."""

    reference = models.CharField(max_length=40, unique=True, editable=False)
    idempotency_key = models.CharField(max_length=64, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="replacement_orders")
    request = models.ForeignKey(
        RefundRequest, on_delete=models.PROTECT, related_name="replacement_orders"
    )
    items = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reference


class OutboundMessage(models.Model):
    """A message to the customer (a denial, a request for more information, a reviewer's
    words on an approval), recorded here and delivered through the integration's webhook."""

    class Kind(models.TextChoices):
        DENIAL = "denial", "Refund denied"
        MORE_INFO = "more_info", "More information needed"
        CASE_OPEN = "case_open", "Case still open (review timed out)"
        APPROVAL = "approval", "Request approved"

    reference = models.CharField(max_length=40, unique=True, editable=False)
    idempotency_key = models.CharField(max_length=64, unique=True, editable=False)
    request = models.ForeignKey(
        RefundRequest, on_delete=models.PROTECT, related_name="outbound_messages"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.reference})"


class CustomerReply(models.Model):
    """What the customer answered to a request for more information (through the API)."""

    request = models.ForeignKey(
        RefundRequest, on_delete=models.PROTECT, related_name="customer_replies"
    )
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "customer replies"

    def __str__(self) -> str:
        return f"Reply on {self.request_id} at {self.created_at:%Y-%m-%d %H:%M}"


def _new_webhook_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class IntegrationWebhook(models.Model):
    """The signing secret (and an off switch) for the webhooks sent to an integration's
    ``webhook_url``. Created with a random secret the first time one is needed."""

    integration = models.OneToOneField(
        Integration, on_delete=models.CASCADE, related_name="webhook"
    )
    secret = models.CharField(max_length=100, default=_new_webhook_secret)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Webhook settings for {self.integration}"


class WebhookDelivery(models.Model):
    """One outbound webhook and what happened to it (the delivery log)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    request = models.ForeignKey(
        RefundRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
    )
    event = models.CharField(max_length=64)
    url = models.URLField(max_length=500)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.integration} ({self.status})"
