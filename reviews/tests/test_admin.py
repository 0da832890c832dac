import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.urls import reverse

from hitl_site import roles
from refunds.states import RefundStatus
from reviews import permissions as perms
from reviews.models import ReviewTask
from reviews.tests.factories import queue, task_with_proposal

pytestmark = pytest.mark.django_db


def test_task_admin_shows_only_my_queues_and_404s_others(client, reviewer_of):
    mine, other = task_with_proposal(), task_with_proposal(queue_slug="legal")
    client.force_login(reviewer_of("standard"))
    listing = client.get(reverse("admin:reviews_reviewtask_changelist"))
    assert listing.status_code == 200
    assert f"/{mine.pk}/change/" in listing.text and f"/{other.pk}/change/" not in listing.text
    url = reverse("admin:reviews_reviewtask_change", args=[other.pk])
    assert client.get(url).status_code == 404
    assert client.get(reverse("admin:reviews_reviewtask_change", args=[mine.pk])).status_code == 200


def test_bulk_approve_runs_per_row_checks(client, reviewer_of):
    ok, foreign = task_with_proposal(), task_with_proposal(proposal=False)
    user = reviewer_of("standard")
    client.force_login(user)
    response = client.post(
        reverse("admin:reviews_reviewtask_changelist"),
        {"action": "bulk_approve", ACTION_CHECKBOX_NAME: [ok.pk, foreign.pk]},
        follow=True,
    )
    assert "1 task(s) decided." in response.text
    assert "no valid AI proposal" in response.text
    assert ReviewTask.objects.get(pk=ok.pk).request.status == RefundStatus.APPROVED
    assert ReviewTask.objects.get(pk=foreign.pk).status == "open"


def test_bulk_reject_asks_reason_and_comment(client, reviewer_of):
    task = task_with_proposal()
    client.force_login(reviewer_of("standard"))
    url = reverse("admin:reviews_reviewtask_changelist")
    first = client.post(url, {"action": "bulk_reject", ACTION_CHECKBOX_NAME: [task.pk]})
    assert first.status_code == 200 and "reason_code" in first.text
    client.post(
        url,
        {
            "action": "bulk_reject",
            ACTION_CHECKBOX_NAME: [task.pk],
            "reason_code": "duplicate",
            "comment": "Same as #12.",
        },
    )
    assert ReviewTask.objects.get(pk=task.pk).request.status == RefundStatus.REJECTED


def test_queue_admin_grants_and_revokes_through_services(client, role_user):
    admin_user = role_user(roles.POLICY_ADMIN)
    reviewer = role_user(roles.REVIEWER)
    client.force_login(admin_user)
    q = queue("legal")
    url = reverse("admin:reviews_queue_change", args=[q.pk])
    data = {
        "slug": q.slug,
        "name": q.name,
        "description": "",
        "is_active": "on",
        "sla_minutes": 60,
        "hard_deadline_minutes": 600,
        "groups": [Group.objects.get(name=roles.SENIOR_REVIEWER).pk],
        "users": [reviewer.pk],
    }
    assert client.post(url, data).status_code == 302
    assert perms.queue_ids_for_user(type(reviewer).objects.get(pk=reviewer.pk)) == {q.pk}
    client.post(url, {**data, "users": []})
    assert perms.queue_ids_for_user(type(reviewer).objects.get(pk=reviewer.pk)) == frozenset()


def test_reviewers_cannot_read_unmasked_customers_in_the_admin(client, role_user):
    from refunds.tests.factories import CustomerFactory

    customer = CustomerFactory()
    for role in (roles.REVIEWER, roles.SENIOR_REVIEWER):
        client.force_login(role_user(role))
        assert client.get(reverse("admin:refunds_customer_changelist")).status_code == 403
        assert (
            client.get(reverse("admin:refunds_customer_change", args=[customer.pk])).status_code
            == 403
        )
