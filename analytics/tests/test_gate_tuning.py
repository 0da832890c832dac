"""Gate-tuning suggestions, the pure part: candidates, their figures, the thresholds, what
is never suggested, the holdout measure (``analytics.gate_tuning.candidates`` / ``suggest``)."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.gate_tuning.candidates import (
    NEVER_RELAXED,
    TUNABLE_FIELDS,
    _candidate,
    candidate_changes,
)
from analytics.gate_tuning.suggest import baseline_of, holdout, score, suggest
from analytics.tests.gate_tuning_cases import cases
from refunds.gate.vocabulary import HARD_RULE_CODES, PROMPT_INJECTION_SUSPECTED, GatePolicySnapshot

POLICY = GatePolicySnapshot(version=3)
FOUR_EYES = Decimal("250.00")


def run(history, policy=POLICY, *, weeks=8.0, min_precision=0.95, min_cases=20):
    return suggest(
        policy,
        history,
        weeks=weeks,
        min_precision=min_precision,
        min_cases=min_cases,
        four_eyes_amount=FOUR_EYES,
    )


def by_field(found, field):
    return [s for s in found if s.candidate.field == field]


def test_ceiling_raised_when_humans_approve_the_cases_above_it_unchanged():
    found = run(cases(24, amount="30.00") + cases(16, amount="38.50"))

    (ceiling,) = by_field(found, "auto_approve_ceiling")
    assert ceiling.candidate.value == "40.00"
    assert (ceiling.score.m, ceiling.score.k, ceiling.score.extra_auto) == (40, 40, 40)
    assert ceiling.per_week == 5.0


def test_ceiling_step_kept_is_the_highest_that_still_passes():
    history = cases(30, amount="30.00") + cases(10, amount="60.00", outcome="rejected")

    (ceiling,) = by_field(run(history), "auto_approve_ceiling")

    assert ceiling.candidate.value == "30.00"


def test_ceiling_does_not_let_a_riskier_top_band_through_on_many_small_cases():
    history = (
        cases(200, amount="30.00")
        + cases(17, amount="90.00")
        + cases(3, amount="90.00", outcome="rejected")
    )

    (ceiling,) = by_field(run(history), "auto_approve_ceiling")

    assert ceiling.candidate.value == "30.00"  # 90.00 passes overall (217/220) but not on top


def test_no_suggestion_from_fewer_cases_than_the_minimum():
    assert by_field(run(cases(19, amount="30.00")), "auto_approve_ceiling") == []


def test_no_suggestion_below_the_precision_threshold():
    history = cases(20, amount="30.00") + cases(2, amount="30.00", outcome="rejected")

    assert by_field(run(history), "auto_approve_ceiling") == []


def test_suggestion_reports_the_edited_and_rejected_cases_it_would_auto_approve():
    history = (
        cases(40, amount="30.00")
        + cases(1, amount="27.00", outcome="rejected")
        + cases(1, amount="27.00", outcome="edited")
    )

    (ceiling,) = by_field(run(history), "auto_approve_ceiling")

    assert (ceiling.score.m, ceiling.score.k) == (42, 40)
    assert (ceiling.score.edited, ceiling.score.rejected) == (1, 1)


def test_undecided_cases_count_as_extra_auto_approvals_but_not_in_the_precision():
    history = cases(20, amount="30.00") + cases(8, amount="30.00", outcome=None)

    (ceiling,) = by_field(run(history), "auto_approve_ceiling")

    assert (ceiling.score.m, ceiling.score.extra_auto) == (20, 28)


def test_no_ceiling_is_proposed_above_the_four_eyes_amount():
    history = cases(30, amount="300.00") + cases(30, amount="249.99")

    ceilings = [
        Decimal(c.value)
        for c in candidate_changes(POLICY, history, four_eyes_amount=FOUR_EYES)
        if c.field == "auto_approve_ceiling"
    ]
    (suggested,) = by_field(run(history), "auto_approve_ceiling")

    assert max(ceilings) == FOUR_EYES
    assert suggested.score.extra_auto == 30  # the 300.00 cases stay with (four-eyed) humans


def test_prompt_injection_cases_are_never_auto_approved_by_any_candidate():
    history = cases(60, failure_code=PROMPT_INJECTION_SUSPECTED, amount="30.00")
    baseline = baseline_of(POLICY, history)

    for candidate in candidate_changes(POLICY, history, four_eyes_amount=FOUR_EYES):
        assert score(candidate, baseline).extra_auto == 0
    assert run(history, min_precision=0.0) == []


def test_candidates_only_change_tunable_settings():
    history = cases(5, amount="30.00", sentiment="frustrated", message="legal name")
    policy = replace(POLICY, review_tiers=("premium",), review_countries=("US",))

    found = candidate_changes(policy, history, four_eyes_amount=FOUR_EYES)

    assert {c.field for c in found} <= set(TUNABLE_FIELDS)
    assert {c.field for c in found} >= {"review_tiers", "review_countries", "risk_terms"}


def test_a_change_outside_the_tunable_settings_cannot_be_made():
    with pytest.raises(ValueError, match="not a tunable"):
        _candidate(POLICY, "queue_routes", (), {}, "anything")


def test_never_relaxed_names_prompt_injection_fence_tags_and_four_eyes():
    text = " ".join(NEVER_RELAXED)

    assert "suspected prompt injection" in text
    assert "fence tags" in text
    assert "four-eyes" in text
    assert len(NEVER_RELAXED) == len(HARD_RULE_CODES) + 2


def test_each_suggestion_names_what_it_would_not_change():
    (ceiling,) = by_field(run(cases(25, amount="30.00")), "auto_approve_ceiling")

    unchanged = ceiling.candidate.unchanged
    assert "High-risk terms" in unchanged
    assert "Auto-approve ceiling" not in unchanged
    assert set(NEVER_RELAXED) <= set(unchanged)


def test_review_sentiment_removed_only_where_humans_approve_those_cases():
    history = cases(30, sentiment="frustrated") + cases(30, sentiment="angry", outcome="rejected")

    found = by_field(run(history), "review_sentiments")

    assert [s.candidate.value for s in found] == [["angry"]]


def test_risk_term_removed_when_its_cases_are_approved_and_kept_when_rejected():
    history = cases(25, message="Please use my legal name on the refund.") + cases(
        25, message="This is fraud, I will do a chargeback.", outcome="rejected"
    )

    found = by_field(run(history), "risk_terms")

    (only,) = found
    assert "legal" not in only.candidate.value
    assert "fraud" in only.candidate.value


def test_repeat_complaint_threshold_raised_when_second_requests_are_approved():
    history = cases(25, earlier=1) + cases(25, earlier=2, outcome="rejected")

    (found,) = by_field(run(history), "repeat_complaint_min_requests")

    assert found.candidate.value == 2
    assert found.score.m == 25


def test_review_tier_and_country_removed_when_humans_approve_them():
    policy = replace(POLICY, review_tiers=("premium",), review_countries=("US",))
    history = cases(22, tier="premium") + cases(21, country="US")

    found = run(history, policy)

    assert [s.candidate.field for s in found] == ["review_tiers", "review_countries"]


def test_suggestions_are_ranked_by_extra_auto_approvals():
    history = cases(25, amount="30.00") + cases(40, sentiment="frustrated")

    found = run(history)

    assert [s.candidate.field for s in found] == ["review_sentiments", "auto_approve_ceiling"]


def test_sentence_reads_like_the_issue_example():
    (ceiling,) = by_field(run(cases(40, amount="40.00")), "auto_approve_ceiling")

    assert ceiling.sentence == (
        "Auto-approve ceiling: 25.00 → 40.00: 5.0 more auto-approvals a week; of the 40 "
        "past cases it would have auto-approved that went to a human, 40 were approved "
        "unchanged (100.0%), 0 edited, 0 rejected."
    )
    assert ceiling.change_note.startswith("Suggested: auto-approve ceiling: 25.00 → 40.00")
    assert "40/40 approved unchanged" in ceiling.change_note


def test_holdout_scores_the_earlier_suggestions_on_the_later_cases():
    now = timezone.now()
    early = now - timedelta(days=40)
    late = now - timedelta(days=5)
    history = cases(30, amount="30.00", at=early) + (
        cases(9, amount="30.00", at=late) + cases(1, amount="30.00", at=late, outcome="edited")
    )

    (result,) = holdout(
        POLICY,
        history,
        split_at=now - timedelta(days=20),
        weeks_before=4.0,
        min_precision=0.95,
        min_cases=20,
        four_eyes_amount=FOUR_EYES,
    )

    assert result.suggestion.score.m == 30
    assert (result.later.m, result.later.k) == (10, 9)
    assert result.precision == 0.9
