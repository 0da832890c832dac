"""Who may do what in review. Every page, admin class and service asks these functions.

Rules:
- Nobody inactive, anonymous or a machine account (the ``integration`` role) may work a
  queue, whatever permissions they hold.
- A user works a queue if they hold ``reviews.work_queue`` on it (a guardian object
  permission, granted to them or to one of their groups by ``reviews.services``).
- A **model-level ("global") ``reviews.work_queue``** means *every* queue, present and
  future — the same meaning guardian's ``get_objects_for_user`` gives it. No role holds it;
  superusers have it implicitly. Grant it only to break-glass accounts.
- Deciding a task needs the queue, and the user must not be the one who created the case
  (``RefundRequest.submitted_by``) nor the customer of it (same e-mail).
- Reassigning needs the model-level ``reviews.reassign_reviewtask`` (senior reviewers);
  the queue statistics ``reviews.view_queue_stats``; unmasked personal data
  ``reviews.view_pii``; the operations dashboard ``reviews.view_ops_dashboard``.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q
from guardian.shortcuts import get_groups_with_perms, get_objects_for_user, get_users_with_perms

from hitl_site import roles

from .models import Queue, ReviewTask

WORK_QUEUE = "work_queue"
MACHINE_ROLES = frozenset({roles.INTEGRATION})


def user_is_machine(user) -> bool:
    """Machine accounts (integrations, the drafter) never decide anything. Cached on the
    user object for the length of a request."""
    if not hasattr(user, "_review_is_machine"):
        user._review_is_machine = user.groups.filter(name__in=MACHINE_ROLES).exists()
    return user._review_is_machine


def user_is_human_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and not user_is_machine(user))


def human_staff_users():
    """Active staff users who are not machine accounts, by username: whom a queue may be
    granted to or owned by, and who may be away or stand in."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .exclude(groups__name__in=MACHINE_ROLES)
        .order_by("username")
    )


def queue_ids_for_user(user) -> frozenset[int]:
    """The ids of the queues ``user`` may work (guardian's ``get_objects_for_user`` over the
    user's and their groups' grants; a global ``reviews.work_queue`` or superuser status
    means every queue): one query, plus the model-level permission check Django caches per
    user. Inactive and machine accounts get none, whatever they hold. Cached on the user
    object."""
    cached = getattr(user, "_review_queue_ids", None)
    if cached is not None:
        return cached
    if not user_is_human_staff(user):
        ids: frozenset[int] = frozenset()
    else:
        # Inactive queues included: deactivating a queue stops new cases going to it
        # (review_task_open falls back to standard), its open tasks stay workable.
        queues = get_objects_for_user(
            user, f"reviews.{WORK_QUEUE}", klass=Queue, accept_global_perms=True
        )
        ids = frozenset(queues.values_list("pk", flat=True))
    user._review_queue_ids = ids
    return ids


def queue_workers(queue: Queue):
    """Active human users granted ``queue`` (directly or through a group), by username:
    whom a task of it may be reassigned to. Holders of the global permission are not
    listed (break-glass accounts, not reviewers)."""
    users = get_users_with_perms(queue, only_with_perms_in=[WORK_QUEUE], with_group_users=True)
    return (
        users.filter(is_active=True)
        .exclude(groups__name__in=MACHINE_ROLES)
        .order_by("username")
        .only("id", "username")
    )


def queue_grants(queue: Queue) -> tuple[list[int], list[int]]:
    """The ids of the groups and of the users granted ``queue`` directly (the admin form)."""
    groups = get_groups_with_perms(queue, only_with_perms_in=[WORK_QUEUE])
    users = get_users_with_perms(queue, only_with_perms_in=[WORK_QUEUE], with_group_users=False)
    return list(groups.values_list("pk", flat=True)), list(users.values_list("pk", flat=True))


def user_can_work_queue(user, queue: Queue) -> bool:
    return queue.pk in queue_ids_for_user(user)


def user_can_view_task(user, task: ReviewTask) -> bool:
    """Tasks are visible only to the users of their queue (everyone else gets a 404)."""
    return user_can_work_queue(user, task.queue)


def user_created_case(user, task: ReviewTask) -> bool:
    """True if ``user`` submitted the case (``RefundRequest.submitted_by``) or is its
    customer (same e-mail)."""
    request = task.request
    email = (user.email or "").strip().lower()
    if email and (request.customer.email or "").strip().lower() == email:
        return True
    return request.submitted_by_id is not None and request.submitted_by_id == user.pk


def user_uses_review_pages(user) -> bool:
    """Whom the review pages are for: who works a queue, and reviewers (``reviews.
    view_reviewtask``) not granted one yet, whom the queue page tells whom to ask."""
    return user_is_human_staff(user) and (
        user.has_perm("reviews.view_reviewtask") or bool(queue_ids_for_user(user))
    )


def user_can_reassign(user) -> bool:
    return user_is_human_staff(user) and user.has_perm("reviews.reassign_reviewtask")


def user_can_set_absence_for_others(user) -> bool:
    """Senior reviewers (``reviews.reassign_reviewtask``) set and cancel a colleague's
    absence (a sick colleague); everyone else only their own."""
    return user_can_reassign(user)


def queue_colleagues(user):
    """Active human users granted (directly or through a group) a queue ``user`` works,
    ``user`` excluded, by username: whom they may name as their delegate. One query."""
    ids = queue_ids_for_user(user)
    granted = Q(
        queueuserobjectpermission__content_object_id__in=ids,
        queueuserobjectpermission__permission__codename=WORK_QUEUE,
    ) | Q(
        groups__queuegroupobjectpermission__content_object_id__in=ids,
        groups__queuegroupobjectpermission__permission__codename=WORK_QUEUE,
    )
    users = get_user_model().objects.filter(granted, is_active=True).exclude(pk=user.pk)
    return (
        users.exclude(groups__name__in=MACHINE_ROLES)
        .distinct()
        .order_by("username")
        .only("id", "username", "first_name", "last_name")
    )


def user_can_view_pii(user) -> bool:
    return user_is_human_staff(user) and user.has_perm("reviews.view_pii")


def user_can_view_queue_stats(user) -> bool:
    return user_is_human_staff(user) and user.has_perm("reviews.view_queue_stats")


def user_can_view_dashboard(user) -> bool:
    """The operations dashboard: senior reviewers, policy admins, auditors."""
    return user_is_human_staff(user) and user.has_perm("reviews.view_ops_dashboard")


def case_scope_for_user(user, *, field: str = "pk") -> Q | None:
    """The refund requests ``user`` may look at outside the review pages (the admin), as a
    condition on ``field`` (a request id), or None for every one: every case for holders of
    ``refunds.view_every_refundrequest`` (senior reviewers, who handle failed executions of
    any case; auditors; policy admins), else those with a task in a queue the user works.
    Registered as ``refunds.hooks.case_scope_provider`` (see ``ReviewsConfig.ready``)."""
    if user.has_perm("refunds.view_every_refundrequest"):
        return None
    tasks = ReviewTask.objects.filter(queue_id__in=queue_ids_for_user(user))
    return Q(**{f"{field}__in": tasks.values("request_id")})
