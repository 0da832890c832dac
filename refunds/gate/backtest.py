"""Backtest: replay past cases under a draft policy version and compare with the active one.

Each stored ``GateEvaluation`` carries the proposal and the context the gate judged, so a
case is replayed with ``evaluate_gate`` alone; only the request's later status and final
decision are read, to compare with what a human decided.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError

from refunds.agent.schemas import RefundDecision
from refunds.models import GateEvaluation, GatePolicyVersion
from refunds.states import RefundStatus

from .engine import evaluate_gate
from .selectors import gate_evaluations_latest_since
from .snapshots import gate_context_from_json
from .vocabulary import (
    PROPOSAL_INVALID,
    ROUTE_AUTO,
    GateContext,
    GatePolicySnapshot,
    GateResult,
)

REJECTED_STATUSES = frozenset({RefundStatus.REJECTED})
# Statuses a request reaches only after a human (or the gate) decided it.
DECIDED_STATUSES = frozenset(
    {
        RefundStatus.APPROVED,
        RefundStatus.REJECTED,
        RefundStatus.EXECUTING,
        RefundStatus.EXECUTED,
        RefundStatus.EXECUTION_FAILED,
        RefundStatus.CLOSED,
    }
)


@dataclass(frozen=True)
class RouteSummary:
    policy_version: int
    auto: int
    review: int
    by_reason: tuple[tuple[str, int], ...]  # most frequent first


@dataclass(frozen=True)
class ChangedCase:
    request_public_id: str
    evaluated_at: datetime
    baseline_route: str
    draft_route: str
    baseline_reasons: tuple[str, ...]
    draft_reasons: tuple[str, ...]


@dataclass(frozen=True)
class BacktestReport:
    since: date
    cases: int
    draft: RouteSummary
    baseline: RouteSummary
    changed: tuple[ChangedCase, ...]
    human_decided: int  # cases a human decided after review
    draft_auto_human_rejected: int
    draft_auto_human_edited: int
    draft_auto_human_approved: int
    unreadable: int = 0  # stored proposals that no longer validate (replayed as invalid)

    @property
    def draft_auto_human_overruled(self) -> int:
        return self.draft_auto_human_rejected + self.draft_auto_human_edited


def _summary(version: int, results: list[GateResult]) -> RouteSummary:
    reasons = Counter(code for r in results for code in r.reason_codes)
    auto = sum(r.route == ROUTE_AUTO for r in results)
    return RouteSummary(
        policy_version=version,
        auto=auto,
        review=len(results) - auto,
        by_reason=tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def _replay_inputs(evaluation: GateEvaluation) -> tuple[RefundDecision | None, str | None, bool]:
    """The decision and failure code to replay, and whether the stored proposal failed to
    parse (then it is replayed as an invalid proposal, which a hard rule reviews)."""
    if evaluation.failure_code or evaluation.decision is None:
        return None, evaluation.failure_code or None, False
    try:
        return RefundDecision.model_validate(evaluation.decision), None, False
    except PydanticValidationError:
        return None, PROPOSAL_INVALID, True


def _human_outcome(evaluation: GateEvaluation, decision: RefundDecision | None) -> str | None:
    """'rejected', 'edited' or 'approved' for a case a human decided after review."""
    request = evaluation.request
    if evaluation.route == ROUTE_AUTO or request.status not in DECIDED_STATUSES:
        return None
    if request.status in REJECTED_STATUSES:
        return "rejected"
    if decision is None:
        return "edited"
    final_amount = request.final_amount if request.final_amount is not None else Decimal("0")
    if request.final_action != decision.action.value or final_amount != decision.amount:
        return "edited"
    return "approved"


@dataclass(frozen=True)
class ReplayCase:
    """One stored case, ready to replay with ``evaluate_gate``: what the gate judged and, if
    a human decided it after review, how (``human_outcome``: 'approved' — as proposed —,
    'edited' or 'rejected'; None when not decided by a human). History-based figures
    (``analytics.gate_tuning``) replay these exactly as the backtest does."""

    request_public_id: str
    evaluated_at: datetime
    route: str  # the route the gate took then
    decision: RefundDecision | None
    failure_code: str | None
    context: GateContext
    human_outcome: str | None
    unreadable: bool = False

    def replay(self, policy: GatePolicySnapshot) -> GateResult:
        return evaluate_gate(
            decision=self.decision,
            failure_code=self.failure_code,
            context=self.context,
            policy=policy,
        )


def replay_case(evaluation: GateEvaluation) -> ReplayCase:
    """The replayable form of a stored evaluation (its request loaded)."""
    decision, failure_code, broken = _replay_inputs(evaluation)
    return ReplayCase(
        request_public_id=str(evaluation.request.public_id),
        evaluated_at=evaluation.created_at,
        route=evaluation.route,
        decision=decision,
        failure_code=failure_code,
        context=gate_context_from_json(evaluation.context),
        human_outcome=_human_outcome(evaluation, decision),
        unreadable=broken,
    )


def replay_cases_since(since: date, *, chunk_size: int = 500) -> Iterator[ReplayCase]:
    """The latest gate evaluation of every request gated on or after ``since`` (midnight,
    site time), replayable, oldest first: one query, streamed."""
    start = timezone.make_aware(datetime.combine(since, time.min))
    for evaluation in gate_evaluations_latest_since(since=start).iterator(chunk_size=chunk_size):
        yield replay_case(evaluation)


def gate_backtest(
    *, draft: GatePolicyVersion, since: date, baseline: GatePolicyVersion
) -> BacktestReport:
    """Replays every request gated on or after ``since`` (its latest evaluation) under
    ``draft`` and ``baseline`` (normally the active version). Read-only."""
    draft_policy: GatePolicySnapshot = draft.to_snapshot()
    baseline_policy: GatePolicySnapshot = baseline.to_snapshot()
    draft_results, baseline_results, changed = [], [], []
    outcomes: Counter[str] = Counter()
    unreadable = 0
    for case in replay_cases_since(since):
        unreadable += case.unreadable
        new = case.replay(draft_policy)
        old = case.replay(baseline_policy)
        draft_results.append(new)
        baseline_results.append(old)
        if new.route != old.route:
            changed.append(
                ChangedCase(
                    request_public_id=case.request_public_id,
                    evaluated_at=case.evaluated_at,
                    baseline_route=old.route,
                    draft_route=new.route,
                    baseline_reasons=old.reason_codes,
                    draft_reasons=new.reason_codes,
                )
            )
        outcome = case.human_outcome
        if outcome is not None:
            outcomes["decided"] += 1
            if new.route == ROUTE_AUTO:
                outcomes[outcome] += 1
    return BacktestReport(
        since=since,
        cases=len(draft_results),
        draft=_summary(draft.version, draft_results),
        baseline=_summary(baseline.version, baseline_results),
        changed=tuple(changed),
        human_decided=outcomes["decided"],
        draft_auto_human_rejected=outcomes["rejected"],
        draft_auto_human_edited=outcomes["edited"],
        draft_auto_human_approved=outcomes["approved"],
        unreadable=unreadable,
    )


def backtest_report_lines(report: BacktestReport, *, max_changed: int = 50) -> list[str]:
    """The report as plain text lines (the CLI prints them)."""
    lines = [
        f"Backtest of policy v{report.draft.policy_version} against "
        f"v{report.baseline.policy_version}: {report.cases} case(s) gated since "
        f"{report.since.isoformat()}."
    ]
    for title, summary in (("Draft", report.draft), ("Active", report.baseline)):
        lines.append(
            f"{title} v{summary.policy_version}: {summary.auto} auto-approve, "
            f"{summary.review} review."
        )
        lines += [f"    {code}: {count}" for code, count in summary.by_reason]
    lines.append(f"Cases that change route: {len(report.changed)}.")
    for case in report.changed[:max_changed]:
        lines.append(
            f"    {case.request_public_id} ({case.evaluated_at:%Y-%m-%d}): "
            f"{case.baseline_route} -> {case.draft_route} "
            f"[{', '.join(case.draft_reasons) or 'no reasons'}]"
        )
    if len(report.changed) > max_changed:
        lines.append(f"    ... and {len(report.changed) - max_changed} more.")
    lines.append(
        f"Decided by a human: {report.human_decided}; the draft would have "
        f"auto-approved {report.draft_auto_human_rejected} a human rejected, "
        f"{report.draft_auto_human_edited} a human edited and "
        f"{report.draft_auto_human_approved} a human approved as proposed."
    )
    if report.unreadable:
        lines.append(
            f"{report.unreadable} stored proposal(s) no longer validate; replayed "
            "as invalid proposals."
        )
    return lines
