"""Scoring candidate changes on reviewed history, and the suggestions that pass.

Pure: replayable cases (``refunds.gate.backtest.ReplayCase``) and policy snapshots in,
frozen figures out. Each candidate is replayed with ``evaluate_gate``, as the backtest of a
draft with that change would replay it, so a suggestion's figures are the ones the
backtest of the draft it creates reports:

- ``m``: cases a human decided that the changed policy would have auto-approved;
- ``k``: of those, the ones the human approved as proposed (same action, same amount);
- ``edited`` / ``rejected``: the rest of ``m`` — the risk of the change;
- ``extra_auto``: cases (decided or not) the changed policy auto-approves and the current
  one sends to review; ``per_week`` divides it by the weeks of history.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from refunds.gate.backtest import ReplayCase
from refunds.gate.vocabulary import GatePolicySnapshot

from .candidates import Candidate, candidate_changes

APPROVED, EDITED, REJECTED = "approved", "edited", "rejected"


@dataclass(frozen=True)
class Score:
    m: int
    k: int
    edited: int
    rejected: int
    extra_auto: int

    @property
    def precision(self) -> float | None:
        return self.k / self.m if self.m else None


@dataclass(frozen=True)
class Suggestion:
    candidate: Candidate
    score: Score
    weeks: float
    based_on_version: int

    @property
    def key(self) -> str:
        return self.candidate.key

    @property
    def per_week(self) -> float:
        return self.score.extra_auto / self.weeks if self.weeks else 0.0

    @property
    def sentence(self) -> str:
        s = self.score
        return (
            f"{self.candidate.summary[0].upper()}{self.candidate.summary[1:]}: "
            f"{self.per_week:.1f} more auto-approvals a week; of the {s.m} past cases it would "
            f"have auto-approved that went to a human, {s.k} were approved unchanged "
            f"({s.precision:.1%}), {s.edited} edited, {s.rejected} rejected."
        )

    @property
    def change_note(self) -> str:
        s = self.score
        note = (
            f"Suggested: {self.candidate.summary} (from v{self.based_on_version}; "
            f"{s.k}/{s.m} approved unchanged, {s.edited} edited, {s.rejected} rejected; "
            f"{self.per_week:.1f} more auto-approvals a week over {self.weeks:.1f} weeks)"
        )
        return note[:500]


@dataclass(frozen=True)
class Baseline:
    """The current policy's routes of the cases, computed once for every candidate."""

    reviewed: tuple[tuple[ReplayCase, frozenset[str]], ...]  # review cases, reason codes
    auto_decided: tuple[ReplayCase, ...]  # auto-approved now, but decided by a human then


def baseline_of(policy: GatePolicySnapshot, cases: Sequence[ReplayCase]) -> Baseline:
    reviewed, auto_decided = [], []
    for case in cases:
        result = case.replay(policy)
        if result.is_auto:
            if case.human_outcome is not None:
                auto_decided.append(case)
        else:
            reviewed.append((case, frozenset(result.reason_codes)))
    return Baseline(tuple(reviewed), tuple(auto_decided))


def _newly_auto_decided(candidate: Candidate, baseline: Baseline) -> list[ReplayCase]:
    return [
        case
        for case, codes in baseline.reviewed
        if case.human_outcome is not None
        and candidate.reason_code in codes
        and case.replay(candidate.policy).is_auto
    ]


def top_band_passes(
    candidate: Candidate, baseline: Baseline, *, min_precision: float, min_cases: int
) -> bool:
    """For a ceiling: the ``min_cases`` highest amounts it would newly auto-approve must
    pass the precision too, so a band of riskier large refunds is not let through on the
    strength of the many small ones below it."""
    added = sorted(
        _newly_auto_decided(candidate, baseline),
        key=lambda case: case.decision.amount if case.decision else 0,
    )
    top = [case.human_outcome for case in added[-min_cases:]]
    return top.count(APPROVED) >= min_precision * len(top)


def score(candidate: Candidate, baseline: Baseline) -> Score:
    """Replays ``candidate`` on the cases it can change: a one-setting relaxation only
    takes its own reason away, so a case reviewed for other reasons alone, or auto-approved
    already, keeps its route (and is counted without a replay)."""
    outcomes = [case.human_outcome for case in baseline.auto_decided]
    extra = 0
    for case, codes in baseline.reviewed:
        if candidate.reason_code not in codes or not case.replay(candidate.policy).is_auto:
            continue
        extra += 1
        if case.human_outcome is not None:
            outcomes.append(case.human_outcome)
    return Score(
        m=len(outcomes),
        k=outcomes.count(APPROVED),
        edited=outcomes.count(EDITED),
        rejected=outcomes.count(REJECTED),
        extra_auto=extra,
    )


def suggest(
    policy: GatePolicySnapshot,
    cases: Sequence[ReplayCase],
    *,
    weeks: float,
    min_precision: float,
    min_cases: int,
    four_eyes_amount: Decimal,
) -> list[Suggestion]:
    """The candidates with at least ``min_cases`` decided cases they would auto-approve and
    a share approved unchanged of at least ``min_precision``, most extra auto-approvals
    first. A ceiling must also pass on its ``min_cases`` highest new amounts
    (``top_band_passes``); of the ceiling steps only the highest that passes is kept (the
    lower ones are the same change, smaller)."""
    baseline = baseline_of(policy, cases)
    passing = []
    for candidate in candidate_changes(policy, list(cases), four_eyes_amount=four_eyes_amount):
        figures = score(candidate, baseline)
        if figures.extra_auto == 0 or figures.m < max(min_cases, 1):
            continue
        if figures.k < min_precision * figures.m:
            continue
        if candidate.field == "auto_approve_ceiling" and not top_band_passes(
            candidate, baseline, min_precision=min_precision, min_cases=min_cases
        ):
            continue
        passing.append(Suggestion(candidate, figures, weeks, policy.version))
    best_ceiling = max(
        (s for s in passing if s.candidate.field == "auto_approve_ceiling"),
        key=lambda s: (s.score.extra_auto, -s.candidate.policy.auto_approve_ceiling),
        default=None,
    )
    kept = [s for s in passing if s.candidate.field != "auto_approve_ceiling" or s is best_ceiling]
    return sorted(kept, key=lambda s: (-s.score.extra_auto, -s.score.k, s.key))


@dataclass(frozen=True)
class HoldoutResult:
    suggestion: Suggestion
    later: Score  # the same change scored on the later cases

    @property
    def precision(self) -> float | None:
        return self.later.precision


def holdout(
    policy: GatePolicySnapshot,
    cases: Sequence[ReplayCase],
    *,
    split_at: datetime,
    weeks_before: float,
    min_precision: float,
    min_cases: int,
    four_eyes_amount: Decimal,
) -> list[HoldoutResult]:
    """Suggestions computed on the cases evaluated before ``split_at``, each scored on the
    cases from ``split_at`` on: how often humans approved unchanged what it would have
    auto-approved there."""
    earlier = [c for c in cases if c.evaluated_at < split_at]
    later = baseline_of(policy, [c for c in cases if c.evaluated_at >= split_at])
    found = suggest(
        policy,
        earlier,
        weeks=weeks_before,
        min_precision=min_precision,
        min_cases=min_cases,
        four_eyes_amount=four_eyes_amount,
    )
    return [HoldoutResult(s, score(s.candidate, later)) for s in found]
