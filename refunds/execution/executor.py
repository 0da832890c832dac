"""The executor: carries out a final decision exactly once, whatever fails.

``execution_run(request_id=...)`` is safe to call any number of times, from any number of
workers at once (the django-q2 ORM broker may deliver a task twice; the reconciler
re-drives anything unfinished). Each call goes through committed phases:

1. **claim** (one transaction; customer, order and request rows locked in that order, the
   lock order of ``refunds.transitions``): only a request in ``auto_approved``
   or ``approved`` whose final payload still matches its hash starts; the ``Execution``
   row with its deterministic idempotency key is created (``started``) and the request
   moves to ``executing``; the in-flight lock is taken (a compare-and-set on
   ``locked_until``, so a second executor backs off until it expires). Before anything is
   sent, the payload hash (keyed, and equal to the one the ``decision.finalized`` audit
   event recorded), the amount, the currency and the order's refundable remainder are
   checked again; a failed check ends in ``execution_failed``, nothing sent.
2. **provider called** (committed *before* the call): attempts + 1. The backend is then
   called with the key. Within ``HITL_EXECUTION_RETRY_WINDOW`` of the first call an
   ambiguous outcome is resent with the same key; after it, the provider is asked for
   the outcome instead (``lookup``).
3. **recorded** (one transaction): the provider's reference (unique), the request's move
   to ``executed`` (``awaiting_customer`` for ``request_more_info``) and the audit event.

A crash between 2 and 3 leaves ``provider_called`` and an expiring lock: the next run
resends with the same key, the provider replays its first answer, and the result is
recorded once. ``execution_failed`` is reached only when the provider definitely did
nothing, so the order's remainder can be released safely.
"""

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import record_event

from .. import events
from ..actions import Action
from ..customer_messages import MESSAGES
from ..decisions import FinalPayload
from ..models import Execution, RefundRequest
from ..selectors import order_refundable_remaining
from ..states import FINAL_APPROVED_STATUSES
from ..transitions import refund_request_lock_with_order, refund_request_transition
from .backends import (
    Backends,
    ProviderAmbiguous,
    ProviderRefused,
    ProviderResult,
    backends_from_settings,
)
from .prechecks import execution_precheck
from .recording import (
    EXECUTOR,
    ExecutionOutcome,
    Phase,
    S,
    _fail,
    _fail_locked,
    _note_ambiguous,
    _record,
)

logger = logging.getLogger(__name__)


def idempotency_key_for(request: RefundRequest) -> str:
    """Deterministic per final decision: the same decision always gets the same key (from
    the payload's unkeyed digest, so that rotating the integrity key never changes it)."""
    decided = request.decided_at.isoformat() if request.decided_at else ""
    digest = FinalPayload.of(request).digest()
    return f"hitl-{uuid.uuid5(uuid.NAMESPACE_URL, f'{request.public_id}|{digest}|{decided}')}"


def _new_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- phase 1: claim -------------------------------------------------------------------------


@dataclass
class _Claim:
    execution: Execution | None = None
    outcome: ExecutionOutcome | None = None


@transaction.atomic
def _claim(*, request_id: int, owner: str) -> _Claim:
    # Customer, order, request, then (below) the execution row and the audit chain head:
    # the lock order every writer follows (refunds/transitions.py), so the racing
    # executors of one decision queue up here instead of deadlocking, and the order row
    # serialises the remainder check below with every approval or claim on that order.
    try:
        _, request = refund_request_lock_with_order(request_id=request_id)
    except RefundRequest.DoesNotExist:
        return _Claim(outcome=ExecutionOutcome("skipped", "no such request"))
    now = timezone.now()
    if request.status in FINAL_APPROVED_STATUSES:
        execution = execution_for_decision(request)
        refund_request_transition(
            request=request,
            to_status=S.EXECUTING,
            actor=EXECUTOR,
            reason="execution started",
            payload={"idempotency_key": execution.idempotency_key},
        )
    elif request.status == S.EXECUTING:
        execution = execution_for_decision(request)
    else:
        return _Claim(
            outcome=ExecutionOutcome(
                "skipped", f"status '{request.status}' is not an approved final decision"
            )
        )
    if execution.phase in (Phase.RECORDED, Phase.FAILED):
        return _Claim(
            outcome=ExecutionOutcome(
                "skipped", f"execution already {execution.phase}", execution.pk
            )
        )
    taken = Execution.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now), pk=execution.pk
    ).update(
        locked_until=now + timedelta(seconds=settings.HITL_EXECUTION_LOCK_SECONDS),
        lock_owner=owner,
        updated_at=now,
    )
    if not taken:
        return _Claim(
            outcome=ExecutionOutcome("busy", "another executor holds the lock", execution.pk)
        )
    execution.refresh_from_db()
    if execution.phase == Phase.STARTED:
        # Nothing has been sent for this decision yet: check everything again first.
        remaining = order_refundable_remaining(order=request.order, exclude_request=request)
        problem = execution_precheck(request=request, remaining=remaining)
        if problem:
            _fail_locked(
                request=request, execution=execution, error=problem, event=events.EXECUTION_REFUSED
            )
            return _Claim(outcome=ExecutionOutcome("failed", problem, execution.pk))
    return _Claim(execution=execution)


def execution_for_decision(request: RefundRequest) -> Execution:
    """The execution of the request's current final decision, created on first need."""
    execution, created = Execution.objects.get_or_create(
        request=request,
        payload_hash=request.final_payload_hash,
        decided_at=request.decided_at or request.status_changed_at,
        defaults={
            "idempotency_key": idempotency_key_for(request),
            "action": request.final_action,
            "amount": request.final_amount or 0,
            "currency": request.currency,
        },
    )
    if created:
        record_event(
            event_type=events.EXECUTION_STARTED,
            actor=EXECUTOR,
            subject=request,
            payload={
                "execution": execution.pk,
                "action": execution.action,
                "amount": execution.amount,
                "currency": execution.currency,
                "idempotency_key": execution.idempotency_key,
                "payload_hash": execution.payload_hash,
            },
        )
    return execution


# --- phases 2 and 3 -------------------------------------------------------------------------


def _retry_window_passed(execution: Execution) -> bool:
    return execution.first_called_at is not None and timezone.now() >= (
        execution.first_called_at + timedelta(seconds=settings.HITL_EXECUTION_RETRY_WINDOW)
    )


def _call(execution: Execution, backends: Backends, *, lookup: bool) -> ProviderResult | None:
    request = execution.request
    action = execution.action
    if action == Action.APPROVE_REFUND:
        backend = backends.payment
        if lookup:
            return backend.lookup(idempotency_key=execution.idempotency_key)
        return backend.refund(
            idempotency_key=execution.idempotency_key,
            amount=execution.amount,
            currency=execution.currency,
            order=request.order,
            request=request,
        )
    if action == Action.OFFER_REPLACEMENT:
        if lookup:
            return backends.fulfilment.lookup(idempotency_key=execution.idempotency_key)
        return backends.fulfilment.create_replacement(
            idempotency_key=execution.idempotency_key, request=request
        )
    kind, body = MESSAGES[Action(action)]
    if lookup:
        return backends.messaging.lookup(idempotency_key=execution.idempotency_key)
    return backends.messaging.send(
        idempotency_key=execution.idempotency_key, request=request, kind=kind, body=body
    )


def _backend_name(execution: Execution, backends: Backends) -> str:
    if execution.action == Action.APPROVE_REFUND:
        return backends.payment.name
    if execution.action == Action.OFFER_REPLACEMENT:
        return backends.fulfilment.name
    return backends.messaging.name


@transaction.atomic
def _mark_called(execution: Execution, backend: str) -> None:
    now = timezone.now()
    execution.attempts += 1
    execution.first_called_at = execution.first_called_at or now
    execution.phase = Phase.PROVIDER_CALLED
    execution.backend = backend
    Execution.objects.filter(pk=execution.pk).update(
        attempts=execution.attempts,
        first_called_at=execution.first_called_at,
        phase=execution.phase,
        backend=backend,
        updated_at=now,
    )
    record_event(
        event_type=events.EXECUTION_PROVIDER_CALLED,
        actor=EXECUTOR,
        subject=execution.request,
        payload={
            "execution": execution.pk,
            "backend": backend,
            "attempt": execution.attempts,
            "idempotency_key": execution.idempotency_key,
        },
    )


def _run(execution: Execution, backends: Backends | None) -> ExecutionOutcome:
    try:
        backends = backends or backends_from_settings()
        if execution.phase == Phase.PROVIDER_CALLED and _retry_window_passed(execution):
            result = _call(execution, backends, lookup=True)
            if result is None:
                return _fail(
                    execution,
                    "The provider has no record of this idempotency key "
                    "after the retry window: nothing was done.",
                )
        else:
            _mark_called(execution, _backend_name(execution, backends))
            result = _call(execution, backends, lookup=False)
    except ProviderRefused as exc:
        return _refused(execution, backends, str(exc))
    except ProviderAmbiguous as exc:
        return _note_ambiguous(execution, str(exc))
    return _record(execution, result)


def _refused(execution: Execution, backends: Backends, error: str) -> ExecutionOutcome:
    """A refusal proves nothing was done only if no earlier call could have succeeded: a
    resend after an ambiguous attempt may be refused (e.g. 409 while the first is still
    processing) although the first went through, so ask the provider before failing."""
    if execution.attempts > 1:
        try:
            result = _call(execution, backends, lookup=True)
        except (ProviderAmbiguous, ProviderRefused) as exc:
            return _note_ambiguous(execution, f"{error}; lookup failed: {exc}")
        if result is not None:
            return _record(execution, result)
    return _fail(execution, error)


def _release(execution: Execution, owner: str) -> None:
    Execution.objects.filter(pk=execution.pk, lock_owner=owner).update(
        locked_until=None, lock_owner=""
    )


def execution_run(*, request_id: int, backends: Backends | None = None) -> ExecutionOutcome:
    """Runs (or resumes) the execution of ``request_id``'s final decision. Idempotent.

    Preconditions: none — anything that is not an approved final decision, or already
    being executed by another worker, is skipped. Side effects: at most one provider-side
    effect per final decision (refund, replacement or customer message), the request's
    move to ``executing`` and then ``executed`` / ``awaiting_customer`` /
    ``execution_failed``, and an audit event for each phase. Never raises for a provider
    failure; returns what happened.
    """
    owner = _new_owner()
    claim = _claim(request_id=request_id, owner=owner)
    if claim.outcome is not None:
        return claim.outcome
    execution = claim.execution
    assert execution is not None
    try:
        return _run(execution, backends)
    finally:
        _release(execution, owner)
