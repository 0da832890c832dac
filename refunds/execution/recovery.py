"""A senior reviewer's actions on a failed execution: retry it with the same decision and
key, or close the case without the action."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record_event

from .. import events, jobs
from ..actions import Action
from ..decisions import refund_remaining_check
from ..models import Execution, RefundRequest
from ..states import RefundStatus
from ..transitions import (
    IllegalTransition,
    refund_request_lock_with_order,
    refund_request_transition,
)
from .executor import execution_for_decision

S = RefundStatus
Phase = Execution.Phase


@transaction.atomic
def execution_retry(*, request: RefundRequest, actor: Actor) -> RefundRequest:
    """``execution_failed → executing`` with the same decision and the same idempotency
    key; the checks run again before anything is sent, then execution is queued on commit.

    A failed execution released its refund's reservation on the order, so a retried
    refund reserves it again, under the order's row lock, like a new approval.

    Raises ``IllegalTransition`` unless the request is in ``execution_failed``, and
    ``ApplicationError`` ``refund_exceeds_remaining`` if other approvals have taken what
    was left on the order since it failed (close the case instead).
    """
    # Locks in the documented order: customer, order, request, execution, and the audit
    # chain head last (at the first event), so a retry never waits on a row while holding
    # the head (it used to take the head in its transition, then the execution row).
    order, locked = refund_request_lock_with_order(request_id=request.pk)
    if locked.status != S.EXECUTION_FAILED:
        raise IllegalTransition(request=locked, from_status=locked.status, to_status=S.EXECUTING)
    if locked.final_action == Action.APPROVE_REFUND:
        refund_remaining_check(
            request=locked,
            order=order,
            amount=locked.final_amount or Decimal("0"),
            refused="Not retried",
            hint="Close the case instead.",
        )
    execution = execution_for_decision(locked)
    Execution.objects.filter(pk=execution.pk).update(
        phase=Phase.STARTED,
        first_called_at=None,
        next_attempt_at=None,
        finished_at=None,
        locked_until=None,
        lock_owner="",
        updated_at=timezone.now(),
    )
    refund_request_transition(
        request=locked,
        to_status=S.EXECUTING,
        actor=actor,
        reason="retry requested",
        expected_from=S.EXECUTION_FAILED,
    )
    record_event(
        event_type=events.EXECUTION_RETRY_REQUESTED,
        actor=actor,
        subject=locked,
        payload={"execution": execution.pk, "previous_error": execution.last_error},
    )
    transaction.on_commit(lambda: jobs.enqueue_refund_request_execution(request.pk))
    request.status = locked.status
    request.status_changed_at = locked.status_changed_at
    request.updated_at = locked.updated_at
    return request


@transaction.atomic
def execution_close(*, request: RefundRequest, actor: Actor, reason: str = "") -> RefundRequest:
    """``execution_failed → closed``: the case ends without the action.

    Raises ``IllegalTransition`` unless the request is in ``execution_failed``."""
    return refund_request_transition(
        request=request,
        to_status=S.CLOSED,
        actor=actor,
        reason=reason or "closed after a failed execution",
        expected_from=S.EXECUTION_FAILED,
    )
