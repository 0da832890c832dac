"""The pure gate: one table row per rule and per hard rule, and the default policy."""

from decimal import Decimal

import pytest

from refunds.gate import vocabulary as vocab
from refunds.gate.engine import evaluate_gate
from refunds.gate.snapshots import gate_context_from_json, gate_context_to_json
from refunds.gate.text import matched_terms, normalize_terms
from refunds.gate.vocabulary import ROUTE_AUTO, ROUTE_REVIEW
from refunds.tests.factories import (
    GateContextFactory,
    GatePolicySnapshotFactory,
    RefundDecisionFactory,
)


def fullwidth(word: str) -> str:
    """ "legal" written with full-width letters (U+FF41...), as some keyboards produce."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in word)


def gate(decision=None, *, failure_code=None, context=None, policy=None, no_decision=False):
    return evaluate_gate(
        decision=None if no_decision else (decision or RefundDecisionFactory()),
        failure_code=failure_code,
        context=context or GateContextFactory(),
        policy=policy or GatePolicySnapshotFactory(),
    )


def test_evaluate_gate_auto_approves_a_clean_case_under_the_default_policy():
    result = gate()

    assert (result.route, result.reasons, result.queue) == (ROUTE_AUTO, (), "")
    assert result.policy_version == 1


# --- Every policy rule, under the default policy ----------------------------------------------

POLICY_RULE_CASES = [
    (
        "amount just above the ceiling",
        {"amount": Decimal("25.01")},
        {},
        vocab.AMOUNT_OVER_CEILING,
    ),
    (
        "denial is never auto-executed",
        {"action": "deny_refund", "amount": Decimal("0")},
        {},
        vocab.ACTION_REQUIRES_REVIEW,
    ),
    (
        "replacement is never auto-executed",
        {"action": "offer_replacement", "amount": Decimal("0")},
        {},
        vocab.ACTION_REQUIRES_REVIEW,
    ),
    ("medium policy match", {"policy_match": "medium"}, {}, vocab.POLICY_MATCH_INSUFFICIENT),
    ("weak policy match", {"policy_match": "weak"}, {}, vocab.POLICY_MATCH_INSUFFICIENT),
    ("model asked for review", {"needs_human_review": True}, {}, vocab.MODEL_REQUESTED_REVIEW),
    (
        "frustrated customer",
        {"customer_sentiment": "frustrated"},
        {},
        vocab.SENTIMENT_REQUIRES_REVIEW,
    ),
    ("angry customer", {"customer_sentiment": "angry"}, {}, vocab.SENTIMENT_REQUIRES_REVIEW),
    (
        "fraud in the rationale",
        {"rationale": "Possible FRAUD pattern."},
        {},
        vocab.HIGH_RISK_TERM,
    ),
    (
        "plural term in the rationale",
        {"rationale": "Mentions lawsuits."},
        {},
        vocab.HIGH_RISK_TERM,
    ),
    (
        "term inside a word in the rationale",
        {"rationale": "Sounds illegal."},
        {},
        vocab.HIGH_RISK_TERM,
    ),
    ("risk flag names a term", {"risk_flags": ["chargeback"]}, {}, vocab.HIGH_RISK_TERM),
    (
        "term in the customer's message",
        {},
        {"customer_message": "I will file a chargeback"},
        vocab.HIGH_RISK_TERM,
    ),
    (
        "full-width term in the message",
        {},
        {"customer_message": fullwidth("legal") + " action"},
        vocab.HIGH_RISK_TERM,
    ),
    (
        "zero-width split term in the message",
        {},
        {"customer_message": "in\u200bjury"},
        vocab.HIGH_RISK_TERM,
    ),
]


@pytest.mark.parametrize(
    ("decision_changes", "context_changes", "code"),
    [c[1:] for c in POLICY_RULE_CASES],
    ids=[c[0] for c in POLICY_RULE_CASES],
)
def test_evaluate_gate_sends_to_review_when_a_default_rule_fires(
    decision_changes, context_changes, code
):
    result = gate(
        RefundDecisionFactory(**decision_changes), context=GateContextFactory(**context_changes)
    )

    assert result.route == ROUTE_REVIEW
    assert code in result.reason_codes


OPTIONAL_RULE_CASES = [
    (
        "tier always reviewed",
        {"review_tiers": ("enterprise",)},
        {"customer_tier": "enterprise"},
        vocab.TIER_REQUIRES_REVIEW,
    ),
    (
        "country always reviewed",
        {"review_countries": ("US",)},
        {"customer_country": "US"},
        vocab.COUNTRY_REQUIRES_REVIEW,
    ),
    (
        "too many prior refunds",
        {"max_prior_refunds_90d": 2},
        {"prior_refunds_90d": 3},
        vocab.PRIOR_REFUNDS_EXCEEDED,
    ),
    (
        "admin-added plural term",
        {"risk_terms": ("injuries",)},
        {"customer_message": "Two INJURIES happened"},
        vocab.HIGH_RISK_TERM,
    ),
]


@pytest.mark.parametrize(
    ("policy_changes", "context_changes", "code"),
    [c[1:] for c in OPTIONAL_RULE_CASES],
    ids=[c[0] for c in OPTIONAL_RULE_CASES],
)
def test_evaluate_gate_sends_to_review_when_an_admin_set_rule_fires(
    policy_changes, context_changes, code
):
    result = gate(
        context=GateContextFactory(**context_changes),
        policy=GatePolicySnapshotFactory(**policy_changes),
    )

    assert result.reason_codes == (code,)


@pytest.mark.parametrize(
    ("policy_changes", "context_changes"),
    [
        ({"review_tiers": ("enterprise",)}, {"customer_tier": "premium"}),
        ({"review_countries": ("US",)}, {"customer_country": "GB"}),
        ({"max_prior_refunds_90d": 2}, {"prior_refunds_90d": 2}),
    ],
    ids=["other tier", "other country", "prior refunds at the ceiling"],
)
def test_evaluate_gate_auto_approves_when_an_admin_set_rule_does_not_match(
    policy_changes, context_changes
):
    result = gate(
        context=GateContextFactory(**context_changes),
        policy=GatePolicySnapshotFactory(**policy_changes),
    )

    assert result.route == ROUTE_AUTO


def test_evaluate_gate_auto_approves_an_amount_exactly_at_the_ceiling():
    assert gate(RefundDecisionFactory(amount=Decimal("25.00"))).route == ROUTE_AUTO


def test_evaluate_gate_uses_the_currency_override_ceiling():
    policy = GatePolicySnapshotFactory(currency_ceilings=(("JPY", Decimal("3000")),))
    context = GateContextFactory(
        order_currency="JPY", order_amount=Decimal("5000"), refundable_remaining=Decimal("5000")
    )

    result = gate(
        RefundDecisionFactory(currency="JPY", amount=Decimal("2500")),
        context=context,
        policy=policy,
    )

    assert result.route == ROUTE_AUTO


def test_evaluate_gate_ignores_the_model_review_flag_when_the_policy_says_so():
    policy = GatePolicySnapshotFactory(honour_model_review_flag=False)

    result = gate(RefundDecisionFactory(needs_human_review=True), policy=policy)

    assert result.route == ROUTE_AUTO


def test_evaluate_gate_accepts_a_medium_match_when_medium_is_required():
    policy = GatePolicySnapshotFactory(required_policy_match="medium")

    assert gate(RefundDecisionFactory(policy_match="medium"), policy=policy).route == ROUTE_AUTO


def test_evaluate_gate_auto_executes_a_denial_when_the_policy_allows_it():
    policy = GatePolicySnapshotFactory(auto_actions=("approve_refund", "deny_refund"))

    result = gate(RefundDecisionFactory(action="deny_refund", amount=Decimal("0")), policy=policy)

    assert result.route == ROUTE_AUTO


# --- Hard rules: no policy switches them off --------------------------------------------------

PERMISSIVE = GatePolicySnapshotFactory.build(
    auto_approve_ceiling=Decimal("100000"),
    auto_actions=tuple(
        a for a in ("approve_refund", "deny_refund", "request_more_info", "offer_replacement")
    ),
    required_policy_match="weak",
    review_sentiments=(),
    risk_terms=(),
    honour_model_review_flag=False,
)

HARD_RULE_CASES = [
    (
        "amount above the refundable remainder",
        {"amount": Decimal("30.00")},
        {"refundable_remaining": Decimal("29.99")},
        None,
        vocab.AMOUNT_EXCEEDS_REFUNDABLE,
    ),
    (
        "currency differs from the order's",
        {"currency": "EUR"},
        {},
        None,
        vocab.CURRENCY_MISMATCH,
    ),
    (
        "order of another customer",
        {},
        {"order_customer_matches": False},
        None,
        vocab.ORDER_OWNER_MISMATCH,
    ),
    (
        "order of another integration",
        {},
        {"order_integration_matches": False},
        None,
        vocab.ORDER_OWNER_MISMATCH,
    ),
    ("approval of nothing", {"amount": Decimal("0")}, {}, None, vocab.PROPOSAL_INVALID),
    (
        "denial with an amount",
        {"action": "deny_refund", "amount": Decimal("5")},
        {},
        None,
        vocab.PROPOSAL_INVALID,
    ),
    ("model output invalid", None, {}, "model_output_invalid", vocab.PROPOSAL_INVALID),
    ("model unavailable", None, {}, "model_unavailable", vocab.MODEL_FAILED),
    ("proposal missing", None, {}, None, vocab.PROPOSAL_MISSING),
    (
        "asking again a customer who was asked and answered",
        {"action": "request_more_info", "amount": Decimal("0")},
        {"questions_asked": 1},
        None,
        vocab.REPEAT_QUESTION,
    ),
]


@pytest.mark.parametrize(
    ("decision_changes", "context_changes", "failure_code", "code"),
    [c[1:] for c in HARD_RULE_CASES],
    ids=[c[0] for c in HARD_RULE_CASES],
)
def test_evaluate_gate_hard_rule_reviews_even_under_the_most_permissive_policy(
    decision_changes, context_changes, failure_code, code
):
    result = gate(
        None if decision_changes is None else RefundDecisionFactory(**decision_changes),
        no_decision=decision_changes is None,
        failure_code=failure_code,
        context=GateContextFactory(**context_changes),
        policy=PERMISSIVE,
    )

    assert result.route == ROUTE_REVIEW
    assert code in result.reason_codes


def test_evaluate_gate_permissive_policy_auto_approves_a_large_amount_without_hard_rules():
    context = GateContextFactory(refundable_remaining=Decimal("500"))

    assert (
        gate(RefundDecisionFactory(amount=Decimal("500")), context=context, policy=PERMISSIVE).route
        == ROUTE_AUTO
    )


def test_evaluate_gate_reports_every_firing_rule_not_only_the_first():
    decision = RefundDecisionFactory(
        amount=Decimal("30"), customer_sentiment="angry", needs_human_review=True
    )

    assert set(gate(decision).reason_codes) == {
        vocab.AMOUNT_OVER_CEILING,
        vocab.SENTIMENT_REQUIRES_REVIEW,
        vocab.MODEL_REQUESTED_REVIEW,
    }


def test_evaluate_gate_reason_messages_are_sentences_for_a_reviewer():
    reason = gate(RefundDecisionFactory(amount=Decimal("30"))).reasons[0]

    assert reason.message == ("The proposed 30 GBP is above the auto-approve ceiling of 25.00 GBP.")


# --- Queue and priority -----------------------------------------------------------------------


def test_evaluate_gate_routes_risk_terms_to_the_legal_queue():
    assert gate(RefundDecisionFactory(rationale="A lawsuit is threatened.")).queue == "legal"


def test_evaluate_gate_takes_the_most_demanding_queue_of_all_reasons():
    decision = RefundDecisionFactory(amount=Decimal("50"))
    context = GateContextFactory(refundable_remaining=Decimal("40"))

    result = gate(decision, context=context)

    assert result.reason_codes == (
        vocab.AMOUNT_EXCEEDS_REFUNDABLE,
        vocab.AMOUNT_OVER_CEILING,
    )
    assert result.queue == "senior"


def test_evaluate_gate_sends_unrouted_reasons_to_the_standard_queue():
    assert gate(RefundDecisionFactory(customer_sentiment="angry")).queue == "standard"


@pytest.mark.parametrize(
    ("context_changes", "amount", "priority"),
    [
        ({}, Decimal("30"), 1),
        ({"customer_tier": "enterprise"}, Decimal("30"), 2),
        ({"customer_tier": "premium", "request_age_hours": 30}, Decimal("150"), 3),
        ({"request_priority": 3, "customer_tier": "premium"}, Decimal("30"), 3),
        ({"request_priority": 0}, Decimal("30"), 0),
    ],
    ids=["normal", "enterprise tier", "every bump", "capped at urgent", "low stays low"],
)
def test_evaluate_gate_priority_rises_with_tier_amount_and_age(context_changes, amount, priority):
    context = GateContextFactory(refundable_remaining=Decimal("500"), **context_changes)

    assert gate(RefundDecisionFactory(amount=amount), context=context).priority == priority


# --- Text normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "FRAUD",
        "Fraudulent",
        fullwidth("fraud"),
        "fr\u200baud",
        "fr\u00adaud",
        "frau\u200dd",
        "Fr\ufeffaud",
    ],
    ids=[
        "upper",
        "inflected",
        "full-width",
        "zero-width space",
        "soft hyphen",
        "zero-width joiner",
        "byte order mark",
    ],
)
def test_matched_terms_finds_a_disguised_term(text):
    assert matched_terms(text, ("fraud",)) == ("fraud",)


@pytest.mark.parametrize(
    ("text", "term"),
    [("Fr\u0430ud", "fraud"), ("Ch\u0430rgeback", "chargeback")],
    ids=["Fraud with a Cyrillic a", "Chargeback with a Cyrillic a"],
)
def test_matched_terms_finds_a_term_written_with_a_cyrillic_a(text, term):
    assert matched_terms(text, vocab.DEFAULT_RISK_TERMS) == (term,)


def test_matched_terms_finds_a_term_followed_by_a_combining_mark():
    assert matched_terms("legal\u0301 threat", ("legal",)) == ("legal",)


def test_matched_terms_finds_an_accented_spelling_of_a_term():
    assert matched_terms("a l\u00e9gal matter", ("legal",)) == ("legal",)


def test_matched_terms_ignores_text_without_the_term():
    assert matched_terms("the parcel was late", vocab.DEFAULT_RISK_TERMS) == ()


def test_normalize_terms_lowercases_strips_and_removes_duplicates():
    assert normalize_terms([" Fraud ", "FRAUD", fullwidth("legal"), "", "Chargeback"]) == (
        "fraud",
        "legal",
        "chargeback",
    )


def test_gate_context_survives_a_json_round_trip():
    context = GateContextFactory(requested_amount=Decimal("12.50"))

    assert gate_context_from_json(gate_context_to_json(context)) == context


def test_gate_result_is_frozen():
    result = gate()

    with pytest.raises(AttributeError):
        result.route = ROUTE_REVIEW  # type: ignore[misc]


def test_suspected_prompt_injection_has_its_own_reason_and_goes_to_review():
    from refunds.gate.vocabulary import PROMPT_INJECTION_SUSPECTED

    result = evaluate_gate(
        decision=RefundDecisionFactory(),
        failure_code=PROMPT_INJECTION_SUSPECTED,
        context=GateContextFactory(),
        policy=GatePolicySnapshotFactory(),
    )

    assert result.route == "review"
    assert result.reason_codes == (PROMPT_INJECTION_SUSPECTED,)


# --- Repeat complaints (on by default) ---------------------------------------------------------


def test_default_policy_reviews_a_customer_with_an_earlier_request_as_a_repeat_complaint():
    result = gate(context=GateContextFactory(earlier_requests_365d=1))

    assert result.route == ROUTE_REVIEW
    assert result.reason_codes == (vocab.REPEAT_COMPLAINT,)
    assert "1 other refund request in the last 365 days" in result.reasons[0].message


def test_drafter_flag_for_repeat_wording_is_a_repeat_complaint_without_earlier_requests():
    result = gate(RefundDecisionFactory(risk_flags=["repeat_complaint"]))

    assert vocab.REPEAT_COMPLAINT in result.reason_codes
    assert "customer's words" in result.reasons[-1].message


def test_repeat_complaint_threshold_counts_earlier_requests_not_this_one():
    policy = GatePolicySnapshotFactory(repeat_complaint_min_requests=2)

    assert gate(context=GateContextFactory(earlier_requests_365d=1), policy=policy).is_auto
    assert not gate(context=GateContextFactory(earlier_requests_365d=2), policy=policy).is_auto


def test_repeat_complaint_rule_is_off_when_the_policy_leaves_it_empty():
    policy = GatePolicySnapshotFactory(repeat_complaint_min_requests=None)

    result = gate(
        RefundDecisionFactory(risk_flags=["repeat_complaint"]),
        context=GateContextFactory(earlier_requests_365d=5),
        policy=policy,
    )

    assert result.is_auto


def test_old_context_snapshots_count_their_prior_refunds_as_earlier_requests():
    stored = gate_context_to_json(GateContextFactory(prior_refunds_90d=2))
    del stored["earlier_requests_365d"]

    assert gate_context_from_json(stored).earlier_requests_365d == 2


def test_repeat_question_fires_only_for_a_second_ask():
    ask = RefundDecisionFactory(action="request_more_info", amount=Decimal("0"))
    first = gate(ask, context=GateContextFactory(questions_asked=0), policy=PERMISSIVE)
    again = gate(ask, context=GateContextFactory(questions_asked=2), policy=PERMISSIVE)
    refund_after_answer = gate(context=GateContextFactory(questions_asked=1), policy=PERMISSIVE)

    assert first.route == ROUTE_AUTO
    assert again.reason_codes == (vocab.REPEAT_QUESTION,)
    assert "already asked 2 times" in again.reasons[0].message
    assert refund_after_answer.route == ROUTE_AUTO  # deciding on the answer is not a repeat
    assert vocab.reason_label(vocab.REPEAT_QUESTION) == "question already asked"


def test_a_snapshot_from_before_repeat_question_replays_as_never_asked():
    data = gate_context_to_json(GateContextFactory())
    data.pop("questions_asked")

    assert gate_context_from_json(data).questions_asked == 0
