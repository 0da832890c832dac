"""The daily roll-up of the loop: the dashboard's figures as counts per day, so the page
sums a few thousand small rows for its closed days instead of scanning a period's requests.

``loop_counts`` counts the facts of a period in the database — through the very querysets
the live figures use (``reviews.metrics.gate_evaluations``, ``final_decisions``,
``executions``), so both count the same rows — grouped by day and, for the roll-up, by
the dashboard's filter columns. Four grouped queries, whatever the number of rows:

* gate evaluations by route and the request's status now → ``routed``, ``path``;
* final decisions by reviewer and reason code → ``decisions`` (outcomes, overrides, SLA
  misses), ``agreement``, ``reason``, ``reviewer_decided``, ``reviewer_overridden``;
* final decisions by review-latency bucket → ``latency``;
* executions by phase → ``execution``.

``loop_stats_rollup`` stores one day — a closed day whole, today up to its last full
hour — idempotently (delete and insert in one transaction); ``loop_stats_rollup_due``
(scheduled hourly) counts today's full hours, back-fills the closed days of the last
``HITL_LOOP_STATS_DAYS`` without a complete roll-up and re-counts the last
``HITL_LOOP_STATS_SETTLE_DAYS``, whose cases may still move on (a request's status, an
execution's phase). Older days keep the statuses they had when they were last counted.

Review latency is kept as a histogram with ``BUCKETS_PER_DOUBLING`` logarithmic buckets
per doubling (bucket ``b`` holds ``[2^(b/16), 2^((b+1)/16))`` seconds), so percentiles of
any set of days can be estimated from summed buckets (``percentile_from_buckets``).
"""

import logging
import math
import time as clock
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    FilteredRelation,
    FloatField,
    Func,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, Floor, Greatest, Ln, TruncDate
from django.utils import timezone

from hitl_site.errors import ApplicationError
from refunds.models import GateEvaluation, GatePolicyVersion, Proposal

from . import metrics
from .models import DailyLoopCount, DailyLoopRollup, Outcome, Queue, ReviewTask

logger = logging.getLogger(__name__)

# The metrics (kinds of count) of DailyLoopCount.
ROUTED = "routed"  # key: route
PATH = "path"  # key: "<route>:<request status now>"
DECISIONS = "decisions"  # key: one of DECISION_COUNTS
AGREEMENT = "agreement"  # key: two_humans, compared, agreed
REASON = "reason"  # key: reason code
LATENCY = "latency"  # key: histogram bucket
REVIEWER_DECIDED = "reviewer_decided"  # key: reviewer id
REVIEWER_OVERRIDDEN = "reviewer_overridden"  # key: reviewer id
EXECUTION = "execution"  # key: phase

DECISION_COUNTS = (
    "total",
    "with_proposal",
    "overridden",
    "action_changed",
    "approved",
    "rejected",
    "more_info",
    "sla_missed",
)
AGREEMENT_COUNTS = ("two_humans", "compared", "agreed")
DIMENSIONS = ("queues", "channel", "providers", "policy_versions")
# The filter columns of a day's totals over every combination: the unfiltered page reads
# these (a few hundred rows a day instead of a few thousand); no filter matches them.
ALL = "*"

BUCKETS_PER_DOUBLING = 16


# --- Latency histogram ------------------------------------------------------------------------


def latency_bucket_bounds(bucket: int) -> tuple[float, float]:
    """Seconds ``[low, high)`` of a latency bucket."""
    return 2 ** (bucket / BUCKETS_PER_DOUBLING), 2 ** ((bucket + 1) / BUCKETS_PER_DOUBLING)


def latency_bucket(seconds: float) -> int:
    """The bucket of a duration (as the database computes it; under a second: bucket 0)."""
    return math.floor(math.log(max(seconds, 1.0)) * BUCKETS_PER_DOUBLING / math.log(2))


def percentile_from_buckets(buckets: dict[int, int], p: float) -> float | None:
    """The ``p`` percentile (0..1) of the durations counted in ``buckets``, interpolated
    as PostgreSQL's ``percentile_cont`` does: between the durations at ranks
    ``floor(p * (n - 1))`` and the next, each estimated inside its bucket by its position
    among the bucket's count (geometrically).

    Precision: each estimated duration lies in the same bucket as the true one, so within
    a factor ``2^(1/16)`` of it (4.4 %), and so does their interpolation: the estimate is
    within 4.4 % of ``percentile_cont`` over the raw durations (durations under a second
    count as one second)."""
    n = sum(buckets.values())
    if not n:
        return None
    ordered = sorted(buckets.items())

    def duration_at(index: int) -> float:
        seen = 0
        for bucket, count in ordered:
            if index < seen + count:
                low, high = latency_bucket_bounds(bucket)
                return low * (high / low) ** ((index - seen + 0.5) / count)
            seen += count
        raise IndexError(index)  # pragma: no cover - ranks stay below n

    rank = p * (n - 1)
    below = math.floor(rank)
    low_value = duration_at(below)
    if below + 1 >= n or rank == below:
        return low_value
    return low_value + (rank - below) * (duration_at(below + 1) - low_value)


class _Seconds(Func):
    """A duration in seconds: PostgreSQL's interval epoch, SQLite's microseconds / 1e6."""

    output_field = FloatField()

    def as_postgresql(self, compiler, conn, **extra):
        return self.as_sql(compiler, conn, template="EXTRACT(EPOCH FROM %(expressions)s)")

    def as_sql(self, compiler, conn, template=None, **extra):
        template = template or "((%(expressions)s) / 1000000.0)"
        return super().as_sql(compiler, conn, template=template, **extra)


def _latency_bucket_expression(duration=None) -> Floor:
    """The histogram bucket of ``duration`` (default: the review latency)."""
    seconds = Greatest(_Seconds(duration or metrics._review_seconds()), Value(1.0))
    return Floor(Ln(seconds) * Value(BUCKETS_PER_DOUBLING / math.log(2)))


# --- The filter columns -----------------------------------------------------------------------


@dataclass(frozen=True)
class Dimensions:
    """The values the set-valued filter columns are built from (read once per run)."""

    providers: tuple[str, ...]
    policy_versions: tuple[tuple[int, int], ...]  # (version, id)
    queues: tuple[tuple[str, int], ...]  # (slug, id)


def dimension_values() -> Dimensions:
    return Dimensions(
        providers=tuple(
            Proposal.objects.order_by("provider").values_list("provider", flat=True).distinct()
        ),
        policy_versions=tuple(
            GatePolicyVersion.objects.order_by("version").values_list("version", "id")
        ),
        queues=tuple(Queue.objects.order_by("slug").values_list("slug", "id")),
    )


def _set_of(members: list[tuple[str, Q | Exists]]) -> Concat | Value:
    """``,a,b,``: the members whose condition holds, in the given order."""
    parts = [
        Case(When(condition, then=Value(f"{label},")), default=Value(""), output_field=CharField())
        for label, condition in members
    ]
    if not parts:
        return Value(",")
    return Concat(Value(","), *parts, output_field=CharField())


def _one(expression) -> Concat:
    return Concat(Value(","), expression, Value(","), output_field=CharField())


def _providers(dims: Dimensions):
    return _set_of(
        [
            (p, Exists(Proposal.objects.filter(request=OuterRef("request"), provider=p)))
            for p in dims.providers
        ]
    )


def _policies_of_request(dims: Dimensions):
    return _set_of(
        [
            (
                str(version),
                Exists(
                    GateEvaluation.objects.filter(request=OuterRef("request"), policy_version=pk)
                ),
            )
            for version, pk in dims.policy_versions
        ]
    )


def _gate_dimensions(dims: Dimensions) -> dict:
    return {
        "queues": Case(When(queue="", then=Value(",")), default=_one(F("queue"))),
        "channel": F("request__channel"),
        "providers": _providers(dims),
        "policy_versions": _one(Cast("policy_version__version", CharField())),
    }


def _decision_dimensions(dims: Dimensions) -> dict:
    return {
        "queues": _one(F("task__queue__slug")),
        "channel": F("request__channel"),
        "providers": _providers(dims),
        "policy_versions": _policies_of_request(dims),
    }


def _execution_dimensions(dims: Dimensions) -> dict:
    return {
        "queues": _set_of(
            [
                (slug, Exists(ReviewTask.objects.filter(request=OuterRef("request"), queue=pk)))
                for slug, pk in dims.queues
            ]
        ),
        "channel": F("request__channel"),
        "providers": _providers(dims),
        "policy_versions": _policies_of_request(dims),
    }


# --- Counting ---------------------------------------------------------------------------------


def loop_counts(f: metrics.DashboardFilters, *, dims: Dimensions | None = None) -> Counter:
    """The facts of ``f``'s period and filters as counts, keyed ``(day, metric, key)`` —
    or, with ``dims``, ``(day, metric, key, queues, channel, providers, policy_versions)``
    for the roll-up. Four grouped queries; rows are grouped, never loaded."""
    counts: Counter = Counter()

    def grouped(qs, dimensions: dict, *fields, **named):
        extra = dimensions if dims is not None else {}
        return qs.annotate(day=TruncDate("created_at")).values("day", *fields, **named, **extra)

    def add(row, metric: str, key, n: int) -> None:
        if n:
            dim = tuple(row[d] for d in DIMENSIONS) if dims is not None else ()
            counts[(metrics._as_date(row["day"]), metric, str(key), *dim)] += n

    gate_dims = _gate_dimensions(dims) if dims else {}
    for row in grouped(
        metrics.gate_evaluations(f), gate_dims, "route", status=F("request__status")
    ).annotate(n=Count("pk")):
        add(row, ROUTED, row["route"], row["n"])
        add(row, PATH, f"{row['route']}:{row['status']}", row["n"])

    decision_dims = _decision_dimensions(dims) if dims else {}
    decisions = grouped(_decisions_with_earlier(f), decision_dims, "reviewer_id", "reason_code")
    for row in decisions.annotate(**_decision_aggregates()):
        for name in DECISION_COUNTS:
            add(row, DECISIONS, name, row[name])
        for name in AGREEMENT_COUNTS:
            add(row, AGREEMENT, name, row[name])
        if row["reason_code"]:
            add(row, REASON, row["reason_code"], row["total"])
        add(row, REVIEWER_DECIDED, row["reviewer_id"], row["total"])
        add(row, REVIEWER_OVERRIDDEN, row["reviewer_id"], row["overridden"])

    for row in grouped(
        metrics.final_decisions(f), decision_dims, bucket=_latency_bucket_expression()
    ).annotate(n=Count("pk")):
        add(row, LATENCY, int(row["bucket"]), row["n"])

    execution_dims = _execution_dimensions(dims) if dims else {}
    for row in grouped(metrics.executions(f), execution_dims, "phase").annotate(
        n=Count("pk", distinct=bool(f.queue))
    ):
        add(row, EXECUTION, row["phase"], row["n"])
    return counts


def _decisions_with_earlier(f: metrics.DashboardFilters):
    """Final decisions joined to the other reviewers' non-final decisions on the task (as
    ``metrics.reviewer_agreement``): every count below is distinct per decision."""
    return metrics.final_decisions(f).alias(
        earlier=FilteredRelation(
            "task__decisions",
            condition=Q(task__decisions__is_final=False)
            & ~Q(task__decisions__reviewer=F("reviewer")),
        )
    )


def _decision_aggregates() -> dict:
    def distinct(condition: Q | None = None) -> Count:
        return Count("pk", distinct=True, filter=condition)

    opinion = Q(earlier__isnull=False) & ~Q(earlier__outcome=Outcome.ESCALATE)
    return {
        "total": distinct(),
        "with_proposal": distinct(Q(has_proposal=True)),
        "overridden": distinct(metrics.OVERRIDDEN),
        "action_changed": distinct(Q(has_proposal=True) & ~Q(final_action=F("proposed_action"))),
        "approved": distinct(Q(outcome__in=[Outcome.APPROVE, Outcome.APPROVE_WITH_EDITS])),
        "rejected": distinct(Q(outcome=Outcome.REJECT)),
        "more_info": distinct(Q(outcome=Outcome.REQUEST_MORE_INFO)),
        "sla_missed": distinct(Q(created_at__gt=F("task__due_at"))),
        "two_humans": distinct(Q(earlier__isnull=False)),
        "compared": distinct(opinion),
        "agreed": distinct(opinion & Q(earlier__action=F("action"), earlier__amount=F("amount"))),
    }


# --- The roll-up ------------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    """Midnight starting ``day`` in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def rollup_end(day: date, now: datetime) -> datetime:
    """Where a roll-up of ``day`` stops: the next midnight for a closed day; for today, the
    last full hour (local), so the page counts at most an hour's rows live."""
    if day < timezone.localdate(now):
        return day_start(day + timedelta(days=1))
    hour = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    return max(hour, day_start(day))


@transaction.atomic
def loop_stats_rollup(
    *, day: date, now: datetime | None = None, dims: Dimensions | None = None
) -> int:
    """Counts ``day`` (in the site's time zone) into ``DailyLoopCount`` and marks it rolled
    up (``DailyLoopRollup``) up to ``rollup_end``: a closed day whole, today up to its last
    full hour. Idempotent: the day's counts are deleted and written again in one
    transaction, under a lock on the day's marker row, so a re-run replaces them, two runs
    at once take turns, and readers see the old counts or the new.

    Returns the number of count rows written. Raises ``ApplicationError`` (``day_open``)
    for a day after today."""
    now = now or timezone.now()
    if day > timezone.localdate(now):
        raise ApplicationError(
            f"{day.isoformat()} has not begun: there is nothing to roll up yet.",
            code="day_open",
            status_code=400,
        )
    end = rollup_end(day, now)
    if connection.vendor == "postgresql":
        # The set columns' EXISTS subplans make the planner's estimate huge, so PostgreSQL
        # JIT-compiles each counting query: ~2.7 s of compilation for ~1 s of work a day.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
    marker, _ = DailyLoopRollup.objects.select_for_update().get_or_create(
        day=day, defaults={"until": end}
    )
    f = metrics.DashboardFilters(start=day_start(day), end=end)
    counts = loop_counts(f, dims=dims or dimension_values()) if end > f.start else Counter()
    totals: Counter = Counter()
    for (_, metric, key, *_dims), n in counts.items():
        totals[(day, metric, key, ALL, ALL, ALL, ALL)] += n
    counts.update(totals)
    DailyLoopCount.objects.filter(day=day).delete()
    rows = DailyLoopCount.objects.bulk_create(
        [
            DailyLoopCount(
                day=day,
                metric=metric,
                key=key,
                queues=queues,
                channel=channel,
                providers=providers,
                policy_versions=policy_versions,
                n=n,
            )
            for (_, metric, key, queues, channel, providers, policy_versions), n in counts.items()
        ],
        batch_size=2000,
    )
    marker.until, marker.rolled_up_at, marker.rows = end, now, len(rows)
    marker.save(update_fields=["until", "rolled_up_at", "rows"])
    return len(rows)


def days_due(*, now: datetime | None = None) -> list[date]:
    """Closed days of the last ``HITL_LOOP_STATS_DAYS`` to count, newest first: those
    without a complete roll-up and the last ``HITL_LOOP_STATS_SETTLE_DAYS`` (settling)."""
    today = timezone.localdate(now or timezone.now())
    window = [today - timedelta(days=n) for n in range(1, settings.HITL_LOOP_STATS_DAYS + 1)]
    done = {
        day
        for day, until in DailyLoopRollup.objects.filter(
            day__gte=window[-1], day__lt=today
        ).values_list("day", "until")
        if until >= day_start(day + timedelta(days=1))
    }
    settling = set(window[: settings.HITL_LOOP_STATS_SETTLE_DAYS])
    return [d for d in window if d not in done or d in settling]


def loop_stats_rollup_due(
    *, now: datetime | None = None, budget_seconds: float | None = None
) -> list[date]:
    """Rolls up today's full hours, then ``days_due``, newest first, each in its own
    transaction; stops starting new days once ``budget_seconds`` have passed (a first
    back-fill of 90 busy days then spreads over a few runs instead of outliving the task
    timeout). Returns the days."""
    now = now or timezone.now()
    started = clock.monotonic()
    dims = dimension_values()
    done = []
    for day in [timezone.localdate(now), *days_due(now=now)]:
        if budget_seconds is not None and clock.monotonic() - started > budget_seconds:
            break
        loop_stats_rollup(day=day, now=now, dims=dims)
        done.append(day)
    return done
