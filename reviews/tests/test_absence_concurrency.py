"""The SLA sweep handing an absentee's claimed task to their delegate, racing the absentee
deciding it, on real concurrent PostgreSQL connections: never both."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from hitl_site.errors import ApplicationError
from reviews.models import ReviewDecision, ReviewTask, TaskStatus
from reviews.services import (
    review_decide,
    review_sla_sweep,
    review_task_claim,
    reviewer_absence_set,
)
from reviews.tests.factories import task_with_proposal
from reviews.tests.test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def no_execution(monkeypatch):
    monkeypatch.setattr("refunds.jobs.enqueue_refund_request_execution", lambda pk: None)


def test_sweep_handing_over_and_absentee_deciding_never_both_win(reviewer_of):
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    task = task_with_proposal()
    review_task_claim(task=task, user=alice)
    task.refresh_from_db()
    now = timezone.now()
    absence = reviewer_absence_set(
        user=alice,
        delegate=bob,
        starts_at=now + timedelta(minutes=1),
        ends_at=now + timedelta(hours=8),
        by=alice,
        now=now,
    )
    sweep_at = absence.starts_at + timedelta(seconds=1)

    counts, decided = race(
        lambda: review_sla_sweep(now=sweep_at),
        lambda: review_decide(
            task=task, user=alice, outcome="approve", expected_version=task.version
        ),
    )

    task = ReviewTask.objects.get(pk=task.pk)
    handed_over = AuditEvent.objects.filter(event_type="reviewer_absence.task_handed_over")
    if isinstance(decided, ReviewDecision):  # the decision came first: nothing to hand over
        assert counts["followed_absence"] == 0
        assert task.status == TaskStatus.DECIDED
        assert not handed_over.exists()
    else:  # the hand-over came first: alice's decision refused, nothing decided
        assert isinstance(decided, ApplicationError), decided
        assert decided.code in ("task_changed", "task_claimed")
        assert counts["followed_absence"] == 1
        assert (task.status, task.assignee_id) == (TaskStatus.CLAIMED, bob.pk)
        assert handed_over.count() == 1
        assert not ReviewDecision.objects.filter(task=task).exists()
