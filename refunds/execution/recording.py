"""Phase 3 of an execution (see ``refunds.execution.executor``): recording what the
provider did, a definite failure, or an unknown outcome to retry with the same key."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Actor, record_event

from .. import events
from ..actions import Action
from ..models import Execution, RefundRequest
from ..states import RefundStatus
from ..transitions import refund_request_transition
from .backends import ProviderResult

logger = logging.getLogger("refunds.execution.executor")

EXECUTOR = Actor.system("executor")
S = RefundStatus
Phase = Execution.Phase


@dataclass(frozen=True)
class ExecutionOutcome:
    """What one call did: ``executed``, ``awaiting_customer``, ``failed``, ``pending`` (an
    ambiguous outcome; the reconciler retries it), ``busy`` (another executor holds the
    lock) or ``skipped`` (nothing to execute)."""

    status: str
    detail: str = ""
    execution_id: int | None = None


def _record(execution: Execution, result: ProviderResult) -> ExecutionOutcome:
    if execution.action == Action.APPROVE_REFUND and (
        (result.amount, result.currency) != (execution.amount, execution.currency)
    ):
        return _note_ambiguous(
            execution,
            f"The provider reports {result.amount} "
            f"{result.currency} under this key; needs a human.",
        )
    to_status = S.AWAITING_CUSTOMER if execution.action == Action.REQUEST_MORE_INFO else S.EXECUTED
    try:
        with transaction.atomic():
            request = RefundRequest.objects.select_for_update().get(pk=execution.request_id)
            current = Execution.objects.select_for_update().get(pk=execution.pk)
            if current.phase == Phase.RECORDED or request.status != S.EXECUTING:
                return ExecutionOutcome("skipped", "already recorded", execution.pk)
            now = timezone.now()
            Execution.objects.filter(pk=execution.pk).update(
                phase=Phase.RECORDED,
                provider_reference=result.reference,
                result={
                    "reference": result.reference,
                    "amount": str(result.amount),
                    "currency": result.currency,
                    "replayed": result.replayed,
                    **result.details,
                },
                last_error="",
                finished_at=now,
                next_attempt_at=None,
                updated_at=now,
            )
            record_event(
                event_type=events.EXECUTION_RECORDED,
                actor=EXECUTOR,
                subject=request,
                payload={
                    "execution": execution.pk,
                    "backend": execution.backend,
                    "action": execution.action,
                    "provider_reference": result.reference,
                    "amount": execution.amount,
                    "currency": execution.currency,
                    "attempts": execution.attempts,
                    "replayed": result.replayed,
                },
            )
            refund_request_transition(
                request=request,
                to_status=to_status,
                actor=EXECUTOR,
                reason="execution recorded",
                payload={"provider_reference": result.reference},
            )
    except IntegrityError:
        return _fail(
            execution,
            f"Provider reference {result.reference!r} is already "
            "recorded for another execution; needs a human.",
        )
    logger.info(
        "execution recorded", extra={"execution": execution.pk, "reference": result.reference}
    )
    return ExecutionOutcome(str(to_status), result.reference, execution.pk)


def _fail_locked(
    *,
    request: RefundRequest,
    execution: Execution,
    error: str,
    event: str = events.EXECUTION_FAILED,
) -> None:
    now = timezone.now()
    Execution.objects.filter(pk=execution.pk).update(
        phase=Phase.FAILED, last_error=error, finished_at=now, next_attempt_at=None, updated_at=now
    )
    execution.phase, execution.last_error = Phase.FAILED, error
    record_event(
        event_type=event,
        actor=EXECUTOR,
        subject=request,
        payload=events.execution_error_payload(execution=execution, error=error),
    )
    refund_request_transition(
        request=request, to_status=S.EXECUTION_FAILED, actor=EXECUTOR, reason=error[:500]
    )


def _fail(execution: Execution, error: str) -> ExecutionOutcome:
    with transaction.atomic():
        request = RefundRequest.objects.select_for_update().get(pk=execution.request_id)
        if request.status != S.EXECUTING:
            return ExecutionOutcome("skipped", f"status is '{request.status}'", execution.pk)
        _fail_locked(request=request, execution=execution, error=error)
    logger.warning("execution failed", extra={"execution": execution.pk, "error": error})
    return ExecutionOutcome("failed", error, execution.pk)


def _note_ambiguous(execution: Execution, error: str) -> ExecutionOutcome:
    backoff = settings.HITL_EXECUTION_RETRY_BACKOFF * 2 ** max(execution.attempts - 1, 0)
    now = timezone.now()
    with transaction.atomic():
        Execution.objects.filter(pk=execution.pk).update(
            last_error=error,
            next_attempt_at=now + timedelta(seconds=min(backoff, 3600)),
            updated_at=now,
        )
        record_event(
            event_type=events.EXECUTION_OUTCOME_UNKNOWN,
            actor=EXECUTOR,
            subject=execution.request,
            payload=events.execution_error_payload(execution=execution, error=error),
        )
    logger.warning(
        "execution outcome unknown; will retry with the same key",
        extra={"execution": execution.pk, "error": error},
    )
    return ExecutionOutcome("pending", error, execution.pk)
