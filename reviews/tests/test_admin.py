import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.urls import reverse

from hitl_site import roles
from refunds.states import RefundStatus
from reviews import permissions as perms
from reviews.models import ReviewTask
from reviews.tests.factories import proposal_for, queue, task_with_proposal

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


def test_bulk_approve_of_two_tasks_on_one_order_approves_only_what_fits(client, reviewer_of):
    from refunds.tests.factories import RefundRequestFactory

    first = task_with_proposal(amount="20.00")
    second = task_with_proposal(
        amount="20.00",
        request=RefundRequestFactory(
            status=RefundStatus.IN_REVIEW, order=first.request.order, requested_amount=20
        ),
    )
    client.force_login(reviewer_of("standard"))
    response = client.post(
        reverse("admin:reviews_reviewtask_changelist"),
        {"action": "bulk_approve", ACTION_CHECKBOX_NAME: [first.pk, second.pk]},
        follow=True,
    )
    assert "1 task(s) decided." in response.text
    assert "exceeds what is left to refund on the order (0.00 GBP of 20.00 GBP" in response.text
    statuses = {t.request.status for t in ReviewTask.objects.filter(pk__in=[first.pk, second.pk])}
    assert statuses == {RefundStatus.APPROVED, RefundStatus.IN_REVIEW}


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


CASE_PAGES = [
    ("refunds_refundrequest", lambda task: task.request.pk),
    ("refunds_order", lambda task: task.request.order_id),
    ("refunds_gateevaluation", lambda task: task.request.gate_evaluations.get().pk),
]


@pytest.mark.parametrize(("page", "pk_of"), CASE_PAGES)
def test_reviewers_see_only_the_cases_of_their_queues_in_the_admin(
    client, reviewer_of, page, pk_of
):
    mine, other = task_with_proposal(), task_with_proposal(queue_slug="legal")
    client.force_login(reviewer_of("standard"))

    listing = client.get(reverse(f"admin:{page}_changelist"))

    assert listing.status_code == 200
    assert f"/{pk_of(mine)}/change/" in listing.text
    assert f"/{pk_of(other)}/change/" not in listing.text


@pytest.mark.parametrize(("page", "pk_of"), CASE_PAGES)
def test_a_case_outside_the_reviewers_queues_does_not_open(client, reviewer_of, page, pk_of):
    other = task_with_proposal(queue_slug="legal")
    client.force_login(reviewer_of("standard"))

    response = client.get(reverse(f"admin:{page}_change", args=[pk_of(other)]))

    assert response.status_code == 302  # the admin's answer for a row that does not exist
    assert response.url == reverse("admin:index")


def test_cases_that_never_reached_review_are_hidden_from_reviewers(client, reviewer_of):
    from refunds.tests.factories import RefundRequestFactory

    auto = RefundRequestFactory(status=RefundStatus.EXECUTED)
    client.force_login(reviewer_of("standard"))

    listing = client.get(reverse("admin:refunds_refundrequest_changelist"))

    assert f"/{auto.pk}/change/" not in listing.text


@pytest.mark.parametrize("role", [roles.SENIOR_REVIEWER, roles.AUDITOR, roles.POLICY_ADMIN])
def test_senior_reviewers_auditors_and_policy_admins_see_every_case(client, role_user, role):
    from refunds.tests.factories import RefundRequestFactory

    auto, legal = (
        RefundRequestFactory(status=RefundStatus.EXECUTED),
        task_with_proposal(queue_slug="legal"),
    )
    client.force_login(role_user(role))

    listing = client.get(reverse("admin:refunds_refundrequest_changelist"))

    assert f"/{auto.pk}/change/" in listing.text
    assert f"/{legal.request.pk}/change/" in listing.text


def test_a_reviewer_opens_only_the_timelines_of_their_queues(client, reviewer_of):
    mine, other = task_with_proposal(), task_with_proposal(queue_slug="legal")
    client.force_login(reviewer_of("standard"))

    def timeline(task):
        url = reverse("admin:refunds_refundrequest_timeline", args=[task.request.pk])
        return client.get(url).status_code

    assert (timeline(mine), timeline(other)) == (200, 404)


def test_reviewers_see_only_the_proposals_of_their_queues(client, reviewer_of):
    mine, other = task_with_proposal(), task_with_proposal(queue_slug="legal")
    mine_proposal, other_proposal = proposal_for(mine.request), proposal_for(other.request)
    client.force_login(reviewer_of("standard"))

    listing = client.get(reverse("admin:refunds_proposal_changelist"))
    hidden = client.get(reverse("admin:refunds_proposal_change", args=[other_proposal.pk]))

    assert f"/{mine_proposal.pk}/change/" in listing.text
    assert f"/{other_proposal.pk}/change/" not in listing.text
    assert hidden.status_code == 302


@pytest.mark.parametrize("role", [roles.AUDITOR, roles.SENIOR_REVIEWER, roles.POLICY_ADMIN])
def test_auditors_and_seniors_read_the_full_provenance_of_any_proposal(client, role_user, role):
    task = task_with_proposal(queue_slug="legal")
    proposal = proposal_for(
        task.request,
        prompt_messages=[{"role": "system", "content": "You draft refund decisions."}],
        raw_output={"content": "", "tool_calls": [{"name": "RefundDecision"}]},
        token_usage={"input_tokens": 812, "output_tokens": 97, "total_tokens": 909},
    )
    client.force_login(role_user(role))

    page = client.get(reverse("admin:refunds_proposal_change", args=[proposal.pk]))

    assert page.status_code == 200
    assert "You draft refund decisions." in page.text
    assert "909" in page.text
    assert "Damaged on arrival" in page.text  # a retrieved section with its score


def test_policy_admins_edit_refund_policies_in_the_admin(client, role_user):
    from refunds.models import RefundPolicy

    client.force_login(role_user(roles.POLICY_ADMIN))

    response = client.post(
        reverse("admin:refunds_refundpolicy_add"),
        {
            "slug": "returns",
            "title": "Returns",
            "text": "Intro.\n\n## Return window\n30 days from delivery.\n",
            "change_note": "First version.",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].errors
    assert RefundPolicy.objects.get(slug="returns").versions.get().version == 1


@pytest.mark.parametrize("role", [roles.AUDITOR, roles.REVIEWER, roles.SENIOR_REVIEWER])
def test_only_policy_admins_may_change_refund_policies(client, role_user, role):
    client.force_login(role_user(role))

    response = client.get(reverse("admin:refunds_refundpolicy_add"))

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (roles.REVIEWER, 200),
        (roles.SENIOR_REVIEWER, 200),
        (roles.POLICY_ADMIN, 200),
        (roles.AUDITOR, 200),
        (roles.INTEGRATION, 403),
    ],
)
def test_who_may_read_the_refund_policy_in_the_admin(client, role_user, role, status):
    from refunds.tests.factories import policy_version

    version = policy_version()
    client.force_login(role_user(role))

    pages = [
        client.get(reverse("admin:refunds_refundpolicy_changelist")),
        client.get(reverse("admin:refunds_refundpolicyversion_change", args=[version.pk])),
    ]

    assert [page.status_code for page in pages] == [status, status]


def test_a_policy_version_shows_what_changed_from_the_previous_one(client, role_user):
    from refunds.tests.factories import POLICY_TEXT, policy_version

    first = policy_version()
    second = policy_version(POLICY_TEXT.replace("30 days", "14 days", 1))
    client.force_login(role_user(roles.AUDITOR))

    page = client.get(reverse("admin:refunds_refundpolicyversion_change", args=[second.pk]))
    first_page = client.get(reverse("admin:refunds_refundpolicyversion_change", args=[first.pk]))

    assert page.status_code == 200
    changed = [line for line in page.text.splitlines() if line.startswith(("-", "+"))]
    assert any("30 days" in line for line in changed if line.startswith("-"))
    assert any("14 days" in line for line in changed if line.startswith("+"))
    assert "first version" in first_page.text


def test_task_list_shows_short_request_ids_and_the_amount(client, reviewer_of):
    task = task_with_proposal(amount="42.50")
    client.force_login(reviewer_of("standard"))

    html = client.get(reverse("admin:reviews_reviewtask_changelist")).content.decode()

    uuid = str(task.request.public_id)
    assert f'<code class="hitl-id" title="{uuid}">{uuid[:8]}</code>' in html
    assert f'<span class="hitl-money">42.50 {task.request.currency}</span>' in html
