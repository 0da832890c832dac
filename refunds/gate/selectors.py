"""Reads for the gate: the active policy and the context of one request.

Kept beside the gate (rather than in ``refunds/selectors.py``) because only the gate uses
them; they build on the shared refund-history selectors.
"""

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from hitl_site.errors import ApplicationError
from refunds.models import GateEvaluation, GatePolicyVersion, OutboundMessage, RefundRequest
from refunds.selectors import (
    customer_earlier_requests_count,
    customer_refund_history,
    order_refundable_remaining,
)

from .vocabulary import GateContext


def gate_policy_active() -> GatePolicyVersion:
    """The one active version. Raises ``ApplicationError`` (``no_active_gate_policy``) if
    none is (the data migration creates version 1 active, so that means tampering)."""
    policy = GatePolicyVersion.objects.filter(is_active=True).first()
    if policy is None:
        raise ApplicationError(
            "No gate policy version is active; activate one in the admin.",
            code="no_active_gate_policy",
        )
    return policy


def gate_policy_version_get(*, version: int) -> GatePolicyVersion:
    """One version by number, active or draft. Raises ``ApplicationError``
    (``unknown_gate_policy_version``) naming the versions there are."""
    policy = GatePolicyVersion.objects.filter(version=version).first()
    if policy is None:
        known = ", ".join(
            str(v)
            for v in GatePolicyVersion.objects.order_by("version").values_list("version", flat=True)
        )
        raise ApplicationError(
            f"There is no gate policy version {version} (known: {known}).",
            code="unknown_gate_policy_version",
        )
    return policy


def gate_context_for_request(*, request: RefundRequest, now: datetime | None = None) -> GateContext:
    """Everything the gate needs about ``request`` besides the proposal. Refunds already
    granted on the same request are excluded, so a re-gated request does not count
    against itself."""
    now = now or timezone.now()
    order, customer = request.order, request.customer
    history = customer_refund_history(customer=customer, now=now, exclude_request=request)
    age = max(0, int((now - request.created_at).total_seconds() // 3600))
    return GateContext(
        order_amount=order.amount,
        order_currency=order.currency,
        refundable_remaining=order_refundable_remaining(order=order, exclude_request=request),
        order_customer_matches=order.customer_id == request.customer_id,
        order_integration_matches=(
            order.integration_id == request.integration_id
            and customer.integration_id == request.integration_id
        ),
        customer_tier=customer.tier,
        customer_country=customer.country,
        prior_refunds_90d=history.count_90d,
        customer_message=request.message,
        requested_amount=request.requested_amount,
        request_priority=request.priority,
        request_age_hours=age,
        earlier_requests_365d=customer_earlier_requests_count(request=request),
        questions_asked=OutboundMessage.objects.filter(
            request=request, kind=OutboundMessage.Kind.MORE_INFO
        ).count(),
    )


def gate_evaluations_latest_since(*, since: datetime) -> QuerySet[GateEvaluation]:
    """The latest evaluation of each request evaluated since ``since``, with the request
    loaded (backtests read its status and final decision)."""
    newest = (
        GateEvaluation.objects.filter(request=OuterRef("request"))
        .order_by("-created_at", "-id")
        .values("id")[:1]
    )
    return (
        GateEvaluation.objects.filter(created_at__gte=since, pk=Subquery(newest))
        .select_related("request", "policy_version")
        .order_by("created_at", "id")
    )
