"""The case as the drafting model sees it: plain frozen data, no ORM objects."""

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from .precedents import Precedent


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
    # The questions we already put to the customer on this request, oldest first:
    # {"number", "asked_at", "question", "answered_by_reply"} (the reply's number in
    # ``replies``, or None). Our own words, so case facts; the replies stay untrusted.
    questions_asked: tuple[dict[str, Any], ...] = ()
    policy_version: str = ""
    policy_version_id: int | None = None  # the RefundPolicyVersion row, for the proposal
    sections: tuple[PolicySection, ...] = ()
    # Names of the prompt-injection patterns found in the untrusted text (``screening``):
    # shown to the model as a case fact, and enough by itself to send the case to review.
    injection_markers: tuple[str, ...] = ()
    # Similar past cases humans decided (``precedents``), best first, cited as P1..Pk:
    # other customers' words, masked, untrusted; an empty tuple drafts without them.
    precedents: tuple[Precedent, ...] = ()

    def case_facts(self) -> dict[str, Any]:
        """Everything but the customer's own words and the policy text, JSON-ready."""
        facts = asdict(self)
        for key in (
            "message",
            "replies",
            "sections",
            "policy_version",
            "policy_version_id",
            "precedents",
        ):
            facts.pop(key)
        return _json_ready(facts)

    def customer_text(self) -> str:
        """The customer's own words, original message then replies: all untrusted. A reply
        says which of our questions (``questions_asked``) it answers."""
        answers = {
            q.get("answered_by_reply"): q.get("number")
            for q in self.questions_asked
            if q.get("answered_by_reply")
        }
        parts = [self.message]
        for i, reply in enumerate(self.replies, start=1):
            label = f"reply {i}, answering question {answers[i]}" if i in answers else f"reply {i}"
            parts.append(f"[{label}] {reply}")
        return "\n\n".join(parts)

    def answered_questions(self) -> list[dict[str, Any]]:
        return [q for q in self.questions_asked if q.get("answered_by_reply")]

    def sections_with_scores(self) -> list[dict[str, Any]]:
        return [
            {"id": s.section_id, "title": s.title, "score": round(s.score, 4)}
            for s in self.sections
        ]

    def precedents_with_scores(self) -> list[dict[str, Any]]:
        """Which precedents the drafter saw, cited P1..Pk (``Proposal.precedents``)."""
        return [p.provenance(f"P{i}") for i, p in enumerate(self.precedents, start=1)]


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value
