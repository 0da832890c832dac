from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .core import RefundRequest


class CustomerFeedback(models.Model):
    """The customer's satisfaction score (1 to 5) with a request that reached a final state,
    given once through the API. ``path`` is how the case was decided, fixed when the
    feedback is stored (the request can no longer change), so the dashboard groups by a
    column instead of re-deriving it."""

    class Path(models.TextChoices):
        AUTO_APPROVED = "auto_approved", "Auto-approved"
        HUMAN_REVIEWED = "human_reviewed", "Human-reviewed"
        DENIED = "denied", "Denied"
        NO_DECISION = "no_decision", "No decision (expired)"

    request = models.OneToOneField(
        RefundRequest, on_delete=models.PROTECT, related_name="customer_feedback"
    )
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True)
    path = models.CharField(max_length=20, choices=Path.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "customer feedback"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5),
                name="customer_feedback_score_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return f"Feedback {self.score}/5 on {self.request_id}"
