"""Reads with rules in them: who may see which requests, and what is loaded with them."""

import difflib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from .models import (
    Customer,
    Integration,
    Order,
    Proposal,
    RefundPolicyVersion,
    RefundRequest,
)
from .states import RefundStatus

# Statuses in which a refund has been granted (or is being paid out): they count against
# the order's refundable remainder and towards the customer's refund history.
GRANTED_STATUSES = (
    RefundStatus.AUTO_APPROVED,
    RefundStatus.APPROVED,
    RefundStatus.EXECUTING,
    RefundStatus.EXECUTED,
)


def refund_requests_for_integration(*, integration: Integration) -> QuerySet[RefundRequest]:
    """An integration sees only its own requests; anything else is a 404 to it."""
    latest_first = Proposal.objects.order_by("-created_at", "-id")
    return (
        RefundRequest.objects.filter(integration=integration)
        .select_related("customer", "order")
        .prefetch_related(Prefetch("proposals", queryset=latest_first, to_attr="latest_proposals"))
    )


def refund_request_by_reference(reference: str) -> RefundRequest | None:
    """The request a person names: its id (``42``), its public id, or the start of the
    public id as the lists show it (at least 8 characters). None when no request — or, for
    a prefix, more than one — matches."""
    reference = reference.strip().lower()
    if reference.isdigit() and int(reference) < 2**63:
        found = RefundRequest.objects.filter(pk=int(reference)).first()
        if found is not None or len(reference) < 8:  # else perhaps a public id's digits
            return found
    try:
        return RefundRequest.objects.filter(public_id=uuid.UUID(reference)).first()
    except ValueError:
        pass
    if len(reference) < 8 or not all(c in "0123456789abcdef-" for c in reference):
        return None
    found = list(RefundRequest.objects.filter(public_id__startswith=reference)[:2])
    return found[0] if len(found) == 1 else None


def _granted_refunds() -> QuerySet[RefundRequest]:
    return RefundRequest.objects.filter(status__in=GRANTED_STATUSES, final_action="approve_refund")


def order_refundable_remaining(
    *, order: Order, exclude_request: RefundRequest | None = None
) -> Decimal:
    """The order amount minus refunds already granted on it (never below zero)."""
    granted = _granted_refunds().filter(order=order)
    if exclude_request is not None:
        granted = granted.exclude(pk=exclude_request.pk)
    total = granted.aggregate(total=Sum("final_amount"))["total"] or Decimal("0")
    return max(order.amount - total, Decimal("0"))


@dataclass(frozen=True)
class RefundHistory:
    count_90d: int
    total_90d: Decimal
    count_365d: int
    total_365d: Decimal


def customer_refund_history(
    *, customer: Customer, now: datetime | None = None, exclude_request: RefundRequest | None = None
) -> RefundHistory:
    """Refunds granted to this customer in our own records, over 90 and 365 days, in one
    query. Totals mix currencies only if the customer's orders do; callers show both."""
    now = now or timezone.now()
    since_90, since_365 = now - timedelta(days=90), now - timedelta(days=365)
    granted = _granted_refunds().filter(customer=customer, decided_at__gte=since_365)
    if exclude_request is not None:
        granted = granted.exclude(pk=exclude_request.pk)
    in_90 = Q(decided_at__gte=since_90)
    row = granted.aggregate(
        count_365d=Count("id"),
        total_365d=Sum("final_amount"),
        count_90d=Count("id", filter=in_90),
        total_90d=Sum("final_amount", filter=in_90),
    )
    return RefundHistory(
        count_90d=row["count_90d"],
        total_90d=row["total_90d"] or Decimal("0"),
        count_365d=row["count_365d"],
        total_365d=row["total_365d"] or Decimal("0"),
    )


def customer_earlier_requests_count(*, request: RefundRequest) -> int:
    """The customer's other refund requests of the 365 days before ``request``, whatever
    became of them, not counting the earlier messages of its conversation (the same
    complaint): how often this customer has complained before."""
    earlier = RefundRequest.objects.filter(
        customer_id=request.customer_id,
        created_at__lt=request.created_at,
        created_at__gte=request.created_at - timedelta(days=365),
    ).exclude(pk=request.pk)
    if request.conversation_id:
        earlier = earlier.exclude(conversation_id=request.conversation_id)
    return earlier.count()


def refund_policy_version_diff(version: RefundPolicyVersion) -> list[str]:
    """The unified diff from the previous version's text (empty for the first version), so
    a policy admin or an auditor sees what an edit changed before asking why proposals did."""
    previous = (
        RefundPolicyVersion.objects.filter(policy_id=version.policy_id, version__lt=version.version)
        .order_by("-version")
        .only("version", "text")
        .first()
    )
    if previous is None:
        return []
    return list(
        difflib.unified_diff(
            previous.text.splitlines(),
            version.text.splitlines(),
            fromfile=f"v{previous.version}",
            tofile=f"v{version.version}",
            lineterm="",
        )
    )
