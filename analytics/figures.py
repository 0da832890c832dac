"""The dashboard's figures from the daily roll-up for closed days and the live tables for
the rest of the period (selectors).

A period splits at ``live_start``: the days before it are read from ``DailyLoopCount``
(summed by the database: two queries over a few thousand small rows a day) — closed days
whole, today up to the last full hour the hourly schedule counted — and the rest (the
current hour; or everything from the first closed day of the period that has no roll-up
yet) is counted from the live tables by ``counting.loop_counts`` (four grouped queries over
that span's rows). A day missing from the roll-up thus costs time, never correctness,
until the schedule fills it in.

Both halves are the same counts (``counting.loop_counts`` makes both), so the figures are
those of ``analytics.loop_metrics`` over the whole period — except review latency,
estimated from histogram buckets (see ``latency.percentile_from_buckets``), and outcomes by
path, which show a closed day's statuses as of its last roll-up.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Sum
from django.utils import timezone

from refunds.models import Execution
from reviews.models import ReviewTask

from . import counting, facts, loop_metrics
from .latency import percentile_from_buckets
from .models import DailyLoopCount, DailyLoopRollup
from .rollup import day_start

DAILY_KEYS = {
    (counting.ROUTED, "auto"),
    (counting.ROUTED, "review"),
    (counting.DECISIONS, "with_proposal"),
    (counting.DECISIONS, "overridden"),
}


@dataclass(frozen=True)
class LoopCounts:
    """The counts of a period: ``totals`` by (metric, key); ``daily`` the counts behind the
    daily series (``DAILY_KEYS``) per day."""

    totals: Counter
    daily: dict[date, Counter]


def live_start(f: facts.DashboardFilters, *, now: datetime) -> datetime:
    """Where the period stops being read from the roll-up: the end of the rolled-up days
    that follow each other from the period's first — the next midnight of each complete
    day, today's last rolled-up hour — stopping at the first day without a (complete)
    roll-up. ``f.start`` itself when the period does not start at midnight: a partial day
    cannot come from the roll-up. One query."""
    first = timezone.localdate(f.start)
    if day_start(first) != f.start:
        return f.start
    rolled = dict(
        DailyLoopRollup.objects.filter(
            day__gte=first, day__lte=timezone.localdate(min(now, f.end))
        ).values_list("day", "until")
    )
    day, split = first, f.start
    while day in rolled and rolled[day] <= f.end:
        split = rolled[day]
        day += timedelta(days=1)
        if split < day_start(day):
            break
    return split


def _rolled_days_end(split: datetime) -> date:
    """The first day not read from the roll-up (exclusive), for a split at ``split``."""
    day = timezone.localdate(split)
    return day if day_start(day) == split else day + timedelta(days=1)


def _rolled_up(f: facts.DashboardFilters, first: date, until: date):
    qs = DailyLoopCount.objects.filter(day__gte=first, day__lt=until)
    if not (f.queue or f.channel or f.provider or f.policy_version is not None):
        return qs.filter(channel=counting.ALL).order_by()  # the day's totals
    # (no filter below matches the totals' "*")
    if f.queue:
        qs = qs.filter(queues__contains=f",{f.queue},")
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.provider:
        qs = qs.filter(providers__contains=f",{f.provider},")
    if f.policy_version is not None:
        qs = qs.filter(policy_versions__contains=f",{f.policy_version},")
    return qs.order_by()


def _add_daily(daily: dict[date, Counter], rolled) -> None:
    """The rolled-up counts behind the daily series, per day (one query)."""
    by_day = (
        rolled.filter(metric__in={m for m, _ in DAILY_KEYS}, key__in={k for _, k in DAILY_KEYS})
        .values("day", "metric", "key")
        .annotate(n=Sum("n"))
    )
    for row in by_day:
        daily[row["day"]][(row["metric"], row["key"])] += row["n"]


def loop_counts(f: facts.DashboardFilters, *, now: datetime) -> LoopCounts:
    """The counts of ``f``: rolled-up days plus the live rest (see the module)."""
    totals: Counter = Counter()
    daily: dict[date, Counter] = defaultdict(Counter)
    split = live_start(f, now=now)
    if split > f.start:
        rolled = _rolled_up(f, timezone.localdate(f.start), _rolled_days_end(split))
        for row in rolled.values("metric", "key").annotate(n=Sum("n")):
            totals[(row["metric"], row["key"])] += row["n"]
        _add_daily(daily, rolled)
    for (day, metric, key), n in counting.loop_counts(replace(f, start=split)).items():
        totals[(metric, key)] += n
        if (metric, key) in DAILY_KEYS:
            daily[day][(metric, key)] += n
    return LoopCounts(totals=totals, daily=dict(daily))


def _of(totals: Counter, metric: str) -> dict[str, int]:
    return {key: n for (m, key), n in totals.items() if m == metric}


# --- Figures (pure: counts in, the shapes of analytics.loop_metrics out) ---------------------


def routing_summary(c: LoopCounts) -> dict[str, Any]:
    routed = _of(c.totals, counting.ROUTED)
    auto, review = routed.get("auto", 0), routed.get("review", 0)
    total = sum(routed.values())
    return {
        "total": total,
        "auto": auto,
        "review": review,
        "auto_rate": facts.rate(auto, total),
        "review_rate": facts.rate(review, total),
    }


def decision_summary(c: LoopCounts) -> dict[str, Any]:
    counts = _of(c.totals, counting.DECISIONS)
    row = {name: counts.get(name, 0) for name in counting.DECISION_COUNTS}
    return {
        **row,
        "override_rate": facts.rate(row["overridden"], row["with_proposal"]),
        "sla_miss_rate": facts.rate(row["sla_missed"], row["total"]),
    }


def review_latency(c: LoopCounts) -> dict[str, float | None]:
    buckets = {int(k): n for k, n in _of(c.totals, counting.LATENCY).items()}
    return {
        "p50": percentile_from_buckets(buckets, 0.5),
        "p95": percentile_from_buckets(buckets, 0.95),
    }


def reviewer_agreement(c: LoopCounts) -> dict[str, Any]:
    counts = _of(c.totals, counting.AGREEMENT)
    row = {name: counts.get(name, 0) for name in counting.AGREEMENT_COUNTS}
    return {**row, "agreement_rate": facts.rate(row["agreed"], row["compared"])}


def execution_summary(c: LoopCounts) -> dict[str, Any]:
    phases = _of(c.totals, counting.EXECUTION)
    Phase = Execution.Phase
    row = {
        "total": sum(phases.values()),
        "done": phases.get(Phase.RECORDED, 0),
        "failed": phases.get(Phase.FAILED, 0),
        "pending": phases.get(Phase.STARTED, 0) + phases.get(Phase.PROVIDER_CALLED, 0),
    }
    return {**row, "failure_rate": facts.rate(row["failed"], row["total"])}


def reason_code_distribution(c: LoopCounts) -> list[dict[str, Any]]:
    reasons = _of(c.totals, counting.REASON)
    return [
        {"reason_code": code, "n": n}
        for code, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]


def outcomes_by_path(c: LoopCounts) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {"auto": [], "review": []}
    paths = _of(c.totals, counting.PATH)
    for key, n in sorted(paths.items(), key=lambda item: (item[0].split(":")[0], -item[1])):
        route, status = key.split(":", 1)
        result.setdefault(route, []).append(
            {
                "status": status,
                "label": loop_metrics.outcome_label(status),
                "n": n,
            }
        )
    return result


def daily_routing(c: LoopCounts) -> dict[date, dict[str, int]]:
    result = {}
    for day, counts in sorted(c.daily.items()):
        auto, review = counts[(counting.ROUTED, "auto")], counts[(counting.ROUTED, "review")]
        if auto or review:
            result[day] = {"total": auto + review, "auto": auto, "review": review}
    return result


def daily_overrides(c: LoopCounts) -> dict[date, dict[str, int]]:
    result = {}
    for day, counts in sorted(c.daily.items()):
        total = counts[(counting.DECISIONS, "with_proposal")]
        overridden = counts[(counting.DECISIONS, "overridden")]
        if total or overridden:
            result[day] = {"total": total, "overridden": overridden}
    return result


# --- Figures that need a look-up -------------------------------------------------------------


def reviewer_workload(c: LoopCounts) -> list[dict[str, Any]]:
    """The busiest ``loop_metrics.WORKLOAD_TOP`` reviewers of the period and the tasks each
    holds claimed now (two queries: their names, their claims)."""
    decided = _of(c.totals, counting.REVIEWER_DECIDED)
    overridden = _of(c.totals, counting.REVIEWER_OVERRIDDEN)
    if not decided:
        return []
    # Ties are broken by username, as in loop_metrics.reviewer_workload: rank the ties at the
    # cut by name too, so look up every reviewer with at least the cut's count.
    ranked = sorted(decided.items(), key=lambda item: -item[1])
    cut = ranked[min(loop_metrics.WORKLOAD_TOP, len(ranked)) - 1][1]
    ids = [int(pk) for pk, n in ranked if n >= cut]
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    top = sorted(ids, key=lambda pk: (-decided[str(pk)], names.get(pk, "")))
    top = top[: loop_metrics.WORKLOAD_TOP]
    claimed = dict(
        ReviewTask.objects.filter(active=1, assignee_id__in=top)
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    return [
        {
            "reviewer": names.get(pk, str(pk)),
            "decided": decided[str(pk)],
            "overridden": overridden.get(str(pk), 0),
            "claimed": claimed.get(pk, 0),
        }
        for pk in top
    ]


def daily_series(
    f: facts.DashboardFilters, *, now: datetime
) -> tuple[dict[date, dict[str, int]], dict[date, dict[str, int]]]:
    """Only the daily routing and override counts of ``f`` (for the drift alert when the
    page's own counts do not cover its window): the roll-up's days in one query, the live
    rest in two (``loop_metrics.daily_routing`` / ``daily_overrides``)."""
    split = live_start(f, now=now)
    daily: dict[date, Counter] = defaultdict(Counter)
    if split > f.start:
        rolled = _rolled_up(f, timezone.localdate(f.start), _rolled_days_end(split))
        _add_daily(daily, rolled)
    rolled_counts = LoopCounts(totals=Counter(), daily=dict(daily))
    live = replace(f, start=split)
    return (
        {**daily_routing(rolled_counts), **loop_metrics.daily_routing(live)},
        {**daily_overrides(rolled_counts), **loop_metrics.daily_overrides(live)},
    )
