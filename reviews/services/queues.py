"""Who works which review queue: grants, revocations, and the role groups' defaults. The
grant is a django-guardian object permission (``reviews.work_queue``) stored in the
queue's direct foreign-key tables."""

from django.contrib.auth.models import Group
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError

from .. import events
from .. import permissions as perms
from ..models import Queue, QueueGroupObjectPermission, QueueUserObjectPermission


@transaction.atomic
def queue_access_grant(
    *, queue: Queue, actor: Actor, user=None, group: Group | None = None
) -> None:
    """Lets ``user`` or ``group`` work ``queue`` (guardian object permission, direct FK
    table). Machine accounts are refused. Audited ``review_queue.access_granted``."""
    target = _access_target(user, group)
    model = QueueUserObjectPermission if user is not None else QueueGroupObjectPermission
    holder = {"user": user} if user is not None else {"group": group}
    if model.objects.filter(
        content_object=queue, permission__codename=perms.WORK_QUEUE, **holder
    ).exists():
        return  # already granted: nothing to do, nothing to audit
    assign_perm(perms.WORK_QUEUE, target, queue)
    record_event(
        event_type=events.QUEUE_ACCESS_GRANTED,
        actor=actor,
        subject=queue,
        payload=events.queue_access_payload(user=user, group=group),
    )


@transaction.atomic
def queue_access_revoke(
    *, queue: Queue, actor: Actor, user=None, group: Group | None = None
) -> None:
    target = _access_target(user, group)
    remove_perm(perms.WORK_QUEUE, target, queue)
    record_event(
        event_type=events.QUEUE_ACCESS_REVOKED,
        actor=actor,
        subject=queue,
        payload=events.queue_access_payload(user=user, group=group),
    )


@transaction.atomic
def queue_owners_set(*, queue: Queue, owners, actor: Actor) -> None:
    """Makes ``owners`` (active human staff) the queue's owners: told of its escalations
    and SLA warnings. Audited ``review_queue.owners_changed`` with who was added and
    removed; no change, no event."""
    owners = list(owners)
    refused = [u.username for u in owners if not perms.user_is_human_staff(u) or not u.is_staff]
    if refused:
        raise ApplicationError(
            f"Queue owners must be active human staff: {', '.join(refused)}.",
            code="invalid_owner",
            status_code=400,
        )
    before = set(queue.owners.values_list("pk", flat=True))
    after = {u.pk for u in owners}
    if before == after:
        return
    queue.owners.set(owners)
    record_event(
        event_type=events.QUEUE_OWNERS_CHANGED,
        actor=actor,
        subject=queue,
        payload={"added": sorted(after - before), "removed": sorted(before - after)},
    )


# Which role works which queue by default (``queue_access_defaults_ensure``).
DEFAULT_QUEUE_ACCESS = {
    "reviewer": ["standard"],
    "senior_reviewer": ["standard", "senior", "legal"],
}


def queue_access_defaults_ensure(*, actor: Actor) -> None:
    """Grants the role groups their default queues (idempotent; used by ``seed_demo``):
    reviewers work ``standard``; senior reviewers ``standard``, ``senior`` and ``legal``.
    Individual grants and revocations are made in the admin (Queue page)."""
    for group_name, slugs in DEFAULT_QUEUE_ACCESS.items():
        group = Group.objects.filter(name=group_name).first()
        if group is None:
            continue
        for queue in Queue.objects.filter(slug__in=slugs):
            queue_access_grant(queue=queue, group=group, actor=actor)


def _access_target(user, group):
    if (user is None) == (group is None):
        raise ApplicationError(
            "Grant to exactly one user or one group.", code="invalid_grant", status_code=400
        )
    if user is not None and perms.user_is_machine(user):
        raise ApplicationError(
            "Machine accounts cannot work review queues.", code="machine_account", status_code=400
        )
    if group is not None and group.name in perms.MACHINE_ROLES:
        raise ApplicationError(
            "Machine accounts cannot work review queues.", code="machine_account", status_code=400
        )
    return user if user is not None else group
