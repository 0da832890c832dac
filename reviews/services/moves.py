"""The task moves the review services share, each one ``review_task_transition``: claim,
unclaim, close, escalate."""

from datetime import datetime, timedelta

from django.conf import settings

from ..models import Queue, ReviewTask
from ..states import TaskStatus
from ..transitions import review_task_transition
from .common import MAX_PRIORITY, SENIOR_QUEUE, queue_named


def claim_for(task: ReviewTask, user, now: datetime, **event) -> None:
    """Locks the task to ``user`` for ``REVIEW_CLAIM_MINUTES`` (a claim or a reassignment).
    ``event``: the audit event the move records (see ``review_task_transition``)."""
    review_task_transition(
        task=task,
        to_status=TaskStatus.CLAIMED,
        changes={
            "assignee": user,
            "claimed_at": now,
            "claim_expires_at": claim_expiry(now),
        },
        **event,
    )


def claim_expiry(now: datetime) -> datetime:
    return now + timedelta(minutes=settings.REVIEW_CLAIM_MINUTES)


def unclaim(task: ReviewTask, **event) -> None:
    """Back to its queue: ``open``, or ``escalated`` if it was escalated."""
    review_task_transition(
        task=task,
        to_status=TaskStatus.ESCALATED if task.escalated_at else TaskStatus.OPEN,
        changes={"assignee": None, "claimed_at": None, "claim_expires_at": None},
        **event,
    )


def close(task: ReviewTask, now: datetime) -> None:
    review_task_transition(task=task, to_status=TaskStatus.DECIDED, changes={"decided_at": now})


def escalate(task: ReviewTask, now: datetime, note: str, **changes) -> None:
    """Unclaimed, ``escalated``, one priority up (``changes``: a new queue and due time)."""
    review_task_transition(
        task=task,
        to_status=TaskStatus.ESCALATED,
        changes={
            **changes,
            "priority": min(task.priority + 1, MAX_PRIORITY),
            "escalated_at": now,
            "escalation_note": note,
            "assignee": None,
            "claimed_at": None,
            "claim_expires_at": None,
        },
    )


def move_to_senior(task: ReviewTask, now: datetime, note: str) -> Queue:
    """``escalate`` into the senior queue, due after its SLA."""
    senior = queue_named(SENIOR_QUEUE)
    escalate(task, now, note, queue=senior, due_at=now + timedelta(minutes=senior.sla_minutes))
    return senior
