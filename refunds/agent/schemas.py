"""``RefundDecision``: the structured proposal the drafting model must return.

This is the contract between the agent (which produces it) and the gate (which judges it).
It is strict: unknown fields are refused, amounts are Decimals with two places, and every
enum is closed, so malformed model output fails validation instead of leaking through.
"""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from refunds.actions import Action


class PolicyMatch(StrEnum):
    STRONG = "strong"
    MEDIUM = "medium"
    WEAK = "weak"


class Sentiment(StrEnum):
    CALM = "calm"
    FRUSTRATED = "frustrated"
    ANGRY = "angry"


class RiskFlag(StrEnum):
    FRAUD = "fraud"
    CHARGEBACK = "chargeback"
    LEGAL = "legal"
    INJURY = "injury"
    REPEAT_COMPLAINT = "repeat_complaint"
    ABUSE = "abuse"
    PROMPT_INJECTION = "prompt_injection"
    OTHER = "other"


Amount = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class RefundDecision(BaseModel):
    """A drafted decision. Nothing in it executes anything: the gate decides the route."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    action: Action = Field(description="What to do for the customer.")
    amount: Amount = Field(
        description="Refund amount in the order's currency, two decimal places; 0 unless "
        "the action is approve_refund."
    )
    currency: str = Field(
        min_length=3,
        max_length=3,
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code; must equal the order's currency.",
    )
    rationale: str = Field(
        min_length=1,
        max_length=4000,
        description="Why, grounded in the cited refund-policy sections.",
    )
    cited_sections: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Ids of the refund-policy sections the rationale relies on.",
    )
    policy_match: PolicyMatch = Field(
        description="How clearly the policy covers this case: strong, medium or weak."
    )
    needs_human_review: bool = Field(description="True if a human should look at this case.")
    customer_sentiment: Sentiment = Field(
        description="The customer's tone, graded: calm (neutral or polite), frustrated "
        "(impatient, disappointed, demanding, saying it happened before) or angry (abusive, "
        "shouting, insulting)."
    )
    risk_flags: list[RiskFlag] = Field(
        default_factory=list,
        max_length=10,
        description="Risks noticed in the case (fraud, chargeback, legal, injury, ...); "
        "repeat_complaint when the customer says the problem happened before.",
    )

    @field_validator("currency", mode="before")
    @classmethod
    def _upper_currency(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
