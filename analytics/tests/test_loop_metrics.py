"""The dashboard's figures, computed by the database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import facts, loop_metrics
from analytics.tests.factories import decided, executed, routed
from refunds.models import Execution
from refunds.tests.factories import UserFactory
from reviews.models import Outcome
from reviews.tests.factories import ReviewTaskFactory

pytestmark = pytest.mark.django_db


def period(**kwargs) -> facts.DashboardFilters:
    now = timezone.now()
    return facts.DashboardFilters(
        start=now - timedelta(days=7), end=now + timedelta(seconds=1), **kwargs
    )


def test_routing_summary_counts_auto_approvals_and_reviews_in_the_period():
    routed(route="auto")
    routed(route="auto")
    routed(route="review")
    routed(route="review", at=timezone.now() - timedelta(days=30))  # outside
    row = loop_metrics.routing_summary(period())
    assert (row["total"], row["auto"], row["review"]) == (3, 2, 1)
    assert row["auto_rate"] == pytest.approx(2 / 3)


def test_routing_summary_filters_by_channel_provider_queue_and_policy_version():
    routed(route="auto", channel="chat")
    routed(route="review", provider="openai", queue_slug="senior")
    assert loop_metrics.routing_summary(period(channel="chat"))["total"] == 1
    assert loop_metrics.routing_summary(period(provider="openai"))["review"] == 1
    assert loop_metrics.routing_summary(period(queue="senior"))["total"] == 1
    assert loop_metrics.routing_summary(period(policy_version=999))["total"] == 0


def test_decision_summary_counts_overrides_of_action_or_amount():
    decided()  # as proposed
    decided(outcome=Outcome.APPROVE_WITH_EDITS, amount="15.00")  # amount changed
    decided(outcome=Outcome.REJECT, action="", amount=None, reason_code="suspected_fraud")
    decided(outcome=Outcome.APPROVE_WITH_EDITS, proposed_action="", proposed_amount=None)
    row = loop_metrics.decision_summary(period())
    assert row["total"] == 4
    assert row["with_proposal"] == 3
    assert row["overridden"] == 2
    assert row["action_changed"] == 1
    assert row["override_rate"] == pytest.approx(2 / 3)
    assert (row["approved"], row["rejected"]) == (3, 1)


def test_a_rejection_of_a_proposed_denial_is_no_override():
    decided(
        outcome=Outcome.REJECT,
        action="",
        amount=None,
        proposed_action="deny_refund",
        proposed_amount="0.00",
        reason_code="outside_window",
    )
    assert loop_metrics.decision_summary(period())["overridden"] == 0


def test_reason_codes_and_sla_misses():
    decided(outcome=Outcome.REJECT, action="", amount=None, reason_code="suspected_fraud")
    decided(outcome=Outcome.REJECT, action="", amount=None, reason_code="suspected_fraud")
    decided(
        outcome=Outcome.REJECT,
        action="",
        amount=None,
        reason_code="duplicate",
        waited=timedelta(hours=6),
    )
    assert loop_metrics.reason_code_distribution(period()) == [
        {"reason_code": "suspected_fraud", "n": 2},
        {"reason_code": "duplicate", "n": 1},
    ]
    assert loop_metrics.decision_summary(period())["sla_missed"] == 1


def test_review_latency_median_and_p95():
    for minutes in (10, 20, 30, 40, 600):
        decided(waited=timedelta(minutes=minutes))
    latency = loop_metrics.review_latency(period())
    assert latency["p50"] == pytest.approx(30 * 60, abs=1)
    # percentile_cont interpolates (PostgreSQL); the portable fallback takes the nearest rank
    assert 40 * 60 <= latency["p95"] <= 600 * 60


def test_review_latency_without_decisions_is_empty():
    assert loop_metrics.review_latency(period()) == {"p50": None, "p95": None}


def test_reviewer_agreement_compares_a_first_approval_with_the_final_decision():
    first = UserFactory()
    decided(
        amount="300.00",
        proposed_amount="300.00",
        earlier=(first, Outcome.APPROVE, "approve_refund", "300.00"),
    )  # confirmed
    decided(
        outcome=Outcome.REJECT,
        action="",
        amount=None,
        reason_code="suspected_fraud",
        earlier=(first, Outcome.APPROVE, "approve_refund", "300.00"),
    )  # disagreed
    decided(earlier=(first, Outcome.ESCALATE, "", None))  # escalated
    decided()  # one human
    row = loop_metrics.reviewer_agreement(period())
    assert (row["two_humans"], row["compared"], row["agreed"]) == (3, 2, 1)
    assert row["agreement_rate"] == 0.5


def test_execution_failure_rate():
    for phase in (Execution.Phase.RECORDED, Execution.Phase.RECORDED, Execution.Phase.FAILED):
        executed(routed(route="auto").request, phase=phase)
    row = loop_metrics.execution_summary(period())
    assert (row["total"], row["done"], row["failed"]) == (3, 2, 1)
    assert row["failure_rate"] == pytest.approx(1 / 3)


def test_queue_state_and_workload():
    ReviewTaskFactory(
        created_at=timezone.now() - timedelta(hours=3), due_at=timezone.now() - timedelta(hours=1)
    )
    ReviewTaskFactory()
    busy = UserFactory(username="busy")
    decided(reviewer=busy)
    decided(reviewer=busy, outcome=Outcome.APPROVE_WITH_EDITS, amount="5.00")
    ReviewTaskFactory(status="claimed", assignee=busy)
    [standard] = loop_metrics.queue_state(period())
    assert (standard["queue__slug"], standard["depth"], standard["overdue"]) == ("standard", 3, 1)
    assert standard["oldest_age_seconds"] >= 3 * 3600 - 5
    assert loop_metrics.reviewer_workload(period())[0] == {
        "reviewer": "busy",
        "decided": 2,
        "overridden": 1,
        "claimed": 1,
    }


def test_outcomes_by_path():
    routed(route="auto", status="executed")
    routed(route="auto", status="execution_failed")
    routed(route="review", status="rejected")
    paths = loop_metrics.outcomes_by_path(period())
    assert sorted(o["status"] for o in paths["auto"]) == ["executed", "execution_failed"]
    assert [o["label"] for o in paths["review"]] == ["rejected"]


def test_daily_series():
    routed(route="review")
    routed(route="auto")
    routed(route="review", at=timezone.now() - timedelta(days=2))
    decided(outcome=Outcome.APPROVE_WITH_EDITS, amount="1.00")
    days = loop_metrics.daily_routing(period())
    today = timezone.localdate()
    # decided() routes its case too (one hour before the decision)
    assert days[today]["total"] >= 2
    assert days[today - timedelta(days=2)] == {"total": 1, "auto": 0, "review": 1}
    assert loop_metrics.routing_summary_from_days(days) == loop_metrics.routing_summary(period())
    assert loop_metrics.daily_overrides(period())[today] == {"total": 1, "overridden": 1}
