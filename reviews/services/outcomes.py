"""Deciding a review task (``review_decide``) and the outcomes that close or move it.

Reject, request more information, escalate — and the SLA's expiry — are one skeleton
(``outcome_apply``) with their specifics (``OutcomeSteps``); approval, with four eyes, is
``four_eyes.approve``. The service locks the task row and re-checks everything on the
locked row (status, version, claim, permissions) before any write, so two reviewers
deciding at once, a double click, or a decision on a task that was reassigned, escalated,
expired or already decided all end with exactly one effect and a clear
``ApplicationError`` for the loser.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError
from refunds.actions import Action, RejectReason
from refunds.customer_messages import MESSAGES
from refunds.models import OutboundMessage
from refunds.states import RefundStatus
from refunds.transitions import refund_request_transition

from .. import events
from .. import permissions as perms
from ..decision_package import proposed_decision
from ..models import APPROVING_OUTCOMES, Outcome, ReviewDecision, ReviewTask
from ..transitions import review_task_lock
from .common import (
    SENIOR_QUEUE,
    clear_pending,
    closed_error,
    forbidden,
    invalid,
    refuse_if_away,
    require_worker,
    tell_customer,
)
from .four_eyes import approve
from .moves import close, move_to_senior


@dataclass(frozen=True)
class OutcomeSteps:
    """What one outcome does, for ``outcome_apply``. ``move_request_from``: the request
    moves only from these statuses (None: always, refused if the move is illegal).
    ``message``: the customer message (key, kind, body) given the decision, if one is sent.
    ``payload``: the audit payload given the decision and the message reference."""

    request_to: str
    reason: str
    move_task: Callable[[], None]
    event_type: str
    payload: Callable[[ReviewDecision | None, str], dict[str, Any]]
    request_payload: dict[str, Any] = field(default_factory=dict)
    move_request_from: tuple[str, ...] | None = None
    message: Callable[[ReviewDecision | None], tuple[str, str, str]] | None = None


def outcome_apply(
    *, task: ReviewTask, actor: Actor, steps: OutcomeSteps, decision: dict | None
) -> ReviewDecision | None:
    """On a locked, checked task: drops a pending first approval, moves the request
    (``refund_request_transition``), records the ``ReviewDecision`` (``decision``: its
    fields; None for the SLA), moves the task (``review_task_transition``), tells the
    customer, and audits. Returns the decision."""
    clear_pending(task)
    request = task.request
    if steps.move_request_from is None or request.status in steps.move_request_from:
        refund_request_transition(
            request=request,
            to_status=steps.request_to,
            actor=actor,
            reason=steps.reason,
            payload={"review_task": task.pk, **steps.request_payload},
        )
    created = ReviewDecision.objects.create(**decision) if decision is not None else None
    steps.move_task()
    reference = ""
    if steps.message is not None:
        key, kind, body = steps.message(created)
        reference = tell_customer(request=request, key=key, kind=kind, body=body)
    record_event(
        event_type=steps.event_type,
        actor=actor,
        subject=request,
        payload=steps.payload(created, reference),
    )
    return created


@transaction.atomic
def review_decide(
    *,
    task: ReviewTask,
    user,
    outcome: str,
    action: str | None = None,
    amount: Decimal | None = None,
    message: str = "",
    reason_code: str = "",
    comment: str = "",
    expected_version: int | None = None,
) -> ReviewDecision:
    """Records a human decision on ``task`` and applies it.

    Outcomes:
    - ``approve``: the AI's proposed action and amount (``action``/``amount``, if given,
      must equal them: other figures are refused, never silently dropped);
      ``approve_with_edits``: ``action`` and ``amount`` as given. Final through
      ``refunds.decisions.refund_request_finalize`` (request ``approved``, execution queued
      on commit), unless it is a refund above ``REVIEW_FOUR_EYES_AMOUNT``: then the first
      approval is stored ``pending`` and the task goes back to its queue; a second,
      different approver approving the same payload makes it final (a different payload
      replaces the pending approval). ``message`` (optional) is sent to the customer when
      the approval becomes final (see ``four_eyes._tell_approval``).
    - ``reject``: ``reason_code`` (a ``RejectReason``) and ``comment`` required; request
      ``rejected``; the customer gets ``message`` or the standard denial.
    - ``escalate``: ``comment`` (the note) required; the task moves to the senior queue
      with a raised priority, request ``escalated``.
    - ``request_more_info``: ``message`` (the question to the customer) required, and not
      a question already put to them on this request (``repeat_question``); request
      ``awaiting_customer``.

    ``expected_version`` is the task version the reviewer saw: if the task changed since
    (reassigned, escalated, released), the decision is refused with ``task_changed``.

    Raises ``ApplicationError``: ``forbidden`` (403: inactive, machine account, not of the
    queue, the user's own case), ``task_already_decided``/``task_expired``,
    ``task_changed``, ``task_claimed`` (another reviewer holds the claim),
    ``reviewer_away`` (the user is marked away),
    ``four_eyes_same_approver``, ``invalid_decision`` (400) for missing or invalid
    fields, ``repeat_question`` (400), and ``IllegalTransition`` if the request is no
    longer in review. Nothing is written when it raises.
    """
    locked = review_task_lock(task)
    now = timezone.now()
    _check_may_decide(locked, user, expected_version, now)
    proposal = proposed_decision(locked.request)
    fields = {
        "task": locked,
        "request": locked.request,
        "reviewer": user,
        "outcome": outcome,
        "currency": locked.request.currency,
        "message": message.strip(),
        "comment": comment.strip(),
        "created_at": now,
        "proposed_action": proposal.action if proposal else "",
        "proposed_amount": proposal.amount if proposal else None,
    }
    if outcome in APPROVING_OUTCOMES:
        return approve(locked, user, proposal, fields, action, amount)
    if outcome == Outcome.REJECT:
        return _reject(locked, user, fields, reason_code)
    if outcome == Outcome.ESCALATE:
        return _escalate(locked, user, fields)
    if outcome == Outcome.REQUEST_MORE_INFO:
        return _request_more_info(locked, user, fields)
    raise invalid(f"Unknown outcome {outcome!r}.")


def _check_may_decide(locked: ReviewTask, user, expected_version: int | None, now) -> None:
    require_worker(locked, user)
    if not locked.is_active:
        raise closed_error(locked)
    refuse_if_away(user, now)
    if expected_version is not None and locked.version != expected_version:
        raise ApplicationError(
            "This task changed since you opened it (claimed, reassigned, escalated or a "
            "first approval was recorded); reload it and decide again.",
            code="task_changed",
        )
    if locked.claimed_by_other(user, now):
        raise ApplicationError(
            f"Claimed by {locked.assignee.get_username()} until "
            f"{timezone.localtime(locked.claim_expires_at):%H:%M}; ask a senior reviewer "
            "to reassign it.",
            code="task_claimed",
        )
    if perms.user_created_case(user, locked):
        raise forbidden("You cannot decide a case you created or in which you are the customer.")


def _reject(task: ReviewTask, user, fields: dict, reason_code: str) -> ReviewDecision:
    if reason_code not in RejectReason.values:
        raise invalid("Choose a reason code for the rejection.")
    if not fields["comment"]:
        raise invalid("A comment is required to reject.")
    steps = OutcomeSteps(
        request_to=RefundStatus.REJECTED,
        reason=f"rejected: {reason_code}",
        move_task=lambda: close(task, fields["created_at"]),
        message=lambda decision: (
            f"review-decision-{decision.pk}",
            OutboundMessage.Kind.DENIAL,
            fields["message"] or MESSAGES[Action.DENY_REFUND][1],
        ),
        event_type=events.DECIDED,
        payload=lambda decision, reference: events.decided_payload(
            task=task,
            decision=decision,
            outcome="reject",
            reason_code=reason_code,
            comment=fields["comment"],
            customer_message=reference,
        ),
    )
    decision = {**fields, "reason_code": reason_code, "is_final": True}
    return outcome_apply(task=task, actor=Actor.user(user), steps=steps, decision=decision)


def _escalate(task: ReviewTask, user, fields: dict) -> ReviewDecision:
    if not fields["comment"]:
        raise invalid("Add a note for the senior reviewer.")
    if task.queue.slug == SENIOR_QUEUE:
        raise invalid("This task is already in the senior queue; decide it or reassign it.")
    from_queue = task.queue.slug
    steps = OutcomeSteps(
        request_to=RefundStatus.ESCALATED,
        move_request_from=(RefundStatus.IN_REVIEW,),
        reason="escalated by a reviewer",
        move_task=lambda: move_to_senior(task, fields["created_at"], fields["comment"]),
        event_type=events.ESCALATED,
        payload=lambda decision, _: {
            "task": task.pk,
            "decision": decision.pk,
            "from_queue": from_queue,
            "to_queue": SENIOR_QUEUE,
            "priority": task.priority,
            "note": fields["comment"],
        },
    )
    return outcome_apply(task=task, actor=Actor.user(user), steps=steps, decision=fields)


def _same_words(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _request_more_info(task: ReviewTask, user, fields: dict) -> ReviewDecision:
    question = fields["message"]
    if not question:
        raise invalid("Write the question to ask the customer.")
    _refuse_repeat_question(task, question)
    steps = OutcomeSteps(
        request_to=RefundStatus.AWAITING_CUSTOMER,
        reason="more information requested",
        request_payload={"question": question},
        move_task=lambda: close(task, fields["created_at"]),
        message=lambda decision: (
            f"review-decision-{decision.pk}",
            OutboundMessage.Kind.MORE_INFO,
            question,
        ),
        event_type=events.DECIDED,
        payload=lambda decision, reference: events.decided_payload(
            task=task,
            decision=decision,
            outcome="request_more_info",
            question=question,
            customer_message=reference,
        ),
    )
    decision = {**fields, "is_final": True}
    return outcome_apply(task=task, actor=Actor.user(user), steps=steps, decision=decision)


def _refuse_repeat_question(task: ReviewTask, question: str) -> None:
    asked = (
        OutboundMessage.objects.filter(request=task.request, kind=OutboundMessage.Kind.MORE_INFO)
        .order_by("created_at")
        .values_list("created_at", "body")
    )
    repeated = next((at for at, body in asked if _same_words(body, question)), None)
    if repeated is not None:
        raise ApplicationError(
            f"The customer was already asked exactly this on "
            f"{timezone.localtime(repeated):%Y-%m-%d %H:%M} (see the conversation); ask "
            "something new, or decide on what they answered.",
            code="repeat_question",
            status_code=400,
        )
