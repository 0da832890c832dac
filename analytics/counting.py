"""The facts of a period as counts (``loop_counts``), grouped by day and, for the daily
roll-up, by the dashboard's filter columns — through the very querysets the live figures
use (``analytics.facts``), so both count the same rows. Four grouped queries, whatever the
number of rows:

* gate evaluations by route and the request's status now → ``routed``, ``path``;
* final decisions by reviewer and reason code → ``decisions`` (outcomes, overrides, SLA
  misses), ``agreement``, ``reason``, ``reviewer_decided``, ``reviewer_overridden``;
* final decisions by review-latency bucket (``analytics.latency``) → ``latency``;
* executions by phase → ``execution``.
"""

from collections import Counter
from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, TruncDate

from refunds.models import GateEvaluation, GatePolicyVersion, Proposal
from reviews.models import Outcome, Queue, ReviewTask

from . import facts
from .latency import latency_bucket_expression

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


def loop_counts(f: facts.DashboardFilters, *, dims: Dimensions | None = None) -> Counter:
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
            counts[(facts.as_date(row["day"]), metric, str(key), *dim)] += n

    gate_dims = _gate_dimensions(dims) if dims else {}
    for row in grouped(
        facts.gate_evaluations(f), gate_dims, "route", status=F("request__status")
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
        facts.final_decisions(f), decision_dims, bucket=latency_bucket_expression()
    ).annotate(n=Count("pk")):
        add(row, LATENCY, int(row["bucket"]), row["n"])

    execution_dims = _execution_dimensions(dims) if dims else {}
    for row in grouped(facts.executions(f), execution_dims, "phase").annotate(
        n=Count("pk", distinct=bool(f.queue))
    ):
        add(row, EXECUTION, row["phase"], row["n"])
    return counts


def _decisions_with_earlier(f: facts.DashboardFilters):
    """Final decisions joined to the other reviewers' non-final decisions on the task (as
    ``loop_metrics.reviewer_agreement``): every count below is distinct per decision."""
    return facts.final_decisions(f).alias(
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
        "overridden": distinct(facts.OVERRIDDEN),
        "action_changed": distinct(Q(has_proposal=True) & ~Q(final_action=F("proposed_action"))),
        "approved": distinct(Q(outcome__in=[Outcome.APPROVE, Outcome.APPROVE_WITH_EDITS])),
        "rejected": distinct(Q(outcome=Outcome.REJECT)),
        "more_info": distinct(Q(outcome=Outcome.REQUEST_MORE_INFO)),
        "sla_missed": distinct(Q(created_at__gt=F("task__due_at"))),
        "two_humans": distinct(Q(earlier__isnull=False)),
        "compared": distinct(opinion),
        "agreed": distinct(opinion & Q(earlier__action=F("action"), earlier__amount=F("amount"))),
    }
