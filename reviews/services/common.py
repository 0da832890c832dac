"""What the review services share: the queues they route to, their refusals, and telling
the customer."""

from django.utils import timezone

from hitl_site.errors import ApplicationError
from refunds.execution.backends import backends_from_settings
from refunds.models import RefundRequest
from refunds.states import RefundStatus

from .. import permissions as perms
from ..models import Queue, ReviewDecision, ReviewTask
from ..selectors import reviewer_absence_in_force, reviewer_stand_in
from ..states import TaskStatus

SENIOR_QUEUE = "senior"
STANDARD_QUEUE = "standard"
LEGAL_QUEUE = "legal"
REVIEW_REVIEWABLE = (RefundStatus.IN_REVIEW, RefundStatus.ESCALATED)
MAX_PRIORITY = max(RefundRequest.Priority.values)


def forbidden(message: str = "You may not work this task.") -> ApplicationError:
    return ApplicationError(message, code="forbidden", status_code=403)


def invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_decision", status_code=400)


def closed_error(task: ReviewTask) -> ApplicationError:
    """'Already decided by … at …' (or expired) for a task that is no longer active."""
    if task.status == TaskStatus.EXPIRED:
        return ApplicationError(
            f"This task expired at {timezone.localtime(task.decided_at):%Y-%m-%d %H:%M} "
            "(past its hard deadline); nothing was decided.",
            code="task_expired",
        )
    final = task.decisions.filter(is_final=True).select_related("reviewer").first()
    who = final.reviewer.get_username() if final else "someone"
    when = timezone.localtime(final.created_at if final else task.decided_at)
    outcome = final.get_outcome_display().lower() if final else "decided"
    return ApplicationError(
        f"Already decided by {who} at {when:%Y-%m-%d %H:%M:%S} ({outcome}).",
        code="task_already_decided",
        extra={"decided_by": who, "decided_at": when.isoformat(), "outcome": outcome},
    )


def queue_named(slug: str) -> Queue:
    queue = Queue.objects.filter(slug=slug).first()
    if queue is None:
        raise ApplicationError(
            f"The '{slug}' review queue is missing; recreate it in the admin.", code="queue_missing"
        )
    return queue


def require_worker(task: ReviewTask, user) -> None:
    if not perms.user_is_human_staff(user):
        raise forbidden("Inactive and machine accounts cannot work review tasks.")
    if not perms.user_can_work_queue(user, task.queue):
        raise forbidden(f"You do not work the {task.queue.name} queue.")


def refuse_if_away(user, now) -> None:
    """A reviewer marked away neither claims nor decides (their work goes to their
    stand-in meanwhile): ``reviewer_away`` (409) until they cancel the absence."""
    absence = reviewer_absence_in_force(user, at=now)
    if absence is not None:
        raise ApplicationError(
            f"You are marked away until {timezone.localtime(absence.ends_at):%Y-%m-%d %H:%M}; "
            "cancel your absence to work again.",
            code="reviewer_away",
        )


def refuse_away_assignee(to_user, now) -> None:
    """A task is not handed to someone away: ``assignee_away`` (400), naming their
    stand-in, to reassign to instead."""
    absence = reviewer_absence_in_force(to_user, at=now)
    if absence is None:
        return
    stand_in = reviewer_stand_in(to_user, at=now)
    name = to_user.get_username()
    until = timezone.localtime(absence.ends_at)
    advice = (
        f"reassign it to their stand-in, {stand_in.get_username()}."
        if stand_in.pk != to_user.pk
        else "reassign it to someone else."
    )
    raise ApplicationError(
        f"{name} is away until {until:%Y-%m-%d %H:%M}; {advice}",
        code="assignee_away",
        status_code=400,
        extra={"stand_in": stand_in.get_username() if stand_in.pk != to_user.pk else None},
    )


def clear_pending(task: ReviewTask) -> None:
    """Drops a four-eyes first approval waiting on ``task`` (any other move supersedes it)."""
    ReviewDecision.objects.filter(task=task, pending=True).update(pending=False)


def tell_customer(*, request: RefundRequest, key: str, kind: str, body: str) -> str:
    """Sends a message to the customer through the executor's messaging backend (an
    ``OutboundMessage`` delivered by the integration's webhook, queued on commit; idempotent
    on ``key``). Returns the message reference."""
    return (
        backends_from_settings()
        .messaging.send(idempotency_key=key, request=request, kind=kind, body=body)
        .reference
    )
