"""Reviewers' absences: setting and cancelling one, and the claimed tasks that follow it.

While an absence is in force, the absentee's claimed tasks go to their stand-in
(``reviews.selectors.reviewer_stand_in``: the delegate, or the delegate's own stand-in if
they are away too) when the stand-in may decide the task, else back to the queue — at
set-time if it starts now, else at the next SLA sweep (``review_task_follow_absence``). The
absentee's claims and decisions are refused meanwhile (``common.refuse_if_away``).
"""

from collections import defaultdict
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError

from .. import events
from .. import permissions as perms
from ..models import ReviewerAbsence, ReviewTask
from ..selectors import absences_in_force, reviewer_absence_in_force, reviewer_stand_in
from ..states import TaskStatus
from ..transitions import review_task_lock
from .common import forbidden
from .moves import claim_for, unclaim

ABSENCE_ACTOR = Actor.system("review-absence")


def _when(at: datetime) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M}"


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_absence", status_code=400)


@transaction.atomic
def reviewer_absence_set(
    *,
    user,
    delegate,
    starts_at: datetime | None,
    ends_at: datetime,
    note: str = "",
    by,
    now: datetime | None = None,
) -> ReviewerAbsence:
    """Marks ``user`` away from ``starts_at`` (None or a time past: now — an absence is
    never backdated) to ``ends_at``, with ``delegate`` (None: their claims go back to the
    queue). ``by`` is ``user``, or a senior reviewer setting it for a colleague.

    Checks (``reviewer_absence_check``, under a lock on both users' rows) and raises
    ``ApplicationError``: ``forbidden`` (403), ``invalid_absence`` (400: dates, delegate
    not an active human reviewer sharing a queue with ``user``, a delegation loop),
    ``absence_overlaps`` (409: ``user`` already has an absence in that time; cancel it
    first). Audited ``reviewer_absence.set``; if it starts now, the claimed tasks follow
    it in the same transaction (each audited).
    """
    now = now or timezone.now()
    starts_at = max(starts_at or now, now)
    ids = sorted({user.pk, *([delegate.pk] if delegate is not None else [])})
    list(get_user_model().objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    reviewer_absence_check(
        user=user, delegate=delegate, starts_at=starts_at, ends_at=ends_at, by=by, now=now
    )
    absence = ReviewerAbsence.objects.create(
        user=user,
        delegate=delegate,
        starts_at=starts_at,
        ends_at=ends_at,
        note=note.strip(),
        created_by=by,
        created_at=now,
    )
    record_event(
        event_type=events.ABSENCE_SET,
        actor=Actor.user(by),
        subject=absence,
        payload=events.absence_payload(absence),
    )
    if absence.in_force(now):
        claimed = ReviewTask.objects.filter(active=1, status=TaskStatus.CLAIMED, assignee=user)
        for pk in claimed.values_list("pk", flat=True):
            review_task_follow_absence(task=ReviewTask(pk=pk), now=now, actor=Actor.user(by))
    return absence


def reviewer_absence_check(
    *, user, delegate, starts_at: datetime, ends_at: datetime, by, now: datetime
) -> None:
    """Every rule of ``reviewer_absence_set``, read-only (the admin form asks it to show
    the errors on the form). Raises ``ApplicationError`` as the service does."""
    if not perms.user_is_human_staff(by):
        raise forbidden("Inactive and machine accounts cannot set absences.")
    if by.pk != user.pk and not perms.user_can_set_absence_for_others(by):
        raise forbidden("You may set only your own absence; a senior reviewer sets a colleague's.")
    if not perms.user_is_human_staff(user):
        raise _invalid(f"{user.get_username()} is inactive or a machine account: not a reviewer.")
    if ends_at <= now:
        raise _invalid("The absence must end in the future.")
    if ends_at <= starts_at:
        raise _invalid("The absence must end after it starts.")
    if delegate is not None:
        _check_delegate(user, delegate)
    clash = (
        ReviewerAbsence.objects.filter(
            user=user, cancelled_at__isnull=True, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .order_by("starts_at")
        .first()
    )
    if clash is not None:
        raise ApplicationError(
            f"{user.get_username()} is already away from {_when(clash.starts_at)} to "
            f"{_when(clash.ends_at)}; cancel that absence first or choose dates outside it.",
            code="absence_overlaps",
        )
    if delegate is not None:
        loop = _delegation_loop(user, delegate, starts_at, ends_at)
        if loop:
            raise _invalid(
                f"That would make a delegation loop ({' → '.join(loop)}): their work would "
                "have nobody present to go to. Choose another delegate."
            )


def _check_delegate(user, delegate) -> None:
    name = delegate.get_username()
    if delegate.pk == user.pk:
        raise _invalid("You cannot be your own delegate.")
    if not perms.user_is_human_staff(delegate):
        raise _invalid(f"{name} is inactive or a machine account and cannot stand in.")
    if not perms.queue_ids_for_user(user) & perms.queue_ids_for_user(delegate):
        raise _invalid(f"{name} works none of {user.get_username()}'s queues.")


def _delegation_loop(user, delegate, starts_at: datetime, ends_at: datetime) -> list[str]:
    """The usernames of the loop the new delegation would close at some moment of its
    period (A → B while B → A, or longer), or []. One query for the delegations overlapping
    the period, walked in memory with the shrinking common window."""
    rows = ReviewerAbsence.objects.filter(
        cancelled_at__isnull=True,
        delegate__isnull=False,
        starts_at__lt=ends_at,
        ends_at__gt=starts_at,
    ).values_list("user_id", "delegate_id", "starts_at", "ends_at")
    edges = defaultdict(list)
    for absentee, to, start, end in rows:
        edges[absentee].append((to, start, end))
    stack = [(delegate.pk, starts_at, ends_at, (user.pk, delegate.pk))]
    while stack:
        node, start, end, path = stack.pop()
        for to, s, e in edges.get(node, []):
            lo, hi = max(start, s), min(end, e)
            if lo >= hi or (to in path and to != user.pk):
                continue
            if to == user.pk:
                names = dict(
                    get_user_model().objects.filter(pk__in=path).values_list("pk", "username")
                )
                return [names[pk] for pk in (*path, user.pk)]
            stack.append((to, lo, hi, (*path, to)))
    return []


@transaction.atomic
def reviewer_absence_cancel(
    *, absence: ReviewerAbsence, by, now: datetime | None = None
) -> ReviewerAbsence:
    """Ends ``absence`` now (or drops a planned one): its owner, or a senior reviewer.
    Tasks already handed to the delegate stay with them. Raises ``ApplicationError``:
    ``forbidden`` (403), ``absence_cancelled`` / ``absence_over`` (409). Audited
    ``reviewer_absence.cancelled``."""
    now = now or timezone.now()
    locked = (
        ReviewerAbsence.objects.select_for_update(of=("self",))
        .select_related("user", "delegate")
        .get(pk=absence.pk)
    )
    if not perms.user_is_human_staff(by) or (
        by.pk != locked.user_id and not perms.user_can_set_absence_for_others(by)
    ):
        raise forbidden("Only the absentee or a senior reviewer may cancel this absence.")
    if locked.cancelled_at is not None:
        raise ApplicationError(
            f"This absence was already cancelled at {_when(locked.cancelled_at)}.",
            code="absence_cancelled",
        )
    if locked.ends_at <= now:
        raise ApplicationError(
            f"This absence is over (it ended at {_when(locked.ends_at)}); nothing to cancel.",
            code="absence_over",
        )
    ReviewerAbsence.objects.filter(pk=locked.pk).update(cancelled_at=now)
    locked.cancelled_at = now
    record_event(
        event_type=events.ABSENCE_CANCELLED,
        actor=Actor.user(by),
        subject=locked,
        payload={**events.absence_payload(locked), "was_in_force": locked.starts_at <= now},
    )
    return locked


# --- Claims follow the absence ---------------------------------------------------------------


def tasks_claimed_by_absentees(now: datetime):
    """Active tasks claimed by someone away at ``now``: what the SLA sweep hands to
    ``review_task_follow_absence``, one transaction each."""
    away = absences_in_force(now).values("user_id")
    return ReviewTask.objects.filter(active=1, status=TaskStatus.CLAIMED, assignee_id__in=away)


@transaction.atomic
def review_task_follow_absence(
    *, task: ReviewTask, now: datetime | None = None, actor: Actor = ABSENCE_ACTOR
) -> bool:
    """If ``task`` is claimed by someone away at ``now``: claimed by their stand-in if the
    stand-in may decide it (works its queue; not their own case; not the first approver
    of a pending four-eyes approval), else released to the queue. Audited
    ``reviewer_absence.task_handed_over`` / ``.task_released``. Returns False (nothing
    done) if the task is not, or no longer, claimed by someone away."""
    now = now or timezone.now()
    locked = review_task_lock(task)
    if locked.status != TaskStatus.CLAIMED or locked.assignee_id is None:
        return False
    absence = reviewer_absence_in_force(locked.assignee, at=now)
    if absence is None:
        return False
    stand_in = reviewer_stand_in(locked.assignee, at=now)
    payload = {"absence": absence.pk, "from": locked.assignee.get_username()}
    if stand_in.pk != locked.assignee_id and _may_take(stand_in, locked):
        claim_for(
            locked,
            stand_in,
            now,
            actor=actor,
            event_type=events.ABSENCE_TASK_HANDED_OVER,
            payload={**payload, "to": stand_in.get_username()},
        )
    else:
        unclaim(locked, actor=actor, event_type=events.ABSENCE_TASK_RELEASED, payload=payload)
    return True


def _may_take(stand_in, task: ReviewTask) -> bool:
    """The stand-in could decide ``task`` themself: else it goes back to the queue."""
    return (
        perms.user_is_human_staff(stand_in)
        and perms.user_can_work_queue(stand_in, task.queue)
        and not perms.user_created_case(stand_in, task)
        and not task.decisions.filter(pending=True, reviewer=stand_in).exists()
    )
