"""The SLA warning scan: tasks due within the window, once per task version."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from audit.services import Actor
from notifications.collect import _warn, notifications_sla_scan
from notifications.models import Kind, Notification, SlaWarning
from refunds.tests.factories import UserFactory
from reviews.services import queue_owners_set, review_task_claim
from reviews.tests.factories import queue, task_with_proposal


def _due_in(minutes: int):
    return task_with_proposal(due_at=timezone.now() + timedelta(minutes=minutes))


def _warned() -> set[str]:
    return set(
        Notification.objects.filter(kind=Kind.SLA_WARNING).values_list(
            "recipient__username", flat=True
        )
    )


def test_an_unclaimed_task_about_to_miss_its_sla_warns_the_queue(reviewer_of, settings):
    settings.HITL_NOTIFY_SLA_WARNING_MINUTES = 30
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    _due_in(10)

    assert notifications_sla_scan() == 1
    assert _warned() == {alice.username, bob.username}


def test_a_claimed_task_warns_only_its_assignee(reviewer_of):
    alice, _ = reviewer_of("standard"), reviewer_of("standard")
    review_task_claim(task=_due_in(10), user=alice)

    notifications_sla_scan()

    assert _warned() == {alice.username}


def test_the_queue_owners_are_warned_too(reviewer_of):
    alice = reviewer_of("standard")
    lead = UserFactory(is_staff=True)
    queue_owners_set(queue=queue("standard"), owners=[lead], actor=Actor.system("tests"))
    review_task_claim(task=_due_in(10), user=alice)

    notifications_sla_scan()

    assert _warned() == {alice.username, lead.username}


def test_a_task_due_later_than_the_window_is_not_warned(reviewer_of, settings):
    settings.HITL_NOTIFY_SLA_WARNING_MINUTES = 30
    reviewer_of("standard")
    _due_in(45)

    assert notifications_sla_scan() == 0


def test_a_task_is_warned_once_per_version(reviewer_of):
    alice = reviewer_of("standard")
    task = _due_in(10)
    notifications_sla_scan()

    assert notifications_sla_scan() == 0
    review_task_claim(task=task, user=alice)  # a new version: a new warning
    assert notifications_sla_scan() == 1
    assert SlaWarning.objects.count() == 2


def test_the_marker_refuses_a_second_warning_for_the_same_version(reviewer_of):
    reviewer_of("standard")
    task = _due_in(10)
    _warn(task, timezone.now())

    with pytest.raises(IntegrityError):
        _warn(task, timezone.now())
    assert Notification.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_scanners_at_once_warn_once(reviewer_of):
    reviewer_of("standard")
    _due_in(10)
    barrier, results = threading.Barrier(2), []

    def scan():
        try:
            barrier.wait()
            results.append(notifications_sla_scan())
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(results) == 1
    assert Notification.objects.count() == 1
