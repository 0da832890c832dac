"""Cases at the end of the loop, for the dashboard, drift, roll-up and metrics tests (the
review objects themselves come from ``reviews/tests/factories.py``)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from refunds.models import Execution, GateEvaluation, RefundRequest
from refunds.tests.factories import RefundRequestFactory, UserFactory
from reviews.models import Outcome, ReviewDecision, ReviewTask, TaskStatus
from reviews.tests.factories import active_gate_policy, proposal_for, queue


def routed(
    *,
    route: str = "review",
    queue_slug: str = "standard",
    channel: str = "web",
    provider: str = "offline",
    status: str | None = None,
    at=None,
) -> GateEvaluation:
    """A request drafted by ``provider`` and routed by the gate at ``at``."""
    status = status or ("in_review" if route == "review" else "auto_approved")
    request = RefundRequestFactory(channel=channel, status=status)
    proposal_for(request, provider=provider)
    return GateEvaluation.objects.create(
        request=request,
        policy_version=active_gate_policy(),
        route=route,
        reasons=[],
        queue=queue_slug if route == "review" else "",
        priority=1,
        decision=None,
        context={},
        created_at=at or timezone.now(),
    )


def decided(
    *,
    outcome: str = Outcome.APPROVE,
    action: str = "approve_refund",
    amount: str | None = "20.00",
    proposed_action: str = "approve_refund",
    proposed_amount: str | None = "20.00",
    reason_code: str = "",
    reviewer=None,
    queue_slug: str = "standard",
    channel: str = "web",
    provider: str = "offline",
    at=None,
    waited: timedelta = timedelta(hours=1),
    due_in: timedelta = timedelta(hours=4),
    earlier=None,
) -> ReviewDecision:
    """A reviewed case: routed to review, a task that waited ``waited``, a final decision
    at ``at`` (``earlier``: (reviewer, outcome, action, amount) of a first decision)."""
    at = at or timezone.now()
    created = at - waited
    evaluation = routed(
        queue_slug=queue_slug, channel=channel, provider=provider, at=created, status="approved"
    )
    task = ReviewTask.objects.create(
        request=evaluation.request,
        queue=queue(queue_slug),
        status=TaskStatus.DECIDED,
        due_at=created + due_in,
        deadline_at=created + timedelta(days=3),
        created_at=created,
        decided_at=at,
    )
    common = {
        "task": task,
        "request": task.request,
        "currency": "GBP",
        "proposed_action": proposed_action,
        "proposed_amount": None if proposed_amount is None else Decimal(proposed_amount),
    }
    if earlier is not None:
        who, first_outcome, first_action, first_amount = earlier
        ReviewDecision.objects.create(
            **common,
            reviewer=who,
            outcome=first_outcome,
            action=first_action,
            amount=None if first_amount is None else Decimal(first_amount),
            created_at=at - timedelta(minutes=5),
        )
    return ReviewDecision.objects.create(
        **common,
        reviewer=reviewer or UserFactory(),
        outcome=outcome,
        action=action,
        amount=None if amount is None else Decimal(amount),
        reason_code=reason_code,
        comment="c" if reason_code else "",
        is_final=True,
        created_at=at,
    )


def executed(request: RefundRequest, *, phase: str = Execution.Phase.RECORDED) -> Execution:
    return Execution.objects.create(
        request=request,
        payload_hash="h" * 64,
        decided_at=timezone.now(),
        idempotency_key=f"k-{request.pk}",
        action="approve_refund",
        amount=Decimal("10.00"),
        currency="GBP",
        phase=phase,
    )
