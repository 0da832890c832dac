"""The decision page's "Similar past cases and how they were decided" section, per role."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from hitl_site import roles
from reviews.tests.factories import proposal_for, task_with_proposal
from reviews.tests.precedent_cases import decided_case

pytestmark = pytest.mark.django_db


def task_that_saw(*past):
    """A task whose latest draft was shown ``past`` decisions (as the pipeline stores them)."""
    task = task_with_proposal()
    proposal_for(
        task.request,
        precedents=[
            {
                "cite": f"P{i}",
                "decision": d.pk,
                "task": d.task_id,
                "similarity": 0.71,
                "outcome": d.outcome,
                "proposed_action": "approve_refund",
                "proposed_amount": "20.00",
                "final_action": "approve_refund",
                "final_amount": "10.00",
                "reviewer_reason": "",
                "excerpt": "Opened and used the [e-mail] headphones",
                "note": "Used: half back.",
                "decided_at": d.created_at.isoformat(),
                "withheld": [],
            }
            for i, d in enumerate(past, start=1)
        ],
    )
    return task


def page(client, user, task):
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("reviews:task", args=[task.pk]))
    return response, len(ctx)


def test_a_reviewer_of_the_queue_sees_how_similar_cases_were_decided(client, reviewer_of):
    past = decided_case("Opened the headphones")
    task = task_that_saw(past)

    response, _ = page(client, reviewer_of("standard"), task)

    text = response.text
    assert response.status_code == 200
    assert "Similar past cases and how they were decided" in text
    assert "Opened and used the [e-mail] headphones" in text
    assert "approve refund 20.00" in text and "approve refund 10.00" in text
    assert "Used: half back." in text
    assert reverse("reviews:task", args=[past.task_id]) in text


def test_the_past_task_is_linked_only_for_a_viewer_who_may_open_it(client, reviewer_of):
    past = decided_case("Opened the headphones", queue_slug="legal")
    task = task_that_saw(past)

    response, _ = page(client, reviewer_of("standard"), task)

    assert "Used: half back." in response.text
    assert reverse("reviews:task", args=[past.task_id]) not in response.text


@pytest.mark.parametrize(
    "role, status", [(roles.AUDITOR, 404), (roles.POLICY_ADMIN, 404), (roles.INTEGRATION, 403)]
)
def test_users_outside_the_queue_are_refused_as_before(client, role_user, role, status):
    task = task_that_saw(decided_case("Opened the headphones"))
    client.force_login(role_user(role))

    assert client.get(reverse("reviews:task", args=[task.pk])).status_code == status


def test_without_precedents_the_section_says_so(client, reviewer_of):
    response, _ = page(client, reviewer_of("standard"), task_with_proposal())

    assert "No similar past case was shown to the drafter." in response.text


def test_the_section_costs_one_query_however_many_precedents(client, reviewer_of):
    user = reviewer_of("standard")
    one = page(client, user, task_that_saw(decided_case("a")))[1]
    few = page(client, user, task_that_saw(*(decided_case(f"case {i}") for i in range(3))))[1]
    none = page(client, user, task_with_proposal())[1]

    assert one == few == none + 1
