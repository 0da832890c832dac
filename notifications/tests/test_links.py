"""The one-time confirm links: bound to one user and one task version, once, until they
expire; every refusal audited; opening decides nothing."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Actor
from notifications.links import LinkRefused, confirm_link_create, confirm_link_use
from notifications.models import ConfirmLink
from reviews.models import ReviewDecision
from reviews.services import (
    queue_access_revoke,
    review_decide,
    review_task_claim,
    review_task_reassign,
)
from reviews.tests.factories import queue, task_with_proposal

from .factories import notification_for


def _token_for(user, task) -> str:
    url = confirm_link_create(notification=notification_for(user, task=task))
    return url.rstrip("/").rsplit("/", 1)[1]


def _url(token: str) -> str:
    return reverse("notifications:confirm", kwargs={"token": token})


@pytest.fixture
def reviewer(reviewer_of):
    return reviewer_of("standard")


@pytest.fixture
def task(db):
    return task_with_proposal(amount="40.00")


def _refusals() -> list[str]:
    return list(
        AuditEvent.objects.filter(event_type="notification.link_refused").values_list(
            "payload__reason", flat=True
        )
    )


def test_the_bound_reviewer_opens_the_confirm_page_which_posts_to_the_decision_endpoint(
    client, reviewer, task
):
    client.force_login(reviewer)

    response = client.get(_url(_token_for(reviewer, task)))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'action="{reverse("reviews:decide", args=[task.pk])}"' in html
    assert f'name="version" value="{task.version}"' in html
    assert ConfirmLink.objects.get().used_at is not None
    assert AuditEvent.objects.filter(event_type="notification.link_opened").count() == 1


def test_opening_a_link_decides_nothing(client, reviewer, task):
    client.force_login(reviewer)

    client.get(_url(_token_for(reviewer, task)))

    task.refresh_from_db()
    assert task.status == "open" and not ReviewDecision.objects.exists()


def test_the_confirm_form_decides_through_the_authenticated_decision_endpoint(
    client, reviewer, task
):
    client.force_login(reviewer)
    client.get(_url(_token_for(reviewer, task)))

    response = client.post(
        reverse("reviews:decide", args=[task.pk]),
        {
            "outcome": "approve",
            "version": task.version,
            "edit_action": "approve_refund",
            "edit_amount": "40.00",
        },
    )

    assert response.status_code == 302
    assert ReviewDecision.objects.get().reviewer == reviewer


def test_a_link_works_once(client, reviewer, task):
    client.force_login(reviewer)
    url = _url(_token_for(reviewer, task))
    client.get(url)

    response = client.get(url)

    assert response.status_code == 410
    assert 'data-reason="used"' in response.content.decode()
    assert _refusals() == ["used"]


def test_another_users_link_is_not_found_and_the_attempt_is_audited(
    client, reviewer, reviewer_of, task
):
    colleague = reviewer_of("standard")
    client.force_login(colleague)

    response = client.get(_url(_token_for(reviewer, task)))

    assert response.status_code == 404
    assert _refusals() == ["not_yours"]
    assert ConfirmLink.objects.get().used_at is None  # still works for its owner


def test_an_unknown_token_is_not_found(client, reviewer):
    client.force_login(reviewer)

    assert client.get(_url("not-a-token")).status_code == 404


def test_an_expired_link_is_refused(client, reviewer, task):
    client.force_login(reviewer)
    token = _token_for(reviewer, task)
    ConfirmLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.get(_url(token))

    assert response.status_code == 410 and _refusals() == ["expired"]


def test_reassignment_kills_the_link(client, reviewer, reviewer_of, task):
    senior = reviewer_of("standard", role="senior_reviewer")
    client.force_login(reviewer)
    token = _token_for(reviewer, task)
    review_task_reassign(task=task, to_user=senior, by=senior)

    response = client.get(_url(token))

    assert response.status_code == 410 and _refusals() == ["changed"]


def test_a_claim_by_someone_else_kills_the_link(client, reviewer, reviewer_of, task):
    client.force_login(reviewer)
    token = _token_for(reviewer, task)
    review_task_claim(task=task, user=reviewer_of("standard"))

    assert client.get(_url(token)).status_code == 410
    assert _refusals() == ["changed"]


def test_a_link_to_a_decided_case_is_refused(client, reviewer, reviewer_of, task):
    client.force_login(reviewer)
    token = _token_for(reviewer, task)
    review_decide(task=task, user=reviewer_of("standard"), outcome="approve")

    assert client.get(_url(token)).status_code == 410
    assert _refusals() == ["closed"]


def test_a_link_is_refused_once_the_queue_access_is_revoked(client, reviewer, task):
    client.force_login(reviewer)
    token = _token_for(reviewer, task)
    queue_access_revoke(queue=queue("standard"), user=reviewer, actor=Actor.system("tests"))

    assert client.get(_url(token)).status_code == 410
    assert _refusals() == ["forbidden"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("reviewer", 200),  # the bound user
        ("senior_reviewer", 404),
        ("policy_admin", 404),
        ("auditor", 404),
        ("integration", 403),
        ("anonymous", 302),
    ],
)
def test_who_may_open_a_confirm_link(client, reviewer, role_user, task, role, expected):
    token = _token_for(reviewer, task)
    if role == "reviewer":
        client.force_login(reviewer)
    elif role != "anonymous":
        client.force_login(role_user(role))

    response = client.get(_url(token))

    assert response.status_code == expected
    if role == "anonymous":
        assert response["Location"].startswith(reverse("admin:login"))


def test_the_confirm_page_query_count(client, reviewer, task, django_assert_num_queries):
    client.force_login(reviewer)
    url = _url(_token_for(reviewer, task))

    with django_assert_num_queries(QUERIES_CONFIRM_PAGE):
        client.get(url)


# session, user, machine check, link, permissions (3), queues, the used-marker with its audit
# event (savepoint, update, chain head, insert, release), the proposal (2)
QUERIES_CONFIRM_PAGE = 14


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_opens_of_one_link_let_exactly_one_through(reviewer_of):
    reviewer = reviewer_of("standard")
    token = _token_for(reviewer, task_with_proposal())
    barrier, outcomes = threading.Barrier(2), []

    def open_link():
        try:
            barrier.wait()
            confirm_link_use(token=token, user=reviewer)
            outcomes.append("opened")
        except LinkRefused as refused:
            outcomes.append(refused.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_link) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["opened", "used"]
    assert AuditEvent.objects.filter(event_type="notification.link_opened").count() == 1
