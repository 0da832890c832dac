"""The decision package: everything a reviewer sees about one case on the decision page —
the AI proposal, its provenance, the gate's reasons, the customer's history and the whole
conversation — read in a fixed number of queries. Masking of personal data lives here too,
since the package is the only place that shows it."""

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from refunds.agent.providers import OFFLINE, drafter_name
from refunds.models import GateEvaluation, Proposal, RefundRequest
from refunds.selectors import RefundHistory, customer_refund_history
from refunds.thread import CaseThread, case_thread

from .models import ReviewDecision, ReviewTask
from .permissions import queue_ids_for_user

# --- The AI proposal -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposedDecision:
    """The AI's proposal as the reviewer sees it, whichever model stored it."""

    action: str
    amount: Decimal
    currency: str
    rationale: str
    policy_match: str = ""
    needs_human_review: bool | None = None
    customer_sentiment: str = ""
    risk_flags: tuple[str, ...] = ()
    cited_sections: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "ProposedDecision | None":
        if not data or "action" not in data:
            return None
        try:
            amount = Decimal(str(data.get("amount", "0")))
        except InvalidOperation:
            return None
        return cls(
            action=str(data["action"]),
            amount=amount,
            currency=str(data.get("currency", "")),
            rationale=str(data.get("rationale", "")),
            policy_match=str(data.get("policy_match", "")),
            needs_human_review=data.get("needs_human_review"),
            customer_sentiment=str(data.get("customer_sentiment", "")),
            risk_flags=tuple(data.get("risk_flags") or ()),
            cited_sections=tuple(data.get("cited_sections") or ()),
        )


def latest_proposal(request: RefundRequest) -> Proposal | None:
    """The latest drafting attempt (successful or not) with its refund-policy version."""
    return (
        Proposal.objects.filter(request=request)
        .select_related("policy_version", "policy_version__policy")
        .order_by("-created_at", "-id")
        .first()
    )


def latest_gate_evaluation(request: RefundRequest) -> GateEvaluation | None:
    return (
        GateEvaluation.objects.filter(request=request)
        .select_related("policy_version")
        .order_by("-created_at", "-id")
        .first()
    )


_UNSET: Any = object()


def proposed_decision(
    request: RefundRequest,
    *,
    proposal: Proposal | None = _UNSET,
    evaluation: GateEvaluation | None = _UNSET,
) -> ProposedDecision | None:
    """The decision the AI proposed: the latest proposal's, else the one the gate judged
    (the gate stores the ``RefundDecision`` it evaluated). None when drafting failed."""
    proposal = latest_proposal(request) if proposal is _UNSET else proposal
    found = ProposedDecision.from_json(getattr(proposal, "decision", None))
    if found is not None:
        return found
    evaluation = latest_gate_evaluation(request) if evaluation is _UNSET else evaluation
    return ProposedDecision.from_json(evaluation.decision if evaluation else None)


# --- The decision package --------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    provider: str = ""
    model_name: str = ""
    prompt_version: str = ""
    policy_version: str = ""
    gate_policy_version: str = ""
    error_code: str = ""
    error_message: str = ""
    # What the model was shown and what it answered, for a reviewer who doubts the draft.
    prompt_messages: tuple[dict, ...] = ()
    raw_output: str = ""
    token_usage: tuple[tuple[str, int], ...] = ()
    latency_ms: int | None = None
    attempts: int | None = None

    @property
    def drafter_label(self) -> str:
        """What reviewers are told drafted the case: the offline drafter is never an AI."""
        if not self.provider:
            return ""
        if self.provider == OFFLINE:
            return f"{drafter_name(self.provider)} ({self.model_name}; rules, not an AI)"
        return f"{self.model_name} via {drafter_name(self.provider)}"


def _provenance(proposal: Proposal | None, evaluation: GateEvaluation | None) -> Provenance:
    gate_policy = f"v{evaluation.policy_version.version}" if evaluation is not None else ""
    error_code = getattr(proposal, "error_code", "") or getattr(evaluation, "failure_code", "")
    if proposal is None:
        return Provenance(gate_policy_version=gate_policy, error_code=str(error_code or ""))
    messages = proposal.prompt_messages if isinstance(proposal.prompt_messages, list) else []
    usage = proposal.token_usage if isinstance(proposal.token_usage, dict) else {}
    return Provenance(
        provider=proposal.provider,
        model_name=proposal.model_name,
        prompt_version=proposal.prompt_version,
        policy_version=str(proposal.policy_version) if proposal.policy_version else "",
        gate_policy_version=gate_policy,
        error_code=str(error_code or ""),
        error_message=proposal.error_message,
        prompt_messages=tuple(
            {"role": str(m.get("role", "")), "content": str(m.get("content", ""))}
            for m in messages
            if isinstance(m, dict)
        ),
        raw_output=(
            json.dumps(proposal.raw_output, indent=2, ensure_ascii=False, default=str)
            if proposal.raw_output is not None
            else ""
        ),
        token_usage=tuple((k, v) for k, v in sorted(usage.items()) if isinstance(v, int)),
        latency_ms=proposal.latency_ms,
        attempts=proposal.attempts,
    )


@dataclass
class DecisionPackage:
    task: ReviewTask
    request: RefundRequest
    proposal: ProposedDecision | None
    gate_reasons: list[dict]
    sections: list[dict]
    provenance: Provenance
    history: RefundHistory
    decisions: list[ReviewDecision]  # on this task, oldest first
    pending_approval: ReviewDecision | None
    thread: CaseThread  # the whole case: messages, replies, drafts, decisions, with times
    extra: dict = field(default_factory=dict)
    # The similar past cases the latest draft saw, as stored with it (``Proposal.precedents``).
    precedents: list[dict] = field(default_factory=list)


def _sections(proposal, decision: ProposedDecision | None) -> list[dict]:
    """Policy sections with their retrieval scores, from the stored proposal; without one,
    the ids the decision cites (no score)."""
    raw = getattr(proposal, "sections", None) or []
    sections = []
    for s in raw if isinstance(raw, list) else []:
        if isinstance(s, dict):
            sections.append(
                {
                    "id": s.get("id") or s.get("section_id", ""),
                    "title": s.get("title", ""),
                    "score": s.get("score"),
                    "text": s.get("text", ""),
                }
            )
    if not sections and decision is not None:
        sections = [
            {"id": sid, "title": "", "score": None, "text": ""} for sid in decision.cited_sections
        ]
    return sections


def decision_package(task: ReviewTask) -> DecisionPackage:
    """Everything a reviewer needs to decide ``task`` (loaded by ``review_task_for_user``)
    in seven queries, however long the case: the case thread (five: every draft, gate
    evaluation, decision, message and reply; the latest evaluation and this task's
    decisions are taken from it), the latest proposal in full with its provenance, and the
    refund history."""
    request = task.request
    thread = case_thread(request=request, current_task=task)
    proposal = latest_proposal(request)  # in full: its prompt and raw answer are shown
    evaluation = thread.latest_evaluation
    decision = proposed_decision(request, proposal=proposal, evaluation=evaluation)
    provenance = _provenance(proposal, evaluation)
    decisions = [d for d in thread.decisions if d.task_id == task.pk]
    return DecisionPackage(
        task=task,
        request=request,
        proposal=decision,
        gate_reasons=task.reasons or (evaluation.reasons if evaluation else []),
        sections=_sections(proposal, decision),
        provenance=provenance,
        history=customer_refund_history(customer=request.customer, exclude_request=request),
        decisions=decisions,
        pending_approval=next((d for d in decisions if d.pending), None),
        thread=thread,
        precedents=[
            p for p in (getattr(proposal, "precedents", None) or []) if isinstance(p, dict)
        ],
    )


# --- Similar past cases ----------------------------------------------------------------------


@dataclass(frozen=True)
class PrecedentRow:
    """One similar past case on the decision page: what the draft was shown (masked), how
    a human decided it, and a link to its task only for a viewer who may open it."""

    cite: str
    excerpt: str
    outcome: str
    proposed_action: str  # "" when the past case had no valid draft
    proposed_amount: str
    final_action: str
    final_amount: str
    reviewer_reason: str
    note: str
    similarity: float
    decided_at: str
    withheld: bool
    task_id: int | None  # None: the viewer may not open the past task


def precedent_rows(package: DecisionPackage, user) -> list[PrecedentRow]:
    """The package's precedents for ``user``: one query (the past tasks' queues), none
    without precedents; the queues the user works are cached on the user already."""
    stored = package.precedents
    ids = {p.get("task") for p in stored if isinstance(p.get("task"), int)}
    queues = (
        dict(ReviewTask.objects.filter(pk__in=ids).values_list("pk", "queue_id")) if ids else {}
    )
    allowed = queue_ids_for_user(user)
    return [
        PrecedentRow(
            cite=str(p.get("cite", "")),
            excerpt=str(p.get("excerpt", "")),
            outcome=str(p.get("outcome", "")),
            proposed_action=str(p.get("proposed_action") or ""),
            proposed_amount=str(p.get("proposed_amount") or ""),
            final_action=str(p.get("final_action") or ""),
            final_amount=str(p.get("final_amount") or ""),
            reviewer_reason=str(p.get("reviewer_reason", "")),
            note=str(p.get("note", "")),
            similarity=float(p.get("similarity") or 0),
            decided_at=str(p.get("decided_at", ""))[:10],
            withheld=bool(p.get("withheld")),
            task_id=p.get("task") if queues.get(p.get("task")) in allowed else None,
        )
        for p in stored
    ]


# --- Personal data ---------------------------------------------------------------------------


def mask_email(value: str) -> str:
    if not value or "@" not in value:
        return "•••" if value else ""
    local, _, domain = value.partition("@")
    return f"{local[:1]}•••@{domain[:1]}•••"


def mask_phone(value: str) -> str:
    digits = [c for c in value if c.isdigit()]
    return f"•••• {''.join(digits[-2:])}" if digits else ""


def mask_address(value: str) -> str:
    return "••• (hidden)" if value else ""
