"""The policy changes worth trying: one setting at a time, each a relaxation of the active
policy (it can only take reasons away, never add one), so replaying it can only turn a
reviewed case into an auto-approval.

Pure: a policy snapshot and the replayable history in, candidates out. What is never
proposed is listed in ``NEVER_RELAXED`` and enforced here, not by the data: hard rules
(suspected prompt injection, which includes fence tags in the customer's text, an order of
another customer, amounts over the refundable remainder, ...) are not policy settings at
all, and no ceiling is proposed above the four-eyes amount, so a refund that needs two
human approvers never auto-approves.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from refunds.actions import Action
from refunds.agent.schemas import PolicyMatch
from refunds.gate.backtest import ReplayCase
from refunds.gate.policy import POLICY_FIELDS
from refunds.gate.vocabulary import (
    ACTION_REQUIRES_REVIEW,
    AMOUNT_OVER_CEILING,
    COUNTRY_REQUIRES_REVIEW,
    HARD_RULE_CODES,
    HIGH_RISK_TERM,
    MODEL_REQUESTED_REVIEW,
    POLICY_MATCH_INSUFFICIENT,
    POLICY_MATCH_RANK,
    PRIOR_REFUNDS_EXCEEDED,
    REPEAT_COMPLAINT,
    SENTIMENT_REQUIRES_REVIEW,
    TIER_REQUIRES_REVIEW,
    GatePolicySnapshot,
    reason_label,
)

# The settings a suggestion may change, each with the reason code it can take away.
TUNABLE_FIELDS: dict[str, str] = {
    "auto_approve_ceiling": AMOUNT_OVER_CEILING,
    "review_sentiments": SENTIMENT_REQUIRES_REVIEW,
    "review_tiers": TIER_REQUIRES_REVIEW,
    "review_countries": COUNTRY_REQUIRES_REVIEW,
    "repeat_complaint_min_requests": REPEAT_COMPLAINT,
    "max_prior_refunds_90d": PRIOR_REFUNDS_EXCEEDED,
    "risk_terms": HIGH_RISK_TERM,
    "required_policy_match": POLICY_MATCH_INSUFFICIENT,
    "honour_model_review_flag": MODEL_REQUESTED_REVIEW,
    "auto_actions": ACTION_REQUIRES_REVIEW,
}
# Never relaxed by a suggestion, whatever the history says (shown on every suggestion).
NEVER_RELAXED: tuple[str, ...] = (
    *(f"hard rule: {reason_label(code)}" for code in HARD_RULE_CODES),
    "prompt-injection screening, fence tags included",
    "four-eyes approval (no ceiling above the four-eyes amount)",
)
# Ceiling steps: amounts are rounded up to this step, at most this many steps are tried.
CEILING_STEP = Decimal("5")
MAX_CEILING_STEPS = 40
_FIELD_LABELS = dict(POLICY_FIELDS)


@dataclass(frozen=True)
class Candidate:
    """One setting changed. ``value`` is what the policy-version service takes (lists,
    amounts as text); ``policy`` the snapshot with the change applied."""

    field: str
    value: Any
    policy: GatePolicySnapshot
    summary: str  # "auto-approve ceiling 25.00 → 40.00"

    @property
    def key(self) -> str:
        """Stable across page loads: names the change, not its figures."""
        return f"{self.field}={self.value}"

    @property
    def reason_code(self) -> str:
        return TUNABLE_FIELDS[self.field]

    @property
    def unchanged(self) -> tuple[str, ...]:
        """What the change leaves as it is: every other setting, and the hard rules."""
        others = tuple(
            label for name, label in POLICY_FIELDS if name != self.field and name in TUNABLE_FIELDS
        )
        return (*others, *NEVER_RELAXED)


def _candidate(
    policy: GatePolicySnapshot, field: str, snapshot_value: Any, value: Any, summary: str
) -> Candidate:
    if field not in TUNABLE_FIELDS:  # the one door: nothing else can be proposed
        raise ValueError(f"{field} is not a tunable gate setting")
    return Candidate(
        field=field,
        value=value,
        policy=replace(policy, **{field: snapshot_value}),
        summary=f"{_FIELD_LABELS[field].lower()}: {summary}",
    )


def _without(
    policy: GatePolicySnapshot, field: str, current: tuple[str, ...]
) -> Iterable[Candidate]:
    for item in current:
        rest = tuple(v for v in current if v != item)
        yield _candidate(policy, field, rest, list(rest), f"stop reviewing '{item}'")


def _ceiling_steps(
    policy: GatePolicySnapshot, cases: Iterable[ReplayCase], four_eyes_amount: Decimal
) -> list[Decimal]:
    """Observed proposed amounts above the ceiling (in currencies without their own),
    rounded up to ``CEILING_STEP``, never above the four-eyes amount."""
    own = dict(policy.currency_ceilings)
    steps = set()
    for case in cases:
        decision = case.decision
        if decision is None or decision.currency in own:
            continue
        if policy.auto_approve_ceiling < decision.amount <= four_eyes_amount:
            step = (decision.amount / CEILING_STEP).to_integral_value(rounding="ROUND_CEILING")
            steps.add(min(step * CEILING_STEP, four_eyes_amount))
    ordered = sorted(steps)
    if len(ordered) > MAX_CEILING_STEPS:  # evenly spread, always keeping the highest
        stride = math.ceil(len(ordered) / MAX_CEILING_STEPS)
        ordered = sorted({*ordered[stride - 1 :: stride], ordered[-1]})
    return ordered


def candidate_changes(
    policy: GatePolicySnapshot, cases: list[ReplayCase], *, four_eyes_amount: Decimal
) -> list[Candidate]:
    """Every one-setting relaxation of ``policy`` worth replaying on ``cases``."""
    found = []
    ceiling = policy.auto_approve_ceiling
    for step in _ceiling_steps(policy, cases, four_eyes_amount):
        found.append(
            _candidate(
                policy,
                "auto_approve_ceiling",
                step.quantize(Decimal("0.01")),
                str(step.quantize(Decimal("0.01"))),
                f"{ceiling:.2f} → {step:.2f}",
            )
        )
    for field in ("review_sentiments", "review_tiers", "review_countries", "risk_terms"):
        found += _without(policy, field, getattr(policy, field))
    for field in ("repeat_complaint_min_requests", "max_prior_refunds_90d"):
        current = getattr(policy, field)
        if current is not None:
            found.append(
                _candidate(policy, field, current + 1, current + 1, f"{current} → {current + 1}")
            )
    weaker = [
        m
        for m, rank in POLICY_MATCH_RANK.items()
        if rank == POLICY_MATCH_RANK[PolicyMatch(policy.required_policy_match)] - 1
    ]
    for match in weaker:
        found.append(
            _candidate(
                policy,
                "required_policy_match",
                match.value,
                match.value,
                f"{policy.required_policy_match} → {match.value}",
            )
        )
    if policy.honour_model_review_flag:
        found.append(_candidate(policy, "honour_model_review_flag", False, False, "yes → no"))
    for action in Action:
        if action.value not in policy.auto_actions:
            actions = (*policy.auto_actions, action.value)
            found.append(
                _candidate(
                    policy, "auto_actions", actions, list(actions), f"also allow '{action.value}'"
                )
            )
    return found
