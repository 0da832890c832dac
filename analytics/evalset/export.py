"""The evaluation set's export half: one JSON record per final human decision — the case
as the model saw it, the AI's proposal, the gate's verdict, the human's decision and the
difference (read by ``export_eval_set``)."""

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch

from refunds.models import GateEvaluation, Proposal
from reviews.models import ReviewDecision

SCHEMA_VERSION = 1
ZERO = Decimal("0.00")


def _money(value: Any) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


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
    action, amount = decision.final_action, decision.final_amount
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
