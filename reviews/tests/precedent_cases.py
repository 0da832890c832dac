"""Past cases decided by a human, for the precedent tests: a task on its own request with
one final ``ReviewDecision`` written directly (the services are tested elsewhere)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from refunds.states import RefundStatus
from refunds.tests.factories import OrderFactory, RefundRequestFactory, UserFactory
from reviews.models import ReviewDecision
from reviews.tests.factories import ReviewTaskFactory, queue


def decided_case(
    message: str,
    *,
    outcome: str = "approve_with_edits",
    action: str = "approve_refund",
    amount: str | None = "10.00",
    proposed_action: str = "approve_refund",
    proposed_amount: str | None = "20.00",
    comment: str = "Opened and used: half back.",
    reason_code: str = "",
    days_ago: float = 1,
    is_final: bool = True,
    queue_slug: str = "standard",
    request=None,
) -> ReviewDecision:
    request = request or RefundRequestFactory(
        message=message,
        status=RefundStatus.APPROVED,
        order=OrderFactory(amount=Decimal("20.00")),
        requested_amount=Decimal("20.00"),
    )
    task = ReviewTaskFactory(request=request, queue=queue(queue_slug), status="decided")
    return ReviewDecision.objects.create(
        task=task,
        request=request,
        reviewer=UserFactory(),
        outcome=outcome,
        action=action,
        amount=None if amount is None else Decimal(amount),
        currency="GBP",
        proposed_action=proposed_action,
        proposed_amount=None if proposed_amount is None else Decimal(proposed_amount),
        reason_code=reason_code,
        comment=comment,
        is_final=is_final,
        created_at=timezone.now() - timedelta(days=days_ago),
    )
