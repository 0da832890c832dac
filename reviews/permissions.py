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

from django.db.models import Q

from hitl_site import roles

from .models import Queue, QueueGroupObjectPermission, QueueUserObjectPermission, ReviewTask

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


def user_works_every_queue(user) -> bool:
    return user.has_perm(f"reviews.{WORK_QUEUE}")


def queue_ids_for_user(user) -> frozenset[int]:
    """The ids of the queues ``user`` may work: one query (two with the model-level
    permission check, which Django caches per user). Cached on the user object."""
    cached = getattr(user, "_review_queue_ids", None)
    if cached is not None:
        return cached
    if not user_is_human_staff(user):
        ids: frozenset[int] = frozenset()
    else:
        # Inactive queues included: deactivating a queue stops new cases going to it
        # (review_task_open falls back to standard), its open tasks stay workable.
        queues = Queue.objects.all()
        if not user_works_every_queue(user):
            perm = {
                "permission__codename": WORK_QUEUE,
                "permission__content_type__app_label": "reviews",
            }
            queues = queues.filter(
                Q(
                    pk__in=QueueUserObjectPermission.objects.filter(user=user, **perm).values(
                        "content_object"
                    )
                )
                | Q(
                    pk__in=QueueGroupObjectPermission.objects.filter(
                        group__user=user, **perm
                    ).values("content_object")
                )
            )
        ids = frozenset(queues.values_list("pk", flat=True))
    user._review_queue_ids = ids
    return ids


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
