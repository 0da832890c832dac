"""The gate's data: versioned, immutable policy rows and the evaluation of each request."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from refunds.agent.schemas import PolicyMatch
from refunds.gate import vocabulary
from refunds.gate.policy import (
    MAX_AGE_HOURS,
    MAX_CEILING,
    MAX_PRIOR_REFUNDS,
    validate_actions,
    validate_countries,
    validate_currency_ceilings,
    validate_queue_routes,
    validate_risk_terms,
    validate_sentiments,
    validate_tiers,
)
from refunds.gate.vocabulary import GatePolicySnapshot

from ..money import DECIMAL_PLACES, MAX_DIGITS
from .core import RefundRequest

_AMOUNT_BOUNDS = [MinValueValidator(Decimal("0")), MaxValueValidator(MAX_CEILING)]


def _default_auto_actions() -> list[str]:
    return list(vocabulary.DEFAULT_AUTO_ACTIONS)


def _default_review_sentiments() -> list[str]:
    return list(vocabulary.DEFAULT_REVIEW_SENTIMENTS)


def _default_risk_terms() -> list[str]:
    return list(vocabulary.DEFAULT_RISK_TERMS)


def _default_queue_routes() -> dict[str, str]:
    return dict(vocabulary.DEFAULT_QUEUE_ROUTES)


def _default_priority_tiers() -> list[str]:
    return list(vocabulary.DEFAULT_PRIORITY_TIERS)


class GatePolicyVersion(models.Model):
    """One version of the gate policy. Rows are never updated (``save`` refuses it): an
    edit creates a new version. ``is_active`` is switched only by the activation service,
    with a queryset update; the partial unique constraint allows one active row at most."""

    version = models.PositiveIntegerField(unique=True, editable=False)
    is_active = models.BooleanField(default=False, editable=False)
    change_note = models.CharField(max_length=500, help_text="What changed and why.")
    based_on = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)

    auto_approve_ceiling = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        validators=_AMOUNT_BOUNDS,
        default=vocabulary.DEFAULT_AUTO_APPROVE_CEILING,
        help_text="Refunds above this amount are reviewed (in any currency without its own "
        "ceiling).",
    )
    currency_ceilings = models.JSONField(
        default=dict, blank=True, validators=[validate_currency_ceilings]
    )
    auto_actions = models.JSONField(
        default=_default_auto_actions, blank=True, validators=[validate_actions]
    )
    required_policy_match = models.CharField(
        max_length=10,
        choices=[(m.value, m.value.title()) for m in PolicyMatch],
        default=vocabulary.DEFAULT_REQUIRED_POLICY_MATCH,
        help_text="The weakest policy match that may still auto-approve.",
    )
    review_sentiments = models.JSONField(
        default=_default_review_sentiments, blank=True, validators=[validate_sentiments]
    )
    risk_terms = models.JSONField(
        default=_default_risk_terms, blank=True, validators=[validate_risk_terms]
    )
    honour_model_review_flag = models.BooleanField(
        default=True, help_text="Review every case in which the model asks for review."
    )
    review_tiers = models.JSONField(default=list, blank=True, validators=[validate_tiers])
    review_countries = models.JSONField(default=list, blank=True, validators=[validate_countries])
    max_prior_refunds_90d = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_PRIOR_REFUNDS)],
        help_text="Review when the customer had more refunds than this in 90 days. "
        "Empty: no limit.",
    )
    repeat_complaint_min_requests = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=vocabulary.DEFAULT_REPEAT_COMPLAINT_MIN_REQUESTS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PRIOR_REFUNDS)],
        help_text="Review as a repeat complaint when the customer made at least this many "
        "other refund requests in the last 365 days (any outcome; earlier messages of the "
        "same conversation do not count), or when the drafter flags one in the customer's "
        "words. Empty: no repeat-complaint rule.",
    )
    queue_routes = models.JSONField(
        default=_default_queue_routes, blank=True, validators=[validate_queue_routes]
    )
    priority_tiers = models.JSONField(
        default=_default_priority_tiers, blank=True, validators=[validate_tiers]
    )
    priority_amount = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=_AMOUNT_BOUNDS,
        default=vocabulary.DEFAULT_PRIORITY_AMOUNT,
    )
    priority_age_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_AGE_HOURS)],
        default=vocabulary.DEFAULT_PRIORITY_AGE_HOURS,
    )

    class Meta:
        ordering = ["-version"]
        verbose_name = "gate policy version"
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="gate_policy_one_active_version",
            ),
            models.CheckConstraint(
                condition=models.Q(auto_approve_ceiling__gte=0),
                name="gate_policy_ceiling_not_negative",
            ),
        ]
        permissions = [
            ("activate_gatepolicyversion", "Can activate a gate policy version"),
            ("backtest_gatepolicyversion", "Can backtest a gate policy version"),
        ]

    def __str__(self) -> str:
        return f"Gate policy v{self.version}{' (active)' if self.is_active else ''}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Gate policy versions are immutable; create a new version.")
        super().save(*args, **kwargs)

    def to_snapshot(self) -> GatePolicySnapshot:
        return GatePolicySnapshot(
            version=self.version,
            auto_approve_ceiling=Decimal(self.auto_approve_ceiling),
            currency_ceilings=tuple(
                sorted((c, Decimal(str(a))) for c, a in self.currency_ceilings.items())
            ),
            auto_actions=tuple(self.auto_actions),
            required_policy_match=self.required_policy_match,
            review_sentiments=tuple(self.review_sentiments),
            risk_terms=tuple(self.risk_terms),
            honour_model_review_flag=self.honour_model_review_flag,
            review_tiers=tuple(self.review_tiers),
            review_countries=tuple(self.review_countries),
            max_prior_refunds_90d=self.max_prior_refunds_90d,
            repeat_complaint_min_requests=self.repeat_complaint_min_requests,
            queue_routes=tuple(sorted(self.queue_routes.items())),
            priority_tiers=tuple(self.priority_tiers),
            priority_amount=(
                None if self.priority_amount is None else Decimal(self.priority_amount)
            ),
            priority_age_hours=self.priority_age_hours,
        )


class GateEvaluation(models.Model):
    """What the gate decided for a request and everything it judged, so a backtest can
    replay the case under another policy version without reading any other table."""

    class Route(models.TextChoices):
        AUTO = vocabulary.ROUTE_AUTO, "Auto-approve"
        REVIEW = vocabulary.ROUTE_REVIEW, "Human review"

    request = models.ForeignKey(
        RefundRequest, on_delete=models.PROTECT, related_name="gate_evaluations"
    )
    policy_version = models.ForeignKey(
        GatePolicyVersion, on_delete=models.PROTECT, related_name="evaluations"
    )
    route = models.CharField(max_length=10, choices=Route.choices)
    reasons = models.JSONField(default=list, blank=True)
    queue = models.CharField(max_length=20, blank=True)
    priority = models.PositiveSmallIntegerField(choices=RefundRequest.Priority.choices)
    decision = models.JSONField(
        null=True, blank=True, help_text="The RefundDecision judged (null if drafting failed)."
    )
    failure_code = models.CharField(max_length=64, blank=True)
    context = models.JSONField(help_text="The GateContext judged.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["request", "-created_at"])]

    def __str__(self) -> str:
        return f"Gate {self.route} for {self.request_id} (policy v{self.policy_version_id})"

    @property
    def reason_codes(self) -> list[str]:
        return [r["code"] for r in self.reasons]
