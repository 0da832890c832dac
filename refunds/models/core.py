"""The domain: who asks (integrations, customers), about what (orders), and the request."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from audit.integrity import HASH_MAX_LENGTH

from ..money import DECIMAL_PLACES, MAX_DIGITS, validate_country, validate_currency
from ..states import RefundStatus


def validate_throttle_rate(value: str) -> None:
    """'<count>/<sec|min|hour|day>' as DRF's throttles read it."""
    count, _, period = value.partition("/")
    if not (count.isdigit() and period[:1] in {"s", "m", "h", "d"}):
        raise ValidationError(
            f"{value!r} is not a rate like '120/min' or '5/sec'.", code="throttle_rate"
        )


class Integration(models.Model):
    """A system that submits requests through the API (chat widget, e-mail gateway, ...)."""

    class Kind(models.TextChoices):
        CHAT_WIDGET = "chat_widget", "Chat widget"
        EMAIL_GATEWAY = "email_gateway", "E-mail gateway"
        WEB_FORM = "web_form", "Web form"
        INTERNAL = "internal", "Internal system"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_active = models.BooleanField(default=True)
    throttle_rate = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_throttle_rate],
        help_text="Overrides the default API rate for this integration, e.g. '120/min'.",
    )
    webhook_url = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # Minting or withdrawing a credential for the API, not a view of the integration:
        # the admin's key actions need it (hitl_site/roles.py says who holds it).
        permissions = [
            ("manage_integration_keys", "Can create and revoke the integration's API keys")
        ]

    def __str__(self) -> str:
        return self.name


class IntegrationAPIKey(AbstractAPIKey):
    """Stored hashed (SHA-512 of a high-entropy key); the plain key is shown once."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="api_keys")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "integration API key"
        verbose_name_plural = "integration API keys"


class Customer(models.Model):
    class Tier(models.TextChoices):
        STANDARD = "standard", "Standard"
        PREMIUM = "premium", "Premium"
        ENTERPRISE = "enterprise", "Enterprise"

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="customers")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    country = models.CharField(max_length=2, validators=[validate_country])
    customer_since = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"], name="customer_unique_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"
        RETURNED = "returned", "Returned"

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="orders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=100)
    items = models.JSONField(default=list, blank=True)
    amount = models.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    ordered_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"], name="order_unique_external_id"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="order_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.amount} {self.currency})"


class RefundRequest(models.Model):
    class Channel(models.TextChoices):
        CHAT = "chat", "Chat"
        EMAIL = "email", "E-mail"
        WEB = "web", "Web form"
        API = "api", "API"

    class Priority(models.IntegerChoices):
        LOW = 0, "Low"
        NORMAL = 1, "Normal"
        HIGH = 2, "High"
        URGENT = 3, "Urgent"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="refund_requests"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    external_reference = models.CharField(max_length=200, blank=True)
    conversation_id = models.CharField(max_length=200, blank=True, db_index=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="refund_requests")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refund_requests")
    message = models.TextField()
    # The staff user who submitted the case on the customer's behalf, if one did (intake
    # through an integration leaves it empty): whom review must keep off deciding it.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="submitted_refund_requests",
    )
    requested_amount = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(
        max_length=24, choices=RefundStatus.choices, default=RefundStatus.RECEIVED, editable=False
    )
    # The decision that will be (or was) executed, once final: set by the gate on
    # auto-approval or by the review service on a human approval. Separate from the AI's
    # proposal, which is kept with its provenance.
    final_action = models.CharField(max_length=32, blank=True)
    final_amount = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Keyed hash (HMAC-SHA256, "hmac-sha256:<key id>:<hex>") of the canonical final payload
    # (refunds.decisions); the executor refuses to run a decision whose fields no longer
    # hash to this, or whose hash differs from the one its audit event recorded.
    final_payload_hash = models.CharField(max_length=HASH_MAX_LENGTH, blank=True, editable=False)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, editable=False)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="refund_request_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=models.Q(final_amount__isnull=True) | models.Q(final_amount__gte=0),
                name="refund_request_final_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(requested_amount__isnull=True)
                | models.Q(requested_amount__gte=0),
                name="refund_request_amount_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["integration", "-created_at", "-id"]),
            models.Index(fields=["status", "status_changed_at"]),
        ]
        permissions = [
            (
                "view_every_refundrequest",
                "Can view every refund request, not only those of their review queues",
            )
        ]

    def __str__(self) -> str:
        return f"Refund request {self.public_id}"
