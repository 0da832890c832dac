"""Approving a task (``approve`` / ``approve_with_edits``), with four eyes above
``REVIEW_FOUR_EYES_AMOUNT``: the first approval of a large refund is stored ``pending``
and the task goes back to its queue; a second, different approver approving the same
payload makes it final."""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError
from refunds.actions import Action
from refunds.customer_messages import MESSAGES
from refunds.decisions import FinalPayload, refund_remaining_check, refund_request_finalize
from refunds.execution.executor import idempotency_key_for
from refunds.models import OutboundMessage, RefundRequest
from refunds.money import quantize

from .. import events
from ..models import Outcome, ReviewDecision, ReviewTask
from .common import clear_pending, invalid, tell_customer
from .moves import close, unclaim


def four_eyes_amount() -> Decimal:
    return Decimal(str(settings.REVIEW_FOUR_EYES_AMOUNT))


def approve(task: ReviewTask, user, proposal, fields: dict, action, amount) -> ReviewDecision:
    """The approving outcomes of ``review_decide`` (see there); ``fields`` are the
    decision's common fields, completed here with the approved figures."""
    request = task.request
    action, amount = _approved_figures(request, proposal, fields["outcome"], action, amount)
    payload = FinalPayload(str(request.public_id), action, amount, request.currency)
    fields.update(
        action=action,
        amount=amount,
        payload_hash=payload.hash(),
        amount_difference=(
            amount - fields["proposed_amount"] if fields["proposed_amount"] is not None else None
        ),
    )
    pending = task.decisions.filter(pending=True).select_related("reviewer").first()
    confirms = None
    if action == Action.APPROVE_REFUND and amount > four_eyes_amount():
        if pending is not None and pending.reviewer_id == user.pk:
            raise ApplicationError(
                f"You already approved this case at "
                f"{timezone.localtime(pending.created_at):%H:%M}; above "
                f"{four_eyes_amount()} a second, different approver must confirm it.",
                code="four_eyes_same_approver",
                status_code=403,
            )
        if pending is None or not payload.matches(pending.payload_hash):
            return _first_approval(task, user, fields, replaces=pending)
        confirms = pending
    return _final_approval(task, user, fields, confirms=confirms)


def _approved_figures(request: RefundRequest, proposal, outcome, action, amount):
    """The action and amount approved, checked: the proposal's for ``approve`` (other
    figures refused), the given ones for ``approve_with_edits``."""
    if outcome == Outcome.APPROVE:
        if proposal is None:
            raise invalid("There is no valid AI proposal to approve; use approve with edits.")
        _refuse_other_figures(proposal, action, amount, request.currency)
        action, amount = proposal.action, proposal.amount
    if action not in {a.value for a in Action}:
        raise invalid(f"Unknown action {action!r}.")
    if amount is None:
        amount = Decimal("0")
    try:
        amount = quantize(Decimal(amount))
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise invalid("The amount must be a number.") from exc
    if amount < 0:
        raise invalid("The amount must be zero or more.")
    if action != Action.APPROVE_REFUND and amount != 0:
        raise invalid("Only a refund carries an amount; set it to 0 for this action.")
    if action == Action.APPROVE_REFUND:
        if amount == 0:
            raise invalid("A refund of 0 is not a refund.")
        # Early advice (before a four-eyes first approval too); the binding check, and the
        # reservation, are refund_request_finalize's, under the order's row lock.
        refund_remaining_check(request=request, order=request.order, amount=amount)
    return action, amount


def _first_approval(task: ReviewTask, user, fields: dict, *, replaces) -> ReviewDecision:
    """First approval (or a different payload replacing the pending one): recorded, not
    final; the task goes back to the queue for a second approver. The pending hash is keyed
    (made with any key of the ring: a rotation between the two approvals does not matter),
    so an edit of the pending row in the database cannot make it confirm a payload its
    approver did not approve."""
    clear_pending(task)
    decision = ReviewDecision.objects.create(**fields, pending=True)
    unclaim(task)
    record_event(
        event_type=events.FIRST_APPROVAL,
        actor=Actor.user(user),
        subject=task.request,
        payload={
            "task": task.pk,
            "decision": decision.pk,
            "action": fields["action"],
            "amount": fields["amount"],
            "payload_hash": fields["payload_hash"],
            "replaces": replaces.pk if replaces else None,
        },
    )
    return decision


def _final_approval(task: ReviewTask, user, fields: dict, *, confirms) -> ReviewDecision:
    """Makes the approval final (``refund_request_finalize``: request ``approved``,
    execution queued on commit), closes the task and tells the customer."""
    request = task.request
    clear_pending(task)
    refund_request_finalize(
        request=request,
        action=fields["action"],
        amount=fields["amount"],
        actor=Actor.user(user),
        source="review",
        extra={
            "review_task": task.pk,
            "outcome": fields["outcome"],
            "four_eyes_first_approver": (confirms.reviewer.get_username() if confirms else None),
        },
    )
    if request.final_payload_hash != fields["payload_hash"]:  # pragma: no cover - same formula
        raise ApplicationError(
            "The final payload does not match the approved one.", code="payload_mismatch"
        )
    decision = ReviewDecision.objects.create(**fields, is_final=True, confirms=confirms)
    close(task, fields["created_at"])
    # The confirming approver's words, else those of the first approver they confirmed.
    reference = _tell_approval(
        request=request,
        decision=decision,
        message=fields["message"] or (confirms.message if confirms else ""),
    )
    record_event(
        event_type=events.DECIDED,
        actor=Actor.user(user),
        subject=request,
        payload=events.decided_payload(
            task=task,
            decision=decision,
            outcome=fields["outcome"],
            action=fields["action"],
            amount=fields["amount"],
            proposed_action=fields["proposed_action"],
            proposed_amount=fields["proposed_amount"],
            payload_hash=fields["payload_hash"],
            confirms=confirms.pk if confirms else None,
            customer_message=reference or None,
        ),
    )
    return decision


def _refuse_other_figures(proposal, action, amount, currency: str) -> None:
    """ "Approve as proposed" approves the proposal's figures: if the caller sent others, it
    meant to approve with edits, and dropping them silently would pay the wrong amount."""
    other_action = bool(action) and action != proposal.action
    try:
        other_amount = amount is not None and quantize(Decimal(amount)) != proposal.amount
    except (ArithmeticError, TypeError, ValueError):
        other_amount = True
    if other_action or other_amount:
        raise invalid(
            f"“Approve as proposed” approves the draft's {proposal.action.replace('_', ' ')} "
            f"{proposal.amount} {currency}, but other figures ({action or proposal.action} "
            f"{amount if amount is not None else proposal.amount}) were sent; nothing was "
            "saved. Approve with edits to approve your figures."
        )


def _tell_approval(*, request: RefundRequest, decision: ReviewDecision, message: str) -> str:
    """Sends the reviewer's message on a final approval, through the same messaging path as
    a rejection or a question (an ``OutboundMessage`` delivered by the integration's
    webhook, ``customer_message.created``). Returns its reference, or "" without a message.

    For an approved denial or question (``deny_refund``, ``request_more_info``) the
    executor's own message *is* the outcome: the reviewer's words are sent under the
    execution's idempotency key, so when the executor runs it finds that message already
    sent and records it, and the customer gets one message, the reviewer's, instead of the
    standard text. A refund or a replacement gets its own ``approval`` message."""
    if not message:
        return ""
    if request.final_action in MESSAGES:
        kind, key = MESSAGES[Action(request.final_action)][0], idempotency_key_for(request)
    else:
        kind, key = OutboundMessage.Kind.APPROVAL, f"review-decision-{decision.pk}"
    return tell_customer(request=request, key=key, kind=kind, body=message)
