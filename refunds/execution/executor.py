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
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.integrity import Verdict, parse_hash
from audit.selectors import audit_event_is_authentic, audit_latest_event
from audit.services import Actor, record_event

from .. import jobs
from ..actions import Action
from ..decisions import (
    DECISION_HASH_EVENTS,
    FinalPayload,
    final_payload_check,
    refund_remaining_check,
)
from ..models import Execution, OutboundMessage, RefundRequest
from ..selectors import order_refundable_remaining
from ..states import FINAL_APPROVED_STATUSES, RefundStatus
from ..transitions import (
    IllegalTransition,
    refund_request_lock_with_order,
    refund_request_transition,
)
from .backends import (
    Backends,
    ProviderAmbiguous,
    ProviderRefused,
    ProviderResult,
    backends_from_settings,
)

logger = logging.getLogger(__name__)

EXECUTOR = Actor.system("executor")
S = RefundStatus
Phase = Execution.Phase

MESSAGES = {
    Action.DENY_REFUND: (
        OutboundMessage.Kind.DENIAL,
        "We have looked at your request carefully and are unable to offer a refund in this case.",
    ),
    Action.REQUEST_MORE_INFO: (
        OutboundMessage.Kind.MORE_INFO,
        "We need a little more information to decide on your request. "
        "Please reply with details (and photos, if you have them).",
    ),
}


@dataclass(frozen=True)
class ExecutionOutcome:
    """What one call did: ``executed``, ``awaiting_customer``, ``failed``, ``pending`` (an
    ambiguous outcome; the reconciler retries it), ``busy`` (another executor holds the
    lock) or ``skipped`` (nothing to execute)."""

    status: str
    detail: str = ""
    execution_id: int | None = None


def idempotency_key_for(request: RefundRequest) -> str:
    """Deterministic per final decision: the same decision always gets the same key (from
    the payload's unkeyed digest, so that rotating the integrity key never changes it)."""
    decided = request.decided_at.isoformat() if request.decided_at else ""
    digest = FinalPayload.of(request).digest()
    return f"hitl-{uuid.uuid5(uuid.NAMESPACE_URL, f'{request.public_id}|{digest}|{decided}')}"


def _new_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _payload_hash_problem(request: RefundRequest) -> str:
    verdict = final_payload_check(request)
    if verdict == Verdict.VALID:
        return ""
    if not request.final_payload_hash:
        return "The final decision has no approved payload hash."
    if verdict == Verdict.LEGACY_VALID:
        return (
            "The final decision's payload hash is an unkeyed SHA-256 from before keyed "
            "hashes, which anyone with database access can recompute: it is not trusted. "
            "Decide the case again."
        )
    if verdict == Verdict.UNKNOWN_KEY:
        key_id = parse_hash(request.final_payload_hash).key_id  # type: ignore[union-attr]
        return (
            f"The final decision's payload hash was made with integrity key {key_id!r}, "
            "which is not configured (HITL_INTEGRITY_KEYS_OLD); retry once it is."
        )
    return "The final decision no longer matches the approved payload hash."


def execution_audit_crosscheck(*, request: RefundRequest) -> str:
    """Returns why the request's stored payload hash disagrees with the audit log, or "".

    The hash must be the one that the decision's own audit event recorded
    (``decision.finalized``, or ``decision.payload_rekeyed`` after the upgrade to keyed
    hashes), and that event must carry a valid keyed hash of its own: a database writer
    can neither swap in another decision's hash nor make an event that vouches for one.
    """
    event = audit_latest_event(
        subject_type=request._meta.label_lower,
        subject_id=str(request.pk),
        event_types=DECISION_HASH_EVENTS,
    )
    if event is None:
        return "The audit log has no decision.finalized event for this final decision."
    if not audit_event_is_authentic(event):
        return (
            f"The decision's audit event #{event.sequence} ({event.event_type}) does not "
            "verify against its keyed hash (run verify_audit)."
        )
    recorded = (event.payload or {}).get("payload_hash")
    if recorded != request.final_payload_hash:
        return (
            f"The request's payload hash differs from the one recorded in audit event "
            f"#{event.sequence} ({event.event_type}): the stored decision was changed "
            "after it was made."
        )
    return ""


def execution_precheck(*, request: RefundRequest, remaining: Decimal) -> str:
    """Returns why ``request``'s final decision must not run, or "" if it may."""
    problem = _payload_hash_problem(request)
    if problem:
        return problem
    if request.final_action not in {a.value for a in Action}:
        return f"Unknown action {request.final_action!r}."
    if request.currency != request.order.currency:
        return f"Currency {request.currency} does not match the order's {request.order.currency}."
    if request.final_action == Action.APPROVE_REFUND:
        amount = request.final_amount
        if amount is None or amount <= 0:
            return f"Refund amount must be positive, got {amount}."
        if amount > remaining:
            return (
                f"Refund of {amount} {request.currency} exceeds the order's refundable "
                f"remainder of {remaining} {request.currency}."
            )
    # Last, as it reads the audit log: the cheap checks above decide most refusals.
    return execution_audit_crosscheck(request=request)


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
        execution = _execution_for(request)
        refund_request_transition(
            request=request,
            to_status=S.EXECUTING,
            actor=EXECUTOR,
            reason="execution started",
            payload={"idempotency_key": execution.idempotency_key},
        )
    elif request.status == S.EXECUTING:
        execution = _execution_for(request)
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
                request=request, execution=execution, error=problem, event="execution.refused"
            )
            return _Claim(outcome=ExecutionOutcome("failed", problem, execution.pk))
    return _Claim(execution=execution)


def _execution_for(request: RefundRequest) -> Execution:
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
            event_type="execution.started",
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
        event_type="execution.provider_called",
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
                event_type="execution.recorded",
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
    *, request: RefundRequest, execution: Execution, error: str, event: str = "execution.failed"
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
        payload={"execution": execution.pk, "error": error, "attempts": execution.attempts},
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
            event_type="execution.outcome_unknown",
            actor=EXECUTOR,
            subject=execution.request,
            payload={"execution": execution.pk, "error": error, "attempts": execution.attempts},
        )
    logger.warning(
        "execution outcome unknown; will retry with the same key",
        extra={"execution": execution.pk, "error": error},
    )
    return ExecutionOutcome("pending", error, execution.pk)


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


# --- a senior reviewer's actions on a failed execution ---------------------------------------


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
    execution = _execution_for(locked)
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
        event_type="execution.retry_requested",
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
