"""The life of a review task short of a decision: opening it, claiming, releasing and
reassigning it, and revealing the customer's personal data on it.

Each service locks the task row, re-checks everything on the locked row (status, claim,
permissions), writes, and records its audit event in the same transaction.
"""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError
from refunds.models import RefundRequest

from .. import events
from .. import permissions as perms
from ..models import Queue, ReviewTask
from ..states import ACTIVE_TASK_STATUSES, TaskStatus
from ..transitions import review_task_lock
from .common import (
    MAX_PRIORITY,
    REVIEW_REVIEWABLE,
    STANDARD_QUEUE,
    closed_error,
    forbidden,
    queue_named,
    refuse_away_assignee,
    refuse_if_away,
    require_worker,
)
from .moves import claim_expiry, claim_for, unclaim

logger = logging.getLogger(__name__)


def _reason_codes(reasons: list[dict]) -> str:
    codes = [str(r.get("code", "")).strip() for r in reasons if r.get("code")]
    return f",{','.join(codes)}," if codes else ""


@transaction.atomic
def review_task_open(
    *, request: RefundRequest, queue_slug: str, priority: int, reasons: list[dict]
) -> ReviewTask:
    """Opens the review task of a request the gate sent to review. Idempotent: if the
    request already has an active task, that task is returned unchanged.

    Precondition: the request is ``in_review`` (or ``escalated``), else ``ApplicationError``
    ``not_in_review``. An unknown or inactive queue slug falls back to ``standard`` (logged
    and audited) rather than losing the case. Audited ``review_task.opened``.
    """
    existing = ReviewTask.objects.filter(request=request, status__in=ACTIVE_TASK_STATUSES).first()
    if existing is not None:
        return existing
    locked = RefundRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status not in REVIEW_REVIEWABLE:
        raise ApplicationError(
            f"Refund request {locked.public_id} is '{locked.status}'; only a request in "
            "review gets a review task.",
            code="not_in_review",
        )
    queue = Queue.objects.filter(slug=queue_slug, is_active=True).first()
    fallback = queue is None
    if fallback:
        logger.warning("unknown review queue, using standard", extra={"queue": queue_slug})
        queue = queue_named(STANDARD_QUEUE)
    now = timezone.now()
    task = ReviewTask(
        request=locked,
        queue=queue,
        priority=min(max(int(priority), 0), MAX_PRIORITY),
        reasons=[
            {"code": str(r.get("code", "")), "message": str(r.get("message", ""))} for r in reasons
        ],
        reason_codes=_reason_codes(reasons)[:500],
        created_at=now,
        due_at=now + timedelta(minutes=queue.sla_minutes),
        deadline_at=now + timedelta(minutes=queue.hard_deadline_minutes),
    )
    try:
        with transaction.atomic():
            task.save(force_insert=True)
    except IntegrityError:  # a concurrent caller opened it first: same answer
        return ReviewTask.objects.get(request=request, status__in=ACTIVE_TASK_STATUSES)
    record_event(
        event_type=events.TASK_OPENED,
        actor=Actor.system("review"),
        subject=locked,
        payload={
            "task": task.pk,
            "queue": queue.slug,
            "requested_queue": queue_slug,
            "fallback": fallback,
            "priority": task.priority,
            "reasons": [r["code"] for r in task.reasons],
            "due_at": task.due_at,
            "deadline_at": task.deadline_at,
        },
    )
    return task


@transaction.atomic
def review_task_claim(*, task: ReviewTask, user) -> ReviewTask:
    """Locks the task to ``user`` for ``REVIEW_CLAIM_MINUTES`` (claiming again extends it).
    A claim that has run out may be taken by anyone of the queue.

    Raises ``ApplicationError``: ``forbidden`` (403) if the user may not work the queue,
    ``task_already_decided``/``task_expired`` for a closed task, ``task_claimed`` while
    another reviewer holds an unexpired claim, ``reviewer_away`` while the user is marked
    away. Audited ``review_task.claimed``.
    """
    locked = review_task_lock(task)
    require_worker(locked, user)
    if not locked.is_active:
        raise closed_error(locked)
    now = timezone.now()
    refuse_if_away(user, now)
    if locked.claimed_by_other(user, now):
        raise ApplicationError(
            f"Claimed by {locked.assignee.get_username()} until "
            f"{timezone.localtime(locked.claim_expires_at):%H:%M}.",
            code="task_claimed",
        )
    until = claim_expiry(now)
    claim_for(
        locked,
        user,
        now,
        actor=Actor.user(user),
        event_type=events.TASK_CLAIMED,
        payload={"until": until},
    )
    return locked


@transaction.atomic
def review_task_release(*, task: ReviewTask, user) -> ReviewTask:
    """Gives a claimed task back to its queue. Only its assignee or a user who may
    reassign. Audited ``review_task.released``."""
    locked = review_task_lock(task)
    if not locked.is_active:
        raise closed_error(locked)
    if locked.status != TaskStatus.CLAIMED:
        return locked
    if locked.assignee_id != user.pk and not (
        perms.user_can_reassign(user) and perms.user_can_view_task(user, locked)
    ):
        raise forbidden("Only the reviewer holding the claim or a senior reviewer may release it.")
    previous = locked.assignee.get_username() if locked.assignee else ""
    unclaim(
        locked,
        actor=Actor.user(user),
        event_type=events.TASK_RELEASED,
        payload=events.task_released_payload(previous_assignee=previous),
    )
    return locked


@transaction.atomic
def review_task_reassign(*, task: ReviewTask, to_user, by) -> ReviewTask:
    """A senior reviewer hands a task to ``to_user``, who must be able to work its queue;
    the task becomes claimed by them. A decision already open in the previous assignee's
    browser is then refused (the task's version changed). A user marked away is refused
    (``assignee_away``, naming their stand-in). Audited ``review_task.reassigned``."""
    locked = review_task_lock(task)
    if not (perms.user_can_reassign(by) and perms.user_can_view_task(by, locked)):
        raise forbidden("Only a senior reviewer of this queue may reassign.")
    if not locked.is_active:
        raise closed_error(locked)
    if not (
        perms.user_is_human_staff(to_user) and perms.user_can_work_queue(to_user, locked.queue)
    ):
        raise ApplicationError(
            f"{to_user.get_username()} does not work the {locked.queue.name} queue.",
            code="invalid_assignee",
            status_code=400,
        )
    now = timezone.now()
    refuse_away_assignee(to_user, now)
    previous = locked.assignee.get_username() if locked.assignee else ""
    claim_for(
        locked,
        to_user,
        now,
        actor=Actor.user(by),
        event_type=events.TASK_REASSIGNED,
        payload={"from": previous, "to": to_user.get_username()},
    )
    return locked


# --- Personal data ---------------------------------------------------------------------------


@transaction.atomic
def review_pii_reveal(*, task: ReviewTask, user) -> None:
    """Records that ``user`` saw the customer's personal data on this task. Raises
    ``forbidden`` (403) without ``reviews.view_pii`` or access to the queue."""
    if not perms.user_can_view_task(user, task):
        raise forbidden()
    if not perms.user_can_view_pii(user):
        raise forbidden("You may not see customers' personal data.")
    record_event(
        event_type=events.PII_REVEALED,
        actor=Actor.user(user),
        subject=task.request,
        payload=events.pii_revealed_payload(task=task),
    )
