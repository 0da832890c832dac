"""The gate's vocabulary: routes, queues, priorities, reason codes (stable: stored,
audited, counted by backtests), the default policy, and the frozen values the engine takes
and returns. Pure data, importable anywhere (models, admin, templates, the engine)."""

from dataclasses import dataclass, field
from decimal import Decimal

from refunds.actions import Action
from refunds.agent.schemas import PolicyMatch, Sentiment

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
