"""Learning from reviews: human decisions turned into an evaluation set, and the drafter
(plus the active gate policy) replayed on it.

The loop (see docs/operations.md):

1. ``export_eval_set`` streams one JSON object per final human decision: the case exactly
   as the model saw it (the proposal's ``context`` and ``prompt_messages``), the AI's
   proposal, the gate's verdict and context, the human's final decision with reason codes
   and comments, and the difference between the two.
2. ``evaluate_drafter`` rebuilds each ``DraftContext`` from those inputs, re-runs the chain
   (``draft_decisions``), and compares the new draft with what the human decided; the new
   draft is also re-gated under the *active* gate policy, to count the cases it would have
   auto-approved although a human rejected or changed them.

No ORM in the evaluation half: records in, report out (the command loads the policy).
"""

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Prefetch

from refunds.agent.chain import DraftOutcome
from refunds.agent.context import DraftContext, PolicySection
from refunds.agent.schemas import Action
from refunds.gate.engine import GatePolicySnapshot, evaluate_gate
from refunds.gate.snapshots import gate_context_from_json
from refunds.models import GateEvaluation, Proposal

from .models import Outcome, ReviewDecision

SCHEMA_VERSION = 1
ZERO = Decimal("0.00")

# The action a final human outcome amounts to (a rejection stores no action of its own).
_OUTCOME_ACTION = {
    Outcome.REJECT: Action.DENY_REFUND.value,
    Outcome.REQUEST_MORE_INFO: Action.REQUEST_MORE_INFO.value,
}


class EvalSetError(ValueError):
    """A dataset line that cannot be evaluated (the command reports it with its number)."""


# --- Export -----------------------------------------------------------------------------------


def _money(value: Any) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def human_action(decision: ReviewDecision) -> str:
    return _OUTCOME_ACTION.get(decision.outcome, decision.action)


def human_amount(decision: ReviewDecision) -> Decimal:
    if decision.outcome in _OUTCOME_ACTION or decision.amount is None:
        return ZERO
    return Decimal(decision.amount)


def _latest_before(rows: Iterable[Any], when: datetime) -> Any | None:
    """The newest row (rows come newest first) created no later than ``when``."""
    return next((r for r in rows if r.created_at <= when), None)


def eval_set_decisions(*, since: datetime, until: datetime | None = None):
    """Final human decisions (approvals, rejections, requests for information) made in
    [since, until), oldest first, with everything a record needs prefetched per chunk:
    a constant number of queries per ``chunk_size`` decisions, whatever the total."""
    qs = ReviewDecision.objects.filter(is_final=True, created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return (
        qs.select_related("request", "task__queue")
        .prefetch_related(
            Prefetch(
                "request__proposals",
                queryset=Proposal.objects.select_related("policy_version__policy").order_by(
                    "-created_at", "-id"
                ),
            ),
            Prefetch(
                "request__gate_evaluations",
                queryset=GateEvaluation.objects.select_related("policy_version").order_by(
                    "-created_at", "-id"
                ),
            ),
            Prefetch(
                "task__decisions", queryset=ReviewDecision.objects.order_by("created_at", "id")
            ),
        )
        .order_by("created_at", "id")
    )


def eval_set_records(
    *, since: datetime, until: datetime | None = None, chunk_size: int = 500
) -> Iterator[dict[str, Any]]:
    """Streams the records (``.iterator`` with per-chunk prefetching: memory stays flat)."""
    for decision in eval_set_decisions(since=since, until=until).iterator(chunk_size=chunk_size):
        yield eval_record(decision)


def eval_record(decision: ReviewDecision) -> dict[str, Any]:
    request = decision.request
    proposal = _latest_before(request.proposals.all(), decision.created_at)
    evaluation = _latest_before(request.gate_evaluations.all(), decision.created_at)
    action, amount = human_action(decision), human_amount(decision)
    proposed_action = decision.proposed_action
    proposed_amount = None if not proposed_action else Decimal(decision.proposed_amount or ZERO)
    return {
        "schema": SCHEMA_VERSION,
        "request": str(request.public_id),
        "channel": request.channel,
        "currency": request.currency,
        "queue": decision.task.queue.slug,
        "inputs": None
        if proposal is None
        else {
            "context": proposal.context,
            "prompt_messages": proposal.prompt_messages,
            "sections": proposal.sections,
            "policy_version": (str(proposal.policy_version) if proposal.policy_version else ""),
        },
        "proposal": None
        if proposal is None
        else {
            "id": proposal.pk,
            "provider": proposal.provider,
            "model_name": proposal.model_name,
            "prompt_name": proposal.prompt_name,
            "prompt_version": proposal.prompt_version,
            "decision": proposal.decision,
            "error_code": proposal.error_code,
            "created_at": proposal.created_at.isoformat(),
        },
        "gate": None
        if evaluation is None
        else {
            "route": evaluation.route,
            "reasons": evaluation.reasons,
            "queue": evaluation.queue,
            "policy_version": evaluation.policy_version.version,
            "decision": evaluation.decision,
            "failure_code": evaluation.failure_code,
            "context": evaluation.context,
        },
        "human": {
            "decision": decision.pk,
            "reviewer": decision.reviewer_id,
            "outcome": decision.outcome,
            "action": action,
            "amount": _money(amount),
            "reason_code": decision.reason_code,
            "comment": decision.comment,
            "decided_at": decision.created_at.isoformat(),
        },
        # Every human step on the task: escalation notes, four-eyes first approvals.
        "trail": [
            {
                "decision": d.pk,
                "reviewer": d.reviewer_id,
                "outcome": d.outcome,
                "action": d.action,
                "amount": _money(d.amount),
                "reason_code": d.reason_code,
                "comment": d.comment,
                "is_final": d.is_final,
                "created_at": d.created_at.isoformat(),
            }
            for d in decision.task.decisions.all()
        ],
        "difference": {
            "proposed_action": proposed_action,
            "proposed_amount": _money(proposed_amount),
            "final_action": action,
            "final_amount": _money(amount),
            "action_changed": bool(proposed_action) and proposed_action != action,
            "amount_difference": (
                None if proposed_amount is None else _money(amount - proposed_amount)
            ),
            "overridden": bool(proposed_action)
            and (proposed_action != action or proposed_amount != amount),
        },
    }


# --- Rebuilding what the model saw ------------------------------------------------------------

_SECTION = re.compile(
    r'<section id="(?P<id>[^"]*)" title="(?P<title>[^"]*)">\n(?P<body>.*?)'
    r"\n</section>",
    re.DOTALL,
)
_POLICY_VERSION = re.compile(r'<policy_sections version="(?P<v>[^"]*)">')
_CUSTOMER = re.compile(r"<customer_message>\n(?P<text>.*)\n</customer_message>", re.DOTALL)


def _decimal(value: Any, *, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise EvalSetError(f"{what} is not a number: {value!r}") from exc


def draft_context_from_record(record: dict[str, Any]) -> DraftContext:
    """The ``DraftContext`` whose prompt equals the stored ``prompt_messages``: the case
    facts from ``inputs.context``; the customer's words, the policy version and the
    section texts read back from the stored human message (the customer's message and
    replies were rendered into one text, which is all the prompt ever used)."""
    inputs = record.get("inputs")
    if not isinstance(inputs, dict) or not isinstance(inputs.get("context"), dict):
        raise EvalSetError("no model inputs (the case was never drafted)")
    facts = inputs["context"]
    human = next(
        (
            m.get("content", "")
            for m in inputs.get("prompt_messages") or []
            if isinstance(m, dict) and m.get("role") == "human"
        ),
        None,
    )
    if not isinstance(human, str):
        raise EvalSetError("no human prompt message in inputs.prompt_messages")
    customer = _CUSTOMER.search(human)
    if customer is None:
        raise EvalSetError("the prompt has no <customer_message> block")
    version = _POLICY_VERSION.search(human)
    scores = {
        s.get("id"): float(s.get("score", 0.0))
        for s in inputs.get("sections") or []
        if isinstance(s, dict)
    }
    sections = tuple(
        PolicySection(m["id"], m["title"], m["body"], scores.get(m["id"], 0.0))
        for m in _SECTION.finditer(human)
    )
    policy_version = version["v"] if version else ""
    try:
        return DraftContext(
            request_public_id=str(facts["request_public_id"]),
            channel=facts["channel"],
            message=customer["text"],
            currency=facts["currency"],
            requested_amount=_decimal(facts.get("requested_amount"), what="requested_amount"),
            order=facts["order"],
            customer=facts["customer"],
            refund_history=facts["refund_history"],
            refundable_remaining=_decimal(
                facts["refundable_remaining"], what="refundable_remaining"
            ),
            earlier_requests=facts.get("earlier_requests") or [],
            questions_asked=tuple(facts.get("questions_asked") or ()),
            policy_version="" if policy_version == "none" else policy_version,
            sections=sections,
        )
    except KeyError as exc:
        raise EvalSetError(f"inputs.context lacks {exc.args[0]!r}") from exc


# --- Evaluation -------------------------------------------------------------------------------


@dataclass
class EvalCase:
    """One record ready to replay: the rebuilt context and what the human decided."""

    line: int
    request: str
    context: DraftContext
    human_outcome: str
    human_action: str
    human_amount: Decimal
    gate_context: dict[str, Any] | None


def eval_case_from_record(record: Any, *, line: int) -> EvalCase:
    if not isinstance(record, dict):
        raise EvalSetError("not a JSON object")
    human = record.get("human")
    if not isinstance(human, dict) or not human.get("outcome"):
        raise EvalSetError("no human decision")
    gate = record.get("gate") if isinstance(record.get("gate"), dict) else None
    return EvalCase(
        line=line,
        request=str(record.get("request", "")),
        context=draft_context_from_record(record),
        human_outcome=human["outcome"],
        human_action=human.get("action") or "",
        human_amount=_decimal(human.get("amount"), what="human.amount") or ZERO,
        gate_context=gate.get("context") if gate and gate.get("context") else None,
    )


@dataclass
class EvalReport:
    cases: int = 0
    drafted: int = 0  # the new draft produced a decision
    failed: int = 0  # the chain failed (error code) for the case
    skipped: int = 0  # lines that could not be evaluated
    agreed: int = 0  # same action as the human
    amount_error_total: Decimal = ZERO
    regated: int = 0  # cases with a stored gate context, re-gated
    auto_approved: int = 0  # ... that the active policy would auto-approve
    auto_against_human: int = 0  # ... although the human rejected or changed it
    failures_by_code: dict[str, int] = field(default_factory=dict)
    disagreements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def action_agreement(self) -> float | None:
        return self.agreed / self.drafted if self.drafted else None

    @property
    def mean_absolute_amount_error(self) -> Decimal | None:
        if not self.drafted:
            return None
        return (self.amount_error_total / self.drafted).quantize(Decimal("0.01"))

    def as_dict(self) -> dict[str, Any]:
        agreement = self.action_agreement
        mae = self.mean_absolute_amount_error
        return {
            "cases": self.cases,
            "drafted": self.drafted,
            "failed": self.failed,
            "skipped": self.skipped,
            "action_agreement": (None if agreement is None else round(agreement, 4)),
            "mean_absolute_amount_error": None if mae is None else str(mae),
            "regated": self.regated,
            "auto_approved": self.auto_approved,
            "auto_approved_against_human": self.auto_against_human,
            "failures_by_code": self.failures_by_code,
            "disagreements": self.disagreements,
        }


def evaluate_outcomes(
    cases: list[EvalCase],
    outcomes: list[DraftOutcome],
    *,
    policy: GatePolicySnapshot,
    report: EvalReport,
    keep_disagreements: int = 50,
) -> EvalReport:
    """Scores new drafts against the humans' decisions and re-gates them under ``policy``.

    The amount error is |draft amount - human amount|, a non-refund counting as 0, over
    the cases drafted. A case counts against the gate when the policy auto-approves the
    draft while the human rejected the case or decided another action or amount."""
    for case, outcome in zip(cases, outcomes, strict=True):
        report.cases += 1
        decision = outcome.decision
        if decision is None:
            report.failed += 1
            code = outcome.error_code or "unknown"
            report.failures_by_code[code] = report.failures_by_code.get(code, 0) + 1
        else:
            report.drafted += 1
            amount = Decimal(decision.amount) if decision.action == Action.APPROVE_REFUND else ZERO
            report.amount_error_total += abs(amount - case.human_amount)
            if decision.action == case.human_action:
                report.agreed += 1
            elif len(report.disagreements) < keep_disagreements:
                report.disagreements.append(
                    {
                        "line": case.line,
                        "request": case.request,
                        "draft": {"action": decision.action.value, "amount": f"{amount:.2f}"},
                        "human": {
                            "action": case.human_action,
                            "amount": f"{case.human_amount:.2f}",
                        },
                    }
                )
        if case.gate_context is None:
            continue
        report.regated += 1
        result = evaluate_gate(
            decision=decision,
            failure_code=outcome.error_code or None,
            context=gate_context_from_json(case.gate_context),
            policy=policy,
        )
        if not result.is_auto:
            continue
        report.auto_approved += 1
        assert decision is not None  # a failed draft is never auto-approved
        draft_amount = Decimal(decision.amount)
        if (
            case.human_outcome == Outcome.REJECT
            or decision.action != case.human_action
            or draft_amount != case.human_amount
        ):
            report.auto_against_human += 1
    return report


def read_dataset(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each non-blank line; bad JSON raises EvalSetError."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"line {number} is not JSON: {exc.msg}") from exc
