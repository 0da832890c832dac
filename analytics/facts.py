"""The facts the loop figures count, as filtered querysets: gate evaluations, final human
decisions and executions of a period, narrowed by the dashboard's filters. Both the live
figures (``analytics.loop_metrics``) and the daily roll-up (``analytics.counting``) count
through these, so they always count the same rows.

Which rows (each by its own timestamp, in the period ``[start, end)``):

* routing: gate evaluations made in the period (a request re-drafted after the customer
  answered is judged again, and counted again);
* human decisions: final decisions made in the period;
* executions: executions started in the period.

Filters: ``queue`` (the gate's / task's queue slug), ``channel`` (the request's), ``provider``
(the request has a proposal from it) and ``policy_version`` (the gate policy version that
routed it).
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Aggregate,
    Case,
    CharField,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from refunds.models import Execution, GateEvaluation, Proposal
from reviews.models import NON_REFUND_OUTCOME_ACTIONS, ReviewDecision

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
        *(
            When(**{f"{prefix}outcome": outcome}, then=Value(action))
            for outcome, action in NON_REFUND_OUTCOME_ACTIONS.items()
        ),
        default=F(f"{prefix}action"),
        output_field=CharField(),
    )


def human_amount_expression(prefix: str = "") -> Case:
    return Case(
        When(**{f"{prefix}outcome__in": list(NON_REFUND_OUTCOME_ACTIONS)}, then=ZERO),
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


def provider_exists(provider: str, request_ref: str) -> Exists:
    return Exists(Proposal.objects.filter(request=OuterRef(request_ref), provider=provider))


def policy_exists(version: int, request_ref: str) -> Exists:
    return Exists(
        GateEvaluation.objects.filter(
            request=OuterRef(request_ref), policy_version__version=version
        )
    )


def in_scope(qs: QuerySet, f: DashboardFilters, *, queue: str, policy) -> QuerySet:
    """The period and filters of the page, for any model that reaches the request as
    ``request``; ``queue`` is the lookup of the queue slug, ``policy`` builds the policy-
    version condition from a version number."""
    qs = qs.filter(created_at__gte=f.start, created_at__lt=f.end)
    if f.queue:
        qs = qs.filter(**{queue: f.queue})
    if f.channel:
        qs = qs.filter(request__channel=f.channel)
    if f.provider:
        qs = qs.filter(provider_exists(f.provider, "request"))
    if f.policy_version is not None:
        qs = qs.filter(policy(f.policy_version))
    return qs.order_by()


def policy_of_request(version: int) -> Exists:
    return policy_exists(version, "request")


def gate_evaluations(f: DashboardFilters) -> QuerySet[GateEvaluation]:
    return in_scope(
        GateEvaluation.objects.all(),
        f,
        queue="queue",
        policy=lambda version: Q(policy_version__version=version),
    )


def final_decisions(f: DashboardFilters) -> QuerySet[ReviewDecision]:
    """Final human decisions in the period, annotated with the action/amount they amount
    to (``final_action``/``final_amount``) and whether the AI had proposed anything."""
    qs = in_scope(
        ReviewDecision.objects.filter(is_final=True),
        f,
        queue="task__queue__slug",
        policy=policy_of_request,
    )
    return qs.alias(
        final_action=human_action_expression(),
        final_amount=human_amount_expression(),
        has_proposal=~Q(proposed_action=""),
    )


def executions(f: DashboardFilters) -> QuerySet[Execution]:
    return in_scope(
        Execution.objects.all(),
        f,
        queue="request__review_tasks__queue__slug",
        policy=policy_of_request,
    )


def review_seconds() -> ExpressionWrapper:
    """The review latency of a final decision: from its task's creation to the decision."""
    return ExpressionWrapper(F("created_at") - F("task__created_at"), output_field=DurationField())


def as_date(value: Any) -> date:
    """A ``TruncDate`` value as a date (SQLite returns it as text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
