from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from refunds.models import GateEvaluation, GatePolicyVersion
from refunds.states import RefundStatus
from refunds.tests.factories import OrderFactory, RefundRequestFactory
from reviews.models import Queue, ReviewTask


def queue(slug: str = "standard") -> Queue:
    """The queues come from the data migration (re-made after a transactional test's
    flush, which empties every table)."""
    found, _ = Queue.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    return found


def active_gate_policy() -> GatePolicyVersion:
    policy = GatePolicyVersion.objects.filter(is_active=True).first()
    return policy or GatePolicyVersion.objects.create(
        version=1, is_active=True, change_note="tests"
    )


def proposal_json(
    *,
    action: str = "approve_refund",
    amount: str = "20.00",
    currency: str = "GBP",
    rationale: str = "Arrived broken; section 2.1.",
    **extra,
) -> dict:
    return {
        "action": action,
        "amount": amount,
        "currency": currency,
        "rationale": rationale,
        "cited_sections": ["2.1"],
        "policy_match": "medium",
        "needs_human_review": False,
        "customer_sentiment": "calm",
        "risk_flags": [],
        **extra,
    }


def gate_evaluation(
    request,
    *,
    decision: dict | None = None,
    queue_slug: str = "standard",
    reasons: list[dict] | None = None,
) -> GateEvaluation:
    return GateEvaluation.objects.create(
        request=request,
        policy_version=active_gate_policy(),
        route="review",
        reasons=reasons or [],
        queue=queue_slug,
        priority=request.priority,
        decision=decision,
        context={},
    )


class ReviewTaskFactory(factory.django.DjangoModelFactory):
    """A task for a request already ``in_review``, with the gate's evaluation (and so the
    AI's proposal) stored. ``amount`` sets the order and proposal amount."""

    class Meta:
        model = ReviewTask

    class Params:
        amount = Decimal("20.00")

    request = factory.LazyAttribute(
        lambda o: RefundRequestFactory(
            status=RefundStatus.IN_REVIEW,
            order=OrderFactory(amount=o.amount),
            requested_amount=o.amount,
        )
    )
    queue = factory.LazyFunction(queue)
    priority = 1
    reasons = factory.LazyFunction(
        lambda: [{"code": "amount_over_ceiling", "message": "The amount is over the ceiling."}]
    )
    reason_codes = ",amount_over_ceiling,"
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=4))
    deadline_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))


def task_with_proposal(
    *,
    amount: str = "20.00",
    action: str = "approve_refund",
    queue_slug: str = "standard",
    proposal: bool = True,
    **kwargs,
) -> ReviewTask:
    task = ReviewTaskFactory(amount=Decimal(amount), queue=queue(queue_slug), **kwargs)
    gate_evaluation(
        task.request,
        queue_slug=queue_slug,
        reasons=task.reasons,
        decision=(
            proposal_json(action=action, amount=amount if action == "approve_refund" else "0.00")
            if proposal
            else None
        ),
    )
    return task


_DEFAULT = object()


def proposal_for(request, *, decision=_DEFAULT, **fields):
    """A stored drafting attempt (``refunds.Proposal``) with provenance and scored sections."""
    from refunds.models import Proposal

    defaults = {
        "provider": "offline",
        "model_name": "heuristic-1",
        "prompt_name": "draft",
        "prompt_version": "p-7",
        "sections": [
            {"id": "2.1", "title": "Damaged on arrival", "score": 0.8123},
            {"id": "4.0", "title": "Refund window", "score": 0.4017},
        ],
        "decision": proposal_json() if decision is _DEFAULT else decision,
    }
    return Proposal.objects.create(request=request, **{**defaults, **fields})


def asked_and_redrafted(reviewer, *, reply: str, amount: str = "40.00", question: str = ""):
    """The loop of issue 14 through the real services: a task whose draft asks for more
    information; ``reviewer`` asks the customer; the customer replies; the offline drafter
    drafts the case again and the gate routes it. Returns the request (refreshed)."""
    from audit.services import Actor
    from refunds.customer_replies import refund_request_customer_reply
    from refunds.tasks import refund_request_process
    from refunds.tests.factories import policy_version
    from reviews.services import review_decide

    policy_version()
    task = task_with_proposal(action="request_more_info", amount=amount)
    review_decide(
        task=task,
        user=reviewer,
        outcome="request_more_info",
        message=question or "What is wrong with it?",
    )
    request = task.request
    request.refresh_from_db()
    refund_request_customer_reply(
        request=request, message=reply, actor=Actor.integration(request.integration)
    )
    refund_request_process(request.pk)
    request.refresh_from_db()
    return request
