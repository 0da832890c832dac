"""The risk and policy gate: a pure function from (proposal, context, policy) to a route.

No ORM, no network, no clock: frozen dataclasses in, a frozen ``GateResult`` out, so the
same inputs always give the same route and a backtest can replay any stored case.

Every rule that fires adds a ``GateReason`` (a stable code plus a sentence for the
reviewer); the case auto-approves only when none fires. Hard rules (``HARD_RULE_CODES``)
are checked whatever the policy says.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from refunds.actions import Action
from refunds.agent.schemas import PolicyMatch, RefundDecision, RiskFlag, Sentiment

from .text import matched_terms

ROUTE_AUTO = "auto"
ROUTE_REVIEW = "review"

QUEUE_STANDARD = "standard"
QUEUE_SENIOR = "senior"
QUEUE_LEGAL = "legal"
# A case with several reasons goes to the most demanding of their queues.
QUEUE_RANK = {QUEUE_STANDARD: 0, QUEUE_SENIOR: 1, QUEUE_LEGAL: 2}
QUEUES = tuple(QUEUE_RANK)

PRIORITY_LOW, PRIORITY_NORMAL, PRIORITY_HIGH, PRIORITY_URGENT = 0, 1, 2, 3

# --- Reason codes (stable: stored, audited, counted by backtests) ----------------------------
# Hard rules: no policy can switch these off.
MODEL_FAILED = "model_failed"
PROMPT_INJECTION_SUSPECTED = "prompt_injection_suspected"
PROPOSAL_MISSING = "proposal_missing"
PROPOSAL_INVALID = "proposal_invalid"
AMOUNT_EXCEEDS_REFUNDABLE = "amount_exceeds_refundable"
CURRENCY_MISMATCH = "currency_mismatch"
ORDER_OWNER_MISMATCH = "order_owner_mismatch"
REPEAT_QUESTION = "repeat_question"
# Policy rules.
ACTION_REQUIRES_REVIEW = "action_requires_review"
AMOUNT_OVER_CEILING = "amount_over_ceiling"
POLICY_MATCH_INSUFFICIENT = "policy_match_insufficient"
MODEL_REQUESTED_REVIEW = "model_requested_review"
SENTIMENT_REQUIRES_REVIEW = "sentiment_requires_review"
HIGH_RISK_TERM = "high_risk_term"
TIER_REQUIRES_REVIEW = "tier_requires_review"
COUNTRY_REQUIRES_REVIEW = "country_requires_review"
PRIOR_REFUNDS_EXCEEDED = "prior_refunds_exceeded"
REPEAT_COMPLAINT = "repeat_complaint"

HARD_RULE_CODES = (
    MODEL_FAILED,
    PROMPT_INJECTION_SUSPECTED,
    PROPOSAL_MISSING,
    PROPOSAL_INVALID,
    AMOUNT_EXCEEDS_REFUNDABLE,
    CURRENCY_MISMATCH,
    ORDER_OWNER_MISMATCH,
    REPEAT_QUESTION,
)
POLICY_RULE_CODES = (
    ACTION_REQUIRES_REVIEW,
    AMOUNT_OVER_CEILING,
    POLICY_MATCH_INSUFFICIENT,
    MODEL_REQUESTED_REVIEW,
    SENTIMENT_REQUIRES_REVIEW,
    HIGH_RISK_TERM,
    TIER_REQUIRES_REVIEW,
    COUNTRY_REQUIRES_REVIEW,
    PRIOR_REFUNDS_EXCEEDED,
    REPEAT_COMPLAINT,
)
REASON_CODES = HARD_RULE_CODES + POLICY_RULE_CODES
# How reviewers see a code where its words alone would not say it (others: the code with
# spaces for underscores).
REASON_LABELS = {
    MODEL_FAILED: "drafting failed",
    PROMPT_INJECTION_SUSPECTED: "suspected prompt injection",
    PROPOSAL_MISSING: "no proposal",
    REPEAT_QUESTION: "question already asked",
}


def reason_label(code: str) -> str:
    return REASON_LABELS.get(code, str(code).replace("_", " "))


# failure_code values from the agent pipeline that mean "the model answered, but not with a
# valid proposal" rather than "the model did not answer".
INVALID_OUTPUT_FAILURES = frozenset({"model_output_invalid", "proposal_invalid"})

# How clearly the policy must cover a case, weakest to strongest.
POLICY_MATCH_RANK = {PolicyMatch.WEAK: 0, PolicyMatch.MEDIUM: 1, PolicyMatch.STRONG: 2}

# --- Defaults (the design brief's routing) ----------------------------------------------------
DEFAULT_AUTO_APPROVE_CEILING = Decimal("25.00")
DEFAULT_AUTO_ACTIONS = (Action.APPROVE_REFUND.value,)
DEFAULT_REQUIRED_POLICY_MATCH = PolicyMatch.STRONG.value
DEFAULT_REVIEW_SENTIMENTS = (Sentiment.FRUSTRATED.value, Sentiment.ANGRY.value)
DEFAULT_RISK_TERMS = ("fraud", "chargeback", "injury", "legal", "lawsuit")
DEFAULT_QUEUE_ROUTES = {
    HIGH_RISK_TERM: QUEUE_LEGAL,
    ORDER_OWNER_MISMATCH: QUEUE_SENIOR,
    AMOUNT_EXCEEDS_REFUNDABLE: QUEUE_SENIOR,
    CURRENCY_MISMATCH: QUEUE_SENIOR,
    PRIOR_REFUNDS_EXCEEDED: QUEUE_SENIOR,
}
DEFAULT_PRIORITY_TIERS = ("premium", "enterprise")
DEFAULT_PRIORITY_AMOUNT = Decimal("100.00")
DEFAULT_PRIORITY_AGE_HOURS = 24
# One earlier request makes the next one a repeat complaint: "this is the second time".
DEFAULT_REPEAT_COMPLAINT_MIN_REQUESTS = 1


@dataclass(frozen=True)
class GateReason:
    code: str
    message: str


@dataclass(frozen=True)
class GateContext:
    """What the gate knows about the case besides the proposal, read by the service."""

    order_amount: Decimal
    order_currency: str
    refundable_remaining: Decimal
    order_customer_matches: bool
    order_integration_matches: bool
    customer_tier: str
    customer_country: str
    prior_refunds_90d: int
    customer_message: str
    requested_amount: Decimal | None = None
    request_priority: int = PRIORITY_NORMAL
    request_age_hours: int = 0
    # The customer's other refund requests of the last 365 days, any outcome, not counting
    # earlier messages of the same conversation (those are the same complaint).
    earlier_requests_365d: int = 0
    # Questions already put to the customer on this request (a re-drafted case has been
    # asked and has answered: asking again would loop).
    questions_asked: int = 0


@dataclass(frozen=True)
class GatePolicySnapshot:
    """The values of one policy version. Collections are tuples so the snapshot is
    immutable and hashable; ``currency_ceilings`` and ``queue_routes`` are (key, value)
    pairs (use ``ceiling_for`` / ``queue_for``)."""

    version: int
    auto_approve_ceiling: Decimal = DEFAULT_AUTO_APPROVE_CEILING
    currency_ceilings: tuple[tuple[str, Decimal], ...] = ()
    auto_actions: tuple[str, ...] = DEFAULT_AUTO_ACTIONS
    required_policy_match: str = DEFAULT_REQUIRED_POLICY_MATCH
    review_sentiments: tuple[str, ...] = DEFAULT_REVIEW_SENTIMENTS
    risk_terms: tuple[str, ...] = DEFAULT_RISK_TERMS
    honour_model_review_flag: bool = True
    review_tiers: tuple[str, ...] = ()
    review_countries: tuple[str, ...] = ()
    max_prior_refunds_90d: int | None = None
    repeat_complaint_min_requests: int | None = DEFAULT_REPEAT_COMPLAINT_MIN_REQUESTS
    queue_routes: tuple[tuple[str, str], ...] = tuple(sorted(DEFAULT_QUEUE_ROUTES.items()))
    priority_tiers: tuple[str, ...] = DEFAULT_PRIORITY_TIERS
    priority_amount: Decimal | None = DEFAULT_PRIORITY_AMOUNT
    priority_age_hours: int | None = DEFAULT_PRIORITY_AGE_HOURS

    def ceiling_for(self, currency: str) -> Decimal:
        return dict(self.currency_ceilings).get(currency, self.auto_approve_ceiling)

    def queue_for(self, code: str) -> str:
        return dict(self.queue_routes).get(code, QUEUE_STANDARD)


@dataclass(frozen=True)
class GateResult:
    route: str
    reasons: tuple[GateReason, ...]
    queue: str
    priority: int
    policy_version: int
    reason_codes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason_codes", tuple(r.code for r in self.reasons))

    @property
    def is_auto(self) -> bool:
        return self.route == ROUTE_AUTO


# --- The rules --------------------------------------------------------------------------------


def _hard_rules(
    decision: RefundDecision | None, failure_code: str | None, context: GateContext
) -> list[GateReason]:
    reasons = []
    if not (context.order_customer_matches and context.order_integration_matches):
        who = [
            name
            for name, ok in (
                ("customer", context.order_customer_matches),
                ("integration", context.order_integration_matches),
            )
            if not ok
        ]
        reasons.append(
            GateReason(
                ORDER_OWNER_MISMATCH,
                f"The order belongs to another {' and '.join(who)} than the one making this "
                "request.",
            )
        )
    if failure_code:
        if failure_code == PROMPT_INJECTION_SUSPECTED:
            reasons.append(
                GateReason(
                    PROMPT_INJECTION_SUSPECTED,
                    "The customer's message contains instruction-like text (a suspected prompt "
                    "injection); the model's draft is kept for reference, a human must decide.",
                )
            )
        elif failure_code in INVALID_OUTPUT_FAILURES:
            reasons.append(
                GateReason(
                    PROPOSAL_INVALID,
                    f"The model's answer was not a valid proposal ({failure_code}); a human must "
                    "decide.",
                )
            )
        else:
            reasons.append(
                GateReason(
                    MODEL_FAILED,
                    f"Drafting failed ({failure_code}); there is no proposal, a human must decide.",
                )
            )
        return reasons
    if decision is None:
        reasons.append(
            GateReason(PROPOSAL_MISSING, "There is no drafted proposal; a human must decide.")
        )
        return reasons
    if decision.action == Action.APPROVE_REFUND and decision.amount <= 0:
        reasons.append(
            GateReason(
                PROPOSAL_INVALID, "The proposal approves a refund of 0; the amount is missing."
            )
        )
    elif decision.action != Action.APPROVE_REFUND and decision.amount != 0:
        reasons.append(
            GateReason(
                PROPOSAL_INVALID,
                f"The proposal is '{decision.action}' but carries an amount of {decision.amount}; "
                "only an approved refund has an amount.",
            )
        )
    if decision.action == Action.REQUEST_MORE_INFO and context.questions_asked:
        times = "once" if context.questions_asked == 1 else f"{context.questions_asked} times"
        reasons.append(
            GateReason(
                REPEAT_QUESTION,
                f"The draft asks the customer for more information again, but they were "
                f"already asked {times} on this request and answered (see the conversation). "
                "A human decides: on what they said, or with a new, specific question.",
            )
        )
    if decision.currency != context.order_currency:
        reasons.append(
            GateReason(
                CURRENCY_MISMATCH,
                f"The proposal is in {decision.currency} but the order was paid in "
                f"{context.order_currency}.",
            )
        )
    if decision.amount > context.refundable_remaining:
        reasons.append(
            GateReason(
                AMOUNT_EXCEEDS_REFUNDABLE,
                f"The proposed {decision.amount} exceeds the {context.refundable_remaining} "
                f"{context.order_currency} still refundable on this order.",
            )
        )
    return reasons


def _decision_rules(decision: RefundDecision, policy: GatePolicySnapshot) -> list[GateReason]:
    reasons = []
    if decision.action not in policy.auto_actions:
        reasons.append(
            GateReason(
                ACTION_REQUIRES_REVIEW,
                f"'{decision.action}' is never executed without a human under this policy.",
            )
        )
    ceiling = policy.ceiling_for(decision.currency)
    if decision.amount > ceiling:
        reasons.append(
            GateReason(
                AMOUNT_OVER_CEILING,
                f"The proposed {decision.amount} {decision.currency} is above the auto-approve "
                f"ceiling of {ceiling} {decision.currency}.",
            )
        )
    required = PolicyMatch(policy.required_policy_match)
    if POLICY_MATCH_RANK[decision.policy_match] < POLICY_MATCH_RANK[required]:
        reasons.append(
            GateReason(
                POLICY_MATCH_INSUFFICIENT,
                f"The model found only a {decision.policy_match} match with the refund policy; "
                f"auto-approval needs {required}.",
            )
        )
    if policy.honour_model_review_flag and decision.needs_human_review:
        reasons.append(
            GateReason(
                MODEL_REQUESTED_REVIEW, "The model itself asked for a human to review this case."
            )
        )
    if decision.customer_sentiment in policy.review_sentiments:
        reasons.append(
            GateReason(
                SENTIMENT_REQUIRES_REVIEW,
                f"The customer seems {decision.customer_sentiment}; such cases are reviewed.",
            )
        )
    return reasons


def _risk_term_reason(
    decision: RefundDecision | None, context: GateContext, policy: GatePolicySnapshot
) -> GateReason | None:
    if not policy.risk_terms:
        return None
    places = [("the customer's message", context.customer_message)]
    if decision is not None:
        places.append(("the model's rationale", decision.rationale))
        places.append(("the model's risk flags", " ".join(decision.risk_flags)))
    found: dict[str, list[str]] = {}
    for where, text in places:
        for term in matched_terms(text, policy.risk_terms):
            found.setdefault(term, []).append(where)
    if not found:
        return None
    listed = "; ".join(f"'{term}' in {' and '.join(wheres)}" for term, wheres in found.items())
    return GateReason(HIGH_RISK_TERM, f"High-risk terms found: {listed}.")


def _customer_rules(context: GateContext, policy: GatePolicySnapshot) -> list[GateReason]:
    reasons = []
    if context.customer_tier in policy.review_tiers:
        reasons.append(
            GateReason(
                TIER_REQUIRES_REVIEW,
                f"Requests from {context.customer_tier} customers are always reviewed.",
            )
        )
    if context.customer_country in policy.review_countries:
        reasons.append(
            GateReason(
                COUNTRY_REQUIRES_REVIEW,
                f"Requests from customers in {context.customer_country} are always reviewed.",
            )
        )
    limit = policy.max_prior_refunds_90d
    if limit is not None and context.prior_refunds_90d > limit:
        reasons.append(
            GateReason(
                PRIOR_REFUNDS_EXCEEDED,
                f"The customer had {context.prior_refunds_90d} refunds in the last 90 days; "
                f"more than {limit} are reviewed.",
            )
        )
    return reasons


def _repeat_complaint_reason(
    decision: RefundDecision | None, context: GateContext, policy: GatePolicySnapshot
) -> GateReason | None:
    """A repeat complaint, from the data (earlier requests of the customer) or from the
    customer's words as the drafter read them (its ``repeat_complaint`` flag)."""
    minimum = policy.repeat_complaint_min_requests
    if minimum is None:
        return None
    evidence = []
    earlier = context.earlier_requests_365d
    if earlier >= minimum:
        evidence.append(
            f"the customer made {earlier} other refund request{'s' if earlier != 1 else ''} in "
            f"the last 365 days ({minimum} or more make a repeat complaint)"
        )
    if decision is not None and RiskFlag.REPEAT_COMPLAINT in decision.risk_flags:
        evidence.append("the drafted proposal flags a repeat complaint in the customer's words")
    if not evidence:
        return None
    return GateReason(REPEAT_COMPLAINT, f"Repeat complaint: {'; '.join(evidence)}.")


def _queue(reasons: list[GateReason], policy: GatePolicySnapshot) -> str:
    return max(
        (policy.queue_for(r.code) for r in reasons),
        key=QUEUE_RANK.__getitem__,
        default=QUEUE_STANDARD,
    )


def _priority(
    decision: RefundDecision | None, context: GateContext, policy: GatePolicySnapshot
) -> int:
    """The request's own priority, one step up for each of: a priority tier, a large amount,
    a request already waiting long; never above urgent."""
    amount = decision.amount if decision is not None else context.requested_amount
    bumps = sum(
        (
            context.customer_tier in policy.priority_tiers,
            policy.priority_amount is not None
            and amount is not None
            and amount >= policy.priority_amount,
            policy.priority_age_hours is not None
            and context.request_age_hours >= policy.priority_age_hours,
        )
    )
    return max(PRIORITY_LOW, min(PRIORITY_URGENT, context.request_priority + bumps))


def evaluate_gate(
    *,
    decision: RefundDecision | None,
    failure_code: str | None,
    context: GateContext,
    policy: GatePolicySnapshot,
) -> GateResult:
    """Routes one case: ``auto`` only when no hard rule and no policy rule fires.

    ``failure_code`` is set (and ``decision`` is None) when drafting failed. All firing
    rules are reported, not only the first, so the reviewer sees every concern.
    """
    reasons = _hard_rules(decision, failure_code, context)
    if decision is not None and not failure_code:
        reasons += _decision_rules(decision, policy)
    risk = _risk_term_reason(None if failure_code else decision, context, policy)
    if risk is not None:
        reasons.append(risk)
    reasons += _customer_rules(context, policy)
    repeat = _repeat_complaint_reason(None if failure_code else decision, context, policy)
    if repeat is not None:
        reasons.append(repeat)
    if reasons:
        return GateResult(
            route=ROUTE_REVIEW,
            reasons=tuple(reasons),
            queue=_queue(reasons, policy),
            priority=_priority(decision, context, policy),
            policy_version=policy.version,
        )
    return GateResult(
        route=ROUTE_AUTO,
        reasons=(),
        queue="",
        priority=_priority(decision, context, policy),
        policy_version=policy.version,
    )
