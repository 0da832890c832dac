"""Learning what happened by reading what is already recorded.

``notifications_collect`` reads the audit events of the watched types after the cursor and
creates one ``Notification`` per recipient, advancing the cursor in the same transaction
(exactly once, with several workers: the cursor row is locked on PostgreSQL and moved by
compare-and-set everywhere). ``notifications_sla_scan`` warns about active tasks due within
``HITL_NOTIFY_SLA_WARNING_MINUTES``, once per task version (a unique marker row).

Neither is called by the apps below: the schedule of ``notifications.tasks`` runs them.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from audit.models import ActorType, AuditEvent
from audit.services import Actor, audit_deferred, record_event
from reviews import events as review_events
from reviews.models import ReviewDecision, ReviewTask

from . import events, recipients
from .models import Kind, Notification, NotificationCursor, NotificationPreference, SlaWarning

logger = logging.getLogger(__name__)

ACTOR = Actor.system("notifications")
BATCH = 500


class _CursorMoved(Exception):
    """Another collector advanced the cursor first: this run's work is rolled back."""


def task_summary(task: ReviewTask) -> str:
    """What a message says about a case: a masked id, the amount, the queue, the gate's
    reason codes. No customer personal data."""
    request = task.request
    codes = ", ".join(c for c in task.reason_codes.split(",") if c) or "none"
    return (
        f"case {str(request.public_id)[:8]}… · {request.requested_amount} {request.currency}"
        f" · {task.queue.name} queue · reasons: {codes}"
    )


def _preferences(users) -> dict[int, NotificationPreference]:
    rows = NotificationPreference.objects.filter(user__in=[u.pk for u in users])
    return {p.user_id: p for p in rows}


def notification_create_many(
    *, users, kind: str, summary: str, task: ReviewTask | None = None, source_event_id=None
) -> list[Notification]:
    """One notification per user who wants ``kind`` (preferences; no row: yes), each
    audited as ``notification.created`` (appended together: ``audit_deferred``). Runs in the
    caller's transaction."""
    prefs = _preferences(users)
    created = []
    with audit_deferred():
        for user in users:
            pref = prefs.get(user.pk)
            if pref is not None and not pref.wants(kind):
                continue
            notification = Notification.objects.create(
                recipient=user,
                kind=kind,
                task=task,
                source_event_id=source_event_id,
                summary=summary[:300],
            )
            record_event(
                event_type=events.CREATED,
                actor=ACTOR,
                subject=notification,
                payload={
                    "recipient": user.pk,
                    "kind": kind,
                    "task": task.pk if task else None,
                    "source_event": source_event_id,
                },
            )
            created.append(notification)
    return created


def _task_of(event: AuditEvent) -> ReviewTask | None:
    pk = event.payload.get("task")
    if pk is None:
        return None
    return ReviewTask.objects.select_related("queue", "request").filter(pk=pk).first()


def _user_actor_id(event: AuditEvent) -> int | None:
    if event.actor_type == ActorType.USER and event.actor_id.isdigit():
        return int(event.actor_id)
    return None


def _notify_for(event: AuditEvent) -> list[Notification]:
    if event.event_type == events.DRIFT_DETECTED:
        p = event.payload
        summary = (
            f"drift: {p.get('metric')} is {p.get('today')} today against a baseline of "
            f"{p.get('baseline')} (margin {p.get('margin')})"
        )
        return notification_create_many(
            users=recipients.drift_recipients(),
            kind=Kind.DRIFT,
            summary=summary,
            source_event_id=event.pk,
        )
    task = _task_of(event)
    if task is None or not task.is_active:
        return []  # decided or expired since: nothing left to do
    if event.event_type == review_events.FIRST_APPROVAL:
        decision = ReviewDecision.objects.filter(pk=event.payload.get("decision")).first()
        approver = decision.reviewer_id if decision else _user_actor_id(event)
        users = recipients.four_eyes_recipients(task, first_approver_id=approver)
        kind = Kind.FOUR_EYES
    else:
        users = recipients.escalation_recipients(task, escalator_id=_user_actor_id(event))
        kind = Kind.ESCALATED
    return notification_create_many(
        users=users, kind=kind, summary=task_summary(task), task=task, source_event_id=event.pk
    )


def notifications_collect() -> int:
    """Creates the notifications for the watched audit events recorded since the last run
    (at most ``BATCH`` of them) and advances the cursor, in one transaction. Returns how
    many notifications were created (0 if another collector got there first)."""
    try:
        return _collect()
    except _CursorMoved:
        return 0


@transaction.atomic
def _collect() -> int:
    cursor, _ = NotificationCursor.objects.select_for_update().get_or_create(pk=1)
    start = cursor.last_event_id
    top = AuditEvent.objects.filter(pk__gt=start).aggregate(top=Max("pk"))["top"]
    if top is None:
        return 0
    watched = list(
        AuditEvent.objects.filter(
            pk__gt=start, pk__lte=top, event_type__in=events.WATCHED
        ).order_by("pk")[:BATCH]
    )
    end = watched[-1].pk if len(watched) == BATCH else top
    with audit_deferred():  # one append of the batch's events: the chain head is held less
        created = sum(len(_notify_for(event)) for event in watched)
    moved = NotificationCursor.objects.filter(pk=1, last_event_id=start).update(last_event_id=end)
    if moved != 1:
        raise _CursorMoved
    return created


def notifications_sla_scan(*, now: datetime | None = None) -> int:
    """Warns about every active task due within the warning window and not yet overdue
    (the SLA sweep escalates overdue ones), once per task version: the task's assignee if
    claimed, else its queue's workers. Returns how many tasks were warned."""
    now = now or timezone.now()
    window = now + timedelta(minutes=settings.HITL_NOTIFY_SLA_WARNING_MINUTES)
    warned_already = SlaWarning.objects.filter(
        task=OuterRef("pk"), task_version=OuterRef("version")
    )
    due = ReviewTask.objects.filter(active=1, due_at__gt=now, due_at__lte=window).exclude(
        Exists(warned_already)
    )
    warned = 0
    for task in due.select_related("queue", "request", "assignee"):
        try:
            warned += _warn(task, now)
        except IntegrityError:  # another scanner warned about it first
            continue
    return warned


@transaction.atomic
def _warn(task: ReviewTask, now: datetime) -> int:
    SlaWarning.objects.create(task=task, task_version=task.version)
    minutes = max(int((task.due_at - now).total_seconds() // 60), 0)
    notification_create_many(
        users=recipients.sla_recipients(task),
        kind=Kind.SLA_WARNING,
        summary=f"due in {minutes} min: {task_summary(task)}",
        task=task,
    )
    return 1
