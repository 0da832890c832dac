"""The risk and policy gate: a pure function from (proposal, context, policy) to a route.

No ORM, no network, no clock: frozen dataclasses in, a frozen ``GateResult`` out, so the
same inputs always give the same route and a backtest can replay any stored case.

Every rule that fires adds a ``GateReason`` (a stable code plus a sentence for the
reviewer); the case auto-approves only when none fires. Hard rules (``HARD_RULE_CODES``)
are checked whatever the policy says.
"""

from refunds.actions import Action
from refunds.agent.schemas import PolicyMatch, RefundDecision, RiskFlag

from .text import matched_terms
from .vocabulary import (
    ACTION_REQUIRES_REVIEW,
    AMOUNT_EXCEEDS_REFUNDABLE,
    AMOUNT_OVER_CEILING,
    COUNTRY_REQUIRES_REVIEW,
    CURRENCY_MISMATCH,
    HIGH_RISK_TERM,
    INVALID_OUTPUT_FAILURES,
    MODEL_FAILED,
    MODEL_REQUESTED_REVIEW,
    ORDER_OWNER_MISMATCH,
    POLICY_MATCH_INSUFFICIENT,
    POLICY_MATCH_RANK,
    PRIOR_REFUNDS_EXCEEDED,
    PRIORITY_LOW,
    PRIORITY_URGENT,
    PROMPT_INJECTION_SUSPECTED,
    PROPOSAL_INVALID,
    PROPOSAL_MISSING,
    QUEUE_RANK,
    QUEUE_STANDARD,
    REPEAT_COMPLAINT,
    REPEAT_QUESTION,
    ROUTE_AUTO,
    ROUTE_REVIEW,
    SENTIMENT_REQUIRES_REVIEW,
    TIER_REQUIRES_REVIEW,
    GateContext,
    GatePolicySnapshot,
    GateReason,
    GateResult,
)

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
