"""JSON snapshots of the gate's inputs and reasons, stored with each evaluation so a
backtest can replay the case later. Amounts are kept as strings (exact decimals)."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .vocabulary import PRIORITY_NORMAL, GateContext, GateReason


def gate_context_to_json(context: GateContext) -> dict[str, Any]:
    return {
        "order_amount": str(context.order_amount),
        "order_currency": context.order_currency,
        "refundable_remaining": str(context.refundable_remaining),
        "order_customer_matches": context.order_customer_matches,
        "order_integration_matches": context.order_integration_matches,
        "customer_tier": context.customer_tier,
        "customer_country": context.customer_country,
        "prior_refunds_90d": context.prior_refunds_90d,
        "customer_message": context.customer_message,
        "requested_amount": (
            None if context.requested_amount is None else str(context.requested_amount)
        ),
        "request_priority": context.request_priority,
        "request_age_hours": context.request_age_hours,
        "earlier_requests_365d": context.earlier_requests_365d,
        "questions_asked": context.questions_asked,
    }


def gate_context_from_json(data: Mapping[str, Any]) -> GateContext:
    requested = data.get("requested_amount")
    return GateContext(
        order_amount=Decimal(data["order_amount"]),
        order_currency=data["order_currency"],
        refundable_remaining=Decimal(data["refundable_remaining"]),
        order_customer_matches=bool(data["order_customer_matches"]),
        order_integration_matches=bool(data["order_integration_matches"]),
        customer_tier=data["customer_tier"],
        customer_country=data["customer_country"],
        prior_refunds_90d=int(data["prior_refunds_90d"]),
        customer_message=data["customer_message"],
        requested_amount=None if requested is None else Decimal(requested),
        request_priority=int(data.get("request_priority", PRIORITY_NORMAL)),
        request_age_hours=int(data.get("request_age_hours", 0)),
        # Snapshots from before the count was kept: their prior refunds (all of them
        # requests of the customer) are the best lower bound there is.
        earlier_requests_365d=int(
            data.get("earlier_requests_365d", data.get("prior_refunds_90d", 0))
        ),
        questions_asked=int(data.get("questions_asked", 0)),  # not in older snapshots
    )


def gate_reasons_to_json(reasons: tuple[GateReason, ...]) -> list[dict[str, str]]:
    return [{"code": r.code, "message": r.message} for r in reasons]
