"""The one function through which a refund request changes status, and the one way to lock
a request together with its order.

Lock order (PostgreSQL row locks; see docs/architecture.md): review task → customer →
order → refund request → execution → audit chain head. A transaction may skip any of them
but never takes one after a later one, so two transactions cannot wait on each other in a
cycle.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError

from . import events
from .models import Customer, Order, RefundRequest
from .states import can_transition
from .webhooks import webhook_record_for_transition


class IllegalTransition(ApplicationError):
    def __init__(self, *, request: RefundRequest, from_status: str, to_status: str):
        super().__init__(
            f"Refund request {request.public_id} cannot move from '{from_status}' to "
            f"'{to_status}'.",
            code="illegal_transition",
            extra={"from_status": from_status, "to_status": to_status},
        )
        self.from_status = from_status
        self.to_status = to_status


def refund_request_transition(
    *,
    request: RefundRequest,
    to_status: str,
    actor: Actor,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    expected_from: str | None = None,
) -> RefundRequest:
    """Moves ``request`` to ``to_status`` and records ``refund_request.transitioned``.

    Locks the row (``SELECT ... FOR UPDATE`` where the database has it) and re-reads the
    current status from it, so a stale in-memory object can never make an illegal move;
    ``expected_from`` additionally refuses the move unless the row is still in that status
    (a compare-and-set for callers that decided on an earlier read). The update is also
    guarded by the old status, which keeps it correct on SQLite, which has no row locks.

    Raises ``IllegalTransition`` (an ``ApplicationError``) for a move the table forbids.
    Returns the request with its new status.
    """
    # No savepoint (two statements saved on every move): a refusal is decided before any
    # write and raised after the block, so a caller that catches it can carry on.
    with transaction.atomic(savepoint=False):
        locked = (
            RefundRequest.objects.select_for_update(of=("self",))
            .select_related("integration")  # for its webhook URL, in the same read
            .get(pk=request.pk)
        )
        from_status = locked.status
        allowed = (expected_from is None or from_status == expected_from) and can_transition(
            from_status, to_status
        )
        if allowed:
            now = _move(locked, from_status, to_status)
            record_event(
                event_type=events.REFUND_REQUEST_TRANSITIONED,
                actor=actor,
                subject=locked,
                payload=events.transition_payload(
                    from_status=from_status, to_status=to_status, reason=reason, extra=payload
                ),
            )
            webhook_record_for_transition(
                request=locked, from_status=from_status, to_status=to_status
            )
    if not allowed:
        raise IllegalTransition(request=locked, from_status=from_status, to_status=to_status)
    request.status = to_status
    request.status_changed_at = now
    request.updated_at = now
    return request


def refund_request_lock_with_order(*, request_id: int) -> tuple[Order, RefundRequest]:
    """Locks the request's customer, its order, then the request itself (``SELECT ... FOR
    UPDATE`` of each, in that order) and returns the order and the request (with
    ``customer`` and ``order`` set to the locked rows); ``RefundRequest.DoesNotExist`` if
    there is no such request. Call it inside a transaction.

    Every service that checks or changes what an order has left to refund goes through
    here (finalize, the gate, the executor's claim, a retry): the order row serialises
    them. The order of the three keeps the lock order above, which intake and the
    pipeline follow too:

    - a ``select_related("order")`` under ``select_for_update`` locked request and order
      in whatever order the join produced them, and deadlocked with the ledger, which
      locks the order and then (its refund's foreign key) the request;
    - the customer is taken first although nothing here changes it, because PostgreSQL
      checks a row's foreign keys again at commit once the transaction has updated that
      row twice (finalize does, a refused claim does), taking a key-share lock on the
      request's customer then; without holding it already, that would wait on the
      pipeline, which holds the customer and waits for the order.

    On SQLite (no row locks) the IMMEDIATE transaction already serialises writers.
    """
    ids = RefundRequest.objects.filter(pk=request_id).values_list("customer_id", "order_id").first()
    if ids is None:
        raise RefundRequest.DoesNotExist(f"No refund request {request_id}.")
    customer = Customer.objects.select_for_update().get(pk=ids[0])
    order = Order.objects.select_for_update().get(pk=ids[1])
    request = RefundRequest.objects.select_for_update(of=("self",)).get(pk=request_id)
    if (request.customer_id, request.order_id) != ids:  # pragma: no cover - never edited
        raise ApplicationError(
            f"Refund request {request.public_id} changed hands while being locked; try again.",
            code="busy",
        )
    request.customer, request.order = customer, order
    return order, request


def _move(locked: RefundRequest, from_status: str, to_status: str):
    now = timezone.now()
    updated = RefundRequest.objects.filter(pk=locked.pk, status=from_status).update(
        status=to_status, status_changed_at=now, updated_at=now
    )
    if updated != 1:  # pragma: no cover - only reachable without row locks
        raise IllegalTransition(request=locked, from_status=from_status, to_status=to_status)
    locked.status, locked.status_changed_at, locked.updated_at = to_status, now, now
    return now
