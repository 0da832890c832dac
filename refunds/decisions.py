"""How a decision becomes final: the one service that the gate (auto-approval) and the
review service (human approval) call, the payload hash the executor re-checks, and the
reservation of the order's refundable remainder.

An approved refund reserves its amount from the moment it is final: the remainder
(``refunds.selectors.order_refundable_remaining``, the one function that computes it)
counts every refund that is approved, auto-approved, executing or executed, and stops
counting one whose execution failed (the provider definitely did nothing) or was closed.
The check and the reservation happen together, under the order's row lock, so two
approvals on one order cannot both spend the same remainder.

The payload hash is keyed (HMAC-SHA256 under the integrity key, ``audit.integrity``), so
someone who can write to the database can change a decision's amount but cannot make the
hash match it again; and it is recorded in the ``decision.finalized`` audit event, which
the executor compares with the request's stored hash before it pays.
"""

import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.integrity import Verdict, check_hash, keyed_hash, plain_hash
from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError

from . import events, jobs
from .actions import Action
from .models import Order, RefundRequest
from .money import quantize
from .selectors import order_refundable_remaining
from .states import RefundStatus
from .transitions import (
    IllegalTransition,
    refund_request_lock_with_order,
    refund_request_transition,
)

FINALIZING_MOVES = {
    RefundStatus.GATED: RefundStatus.AUTO_APPROVED,
    RefundStatus.IN_REVIEW: RefundStatus.APPROVED,
    RefundStatus.ESCALATED: RefundStatus.APPROVED,
}


@dataclass(frozen=True)
class FinalPayload:
    """Exactly what the executor will do: which request, what action, how much, in what."""

    request_public_id: str
    action: str
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, request: RefundRequest) -> "FinalPayload":
        return cls(
            str(request.public_id),
            request.final_action,
            quantize(request.final_amount or Decimal("0")),
            request.currency,
        )

    def canonical(self) -> bytes:
        return json.dumps(
            {
                "request": self.request_public_id,
                "action": self.action,
                "amount": f"{self.amount:.2f}",
                "currency": self.currency,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    def hash(self) -> str:
        """The keyed hash stored as ``final_payload_hash`` (current integrity key)."""
        return keyed_hash(self.canonical())

    def check(self, stored: str) -> Verdict:
        """Checks a stored hash of this payload, with whichever key made it."""
        return check_hash(self.canonical(), stored)

    def matches(self, stored: str) -> bool:
        """True only for a keyed hash of exactly this payload (any key of the ring)."""
        return self.check(stored) == Verdict.VALID

    def digest(self) -> str:
        """Unkeyed SHA-256 of the payload: an identifier, not a protection (it seeds the
        execution's idempotency key, which must not change when the integrity key does)."""
        return plain_hash(self.canonical())


# The audit events whose ``payload_hash`` is the current final decision's: the decision
# itself, and its re-keying by the upgrade to keyed hashes (refunds migration 0011).
def final_payload_check(request: RefundRequest) -> Verdict:
    """How the request's stored final payload hash compares with its final fields."""
    return FinalPayload.of(request).check(request.final_payload_hash)


def refund_remaining_check(
    *,
    request: RefundRequest,
    order: Order,
    amount: Decimal,
    refused: str = "Not approved",
    hint: str = "Approve at most that, or reject.",
) -> None:
    """Raises ``ApplicationError`` (409, ``refund_exceeds_remaining``) if refunding
    ``amount`` on ``request`` would take the order past what is left to refund: its amount
    less every refund approved (reserved) or paid on its other requests.

    Only a caller holding the order's row lock (``refund_request_lock_with_order``) can
    rely on the answer until it commits; anyone else is giving early advice.
    """
    remaining = order_refundable_remaining(order=order, exclude_request=request)
    if amount <= remaining:
        return
    currency = order.currency
    raise ApplicationError(
        f"{refused}: {amount} {currency} exceeds what is left to refund on the order "
        f"({remaining} {currency} of {order.amount} {currency}; the rest is already approved "
        f"or refunded on other requests for this order). {hint}",
        code="refund_exceeds_remaining",
        extra={"remaining": f"{remaining:.2f}", "order_amount": f"{order.amount:.2f}"},
    )


@transaction.atomic
def refund_request_finalize(
    *,
    request: RefundRequest,
    action: str,
    amount: Decimal,
    actor: Actor,
    source: str,
    extra: dict | None = None,
) -> RefundRequest:
    """Records the final decision and moves the request to ``auto_approved`` (from
    ``gated``, ``source="gate"``) or ``approved`` (from ``in_review``/``escalated``,
    ``source="review"``), then queues execution on commit.

    A refund is checked against the order's refundable remainder and reserved from it in
    the same transaction, under the order's row lock (then the request's: the lock order
    of ``refunds.transitions``), so of several approvals racing on one order only those
    that fit become final.

    Raises ``ApplicationError`` for an unknown action or a negative amount,
    ``ApplicationError`` ``refund_exceeds_remaining`` (409) for a refund larger than what
    is left on the order, and ``IllegalTransition`` if the request is not in a finalizing
    status. Nothing is written when it raises.
    """
    if action not in {a.value for a in Action}:
        raise ApplicationError(
            f"Unknown action {action!r}.", code="invalid_action", status_code=400
        )
    if amount is None or amount < 0:
        raise ApplicationError(
            "The amount must be zero or more.", code="invalid_amount", status_code=400
        )
    order, locked = refund_request_lock_with_order(request_id=request.pk)
    to_status = FINALIZING_MOVES.get(locked.status)
    if to_status is None:
        raise IllegalTransition(
            request=locked, from_status=locked.status, to_status=RefundStatus.APPROVED
        )
    if action == Action.APPROVE_REFUND:
        refund_remaining_check(request=locked, order=order, amount=quantize(amount))
    locked.final_action = action
    locked.final_amount = quantize(amount)
    locked.decided_at = timezone.now()
    locked.final_payload_hash = FinalPayload.of(locked).hash()
    locked.save(
        update_fields=[
            "final_action",
            "final_amount",
            "decided_at",
            "final_payload_hash",
            "updated_at",
        ]
    )
    record_event(
        event_type=events.DECISION_FINALIZED,
        actor=actor,
        subject=locked,
        payload={
            "source": source,
            "action": action,
            "amount": locked.final_amount,
            "currency": locked.currency,
            "payload_hash": locked.final_payload_hash,
            **(extra or {}),
        },
    )
    refund_request_transition(
        request=locked, to_status=to_status, actor=actor, reason=f"final decision by {source}"
    )
    transaction.on_commit(lambda: jobs.enqueue_refund_request_execution(locked.pk))
    for field in (
        "final_action",
        "final_amount",
        "decided_at",
        "final_payload_hash",
        "status",
        "status_changed_at",
        "updated_at",
    ):
        setattr(request, field, getattr(locked, field))
    return request
