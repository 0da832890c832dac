"""Oversight quality on the dashboard: approvals left unchanged, time per decision, the
rubber-stamp warning and the agreement of draft and final decision by reason code."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import oversight
from analytics.facts import DashboardFilters
from analytics.tests.factories import decided
from refunds.models import CustomerFeedback
from refunds.tests.factories import RefundRequestFactory, UserFactory
from reviews.models import Outcome

pytestmark = pytest.mark.django_db
URL = "/review/dashboard/"


def period() -> DashboardFilters:
    now = timezone.now()
    return DashboardFilters(start=now - timedelta(days=1), end=now + timedelta(seconds=1))


def decision_by(reviewer, *, seconds: float = 60, reason_codes: str = "", **kwargs):
    """A final decision by ``reviewer`` taken ``seconds`` after they claimed the task."""
    made = decided(reviewer=reviewer, **kwargs)
    task = made.task
    task.claimed_at = made.created_at - timedelta(seconds=seconds)
    task.assignee = reviewer
    task.reason_codes = reason_codes
    task.save(update_fields=["claimed_at", "assignee", "reason_codes"])
    return made


def stamp(reviewer, n: int = 20, seconds: float = 5) -> None:
    for _ in range(n):
        decision_by(reviewer, seconds=seconds)


def row_of(name: str) -> dict:
    return next(r for r in oversight.reviewer_oversight(period()) if r["reviewer"] == name)


def test_share_approved_unchanged_counts_only_approvals_of_the_draft_as_it_was():
    alice = UserFactory(username="alice")
    decision_by(alice)  # approved as drafted
    decision_by(alice, outcome=Outcome.APPROVE_WITH_EDITS, amount="12.00")  # amount changed
    decision_by(alice, outcome=Outcome.REJECT, action="", amount=None, reason_code="duplicate")
    decision_by(alice, proposed_action="", proposed_amount=None)  # nothing was drafted

    row = row_of("alice")

    assert (row["decided"], row["unchanged"]) == (4, 1)
    assert row["unchanged_share"] == 0.25


def test_median_seconds_per_decision_is_measured_from_the_reviewers_claim():
    bob = UserFactory(username="bob")
    for seconds in (10, 30, 600):
        decision_by(bob, seconds=seconds)

    median = row_of("bob")["median_seconds"]

    assert 30 / 1.045 <= median <= 30 * 1.045  # the histogram's precision


def test_median_counts_from_the_tasks_creation_when_it_was_decided_without_a_claim():
    carol = UserFactory(username="carol")
    decided(reviewer=carol, waited=timedelta(minutes=10))  # no claim recorded

    assert row_of("carol")["median_seconds"] == pytest.approx(600, rel=0.045)


def test_fast_unchanged_approvals_over_enough_decisions_are_flagged_as_a_rubber_stamp():
    dave = UserFactory(username="dave")
    stamp(dave, n=20, seconds=5)

    assert row_of("dave")["rubber_stamp"] is True


def test_too_few_decisions_are_not_flagged():
    erin = UserFactory(username="erin")
    stamp(erin, n=19, seconds=5)

    assert row_of("erin")["rubber_stamp"] is False


def test_slow_unchanged_approvals_are_not_flagged():
    frank = UserFactory(username="frank")
    stamp(frank, n=20, seconds=45)

    assert row_of("frank")["rubber_stamp"] is False


def test_a_reviewer_who_edits_some_drafts_is_not_flagged():
    grace = UserFactory(username="grace")
    stamp(grace, n=18, seconds=5)
    for _ in range(2):
        decision_by(grace, seconds=5, outcome=Outcome.APPROVE_WITH_EDITS, amount="1.00")

    row = row_of("grace")

    assert row["unchanged_share"] == 0.9 and row["rubber_stamp"] is False


def test_rubber_stamp_thresholds_are_settings(settings):
    settings.HITL_RUBBER_STAMP_MIN_DECISIONS = 3
    settings.HITL_RUBBER_STAMP_MEDIAN_SECONDS = 120
    heidi = UserFactory(username="heidi")
    stamp(heidi, n=3, seconds=60)

    assert row_of("heidi")["rubber_stamp"] is True


def test_agreement_by_reason_code_counts_a_case_under_each_of_its_codes():
    ivan = UserFactory()
    decision_by(ivan, reason_codes=",amount_over_ceiling,")  # agreed
    decision_by(  # same action, other amount
        ivan,
        reason_codes=",amount_over_ceiling,risk_term,",
        outcome=Outcome.APPROVE_WITH_EDITS,
        amount="5.00",
    )
    decision_by(  # refused the drafted refund
        ivan,
        reason_codes=",risk_term,",
        outcome=Outcome.REJECT,
        action="",
        amount=None,
        reason_code="suspected_fraud",
    )
    decision_by(ivan, proposed_action="", proposed_amount=None)  # no code, no draft

    rows = {r["reason_code"]: r for r in oversight.agreement_by_reason_code(period())}

    ceiling, risk = rows["amount_over_ceiling"], rows["risk_term"]
    assert (ceiling["cases"], ceiling["action_agreed"], ceiling["agreed"]) == (2, 2, 1)
    assert ceiling["agreement_rate"] == 0.5 and ceiling["action_agreement_rate"] == 1.0
    assert (risk["cases"], risk["action_agreed"], risk["agreed"]) == (2, 1, 0)
    none = rows[oversight.NO_REASON]
    assert (none["cases"], none["with_draft"], none["agreement_rate"]) == (1, 0, None)


def test_oversight_figures_cost_one_query_each_whatever_the_rows(django_assert_num_queries):
    for i in range(3):
        reviewer = UserFactory()
        for seconds in (5, 50, 500):
            decision_by(reviewer, seconds=seconds * (i + 1), reason_codes=f",code_{i},")

    with django_assert_num_queries(1):
        assert len(oversight.reviewer_oversight(period())) == 3
    with django_assert_num_queries(1):
        assert len(oversight.agreement_by_reason_code(period())) == 3


def test_oversight_follows_the_dashboard_filters():
    judy = UserFactory(username="judy")
    decision_by(judy, channel="email")
    decision_by(judy, channel="web")

    f = DashboardFilters(start=period().start, end=period().end, channel="email")

    assert [r["decided"] for r in oversight.reviewer_oversight(f)] == [1]


def feedback(score: int, path: str, *, channel: str = "web", days_ago: int = 0):
    made = CustomerFeedback.objects.create(
        request=RefundRequestFactory(channel=channel), score=score, path=path
    )
    at = timezone.now() - timedelta(days=days_ago)
    CustomerFeedback.objects.filter(pk=made.pk).update(created_at=at)


def test_satisfaction_by_path_counts_and_averages_the_scores_of_the_period():
    feedback(5, "auto_approved")
    feedback(4, "auto_approved")
    feedback(2, "human_reviewed")
    feedback(1, "auto_approved", days_ago=3)  # before the period

    rows = {r["path"]: r for r in oversight.satisfaction_by_path(period())}

    assert (rows["auto_approved"]["count"], rows["auto_approved"]["mean"]) == (2, 4.5)
    assert (rows["human_reviewed"]["count"], rows["human_reviewed"]["mean"]) == (1, 2)
    assert (rows["denied"]["count"], rows["denied"]["mean"]) == (0, None)


def test_satisfaction_by_path_follows_the_channel_filter_in_one_query(
    django_assert_num_queries,
):
    feedback(5, "denied", channel="email")
    feedback(1, "denied", channel="web")
    f = DashboardFilters(start=period().start, end=period().end, channel="email")

    with django_assert_num_queries(1):
        rows = {r["path"]: r for r in oversight.satisfaction_by_path(f)}

    assert (rows["denied"]["count"], rows["denied"]["mean"]) == (1, 5)


# --- On the page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, sees",
    [
        ("reviewer", False),
        ("integration", False),
        ("senior_reviewer", True),
        ("policy_admin", True),
        ("auditor", True),
    ],
)
def test_per_reviewer_figures_are_shown_only_to_holders_of_the_dashboard_permission(
    client, role_user, role, sees
):
    decision_by(UserFactory(username="karl"), seconds=12)
    client.force_login(role_user(role))

    response = client.get(URL)

    html = response.content.decode()
    assert (response.status_code == 200) is sees
    assert ("karl" in html) is sees
    if sees:
        assert "Oversight by reviewer" in html and "12 s" in html


def test_dashboard_warns_about_a_rubber_stamping_reviewer(client, role_user):
    stamp(UserFactory(username="mallory"), n=20, seconds=4)
    decision_by(UserFactory(username="trent"), seconds=300)
    client.force_login(role_user("senior_reviewer"))

    html = " ".join(client.get(URL).content.decode().split())

    assert "Rubber stamp?</strong> mallory approved 100.0% of 20 decisions" in html
    assert "trent approved" not in html


def test_dashboard_shows_agreement_by_reason_code(client, role_user):
    decision_by(UserFactory(), reason_codes=",sentiment_requires_review,")
    client.force_login(role_user("auditor"))

    html = "".join(client.get(URL).content.decode().split())

    assert "<td>sentiment_requires_review</td><td>1</td><td>1</td><td>100.0%</td>" in html


def test_dashboard_shows_customer_satisfaction_by_path(client, role_user):
    feedback(5, "auto_approved")
    feedback(2, "auto_approved")
    client.force_login(role_user("policy_admin"))

    html = "".join(client.get(URL).content.decode().split())

    assert "Customersatisfactionbypath" in html
    assert "<td>Auto-approved</td><td>2</td><td>3.50</td>" in html
    assert "<td>Denied</td><td>0</td><td>n/a</td>" in html
