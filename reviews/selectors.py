"""Reads of human review that carry rules: which tasks a user sees, in what order, with
which counts — each in a fixed number of queries. What the decision page shows of one case
is ``reviews.decision_package``."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Min, Q, QuerySet, Value
from django.utils import timezone

from refunds.selectors import refund_request_by_reference

from . import permissions as perms
from .models import Queue, ReviewerAbsence, ReviewTask, TaskStatus

QUEUE_PAGE_FIELDS = (
    "id",
    "priority",
    "status",
    "reasons",
    "due_at",
    "deadline_at",
    "claim_expires_at",
    "escalated_at",
    "created_at",
    "version",
    "queue__id",
    "queue__slug",
    "queue__name",
    "assignee__id",
    "assignee__username",
    "request__id",
    "request__public_id",
    "request__status",
    "request__requested_amount",
    "request__currency",
    "request__channel",
    "request__created_at",
    "request__customer__id",
    "request__customer__name",
    "request__customer__tier",
)


def review_queue_for_user(
    *,
    user,
    queue: str = "",
    status: str = "",
    priority: str = "",
    reason: str = "",
    search: str = "",
    now: datetime | None = None,
) -> QuerySet[ReviewTask]:
    """The open tasks of the queues ``user`` may work, most urgent first (priority, then
    due time). Filters: ``queue`` (slug), ``status`` (``open``: unclaimed or with a claim
    that ran out; ``mine``; ``claimed``; ``escalated``), ``priority``, ``reason`` (a gate
    reason code), ``search`` (request id prefix, customer name or external id, order id).

    Loads only the columns the queue page shows, joined in one query. "queue_id + 0" keeps
    the planner off the per-queue index: it then walks review_task_open_order in page
    order and stops after the page, instead of joining and sorting every open task of the
    user's queues (528 ms → a few ms at 100,000 tasks on SQLite)."""
    ids = _queue_filter_ids(user, queue)
    qs = (
        ReviewTask.objects.alias(queue_key=F("queue_id") + Value(0))
        .filter(active=1, queue_key__in=ids)
        .select_related("queue", "assignee", "request", "request__customer")
        .only(*QUEUE_PAGE_FIELDS)
        .order_by("-priority", "due_at", "id")
    )
    return _filtered(
        qs, user=user, status=status, priority=priority, reason=reason, search=search, now=now
    )


COUNT_CAP = 5000


def review_queue_count(
    *,
    user,
    queue: str = "",
    status: str = "",
    priority: str = "",
    reason: str = "",
    search: str = "",
    now: datetime | None = None,
) -> int:
    """The number of tasks ``review_queue_for_user`` lists, counted on the per-queue index
    and capped at ``COUNT_CAP + 1`` (the page then says "5000+"): counting 100,000 rows
    for a filter would cost more than the page itself. Seniors see exact depths in the
    queue statistics."""
    qs = ReviewTask.objects.filter(active=1, queue_id__in=_queue_filter_ids(user, queue))
    qs = _filtered(
        qs, user=user, status=status, priority=priority, reason=reason, search=search, now=now
    )
    return qs.order_by().values("pk")[: COUNT_CAP + 1].count()


def _queue_filter_ids(user, slug: str) -> list[int]:
    ids = perms.queue_ids_for_user(user)
    if slug:
        return [q.pk for q in review_queues_for_user(user=user) if q.slug == slug]
    return sorted(ids)


def _filtered(
    qs: QuerySet[ReviewTask],
    *,
    user,
    status: str,
    priority: str,
    reason: str,
    search: str,
    now: datetime | None,
) -> QuerySet[ReviewTask]:
    now = now or timezone.now()
    if status == "open":
        qs = qs.filter(
            Q(status__in=[TaskStatus.OPEN, TaskStatus.ESCALATED])
            | Q(status=TaskStatus.CLAIMED, claim_expires_at__lte=now)
        )
    elif status == "mine":
        qs = qs.filter(status=TaskStatus.CLAIMED, assignee=user)
    elif status in (TaskStatus.CLAIMED, TaskStatus.ESCALATED):
        qs = qs.filter(status=status)
    if priority.isdigit():
        qs = qs.filter(priority=int(priority))
    if reason:
        qs = qs.filter(reason_codes__contains=f",{reason.strip()},")
    search = search.strip()
    if search:
        qs = qs.filter(
            Q(request__public_id__startswith=search)
            if _looks_like_uuid(search)
            else Q(request__customer__name__icontains=search)
            | Q(request__customer__external_id=search)
            | Q(request__order__external_id=search)
        )
    return qs


def _looks_like_uuid(text: str) -> bool:
    return len(text) >= 8 and all(c in "0123456789abcdef-" for c in text.lower())


def review_queues_for_user(*, user) -> list[Queue]:
    """The queues ``user`` works (cached on the user object for the request)."""
    cached = getattr(user, "_review_queues", None)
    if cached is None:
        ids = perms.queue_ids_for_user(user)
        cached = list(Queue.objects.filter(pk__in=ids).order_by("slug")) if ids else []
        user._review_queues = cached
    return cached


@dataclass(frozen=True)
class QueueStats:
    queue: str
    depth: int
    overdue: int
    oldest_created_at: datetime | None


def review_queue_stats(*, user, now: datetime | None = None) -> list[QueueStats]:
    """Depth, overdue count and oldest task per queue the user works (one query). Empty for
    users without ``reviews.view_queue_stats``."""
    if not perms.user_can_view_queue_stats(user):
        return []
    now = now or timezone.now()
    ids = perms.queue_ids_for_user(user)
    slugs = {q.pk: q.slug for q in review_queues_for_user(user=user)}
    # Grouped on the queue id only (no join), so the index review_task_open_queue answers
    # it without reading the table.
    rows = (
        ReviewTask.objects.filter(active=1, queue_id__in=ids)
        .values("queue_id")
        .annotate(
            depth=Count("pk"),
            overdue=Count("pk", filter=Q(due_at__lte=now)),
            oldest=Min("created_at"),
        )
        .order_by()
    )
    return sorted(
        (QueueStats(slugs[r["queue_id"]], r["depth"], r["overdue"], r["oldest"]) for r in rows),
        key=lambda s: s.queue,
    )


def review_task_for_user(*, user, pk: int) -> ReviewTask | None:
    """The task, with everything the package shows joined, or None if it does not exist or
    the user may not see it (the page then answers 404, never 403: no existence leak)."""
    task = (
        ReviewTask.objects.select_related(
            "queue",
            "assignee",
            "request",
            "request__customer",
            "request__order",
            "request__integration",
        )
        .filter(pk=pk, queue_id__in=perms.queue_ids_for_user(user))
        .first()
    )
    return task


def case_audit_subjects(reference: str) -> list:
    """The records whose audit events make up one case — the refund request a person names
    (``refund_request_by_reference``) and its review tasks — or [] if none matches. The
    audit admin's request filter asks this through ``HITL_AUDIT_CASE_SUBJECTS``."""
    found = refund_request_by_reference(reference)
    return [] if found is None else [found, *found.review_tasks.all()]


# --- Absences ---------------------------------------------------------------------------------


def absences_in_force(at: datetime) -> QuerySet[ReviewerAbsence]:
    """The absences in force at ``at`` (not cancelled, started, not ended)."""
    return ReviewerAbsence.objects.filter(
        cancelled_at__isnull=True, starts_at__lte=at, ends_at__gt=at
    )


def reviewer_absence_in_force(user, *, at: datetime | None = None) -> ReviewerAbsence | None:
    """``user``'s absence in force at ``at`` (default now), or None. One query."""
    at = at or timezone.now()
    return absences_in_force(at).filter(user=user).select_related("delegate").first()


def reviewer_absences_ahead(user, *, now: datetime | None = None) -> list[ReviewerAbsence]:
    """``user``'s absences in force or planned (not cancelled, not over), soonest first.
    One query."""
    now = now or timezone.now()
    return list(
        ReviewerAbsence.objects.filter(user=user, cancelled_at__isnull=True, ends_at__gt=now)
        .select_related("delegate")
        .order_by("starts_at", "id")
    )


def reviewer_absence_of(user, *, pk: int) -> ReviewerAbsence | None:
    """``user``'s own absence ``pk``, or None (someone else's or none)."""
    return ReviewerAbsence.objects.filter(pk=pk, user=user).first()


def absence_delegates(at: datetime) -> dict[int, int | None]:
    """Who stands in for whom at ``at``: absentee id → delegate id (None: nobody). One query;
    pass it to ``reviewer_stand_in`` when resolving many users at once."""
    return dict(absences_in_force(at).values_list("user_id", "delegate_id"))


def reviewer_stand_in(user, *, at: datetime | None = None, delegates: dict | None = None):
    """Who acts for ``user`` at ``at`` (default now): the delegate of their absence in force,
    followed along a chain (A away → B, B away → C: C) to the first person present; ``user``
    themself when they are not away, are away without a delegate, or the chain ends in
    someone away without a delegate, an inactive account or a loop (which
    ``reviewer_absence_set`` refuses to create). Notifications route every recipient
    through it. At most two queries: the absences in force (none if ``delegates``, from
    ``absence_delegates``, is given), then the stand-in (none if nobody is away)."""
    # Every absence in force (a handful at any moment): the chain is followed in memory.
    if delegates is None:
        delegates = absence_delegates(at or timezone.now())
    current, seen = user.pk, {user.pk}
    while current in delegates:
        following = delegates[current]
        if following is None or following in seen:
            return user
        seen.add(following)
        current = following
    if current == user.pk:
        return user
    stand_in = get_user_model().objects.filter(pk=current, is_active=True).first()
    return stand_in or user
