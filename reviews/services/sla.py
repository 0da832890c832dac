"""The SLA of review: the scheduled sweep (``reviews.tasks.review_sla_sweep``) that expires
tasks past their hard deadline, escalates overdue ones and releases claims that ran out."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError
from refunds.models import OutboundMessage
from refunds.states import RefundStatus
from refunds.transitions import refund_request_transition

from .. import events
from ..models import ReviewTask
from ..states import TaskStatus
from ..transitions import review_task_lock, review_task_transition
from .absences import review_task_follow_absence, tasks_claimed_by_absentees
from .common import LEGAL_QUEUE, REVIEW_REVIEWABLE, SENIOR_QUEUE
from .moves import escalate, move_to_senior, unclaim
from .outcomes import OutcomeSteps, outcome_apply

logger = logging.getLogger(__name__)

SLA_ACTOR = Actor.system("review-sla")
# What the customer is told when a case times out: nothing was executed, it is not closed.
TIMEOUT_CUSTOMER_NOTICE = (
    "We have not been able to finish reviewing your request yet. Nothing has been charged "
    "or refunded, and your case is still open with our team: we will contact you."
)
TIMEOUT_MESSAGE_KIND = OutboundMessage.Kind.CASE_OPEN


def review_sla_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The scheduled SLA job (``reviews.tasks.review_sla_sweep``, every minute):

    1. tasks past their hard deadline are expired (``review_task_expire``);
    2. unclaimed (or stale-claimed) tasks past their due time that were never escalated
       move to the senior queue with priority + 1 (a ``legal`` task stays in ``legal``
       and only gains priority: legal cases need legal reviewers);
    3. tasks claimed by a reviewer now away follow the absence (to the stand-in, or
       back to the queue: ``absences.review_task_follow_absence``);
    4. claims that ran out are released.

    Each task is handled in its own transaction, so one failure does not stop the sweep.
    Returns the counts.
    """
    now = now or timezone.now()
    counts = {"expired": 0, "escalated": 0, "followed_absence": 0, "released": 0}
    active = ReviewTask.objects.filter(active=1)
    for pk in active.filter(deadline_at__lte=now).values_list("pk", flat=True):
        counts["expired"] += _sweep_one(review_task_expire, pk, now)
    overdue = active.filter(due_at__lte=now, escalated_at__isnull=True).exclude(
        status=TaskStatus.CLAIMED, claim_expires_at__gt=now
    )
    for pk in overdue.values_list("pk", flat=True):
        counts["escalated"] += _sweep_one(_escalate_overdue, pk, now)
    for pk in tasks_claimed_by_absentees(now).values_list("pk", flat=True):
        counts["followed_absence"] += _sweep_one(review_task_follow_absence, pk, now)
    stale = active.filter(status=TaskStatus.CLAIMED, claim_expires_at__lte=now)
    for pk in stale.values_list("pk", flat=True):
        counts["released"] += _sweep_one(_release_stale_claim, pk, now)
    return counts


def _sweep_one(service, pk: int, now: datetime) -> int:
    try:
        return int(bool(service(task=ReviewTask(pk=pk), now=now)))
    except ApplicationError as exc:
        logger.warning("SLA sweep skipped a task", extra={"task": pk, "code": exc.code})
        return 0


@transaction.atomic
def review_task_expire(*, task: ReviewTask, now: datetime | None = None) -> bool:
    """Past the hard deadline: the task is ``expired`` and the request ``expired`` — nothing
    executes. The customer notice (the case is still open) is recorded in the
    ``review.timed_out`` event, distinct from any human rejection. Returns False if the task
    was no longer active or not yet due."""
    now = now or timezone.now()
    locked = review_task_lock(task)
    if not locked.is_active or locked.deadline_at > now:
        return False
    steps = OutcomeSteps(
        request_to=RefundStatus.EXPIRED,
        move_request_from=REVIEW_REVIEWABLE,
        reason="review hard deadline passed",
        move_task=lambda: review_task_transition(
            task=locked, to_status=TaskStatus.EXPIRED, changes={"decided_at": now}
        ),
        # Its own kind, so the integration can tell this notice from a denial or a question.
        message=lambda _: (
            f"review-timeout-{locked.pk}",
            TIMEOUT_MESSAGE_KIND,
            TIMEOUT_CUSTOMER_NOTICE,
        ),
        event_type=events.TIMED_OUT,
        payload=lambda _, reference: {
            "task": locked.pk,
            "queue": locked.queue.slug,
            "deadline_at": locked.deadline_at,
            "customer_notice": TIMEOUT_CUSTOMER_NOTICE,
            "customer_message": reference,
        },
    )
    outcome_apply(task=locked, actor=SLA_ACTOR, steps=steps, decision=None)
    return True


@transaction.atomic
def _escalate_overdue(*, task: ReviewTask, now: datetime | None = None) -> bool:
    """Past the due time: to the senior queue with a raised priority (``legal`` stays put,
    priority raised). Skipped while a reviewer holds a live claim."""
    now = now or timezone.now()
    locked = review_task_lock(task)
    if (
        not locked.is_active
        or locked.due_at > now
        or locked.escalated_at is not None
        or (
            locked.status == TaskStatus.CLAIMED
            and locked.claim_expires_at
            and locked.claim_expires_at > now
        )
    ):
        return False
    from_queue = locked.queue.slug
    note = f"SLA: overdue since {timezone.localtime(locked.due_at):%Y-%m-%d %H:%M}"
    if from_queue not in (SENIOR_QUEUE, LEGAL_QUEUE):
        move_to_senior(locked, now, note)
    else:
        escalate(locked, now, note)
    if locked.request.status == RefundStatus.IN_REVIEW:
        refund_request_transition(
            request=locked.request,
            to_status=RefundStatus.ESCALATED,
            actor=SLA_ACTOR,
            reason="review SLA missed",
            payload={"review_task": locked.pk},
        )
    record_event(
        event_type=events.SLA_ESCALATED,
        actor=SLA_ACTOR,
        subject=locked.request,
        payload={
            "task": locked.pk,
            "from_queue": from_queue,
            "to_queue": locked.queue.slug,
            "priority": locked.priority,
        },
    )
    return True


@transaction.atomic
def _release_stale_claim(*, task: ReviewTask, now: datetime) -> bool:
    locked = review_task_lock(task)
    if (
        locked.status != TaskStatus.CLAIMED
        or locked.claim_expires_at is None
        or locked.claim_expires_at > now
    ):
        return False
    previous = locked.assignee.get_username() if locked.assignee else ""
    unclaim(
        locked,
        actor=SLA_ACTOR,
        event_type=events.TASK_RELEASED,
        payload=events.task_released_payload(previous_assignee=previous, reason="claim timed out"),
    )
    return True
