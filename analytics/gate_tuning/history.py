"""Reads for gate tuning: the replayable history of a window, and the suggestions for the
active policy over the configured weeks (``HITL_GATE_TUNING_*`` settings)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from analytics.rollup import day_start
from refunds.gate.backtest import ReplayCase, replay_cases_since
from refunds.gate.selectors import gate_policy_active
from refunds.models import GatePolicyVersion
from reviews.services import four_eyes_amount

from .suggest import Suggestion, suggest


def gate_tuning_history(*, since: date) -> list[ReplayCase]:
    """The latest gate evaluation of every request gated on or after ``since`` (the day the
    backtest's ``since`` names), replayable, oldest first: one query, whatever the size."""
    return list(replay_cases_since(since, chunk_size=2000))


@dataclass(frozen=True)
class Settings:
    weeks: int
    min_precision: float
    min_cases: int
    four_eyes_amount: Decimal


def gate_tuning_settings() -> Settings:
    return Settings(
        weeks=settings.HITL_GATE_TUNING_WEEKS,
        min_precision=settings.HITL_GATE_TUNING_MIN_PRECISION,
        min_cases=settings.HITL_GATE_TUNING_MIN_CASES,
        four_eyes_amount=four_eyes_amount(),
    )


def window_weeks(*, since: date, now: datetime) -> float:
    """Weeks from the start of ``since`` to ``now`` (at least one day's worth)."""
    return max((now - day_start(since)) / timedelta(weeks=1), 1 / 7)


@dataclass(frozen=True)
class SuggestionsPage:
    active: GatePolicyVersion
    since: date
    cases: int
    decided: int
    suggestions: list[Suggestion]
    settings: Settings


def gate_tuning_suggestions(*, now: datetime | None = None) -> SuggestionsPage:
    """The suggestions for the active policy over the last ``HITL_GATE_TUNING_WEEKS``
    weeks: two queries (the active version, the history). Raises ``ApplicationError``
    (``no_active_gate_policy``) if no version is active."""
    now = now or timezone.now()
    config = gate_tuning_settings()
    active = gate_policy_active()
    since = timezone.localdate(now) - timedelta(weeks=config.weeks)
    cases = gate_tuning_history(since=since)
    found = suggest(
        active.to_snapshot(),
        cases,
        weeks=window_weeks(since=since, now=now),
        min_precision=config.min_precision,
        min_cases=config.min_cases,
        four_eyes_amount=config.four_eyes_amount,
    )
    return SuggestionsPage(
        active=active,
        since=since,
        cases=len(cases),
        decided=sum(c.human_outcome is not None for c in cases),
        suggestions=found,
        settings=config,
    )
