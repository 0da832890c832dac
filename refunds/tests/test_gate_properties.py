"""Properties of the gate over generated proposals, contexts and policies (hypothesis)."""

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from refunds.actions import Action
from refunds.agent.schemas import PolicyMatch, RefundDecision, RiskFlag, Sentiment
from refunds.gate.engine import evaluate_gate
from refunds.gate.text import matched_terms, normalize_term
from refunds.gate.vocabulary import (
    DEFAULT_RISK_TERMS,
    POLICY_MATCH_RANK,
    ROUTE_AUTO,
    ROUTE_REVIEW,
    GateContext,
    GatePolicySnapshot,
)
from refunds.tests.look_alikes import disguised

CURRENCIES = ("GBP", "EUR", "USD")
TIERS = ("standard", "premium", "enterprise")
COUNTRIES = ("GB", "US", "DE", "FR")
WORDS = (
    "refund",
    "broken",
    "late",
    "parcel",
    "Fraud",
    "LEGAL",
    "lawsuits",
    "illegal",
    "chargebacks",
    "injury",
    "ok",
    "please",
    "damaged",
    "FrAuD",
)

money = st.decimals(
    min_value=Decimal("0"),
    max_value=Decimal("500"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
# Text from plain words (some containing terms, in any case) mixed with arbitrary Unicode.
texts = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join),
    st.text(max_size=40),
    st.tuples(st.text(max_size=10), st.sampled_from(WORDS), st.text(max_size=10)).map("".join),
)
rationales = texts.filter(lambda s: s.strip())

decisions = st.builds(
    RefundDecision,
    action=st.sampled_from(list(Action)),
    amount=money,
    currency=st.sampled_from(CURRENCIES),
    rationale=rationales,
    cited_sections=st.just([]),
    policy_match=st.sampled_from(list(PolicyMatch)),
    needs_human_review=st.booleans(),
    customer_sentiment=st.sampled_from(list(Sentiment)),
    risk_flags=st.lists(st.sampled_from(list(RiskFlag)), max_size=3),
)
contexts = st.builds(
    GateContext,
    order_amount=money,
    order_currency=st.sampled_from(CURRENCIES),
    refundable_remaining=money,
    order_customer_matches=st.booleans(),
    order_integration_matches=st.booleans(),
    customer_tier=st.sampled_from(TIERS),
    customer_country=st.sampled_from(COUNTRIES),
    prior_refunds_90d=st.integers(0, 10),
    customer_message=texts,
    requested_amount=st.none() | money,
    request_priority=st.integers(0, 3),
    request_age_hours=st.integers(0, 100),
    earlier_requests_365d=st.integers(0, 4),
)
term_sets = st.lists(
    st.sampled_from(["fraud", "legal", "lawsuit", "injur", "abuse", "late"]),
    max_size=4,
    unique=True,
).map(tuple)
policies = st.builds(
    GatePolicySnapshot,
    version=st.integers(1, 50),
    auto_approve_ceiling=money,
    currency_ceilings=st.lists(
        st.tuples(st.sampled_from(CURRENCIES), money), max_size=2, unique_by=lambda pair: pair[0]
    ).map(lambda p: tuple(sorted(p))),
    auto_actions=st.lists(st.sampled_from([a.value for a in Action]), unique=True).map(tuple),
    required_policy_match=st.sampled_from([m.value for m in PolicyMatch]),
    review_sentiments=st.lists(st.sampled_from([s.value for s in Sentiment]), unique=True).map(
        tuple
    ),
    risk_terms=term_sets,
    honour_model_review_flag=st.booleans(),
    review_tiers=st.lists(st.sampled_from(TIERS), unique=True, max_size=2).map(tuple),
    review_countries=st.lists(st.sampled_from(COUNTRIES), unique=True, max_size=2).map(tuple),
    max_prior_refunds_90d=st.none() | st.integers(0, 5),
    repeat_complaint_min_requests=st.none() | st.integers(1, 3),
)
failures = st.none() | st.sampled_from(["model_unavailable", "model_output_invalid"])


def _no_rule_fires(decision, failure_code, context, policy) -> bool:
    """An independent statement of every rule, for the auto-approval property."""
    texts_checked = [context.customer_message]
    if decision is not None and not failure_code:
        texts_checked += [decision.rationale, " ".join(decision.risk_flags)]
    if any(matched_terms(t, policy.risk_terms) for t in texts_checked):
        return False
    if failure_code or decision is None:
        return False
    limit = policy.max_prior_refunds_90d
    repeat = policy.repeat_complaint_min_requests
    return (
        context.order_customer_matches
        and context.order_integration_matches
        and decision.currency == context.order_currency
        and decision.amount <= context.refundable_remaining
        and (decision.amount > 0) == (decision.action == Action.APPROVE_REFUND)
        and decision.action in policy.auto_actions
        and decision.amount <= policy.ceiling_for(decision.currency)
        and POLICY_MATCH_RANK[decision.policy_match]
        >= POLICY_MATCH_RANK[PolicyMatch(policy.required_policy_match)]
        and not (policy.honour_model_review_flag and decision.needs_human_review)
        and decision.customer_sentiment not in policy.review_sentiments
        and context.customer_tier not in policy.review_tiers
        and context.customer_country not in policy.review_countries
        and (limit is None or context.prior_refunds_90d <= limit)
        and (
            repeat is None
            or (
                context.earlier_requests_365d < repeat
                and RiskFlag.REPEAT_COMPLAINT not in decision.risk_flags
            )
        )
    )


@given(decision=decisions, failure_code=failures, context=contexts, policy=policies)
def test_gate_auto_approves_exactly_when_no_rule_fires(decision, failure_code, context, policy):
    result = evaluate_gate(
        decision=None if failure_code else decision,
        failure_code=failure_code,
        context=context,
        policy=policy,
    )

    assert (result.route == ROUTE_AUTO) == _no_rule_fires(
        None if failure_code else decision, failure_code, context, policy
    )
    assert (result.route == ROUTE_AUTO) == (result.reasons == ())


@given(decision=decisions, context=contexts, policy=policies, extra=money)
def test_gate_raising_the_ceiling_never_sends_more_cases_to_review(
    decision, context, policy, extra
):
    higher = replace(
        policy,
        auto_approve_ceiling=policy.auto_approve_ceiling + extra,
        currency_ceilings=tuple((c, a + extra) for c, a in policy.currency_ceilings),
    )

    before = evaluate_gate(decision=decision, failure_code=None, context=context, policy=policy)
    after = evaluate_gate(decision=decision, failure_code=None, context=context, policy=higher)

    assert not (after.route == ROUTE_REVIEW and before.route == ROUTE_AUTO)


@given(
    decision=decisions,
    context=contexts,
    policy=policies,
    term=st.text(min_size=3, max_size=12).map(normalize_term).filter(lambda t: len(t) >= 3),
)
def test_gate_adding_a_risk_term_never_sends_fewer_cases_to_review(decision, context, policy, term):
    more = replace(policy, risk_terms=(*policy.risk_terms, term))

    before = evaluate_gate(decision=decision, failure_code=None, context=context, policy=policy)
    after = evaluate_gate(decision=decision, failure_code=None, context=context, policy=more)

    assert not (before.route == ROUTE_REVIEW and after.route == ROUTE_AUTO)


@given(decision=decisions, failure_code=failures, context=contexts, policy=policies)
def test_gate_is_deterministic(decision, failure_code, context, policy):
    def run():
        return evaluate_gate(
            decision=None if failure_code else decision,
            failure_code=failure_code,
            context=replace(context),
            policy=replace(policy),
        )

    assert run() == run()


# --- The default policy against the design brief ----------------------------------------------


def brief_route(decision: RefundDecision) -> str:
    """The design brief's routing, written out literally."""
    if decision.amount > 25:
        return "review"
    if decision.policy_match != "strong":
        return "review"
    if decision.needs_human_review:
        return "review"
    if decision.customer_sentiment in ("angry", "frustrated"):
        return "review"
    for term in ("fraud", "chargeback", "injury", "legal", "lawsuit"):
        if term in decision.rationale.lower():
            return "review"
    return "auto"


DEFAULT_POLICY = GatePolicySnapshot(version=1)
# Risk flags that name no risk term and fire no rule of their own (repeat_complaint does),
# and messages without one: the gate's extra checks on top of the brief stay silent.
QUIET_FLAGS = [
    f
    for f in RiskFlag
    if not matched_terms(f.value, DEFAULT_RISK_TERMS) and f != RiskFlag.REPEAT_COMPLAINT
]
quiet_messages = st.lists(st.sampled_from(["refund", "broken", "late", "please"]), max_size=5).map(
    " ".join
)
ascii_rationales = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40),
).filter(lambda s: s.strip())


near_ceiling = st.sampled_from(
    [Decimal("24.99"), Decimal("25.00"), Decimal("25.01"), Decimal("25.50")]
)


@st.composite
def brief_cases(draw, rationale=ascii_rationales):
    """An approval proposal and a context in which no hard rule, message term, flag,
    tier, country or prior-refund rule fires."""
    decision = draw(
        st.builds(
            RefundDecision,
            action=st.just(Action.APPROVE_REFUND),
            amount=near_ceiling
            | st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2),
            currency=st.just("GBP"),
            rationale=rationale,
            cited_sections=st.just([]),
            policy_match=st.sampled_from(list(PolicyMatch)),
            needs_human_review=st.booleans(),
            customer_sentiment=st.sampled_from(list(Sentiment)),
            risk_flags=st.lists(st.sampled_from(QUIET_FLAGS), max_size=2),
        )
    )
    context = draw(
        st.builds(
            GateContext,
            order_amount=st.just(Decimal("100")),
            order_currency=st.just("GBP"),
            refundable_remaining=st.just(Decimal("100")),
            order_customer_matches=st.just(True),
            order_integration_matches=st.just(True),
            customer_tier=st.sampled_from(TIERS),
            customer_country=st.sampled_from(COUNTRIES),
            prior_refunds_90d=st.integers(0, 10),
            customer_message=quiet_messages,
        )
    )
    return decision, context


@settings(max_examples=300)
@given(case=brief_cases())
def test_default_policy_routes_exactly_like_the_design_brief(case):
    decision, context = case

    result = evaluate_gate(
        decision=decision, failure_code=None, context=context, policy=DEFAULT_POLICY
    )

    assert result.route == brief_route(decision)


@settings(max_examples=300)
@given(case=brief_cases(rationale=rationales), context=contexts)
def test_default_policy_reviews_every_case_the_brief_reviews(case, context):
    decision, _ = case

    result = evaluate_gate(
        decision=decision, failure_code=None, context=context, policy=DEFAULT_POLICY
    )

    if brief_route(decision) == "review":
        assert result.route == ROUTE_REVIEW


# --- Look-alike characters (issue 13) ---------------------------------------------------------


@st.composite
def disguised_risk_terms(draw):
    term = draw(st.sampled_from(DEFAULT_RISK_TERMS))
    return term, f"My widget arrived broken. {draw(disguised(term))}, by the way."


@settings(max_examples=500)
@given(case=disguised_risk_terms())
def test_default_policy_never_auto_approves_a_risk_term_disguised_with_look_alikes(case):
    """Every default risk term, its letters swapped for look-alikes, upper-cased, with
    invisible characters and accents between them, in a case that is otherwise auto-approved."""
    term, message = case
    decision = RefundDecision(
        action=Action.APPROVE_REFUND,
        amount=Decimal("20.00"),
        currency="GBP",
        rationale="The customer reports the item broken.",
        cited_sections=[],
        policy_match=PolicyMatch.STRONG,
        needs_human_review=False,
        customer_sentiment=Sentiment.CALM,
        risk_flags=[],
    )
    context = GateContext(
        order_amount=Decimal("20.00"),
        order_currency="GBP",
        refundable_remaining=Decimal("20.00"),
        order_customer_matches=True,
        order_integration_matches=True,
        customer_tier="standard",
        customer_country="GB",
        prior_refunds_90d=0,
        customer_message=message,
    )

    result = evaluate_gate(
        decision=decision, failure_code=None, context=context, policy=DEFAULT_POLICY
    )
    control = evaluate_gate(
        decision=decision,
        failure_code=None,
        context=replace(context, customer_message="My widget arrived broken."),
        policy=DEFAULT_POLICY,
    )

    assert control.route == ROUTE_AUTO
    assert result.route == ROUTE_REVIEW
    assert matched_terms(message, DEFAULT_RISK_TERMS) == (term,)
