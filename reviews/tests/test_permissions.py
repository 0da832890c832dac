import pytest
from django.contrib.auth.models import Group, Permission

from audit.services import Actor
from hitl_site import roles
from hitl_site.errors import ApplicationError
from refunds.models import RefundRequest
from refunds.tests.factories import UserFactory
from reviews import permissions as perms
from reviews.models import Queue
from reviews.services import queue_access_grant, queue_access_revoke, review_decide
from reviews.tests.factories import queue, task_with_proposal

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def fresh(user):
    """A new object, as on the next request (permission caches are per object)."""
    return type(user).objects.get(pk=user.pk)


def test_grant_to_user_lets_them_work_only_that_queue(reviewer_of):
    user = reviewer_of("standard")
    assert perms.queue_ids_for_user(user) == {queue("standard").pk}
    # guardian's own backend agrees with our one-query check (direct FK tables).
    assert fresh(user).has_perm("reviews.work_queue", queue("standard"))
    assert not fresh(user).has_perm("reviews.work_queue", queue("senior"))


def test_grant_to_group_covers_its_members(role_user):
    user = role_user(roles.SENIOR_REVIEWER)
    group = Group.objects.get(name=roles.SENIOR_REVIEWER)
    queue_access_grant(queue=queue("senior"), group=group, actor=SYSTEM)
    assert perms.queue_ids_for_user(fresh(user)) == {queue("senior").pk}


def test_revoke_removes_access(reviewer_of):
    user = reviewer_of("standard")
    queue_access_revoke(queue=queue("standard"), user=user, actor=SYSTEM)
    assert perms.queue_ids_for_user(fresh(user)) == frozenset()


def test_role_alone_gives_no_queue(role_user):
    assert perms.queue_ids_for_user(role_user(roles.SENIOR_REVIEWER)) == frozenset()


def test_global_work_queue_permission_means_every_queue(role_user):
    user = role_user(roles.REVIEWER)
    user.user_permissions.add(Permission.objects.get(codename="work_queue"))
    new = Queue.objects.create(slug="vip", name="VIP")
    assert perms.queue_ids_for_user(fresh(user)) == set(Queue.objects.values_list("pk", flat=True))
    assert new.pk in perms.queue_ids_for_user(fresh(user))


def test_deactivated_queue_keeps_its_tasks_workable(reviewer_of):
    user = reviewer_of("legal")
    q = queue("legal")
    q.is_active = False
    q.save()
    assert perms.queue_ids_for_user(fresh(user)) == {q.pk}


def test_superuser_works_every_queue():
    admin = UserFactory(is_staff=True, is_superuser=True)
    assert len(perms.queue_ids_for_user(admin)) == 3


def test_inactive_user_has_no_queue_even_when_granted(reviewer_of):
    user = reviewer_of("standard")
    user.is_active = False
    user.save()
    assert perms.queue_ids_for_user(fresh(user)) == frozenset()


def test_machine_accounts_can_not_be_granted_or_work(role_user):
    machine = role_user(roles.INTEGRATION)
    with pytest.raises(ApplicationError) as exc:
        queue_access_grant(queue=queue("standard"), user=machine, actor=SYSTEM)
    assert exc.value.code == "machine_account"
    with pytest.raises(ApplicationError):
        queue_access_grant(
            queue=queue("standard"), group=Group.objects.get(name=roles.INTEGRATION), actor=SYSTEM
        )
    # even a machine account that somehow holds the global permission is refused
    machine.user_permissions.add(Permission.objects.get(codename="work_queue"))
    assert perms.queue_ids_for_user(fresh(machine)) == frozenset()


def test_machine_superuser_still_cannot_approve(role_user):
    machine = role_user(roles.INTEGRATION, is_superuser=True)
    task = task_with_proposal()
    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=machine, outcome="approve")
    assert exc.value.status_code == 403


def test_user_created_case_by_audit_actor_or_customer_email(reviewer_of):
    task = task_with_proposal()
    user = reviewer_of("standard")
    assert not perms.user_created_case(user, task)
    RefundRequest.objects.filter(pk=task.request.pk).update(submitted_by=user)
    task.request.submitted_by = user
    assert perms.user_created_case(user, task)
    customer = reviewer_of("standard", email=task.request.customer.email.upper())
    assert perms.user_created_case(customer, task)


def test_role_permissions_for_reassign_stats_and_pii(role_user):
    reviewer, senior = role_user(roles.REVIEWER), role_user(roles.SENIOR_REVIEWER)
    assert not perms.user_can_reassign(reviewer)
    assert not perms.user_can_view_pii(reviewer)
    assert not perms.user_can_view_queue_stats(reviewer)
    assert perms.user_can_reassign(senior)
    assert perms.user_can_view_pii(senior)
    assert perms.user_can_view_queue_stats(senior)


def test_default_queue_access_is_idempotent_and_audited_once(role_user):
    from audit.models import AuditEvent
    from reviews.services import queue_access_defaults_ensure

    reviewer, senior = role_user(roles.REVIEWER), role_user(roles.SENIOR_REVIEWER)
    queue_access_defaults_ensure(actor=SYSTEM)
    queue_access_defaults_ensure(actor=SYSTEM)
    assert perms.queue_ids_for_user(fresh(reviewer)) == {queue("standard").pk}
    assert len(perms.queue_ids_for_user(fresh(senior))) == 3
    assert AuditEvent.objects.filter(event_type="review_queue.access_granted").count() == 4


def test_sla_sweep_task_entry_point(reviewer_of):
    from reviews.tasks import review_sla_sweep

    assert review_sla_sweep() == {
        "expired": 0,
        "escalated": 0,
        "followed_absence": 0,
        "released": 0,
    }
