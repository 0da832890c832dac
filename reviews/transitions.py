"""The one function through which a review task changes status, and the task's lock.

Lock order (see ``refunds.transitions``): review task → customer → order → refund request
→ execution → audit chain head. Every review service locks its task first
(``review_task_lock``); the transition locks it again, which in the same transaction costs
one read and never waits.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError

from .models import ReviewTask
from .states import ACTIVE_TASK_STATUSES, can_transition


class IllegalTaskTransition(ApplicationError):
    def __init__(self, *, task: ReviewTask, from_status: str, to_status: str):
        super().__init__(
            f"Review task {task.pk} cannot move from '{from_status}' to '{to_status}'.",
            code="illegal_transition",
            extra={"from_status": from_status, "to_status": to_status},
        )
        self.from_status = from_status
        self.to_status = to_status


def review_task_lock(task: ReviewTask) -> ReviewTask:
    """The task row, locked (``SELECT ... FOR UPDATE``), with what the services read."""
    return (
        ReviewTask.objects.select_for_update(of=("self",))
        .select_related("queue", "request", "request__customer", "request__order", "assignee")
        .get(pk=task.pk)
    )


def review_task_transition(
    *,
    task: ReviewTask,
    to_status: str,
    changes: dict[str, Any] | None = None,
    actor: Actor | None = None,
    event_type: str = "",
    payload: dict[str, Any] | None = None,
) -> ReviewTask:
    """Moves ``task`` to ``to_status``, writing ``changes`` (other fields) with it, bumping
    its version, and records ``event_type`` (subject: the task) if one is given.

    Re-reads status and version from the locked row, so a stale object cannot make an
    illegal move; the update is guarded by both (compare-and-set), which keeps it correct
    on SQLite, which has no row locks. Raises ``IllegalTaskTransition`` (an
    ``ApplicationError``, ``illegal_transition``) for a move the table forbids, or if the
    task changed since ``task`` was read. Returns ``task``, updated in place.
    """
    changes = changes or {}
    # No savepoint: a refusal is decided before any write and raised after the block, so
    # a caller that catches it can carry on (as refund_request_transition).
    with transaction.atomic(savepoint=False):
        from_status, version = (
            ReviewTask.objects.select_for_update(of=("self",))
            .filter(pk=task.pk)
            .values_list("status", "version")
            .get()
        )
        allowed = version == task.version and can_transition(from_status, to_status)
        if allowed:
            now = timezone.now()
            values = {**changes, "status": to_status, "version": version + 1, "updated_at": now}
            allowed = (
                ReviewTask.objects.filter(pk=task.pk, status=from_status, version=version).update(
                    **values
                )
                == 1
            )
        if allowed:
            for field, value in values.items():
                setattr(task, field, value)
            task.active = int(to_status in ACTIVE_TASK_STATUSES)
            if event_type:
                record_event(event_type=event_type, actor=actor, subject=task, payload=payload)
    if not allowed:
        raise IllegalTaskTransition(task=task, from_status=from_status, to_status=to_status)
    return task
