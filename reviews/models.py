"""Human review: queues (who works what, how fast), tasks (one case waiting for a human)
and decisions (what a human decided, kept apart from the AI's proposal).

Which queues a user may work is a django-guardian object permission (``work_queue`` on a
``Queue``), stored in the direct foreign-key tables below so the queue page joins on an
indexed integer instead of guardian's generic ``object_pk`` text column. Grants and
revocations go through ``reviews.services``, never through views.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from audit.integrity import HASH_MAX_LENGTH
from refunds.actions import Action
from refunds.models import RefundRequest
from refunds.money import DECIMAL_PLACES, MAX_DIGITS

from .states import ACTIVE_TASK_STATUSES, TaskStatus


class Queue(models.Model):
    """A review queue with its service level. Admin-managed; ``standard``, ``senior`` and
    ``legal`` are created by the data migration (the gate routes to those slugs)."""

    slug = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    sla_minutes = models.PositiveIntegerField(
        default=240,
        validators=[MinValueValidator(1)],
        help_text="A task is due this many minutes after it enters the queue; past it, the "
        "SLA sweep escalates it to the senior queue with a raised priority.",
    )
    hard_deadline_minutes = models.PositiveIntegerField(
        default=3 * 24 * 60,
        validators=[MinValueValidator(1)],
        help_text="Past this many minutes after the case first entered review, the SLA sweep "
        "expires it: nothing is executed and the customer is told the case is "
        "still open.",
    )
    is_active = models.BooleanField(default=True)
    # Whoever answers for the queue (a team lead): told of its escalations and SLA warnings
    # whether or not they work it. Set through ``queue_owners_set`` (audited).
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="owned_queues"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        permissions = [
            ("work_queue", "Can work the review tasks of this queue"),
            ("view_queue_stats", "Can see queue depth, oldest task and overdue counts"),
            ("view_ops_dashboard", "Can see the operations dashboard"),
        ]

    def __str__(self) -> str:
        return self.name


class QueueUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Queue, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "queue permission of a user"


class QueueGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Queue, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = "queue permission of a group"


class ReviewTask(models.Model):
    """One refund request waiting for a human. At most one active task per request."""

    request = models.ForeignKey(
        RefundRequest, on_delete=models.PROTECT, related_name="review_tasks"
    )
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="tasks")
    priority = models.PositiveSmallIntegerField(
        choices=RefundRequest.Priority.choices, default=RefundRequest.Priority.NORMAL
    )
    status = models.CharField(
        max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN, editable=False
    )
    reasons = models.JSONField(
        default=list, blank=True, help_text="The gate's reasons: [{code, message}]."
    )
    # ",code1,code2," — filterable with a plain LIKE on every database (SQLite has no
    # JSON containment lookup).
    reason_codes = models.CharField(max_length=500, blank=True, editable=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="review_tasks",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField()
    deadline_at = models.DateTimeField(help_text="Hard deadline: expired past it.")
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_note = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every service that changes the task; a form posts the version it showed,
    # so a decision on a task that changed meanwhile (reassigned, escalated) is refused.
    version = models.PositiveIntegerField(default=1, editable=False)
    # 1 while the task waits for a decision, else 0: computed by the database from
    # ``status``; the queue and SLA indexes lead with it. (Neither a partial index on
    # ``status IN (...)`` — SQLite ignores it when the statuses are bound parameters, as
    # Django binds them — nor a boolean — Django filters it as a bare column, which SQLite
    # does not match to an index — would be used.)
    active = models.GeneratedField(
        expression=models.Case(
            models.When(status__in=ACTIVE_TASK_STATUSES, then=models.Value(1)),
            default=models.Value(0),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(status__in=ACTIVE_TASK_STATUSES),
                name="review_task_one_active_per_request",
            ),
        ]
        indexes = [
            # The queue page walks this in page order and stops after the page's last row
            # (see reviews.selectors.review_queue_for_user), whatever the queue length;
            # queue_id is in it so rows of other queues are skipped without a table read.
            models.Index(
                fields=["active", "-priority", "due_at", "id", "queue"],
                name="review_task_open_order",
            ),
            # Counts and statistics per queue (depth, overdue, oldest) from the index alone.
            models.Index(
                fields=["queue", "active", "due_at", "created_at"], name="review_task_open_queue"
            ),
            # The SLA sweep.
            models.Index(fields=["active", "due_at"], name="review_task_open_due"),
            models.Index(fields=["active", "deadline_at"], name="review_task_open_deadline"),
        ]
        permissions = [
            ("reassign_reviewtask", "Can reassign review tasks"),
            ("view_pii", "Can see customers' personal data in the decision package"),
        ]

    def __str__(self) -> str:
        return f"Review of {self.request_id} in {self.queue_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_TASK_STATUSES

    def claimed_by_other(self, user, now=None) -> bool:
        """True while another user holds an unexpired claim."""
        now = now or timezone.now()
        return (
            self.status == TaskStatus.CLAIMED
            and self.assignee_id is not None
            and self.assignee_id != user.pk
            and (self.claim_expires_at is None or self.claim_expires_at > now)
        )


class Outcome(models.TextChoices):
    APPROVE = "approve", "Approve"
    APPROVE_WITH_EDITS = "approve_with_edits", "Approve with edits"
    REJECT = "reject", "Reject"
    ESCALATE = "escalate", "Escalate"
    REQUEST_MORE_INFO = "request_more_info", "Request more information"


APPROVING_OUTCOMES = (Outcome.APPROVE, Outcome.APPROVE_WITH_EDITS)
# The action a final outcome amounts to when it stores none of its own; it refunds nothing.
# One mapping for the eval set, the dashboard's figures and the precedents.
NON_REFUND_OUTCOME_ACTIONS = {
    Outcome.REJECT: Action.DENY_REFUND.value,
    Outcome.REQUEST_MORE_INFO: Action.REQUEST_MORE_INFO.value,
}


class ReviewDecision(models.Model):
    """What one human decided on one task. Never updated, except ``pending`` when a
    four-eyes first approval is confirmed or superseded.

    ``action``/``amount`` are the decision as decided; ``proposed_*`` the AI's proposal it
    was judged against, and ``amount_difference`` = amount - proposed amount.
    ``payload_hash`` is ``refunds.decisions.FinalPayload`` of the approved payload, equal to
    the request's ``final_payload_hash`` once final.
    """

    task = models.ForeignKey(ReviewTask, on_delete=models.PROTECT, related_name="decisions")
    request = models.ForeignKey(
        RefundRequest, on_delete=models.PROTECT, related_name="review_decisions"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_decisions"
    )
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    action = models.CharField(max_length=32, blank=True)
    amount = models.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, null=True, blank=True
    )
    currency = models.CharField(max_length=3, blank=True)
    proposed_action = models.CharField(max_length=32, blank=True)
    proposed_amount = models.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, null=True, blank=True
    )
    amount_difference = models.DecimalField(
        max_digits=MAX_DIGITS + 1, decimal_places=DECIMAL_PLACES, null=True, blank=True
    )
    message = models.TextField(blank=True, help_text="To the customer (or the question asked).")
    reason_code = models.CharField(max_length=32, blank=True)
    comment = models.TextField(blank=True)
    payload_hash = models.CharField(max_length=HASH_MAX_LENGTH, blank=True)
    # True if this decision closed the task (approval made final, rejection, request for
    # information); False for an escalation or a four-eyes first approval.
    is_final = models.BooleanField(default=False)
    # A first approval above the four-eyes amount, waiting for a second approver.
    pending = models.BooleanField(default=False)
    confirms = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="confirmations",
        help_text="The first approval this second approval confirms.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not a check-then-write, guarantees a single decision takes effect.
            models.UniqueConstraint(
                fields=["task"],
                condition=models.Q(is_final=True),
                name="review_decision_one_final_per_task",
            ),
            models.UniqueConstraint(
                fields=["task"],
                condition=models.Q(pending=True),
                name="review_decision_one_pending_per_task",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0),
                name="review_decision_amount_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["task", "-created_at"]),
            # The dashboard's live figures for today and the daily roll-up read decisions
            # by their time (analytics.loop_metrics, analytics.counting).
            models.Index(fields=["created_at"], name="review_decision_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.reviewer_id} on task {self.task_id}"

    @property
    def final_action(self) -> str:
        """The action this decision amounts to (a rejection is a denial)."""
        return NON_REFUND_OUTCOME_ACTIONS.get(self.outcome, self.action)

    @property
    def final_amount(self) -> Decimal:
        if self.outcome in NON_REFUND_OUTCOME_ACTIONS or self.amount is None:
            return Decimal("0.00")
        return Decimal(self.amount)


class ReviewerAbsence(models.Model):
    """A reviewer away from ``starts_at`` to ``ends_at`` (holiday, sickness), with the
    colleague who stands in for them (``delegate``; none: their claims go back to the
    queue). Written only by ``reviews.services.absences``; never edited (cancel it and set
    another), never deleted. While it is in force the absentee's claimed tasks follow it
    (the SLA sweep) and notifications go to ``reviews.selectors.reviewer_stand_in``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_absences"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="review_delegations",
        help_text="Who takes over the claimed tasks; empty: they go back to the queue.",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="reviewer_absence_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(delegate__isnull=True) | ~models.Q(delegate=models.F("user")),
                name="reviewer_absence_not_own_delegate",
            ),
        ]
        indexes = [
            # "Who is away now": the sweep and reviewer_stand_in.
            models.Index(fields=["ends_at", "starts_at"], name="reviewer_absence_period"),
            models.Index(fields=["user", "ends_at"], name="reviewer_absence_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} away {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M}"

    def in_force(self, at) -> bool:
        return self.cancelled_at is None and self.starts_at <= at < self.ends_at
