"""The case workflow's hand-offs between stages that another app carries out.

One place for "this case now enters review": the transition and the call to the
registered review-task opener (``refunds.hooks.review_task_opener``, which the
``reviews`` app registers) happen together, in the caller's transaction.
"""

from typing import Any

from audit.services import Actor

from . import hooks
from .models import RefundRequest
from .states import RefundStatus
from .transitions import refund_request_transition


def refund_request_enter_review(
    *,
    request: RefundRequest,
    queue_slug: str,
    priority: int,
    reasons: list[dict],
    actor: Actor,
    reason: str,
    payload: dict[str, Any],
    expected_from: str,
) -> None:
    """``expected_from → in_review``, then opens the review task through the registered
    hook. Precondition: the caller holds the request's row lock, inside a transaction.
    Raises ``IllegalTransition`` on a wrong status and ``ImproperlyConfigured`` if no
    review-task opener is registered (checked before anything changes)."""
    open_task = hooks.review_task_opener.get()
    RefundRequest.objects.filter(pk=request.pk).update(priority=priority)
    request.priority = priority
    refund_request_transition(
        request=request,
        to_status=RefundStatus.IN_REVIEW,
        actor=actor,
        reason=reason,
        payload=payload,
        expected_from=expected_from,
    )
    open_task(request=request, queue_slug=queue_slug, priority=priority, reasons=reasons)
