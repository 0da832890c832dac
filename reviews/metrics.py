"""The figures of the operations dashboard, as selectors. Every figure is computed by the
database (``aggregate``, grouped ``annotate``, ``Count(filter=...)``, percentiles with
PostgreSQL's ``percentile_cont`` or, elsewhere, one ordered one-row slice each): the
number of queries is fixed, whatever the number of rows, and no row is loaded into Python
to be counted. They are the definition of the figures: the dashboard reads them through
the daily roll-up (``reviews.rollup`` counts with these querysets, ``reviews.figures``
sums the counts), which must agree with them (``reviews/tests/test_rollup.py``).

Which rows a figure counts (each by its own timestamp, in the period ``[start, end)``):

* routing (auto-approval and review rates, outcomes by path): gate evaluations made in the
  period; a request re-drafted after the customer answered is judged again, and counted
  again;
* overrides, reason codes, review latency, SLA misses, reviewer agreement, workload: final
  human decisions made in the period;
* execution failures: executions started in the period;
* queue depth and oldest task: now, whatever the period.

Filters: ``queue`` (the gate's / task's queue slug), ``channel`` (the request's), ``provider``
(the request has a proposal from it) and ``policy_version`` (the gate policy version that
routed it).
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    Func,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from hitl_site.labels import label
from refunds.agent.schemas import Action
from refunds.models import Execution, GateEvaluation, Proposal
from refunds.states import RefundStatus

from .models import Outcome, ReviewDecision, ReviewTask

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=13, decimal_places=2))


@dataclass(frozen=True)
class DashboardFilters:
    start: datetime
    end: datetime
    queue: str = ""
    channel: str = ""
    provider: str = ""
    policy_version: int | None = None


def rate(part: int | None, whole: int | None) -> float | None:
    return None if not whole else (part or 0) / whole


# --- Expressions ------------------------------------------------------------------------------


def human_action_expression(prefix: str = "") -> Case:
    """The action a decision amounts to: a rejection stores none of its own."""
    return Case(
        When(**{f"{prefix}outcome": Outcome.REJECT}, then=Value(Action.DENY_REFUND.value)),
        When(
            **{f"{prefix}outcome": Outcome.REQUEST_MORE_INFO},
            then=Value(Action.REQUEST_MORE_INFO.value),
        ),
        default=F(f"{prefix}action"),
        output_field=CharField(),
    )


def human_amount_expression(prefix: str = "") -> Case:
    return Case(
        When(**{f"{prefix}outcome__in": [Outcome.REJECT, Outcome.REQUEST_MORE_INFO]}, then=ZERO),
        default=Coalesce(F(f"{prefix}amount"), ZERO),
        output_field=DecimalField(max_digits=13, decimal_places=2),
    )


# An override: the human's final action or amount differs from the AI's proposal (cases
# without a proposal, where drafting failed, have nothing to override).
OVERRIDDEN = Q(has_proposal=True) & (
    ~Q(final_action=F("proposed_action")) | ~Q(final_amount=Coalesce(F("proposed_amount"), ZERO))
)


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate ``percentile_cont(p) WITHIN GROUP (ORDER BY x)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, percentile: float, **extra):
        super().__init__(expression, percentile=float(percentile), **extra)


class EpochSeconds(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


# --- Filtered bases ---------------------------------------------------------------------------


def _provider_exists(provider: str, request_ref: str) -> Exists:
    return Exists(Proposal.objects.filter(request=OuterRef(request_ref), provider=provider))


def _policy_exists(version: int, request_ref: str) -> Exists:
    return Exists(
        GateEvaluation.objects.filter(
            request=OuterRef(request_ref), policy_version__version=version
        )
    )


def _in_scope(qs: QuerySet, f: DashboardFilters, *, queue: str, policy) -> QuerySet:
    """The period and filters of the page, for any model that reaches the request as
    ``request``; ``queue`` is the lookup of the queue slug, ``policy`` builds the policy-
    version condition from a version number."""
    qs = qs.filter(created_at__gte=f.start, created_at__lt=f.end)
    if f.queue:
        qs = qs.filter(**{queue: f.queue})
    if f.channel:
        qs = qs.filter(request__channel=f.channel)
    if f.provider:
        qs = qs.filter(_provider_exists(f.provider, "request"))
    if f.policy_version is not None:
        qs = qs.filter(policy(f.policy_version))
    return qs.order_by()


def _policy_of_request(version: int) -> Exists:
    return _policy_exists(version, "request")


def gate_evaluations(f: DashboardFilters) -> QuerySet[GateEvaluation]:
    return _in_scope(
        GateEvaluation.objects.all(),
        f,
        queue="queue",
        policy=lambda version: Q(policy_version__version=version),
    )


def final_decisions(f: DashboardFilters) -> QuerySet[ReviewDecision]:
    """Final human decisions in the period, annotated with the action/amount they amount
    to (``final_action``/``final_amount``) and whether the AI had proposed anything."""
    qs = _in_scope(
        ReviewDecision.objects.filter(is_final=True),
        f,
        queue="task__queue__slug",
        policy=_policy_of_request,
    )
    return qs.alias(
        final_action=human_action_expression(),
        final_amount=human_amount_expression(),
        has_proposal=~Q(proposed_action=""),
    )


def executions(f: DashboardFilters) -> QuerySet[Execution]:
    return _in_scope(
        Execution.objects.all(),
        f,
        queue="request__review_tasks__queue__slug",
        policy=_policy_of_request,
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
        seconds = EpochSeconds(_review_seconds())
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


def _review_seconds() -> ExpressionWrapper:
    return ExpressionWrapper(F("created_at") - F("task__created_at"), output_field=DurationField())


def review_latency(f: DashboardFilters, *, total: int | None = None) -> dict[str, Any]:
    """Median and 95th percentile of the time from task creation to the final decision,
    in seconds. PostgreSQL: one ``percentile_cont`` query. Elsewhere: the row at each rank
    of the ordered durations (one query per percentile, ``total`` reused if given)."""
    qs = final_decisions(f)
    if connection.vendor == "postgresql":
        seconds = EpochSeconds(_review_seconds())
        row = qs.aggregate(p50=PercentileCont(seconds, 0.5), p95=PercentileCont(seconds, 0.95))
        return {"p50": row["p50"], "p95": row["p95"]}
    n = total if total is not None else qs.count()
    ordered = qs.annotate(d=_review_seconds()).order_by("d").values_list("d", flat=True)
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
        _as_date(r["day"]): {"total": r["total"], "auto": r["auto"], "review": r["review"]}
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
    return {_as_date(r["day"]): {"total": r["total"], "overridden": r["overridden"]} for r in rows}


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
