"""Backtesting a policy version over stored evaluations, as a service and as a command."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from refunds.gate.backtest import gate_backtest
from refunds.models import GatePolicyVersion
from refunds.states import RefundStatus
from refunds.tests.factories import GateEvaluationFactory, GatePolicyVersionFactory

pytestmark = pytest.mark.django_db

LONG_AGO = date(2000, 1, 1)


@pytest.fixture
def active():
    return GatePolicyVersion.objects.get(is_active=True)


@pytest.fixture
def generous():
    """A draft that auto-approves up to 100 (the stored orders have 40 refundable)."""
    return GatePolicyVersionFactory(auto_approve_ceiling=Decimal("100.00"))


def backtest(draft, active, since=LONG_AGO):
    return gate_backtest(draft=draft, since=since, baseline=active)


def test_backtest_counts_auto_and_review_for_both_versions(active, generous):
    GateEvaluationFactory(proposal__amount=Decimal("10.00"), route="auto")
    GateEvaluationFactory(proposal__amount=Decimal("35.00"))

    report = backtest(generous, active)

    assert (report.cases, report.draft.auto, report.draft.review) == (2, 2, 0)
    assert (report.baseline.auto, report.baseline.review) == (1, 1)


def test_backtest_counts_review_reasons(active, generous):
    GateEvaluationFactory(proposal__amount=Decimal("35.00"), proposal__customer_sentiment="angry")

    report = backtest(generous, active)

    assert report.baseline.by_reason == (
        ("amount_over_ceiling", 1),
        ("sentiment_requires_review", 1),
    )
    assert report.draft.by_reason == (("sentiment_requires_review", 1),)


def test_backtest_lists_the_cases_that_change_route(active, generous):
    moved = GateEvaluationFactory(proposal__amount=Decimal("35.00"))
    GateEvaluationFactory(proposal__needs_human_review=True)

    report = backtest(generous, active)

    (case,) = report.changed
    assert (case.request_public_id, case.baseline_route, case.draft_route) == (
        str(moved.request.public_id),
        "review",
        "auto",
    )


def test_backtest_counts_draft_auto_approvals_a_human_rejected(active, generous):
    GateEvaluationFactory(proposal__amount=Decimal("35.00"), request__status=RefundStatus.REJECTED)

    report = backtest(generous, active)

    assert (report.human_decided, report.draft_auto_human_rejected) == (1, 1)


def test_backtest_counts_draft_auto_approvals_a_human_edited(active, generous):
    GateEvaluationFactory(
        proposal__amount=Decimal("35.00"),
        request__status=RefundStatus.EXECUTED,
        request__final_action="approve_refund",
        request__final_amount=Decimal("30.00"),
    )

    report = backtest(generous, active)

    assert (report.draft_auto_human_edited, report.draft_auto_human_approved) == (1, 0)


def test_backtest_counts_draft_auto_approvals_a_human_approved_as_proposed(active, generous):
    GateEvaluationFactory(
        proposal__amount=Decimal("35.00"),
        request__status=RefundStatus.APPROVED,
        request__final_action="approve_refund",
        request__final_amount=Decimal("35.00"),
    )

    report = backtest(generous, active)

    assert (report.draft_auto_human_approved, report.draft_auto_human_overruled) == (1, 0)


def test_backtest_ignores_cases_still_waiting_for_a_human(active, generous):
    GateEvaluationFactory(proposal__amount=Decimal("35.00"), request__status=RefundStatus.IN_REVIEW)

    assert backtest(generous, active).human_decided == 0


def test_backtest_replays_only_the_latest_evaluation_of_a_request(active, generous):
    first = GateEvaluationFactory(
        proposal__amount=Decimal("35.00"), created_at=timezone.now() - timedelta(days=2)
    )
    GateEvaluationFactory(request=first.request, proposal__amount=Decimal("500.00"))

    report = backtest(generous, active)

    assert (report.cases, report.draft.review) == (1, 1)


def test_backtest_skips_cases_gated_before_the_start_day(active, generous):
    GateEvaluationFactory(created_at=timezone.now() - timedelta(days=40))

    report = backtest(generous, active, since=timezone.localdate() - timedelta(days=30))

    assert report.cases == 0


def test_backtest_replays_a_failed_draft_as_review(active, generous):
    GateEvaluationFactory(decision=None, failure_code="model_unavailable")

    report = backtest(generous, active)

    assert report.draft.by_reason == (("model_failed", 1),)


def test_backtest_replays_an_unreadable_stored_proposal_as_invalid(active, generous):
    GateEvaluationFactory(decision={"action": "teleport"})

    report = backtest(generous, active)

    assert (report.unreadable, report.draft.by_reason) == (1, (("proposal_invalid", 1),))


# --- The command ------------------------------------------------------------------------------


def run(*args):
    out = StringIO()
    call_command("backtest_gate", *args, stdout=out)
    return out.getvalue()


def test_backtest_gate_command_prints_the_comparison(generous):
    GateEvaluationFactory(proposal__amount=Decimal("35.00"), request__status=RefundStatus.REJECTED)

    output = run("--policy-version", str(generous.version), "--since", "2000-01-01")

    assert f"Draft v{generous.version}: 1 auto-approve, 0 review." in output
    assert "Active v1: 0 auto-approve, 1 review." in output
    assert "Cases that change route: 1." in output
    assert "auto-approved 1 a human rejected" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy-version", "99", "--since", "2026-01-01"], "no gate policy version 99"),
        (["--policy-version", "two", "--since", "2026-01-01"], "must be a version number"),
        (["--policy-version", "1", "--since", "01/02/2026"], "must be a date as YYYY-MM-DD"),
        (["--policy-version", "1", "--since", "2999-01-01"], "is in the future"),
        (
            ["--policy-version", "1", "--since", "2026-01-01", "--against", "42"],
            "no gate policy version 42",
        ),
    ],
    ids=[
        "unknown version",
        "non-numeric version",
        "malformed date",
        "future date",
        "unknown baseline",
    ],
)
def test_backtest_gate_command_refuses_bad_input_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_backtest_gate_command_requires_the_policy_version():
    with pytest.raises(CommandError, match="--policy-version"):
        run("--since", "2026-01-01")
