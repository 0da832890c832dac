"""The evaluation set's scoring: new drafts compared with the humans' decisions, and
re-gated under a gate policy (``evaluate_outcomes`` fills an ``EvalReport``). No ORM."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from refunds.actions import Action
from refunds.agent.chain import DraftOutcome
from refunds.gate.engine import GatePolicySnapshot, evaluate_gate
from refunds.gate.snapshots import gate_context_from_json
from reviews.models import Outcome

from .replay import ZERO, EvalCase


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
