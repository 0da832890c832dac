"""Races on real concurrent PostgreSQL connections: exactly one decision takes effect, the
others get a clear refusal, and nothing half-done remains."""

import threading
from decimal import Decimal

import pytest
from django.db import connections

from audit.models import AuditEvent
from hitl_site import roles
from hitl_site.errors import ApplicationError
from refunds.states import RefundStatus
from reviews.models import ReviewDecision, ReviewTask, TaskStatus
from reviews.services import (
    review_decide,
    review_task_expire,
    review_task_open,
    review_task_reassign,
)
from reviews.tests.factories import task_with_proposal

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def no_execution(monkeypatch):
    monkeypatch.setattr("refunds.jobs.enqueue_refund_request_execution", lambda pk: None)


def race(*calls):
    """Runs the calls at the same moment on their own connections; returns their results
    (the return value, or the exception raised)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # collected and asserted by the caller
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def split(results):
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, ApplicationError) for e in losses), losses
    return wins, losses


def assert_one_final(task):
    task = ReviewTask.objects.get(pk=task.pk)
    assert ReviewDecision.objects.filter(task=task, is_final=True).count() == 1
    assert task.status == TaskStatus.DECIDED
    return task


def test_two_reviewers_approving_at_once_one_wins(reviewer_of):
    task = task_with_proposal(amount="20.00")
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    wins, losses = split(
        race(
            lambda: review_decide(task=task, user=alice, outcome="approve"),
            lambda: review_decide(
                task=task,
                user=bob,
                outcome="approve_with_edits",
                action="approve_refund",
                amount=Decimal("10.00"),
            ),
        )
    )
    assert len(wins) == 1 and len(losses) == 1
    assert losses[0].code == "task_already_decided"
    assert "Already decided by" in losses[0].message
    assert_one_final(task)
    request = type(task.request).objects.get(pk=task.request.pk)
    assert request.status == RefundStatus.APPROVED
    assert request.final_amount == wins[0].amount
    assert AuditEvent.objects.filter(event_type="decision.finalized").count() == 1


def test_double_click_decides_once(reviewer_of):
    task = task_with_proposal()
    alice = reviewer_of("standard")
    results = race(
        *[
            lambda: review_decide(
                task=task, user=alice, outcome="approve", expected_version=task.version
            )
        ]
        * 4
    )
    wins, losses = split(results)
    assert len(wins) == 1 and {e.code for e in losses} == {"task_already_decided"}
    assert_one_final(task)


def test_approve_and_reject_at_once_leave_one_consistent_outcome(reviewer_of):
    task = task_with_proposal()
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    wins, _ = split(
        race(
            lambda: review_decide(task=task, user=alice, outcome="approve"),
            lambda: review_decide(
                task=task, user=bob, outcome="reject", reason_code="other", comment="No."
            ),
        )
    )
    assert len(wins) == 1
    assert_one_final(task)
    status = type(task.request).objects.get(pk=task.request.pk).status
    assert (
        status
        == {"approve": RefundStatus.APPROVED, "reject": RefundStatus.REJECTED}[wins[0].outcome]
    )


def test_decision_racing_a_reassignment(reviewer_of):
    task = task_with_proposal()
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)
    wins, losses = split(
        race(
            lambda: review_decide(
                task=task, user=alice, outcome="approve", expected_version=task.version
            ),
            lambda: review_task_reassign(task=task, to_user=bob, by=senior),
        )
    )
    assert len(wins) == 1 and len(losses) == 1
    task = ReviewTask.objects.get(pk=task.pk)
    if isinstance(wins[0], ReviewDecision):  # the decision came first: reassigning refused
        assert losses[0].code == "task_already_decided"
        assert_one_final(task)
    else:  # the reassignment came first: alice's stale form refused, nothing decided
        assert losses[0].code in ("task_changed", "task_claimed")
        assert task.assignee == bob and not ReviewDecision.objects.exists()
        assert type(task.request).objects.get(pk=task.request.pk).status == "in_review"


def test_decision_racing_the_sla_expiry(reviewer_of):
    task = task_with_proposal()
    ReviewTask.objects.filter(pk=task.pk).update(deadline_at=task.created_at)
    alice = reviewer_of("standard")
    results = race(
        lambda: review_decide(task=task, user=alice, outcome="approve"),
        lambda: review_task_expire(task=task),
    )
    request = type(task.request).objects.get(pk=task.request.pk)
    task = ReviewTask.objects.get(pk=task.pk)
    if isinstance(results[0], Exception):  # expiry first
        assert results[0].code == "task_expired" and results[1] is True
        assert request.status == RefundStatus.EXPIRED and request.final_action == ""
        assert not ReviewDecision.objects.exists()
    else:
        assert results[1] is False
        assert request.status == RefundStatus.APPROVED and task.status == TaskStatus.DECIDED


def test_concurrent_opens_make_one_task():
    task = task_with_proposal()
    ReviewTask.objects.all().delete()
    request = task.request
    results = race(
        *[lambda: review_task_open(request=request, queue_slug="standard", priority=1, reasons=[])]
        * 4
    )
    wins, _ = split(results)
    assert len({t.pk for t in wins}) == 1 == ReviewTask.objects.filter(request=request).count()


def test_four_eyes_two_first_approvals_at_once(reviewer_of, settings):
    settings.REVIEW_FOUR_EYES_AMOUNT = "100.00"
    task = task_with_proposal(amount="150.00")
    alice, bob = reviewer_of("standard"), reviewer_of("standard")
    wins, _ = split(
        race(
            lambda: review_decide(task=task, user=alice, outcome="approve"),
            lambda: review_decide(task=task, user=bob, outcome="approve"),
        )
    )
    # serialised by the task lock: the first is pending, the second (a different person,
    # same figures) confirms it
    assert len(wins) == 2
    assert ReviewDecision.objects.filter(pending=True).count() == 0
    final = ReviewDecision.objects.get(is_final=True)
    assert final.confirms is not None and final.confirms.reviewer != final.reviewer


def test_five_approvals_on_one_order_at_once_spend_it_once(reviewer_of):
    """Issue 13: five review tasks on one 20.00 order, each proposing 20.00, approved by
    five reviewers at the same moment. The first to lock the order reserves it; the other
    four are refused at decision time with what is left — not told "approved" and then
    failed by the executor."""
    from refunds.execution.executor import execution_run
    from refunds.models import RefundRequest
    from refunds.tests.factories import OrderFactory, RefundRequestFactory

    order = OrderFactory(amount=Decimal("20.00"))
    tasks = [
        task_with_proposal(
            amount="20.00",
            request=RefundRequestFactory(
                status=RefundStatus.IN_REVIEW, order=order, requested_amount=Decimal("20.00")
            ),
        )
        for _ in range(5)
    ]
    reviewers = [reviewer_of("standard") for _ in tasks]

    results = race(
        *[
            lambda t=t, u=u: review_decide(task=t, user=u, outcome="approve")
            for t, u in zip(tasks, reviewers, strict=True)
        ]
    )
    wins, losses = split(results)
    executed = [
        execution_run(request_id=t.request.pk).status for t in tasks
    ]  # what each approval came to
    print(
        f"\n5-approval race: approved={len(wins)} refused={len(losses)} "
        f"executed={executed.count(RefundStatus.EXECUTED)} failed={executed.count('failed')}"
    )

    assert len(wins) == 1 and len(losses) == 4
    assert {e.code for e in losses} == {"refund_exceeds_remaining"}
    assert all("(0.00 GBP of 20.00 GBP" in e.message for e in losses), losses
    assert executed.count(RefundStatus.EXECUTED) == 1 and "failed" not in executed
    statuses = sorted(RefundRequest.objects.filter(order=order).values_list("status", flat=True))
    assert statuses == [RefundStatus.EXECUTED] + [RefundStatus.IN_REVIEW] * 4
    # The refused reviewers' tasks stay open for a rejection (or a smaller amount).
    assert (
        ReviewTask.objects.filter(pk__in=[t.pk for t in tasks], status=TaskStatus.OPEN).count() == 4
    )
