"""The checks a final decision passes again right before anything is sent: the payload
hash (keyed, and the one the decision's audit event recorded), the action, the currency and
the order's refundable remainder. Each returns why not, or "" if it may run."""

from decimal import Decimal

from audit.integrity import Verdict, parse_hash
from audit.selectors import audit_event_is_authentic, audit_latest_event

from ..actions import Action
from ..decisions import final_payload_check
from ..events import DECISION_HASH_EVENTS
from ..models import RefundRequest


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
