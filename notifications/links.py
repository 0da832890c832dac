"""One-time confirm links: ``/review/confirm/<token>/``.

Only the SHA-256 of the token is stored (a 256-bit random token needs no slow hash, and a
lookup by hash compares nothing secret in Python). A link is bound to one user, one task
and the task as it was when the link was sent (version, assignee, queue); it works once
(an atomic compare-and-set on ``used_at``), until it expires, and dies with any change to
the task. Opening it decides nothing: the confirm page posts to the review decision
endpoint, which checks everything again.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import Actor, record_event
from reviews import permissions as perms

from . import events
from .models import ConfirmLink, Notification


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def confirm_link_create(*, notification: Notification, now: datetime | None = None) -> str:
    """Stores a link for ``notification`` (which has a task) bound to its recipient and
    the task as it is now; returns the absolute URL with the token (shown once, never
    stored)."""
    now = now or timezone.now()
    task = notification.task
    token = secrets.token_urlsafe(32)
    ConfirmLink.objects.create(
        token_hash=token_hash(token),
        user=notification.recipient,
        task=task,
        task_version=task.version,
        task_assignee_id=task.assignee_id,
        task_queue_id=task.queue_id,
        notification=notification,
        expires_at=now + timedelta(hours=settings.HITL_NOTIFY_LINK_HOURS),
    )
    path = reverse("notifications:confirm", kwargs={"token": token})
    return f"{settings.HITL_SITE_URL}{path}"


@dataclass(frozen=True)
class LinkRefused(Exception):
    """Why a link does not open. ``status``: 404 for a link that is not the user's (never
    say whose it is), 410 for one that is used, expired or stale."""

    reason: str
    message: str
    status: int = 410


REFUSALS = {
    "used": "This link has already been used. Open the case from your review queue.",
    "expired": "This link has expired. Open the case from your review queue.",
    "closed": "This case is already decided or expired: there is nothing left to confirm.",
    "changed": "This case has changed since the link was sent (reassigned, claimed, "
    "escalated or approved once meanwhile). Open it from your review queue.",
    "forbidden": "You no longer work this case's queue.",
}


@transaction.atomic
def _refuse(link: ConfirmLink | None, user, reason: str, status: int = 410) -> LinkRefused:
    """Audits the refusal (committed, even though the caller then raises)."""
    record_event(
        event_type=events.LINK_REFUSED,
        actor=Actor.user(user),
        subject=link if link is not None else None,
        payload={"reason": reason, "link": link.pk if link else None},
    )
    return LinkRefused(reason=reason, message=REFUSALS.get(reason, "No such link."), status=status)


def _stale_reason(link: ConfirmLink, user, now: datetime) -> str:
    task = link.task
    if link.used_at is not None:
        return "used"
    if link.expires_at <= now:
        return "expired"
    if not task.is_active:
        return "closed"
    if (
        task.version != link.task_version
        or task.assignee_id != link.task_assignee_id
        or task.queue_id != link.task_queue_id
    ):
        return "changed"
    if not perms.user_can_view_task(user, task):
        return "forbidden"
    return ""


def confirm_link_use(*, token: str, user, now: datetime | None = None) -> ConfirmLink:
    """Opens the link for ``user``, once: returns the link (marked used) with its task, or
    raises ``LinkRefused`` after auditing the refusal. Unknown tokens and other users'
    links are refused alike (404); a link that is used, expired or stale is refused (410).
    Marking it used is a compare-and-set: of two concurrent opens, one wins."""
    now = now or timezone.now()
    link = (
        ConfirmLink.objects.select_related("task__queue", "task__request", "notification")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if link is None or link.user_id != user.pk:
        raise _refuse(link, user, "not_yours", status=404)
    reason = _stale_reason(link, user, now) or _mark_used(link, user, now)
    if reason:
        raise _refuse(link, user, reason)
    return link


@transaction.atomic
def _mark_used(link: ConfirmLink, user, now: datetime) -> str:
    won = ConfirmLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=now)
    if not won:
        return "used"
    link.used_at = now
    record_event(
        event_type=events.LINK_OPENED,
        actor=Actor.user(user),
        subject=link,
        payload={"task": link.task_id, "task_version": link.task_version},
    )
    return ""
