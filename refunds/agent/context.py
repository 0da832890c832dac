"""The case as the drafting model sees it: plain frozen data, no ORM objects."""

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class PolicySection:
    section_id: str
    title: str
    body: str
    score: float = 0.0


@dataclass(frozen=True)
class DraftContext:
    request_public_id: str
    channel: str
    message: str
    currency: str
    requested_amount: Decimal | None
    order: dict[str, Any]
    customer: dict[str, Any]
    refund_history: dict[str, Any]
    refundable_remaining: Decimal
    earlier_requests: list[dict[str, Any]] = field(default_factory=list)
    replies: tuple[str, ...] = ()  # the customer's answers to our questions, oldest first
    policy_version: str = ""
    policy_version_id: int | None = None  # the RefundPolicyVersion row, for the proposal
    sections: tuple[PolicySection, ...] = ()
    # Names of the prompt-injection patterns found in the untrusted text (``screening``):
    # shown to the model as a case fact, and enough by itself to send the case to review.
    injection_markers: tuple[str, ...] = ()

    def case_facts(self) -> dict[str, Any]:
        """Everything but the customer's own words and the policy text, JSON-ready."""
        facts = asdict(self)
        for key in ("message", "replies", "sections", "policy_version", "policy_version_id"):
            facts.pop(key)
        return _json_ready(facts)

    def customer_text(self) -> str:
        """The customer's own words, original message then replies: all untrusted."""
        parts = [self.message]
        parts += [f"[reply {i}] {reply}" for i, reply in enumerate(self.replies, start=1)]
        return "\n\n".join(parts)

    def sections_with_scores(self) -> list[dict[str, Any]]:
        return [
            {"id": s.section_id, "title": s.title, "score": round(s.score, 4)}
            for s in self.sections
        ]


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value
