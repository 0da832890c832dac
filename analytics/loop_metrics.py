"""The loop figures of the operations dashboard, as selectors: auto-approval and review
rates, overrides of the AI's proposal, reason codes, review latency, SLA misses, reviewer
agreement, execution failures, queue depth and workload. Every figure is computed by the
database (``aggregate``, grouped ``annotate``, ``Count(filter=...)``, percentiles with
PostgreSQL's ``percentile_cont`` or, elsewhere, one ordered one-row slice each): the
number of queries is fixed, whatever the number of rows, and no row is loaded into Python
to be counted. They are the definition of the figures: the dashboard reads them through
the daily roll-up (``analytics.counting`` counts with the same querysets of
``analytics.facts``, ``analytics.figures`` sums the counts), which must agree with them
(``analytics/tests/test_rollup.py``).

Which rows a figure counts (each by its own timestamp, in the period ``[start, end)``):

* routing (auto-approval and review rates, outcomes by path): gate evaluations made in the
  period; a request re-drafted after the customer answered is judged again, and counted
  again;
* overrides, reason codes, review latency, SLA misses, reviewer agreement, workload: final
  human decisions made in the period;
* execution failures: executions started in the period;
* queue depth and oldest task: now, whatever the period.
"""

from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Count, F, FilteredRelation, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from hitl_site.labels import label
from refunds.models import Execution, GateEvaluation
from refunds.states import RefundStatus
from reviews.models import Outcome, ReviewTask

from .facts import (
    OVERRIDDEN,
    DashboardFilters,
    EpochSeconds,
    PercentileCont,
    as_date,
    executions,
    final_decisions,
    gate_evaluations,
    rate,
    review_seconds,
)

# --- Figures ----------------------------------------------------------------------------------


def routing_summary(f: DashboardFilters) -> dict[str, Any]:
    """Gate decisions in the period: how many were auto-approved, how many reviewed."""
    row = gate_evaluations(f).aggregate(
        total=Count("pk"),
        auto=Count("pk", filter=Q(route=GateEvaluation.Route.AUTO)),
        review=Count("pk", filter=Q(route=GateEvaluation.Route.REVIEW)),
    )
    return {
        **row,
        "auto_rate": rate(row["auto"], row["total"]),
        "review_rate": rate(row["review"], row["total"]),
    }


def decision_summary(f: DashboardFilters) -> dict[str, Any]:
    """Final human decisions: outcomes, overrides of the AI's proposal, SLA misses; on
    PostgreSQL also the review latency percentiles (``p50``/``p95``, seconds) in the same
    scan (elsewhere ask ``review_latency``)."""
    extra = {}
    if connection.vendor == "postgresql":
        seconds = EpochSeconds(review_seconds())
        extra = {"p50": PercentileCont(seconds, 0.5), "p95": PercentileCont(seconds, 0.95)}
    row = final_decisions(f).aggregate(
        **extra,
        total=Count("pk"),
        with_proposal=Count("pk", filter=Q(has_proposal=True)),
        overridden=Count("pk", filter=OVERRIDDEN),
        action_changed=Count(
            "pk", filter=Q(has_proposal=True) & ~Q(final_action=F("proposed_action"))
        ),
        approved=Count("pk", filter=Q(outcome__in=[Outcome.APPROVE, Outcome.APPROVE_WITH_EDITS])),
        rejected=Count("pk", filter=Q(outcome=Outcome.REJECT)),
        more_info=Count("pk", filter=Q(outcome=Outcome.REQUEST_MORE_INFO)),
        # decided after the task's due time (an SLA escalation moves the due time on)
        sla_missed=Count("pk", filter=Q(created_at__gt=F("task__due_at"))),
    )
    return {
        **row,
        "override_rate": rate(row["overridden"], row["with_proposal"]),
        "sla_miss_rate": rate(row["sla_missed"], row["total"]),
    }


def reason_code_distribution(f: DashboardFilters) -> list[dict[str, Any]]:
    """Reason codes given with final decisions (rejections), most frequent first."""
    return list(
        final_decisions(f)
        .exclude(reason_code="")
        .values("reason_code")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason_code")
    )


def review_latency(f: DashboardFilters, *, total: int | None = None) -> dict[str, Any]:
    """Median and 95th percentile of the time from task creation to the final decision,
    in seconds. PostgreSQL: one ``percentile_cont`` query. Elsewhere: the row at each rank
    of the ordered durations (one query per percentile, ``total`` reused if given)."""
    qs = final_decisions(f)
    if connection.vendor == "postgresql":
        seconds = EpochSeconds(review_seconds())
        row = qs.aggregate(p50=PercentileCont(seconds, 0.5), p95=PercentileCont(seconds, 0.95))
        return {"p50": row["p50"], "p95": row["p95"]}
    n = total if total is not None else qs.count()
    ordered = qs.annotate(d=review_seconds()).order_by("d").values_list("d", flat=True)
    result: dict[str, Any] = {}
    for key, p in (("p50", 0.5), ("p95", 0.95)):
        if not n:
            result[key] = None
            continue
        rank = round(p * (n - 1))
        found = ordered[rank : rank + 1]
        result[key] = found[0].total_seconds() if found else None
    return result


def reviewer_agreement(f: DashboardFilters) -> dict[str, Any]:
    """Cases two humans looked at (an escalation, a four-eyes approval): how many, and on
    those where the earlier reviewer left a decision of their own (a first approval), how
    often the final decision had the same action and amount.

    One LEFT JOIN from each final decision to the other reviewers' non-final decisions on
    its task (only first approvals and escalations are non-final), counted per final
    decision; a rejection (no action) never matches a first approval."""
    qs = final_decisions(f).alias(
        earlier=FilteredRelation(
            "task__decisions",
            condition=Q(task__decisions__is_final=False)
            & ~Q(task__decisions__reviewer=F("reviewer")),
        )
    )
    opinion = Q(earlier__isnull=False) & ~Q(earlier__outcome=Outcome.ESCALATE)
    row = qs.aggregate(
        two_humans=Count("pk", distinct=True, filter=Q(earlier__isnull=False)),
        compared=Count("pk", distinct=True, filter=opinion),
        agreed=Count(
            "pk",
            distinct=True,
            filter=opinion & Q(earlier__action=F("action"), earlier__amount=F("amount")),
        ),
    )
    return {**row, "agreement_rate": rate(row["agreed"], row["compared"])}


def execution_summary(f: DashboardFilters) -> dict[str, Any]:
    row = executions(f).aggregate(
        total=Count("pk", distinct=bool(f.queue)),
        done=Count("pk", filter=Q(phase=Execution.Phase.RECORDED), distinct=bool(f.queue)),
        failed=Count("pk", filter=Q(phase=Execution.Phase.FAILED), distinct=bool(f.queue)),
        pending=Count(
            "pk",
            filter=Q(phase__in=[Execution.Phase.STARTED, Execution.Phase.PROVIDER_CALLED]),
            distinct=bool(f.queue),
        ),
    )
    return {**row, "failure_rate": rate(row["failed"], row["total"])}


def queue_state(f: DashboardFilters, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Now, per queue: waiting tasks, overdue ones and the oldest one's creation time."""
    now = now or timezone.now()
    qs = ReviewTask.objects.filter(active=1)
    if f.queue:
        qs = qs.filter(queue__slug=f.queue)
    if f.channel:
        qs = qs.filter(request__channel=f.channel)
    rows = list(
        qs.order_by()
        .values("queue__slug", "queue__name")
        .annotate(
            depth=Count("pk"),
            overdue=Count("pk", filter=Q(due_at__lt=now)),
            oldest=Min("created_at"),
        )
        .order_by("queue__slug")
    )
    for row in rows:
        row["oldest_age_seconds"] = (now - row["oldest"]).total_seconds()
    return rows


WORKLOAD_TOP = 15


def reviewer_workload(f: DashboardFilters) -> list[dict[str, Any]]:
    """Final decisions per reviewer in the period (busiest first, at most ``WORKLOAD_TOP``)
    and the tasks each holds claimed now."""
    decided = list(
        final_decisions(f)
        .values("reviewer_id", "reviewer__username")
        .annotate(decided=Count("pk"), overridden=Count("pk", filter=OVERRIDDEN))
        .order_by("-decided", "reviewer__username")[:WORKLOAD_TOP]
    )
    claimed = dict(
        ReviewTask.objects.filter(
            active=1, assignee__isnull=False, assignee_id__in=[r["reviewer_id"] for r in decided]
        )
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    return [
        {
            "reviewer": r["reviewer__username"],
            "decided": r["decided"],
            "overridden": r["overridden"],
            "claimed": claimed.get(r["reviewer_id"], 0),
        }
        for r in decided
    ]


# What became of the cases, by path.
OUTCOME_GROUPS = {
    RefundStatus.EXECUTED: "executed",
    RefundStatus.EXECUTION_FAILED: "execution failed",
    RefundStatus.CLOSED: "closed after failure",
    RefundStatus.REJECTED: "rejected",
    RefundStatus.EXPIRED: "expired",
    RefundStatus.AWAITING_CUSTOMER: "asked the customer",
}


def outcome_label(status: str) -> str:
    """How the outcome charts name a request's status now."""
    return OUTCOME_GROUPS.get(status, label(status))


def outcomes_by_path(f: DashboardFilters) -> dict[str, list[dict[str, Any]]]:
    """Gate decisions in the period by route (auto / human) and the request's status now."""
    rows = (
        gate_evaluations(f)
        .values("route", "request__status")
        .annotate(n=Count("pk"))
        .order_by("route", "-n")
    )
    result: dict[str, list[dict[str, Any]]] = {"auto": [], "review": []}
    for row in rows:
        status = row["request__status"]
        result.setdefault(row["route"], []).append(
            {
                "status": status,
                "label": outcome_label(status),
                "n": row["n"],
            }
        )
    return result


# --- Daily series (charts and the drift alert) ------------------------------------------------


def daily_routing(f: DashboardFilters) -> dict[date, dict[str, int]]:
    rows = (
        gate_evaluations(f)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            total=Count("pk"),
            auto=Count("pk", filter=Q(route=GateEvaluation.Route.AUTO)),
            review=Count("pk", filter=Q(route=GateEvaluation.Route.REVIEW)),
        )
        .order_by("day")
    )
    return {
        as_date(r["day"]): {"total": r["total"], "auto": r["auto"], "review": r["review"]}
        for r in rows
    }


def routing_summary_from_days(days: dict[date, dict[str, int]]) -> dict[str, Any]:
    """``routing_summary`` from the daily counts already read (at most one row a day)."""
    row = {key: sum(d.get(key, 0) for d in days.values()) for key in ("total", "auto", "review")}
    return {
        **row,
        "auto_rate": rate(row["auto"], row["total"]),
        "review_rate": rate(row["review"], row["total"]),
    }


def daily_overrides(f: DashboardFilters) -> dict[date, dict[str, int]]:
    rows = (
        final_decisions(f)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            total=Count("pk", filter=Q(has_proposal=True)),
            overridden=Count("pk", filter=OVERRIDDEN),
        )
        .order_by("day")
    )
    return {as_date(r["day"]): {"total": r["total"], "overridden": r["overridden"]} for r in rows}
