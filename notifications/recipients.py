"""Who hears about what. The rules of who may work or approve are ``reviews.permissions``';
this module only picks among the users they allow, and sends each one through
``notification_recipient``."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils import timezone

from reviews import permissions as perms
from reviews.models import ReviewTask
from reviews.selectors import absence_delegates, reviewer_stand_in
from reviews.states import TaskStatus

DASHBOARD_PERMISSION = ("reviews", "view_ops_dashboard")


def notification_recipient(user, *, may_use=None, delegates: dict | None = None):
    """The user who should get a notification meant for ``user``: their stand-in while they
    are away (``reviews.selectors.reviewer_stand_in``: the delegate of the absence in force,
    along a chain), else ``user``. If the notice is only of use to someone who may act on it
    (``may_use(user)``: works the task's queue, may see the dashboard) and the stand-in may
    not, it stays with ``user``: a link the stand-in could not use helps nobody. Every
    recipient goes through here; callers drop duplicates after. ``delegates``
    (``reviews.selectors.absence_delegates``) saves a query per user."""
    stand_in = reviewer_stand_in(user, delegates=delegates)
    if stand_in.pk == user.pk:
        return user
    if may_use is not None and not may_use(stand_in):
        return user
    return stand_in


def _routed(users, *, exclude_ids=(), may_use=None) -> list:
    seen: set[int] = set()
    routed = []
    delegates = absence_delegates(timezone.now())
    for user in users:
        target = notification_recipient(user, may_use=may_use, delegates=delegates)
        if target is None or target.pk in seen or target.pk in exclude_ids:
            continue
        seen.add(target.pk)
        routed.append(target)
    return routed


def _works_queue_of(task: ReviewTask):
    return lambda user: perms.user_can_work_queue(user, task.queue)


def _queue_humans(task: ReviewTask):
    return list(perms.queue_workers(task.queue).only("id", "username", "email"))


def _owners(task: ReviewTask) -> list:
    """The queue's owners who may be told (active human staff), by username. Their notices
    follow their absences whether or not the stand-in works the queue: answering for it is
    what is handed over."""
    return _routed(perms.human_staff_users().filter(owned_queues=task.queue))


def _with_owners(task: ReviewTask, users: list, *, exclude_ids=()) -> list:
    seen = {u.pk for u in users} | set(exclude_ids)
    return users + [o for o in _owners(task) if o.pk not in seen]


def escalation_recipients(task: ReviewTask, *, escalator_id: int | None) -> list:
    """The humans who work the queue the task was escalated to, and its owners, but not
    the escalator."""
    workers = _routed(
        _queue_humans(task), exclude_ids={escalator_id}, may_use=_works_queue_of(task)
    )
    return _with_owners(task, workers, exclude_ids={escalator_id})


def four_eyes_recipients(task: ReviewTask, *, first_approver_id: int | None) -> list:
    """Who may give the second approval: workers of the queue, not the first approver, not
    the case's creator or customer (``reviews.permissions.user_created_case``)."""
    eligible = [u for u in _queue_humans(task) if not perms.user_created_case(u, task)]
    return [
        u
        for u in _routed(eligible, exclude_ids={first_approver_id}, may_use=_works_queue_of(task))
        if not perms.user_created_case(u, task)
    ]


def sla_recipients(task: ReviewTask) -> list:
    """The assignee of a claimed task, else the queue's workers; and the queue's owners."""
    if task.status == TaskStatus.CLAIMED and task.assignee_id:
        return _with_owners(task, _routed([task.assignee], may_use=_works_queue_of(task)))
    return _with_owners(task, _routed(_queue_humans(task), may_use=_works_queue_of(task)))


def drift_recipients() -> list:
    """Active human staff holding ``reviews.view_ops_dashboard`` (through a group, directly,
    or as superusers)."""
    app_label, codename = DASHBOARD_PERMISSION
    permission = Permission.objects.filter(
        content_type__app_label=app_label, codename=codename
    ).first()
    held = Q(is_superuser=True)
    if permission is not None:
        held |= Q(groups__permissions=permission) | Q(user_permissions=permission)
    candidates = (
        get_user_model().objects.filter(held, is_active=True, is_staff=True).distinct()
    ).order_by("username")
    return _routed(
        [u for u in candidates if perms.user_can_view_dashboard(u)],
        may_use=perms.user_can_view_dashboard,
    )
