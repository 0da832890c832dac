"""Reviewed history for the gate-tuning tests: replayable cases in memory (``case``) and
the same stored as gate evaluations of decided requests (``stored_case``)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from refunds.agent.schemas import RefundDecision
from refunds.gate.backtest import ReplayCase
from refunds.gate.snapshots import gate_context_to_json
from refunds.gate.vocabulary import GateContext
from refunds.models import GateEvaluation
from refunds.tests.factories import OrderFactory, RefundRequestFactory
from reviews.tests.factories import active_gate_policy

STATUS = {"approved": "executed", "edited": "executed", "rejected": "rejected", None: "in_review"}


def decision(*, amount="20.00", action="approve_refund", sentiment="calm", **extra):
    return RefundDecision.model_validate(
        {
            "action": action,
            "amount": amount,
            "currency": "GBP",
            "rationale": extra.pop("rationale", "Arrived broken; section 2.1."),
            "cited_sections": ["2.1"],
            "policy_match": extra.pop("policy_match", "strong"),
            "needs_human_review": extra.pop("needs_human_review", False),
            "customer_sentiment": sentiment,
            "risk_flags": extra.pop("risk_flags", []),
        }
    )


def context(*, message="It arrived broken.", tier="standard", country="GB", earlier=0):
    return GateContext(
        order_amount=Decimal("1000.00"),
        order_currency="GBP",
        refundable_remaining=Decimal("1000.00"),
        order_customer_matches=True,
        order_integration_matches=True,
        customer_tier=tier,
        customer_country=country,
        prior_refunds_90d=0,
        customer_message=message,
        earlier_requests_365d=earlier,
    )


def case(
    outcome="approved",
    *,
    amount="20.00",
    sentiment="calm",
    failure_code=None,
    at=None,
    route="review",
    **ctx,
) -> ReplayCase:
    """A case routed ``route``, decided ``outcome`` by a human (None: not decided)."""
    return ReplayCase(
        request_public_id="r",
        evaluated_at=at or timezone.now() - timedelta(days=1),
        route=route,
        decision=None if failure_code else decision(amount=amount, sentiment=sentiment),
        failure_code=failure_code,
        context=context(**ctx),
        human_outcome=outcome,
    )


def cases(n, outcome="approved", **kwargs) -> list[ReplayCase]:
    return [case(outcome, **kwargs) for _ in range(n)]


def stored_case(
    outcome="approved",
    *,
    amount="30.00",
    sentiment="calm",
    route="review",
    at=None,
    **ctx,
) -> GateEvaluation:
    """A stored gate evaluation of a request decided ``outcome`` (None: still in review):
    'approved' pays the proposed amount, 'edited' less, 'rejected' nothing."""
    proposal = decision(amount=amount, sentiment=sentiment)
    final = {
        "approved": ("approve_refund", Decimal(amount)),
        "edited": ("approve_refund", Decimal(amount) - 1),
        "rejected": ("reject", Decimal("0")),
        None: ("", None),
    }[outcome]
    request = RefundRequestFactory(
        order=OrderFactory(amount=Decimal("1000.00")),
        status="auto_approved" if route == "auto" else STATUS[outcome],
        final_action=final[0],
        final_amount=final[1],
    )
    return GateEvaluation.objects.create(
        request=request,
        policy_version=active_gate_policy(),
        route=route,
        reasons=[],
        queue="standard" if route == "review" else "",
        priority=1,
        decision=proposal.model_dump(mode="json"),
        context=gate_context_to_json(context(**ctx)),
        created_at=at or timezone.now() - timedelta(days=1),
    )
