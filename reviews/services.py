"""Every write of human review: opening, claiming, releasing, reassigning and deciding tasks,
granting queues, revealing personal data, and the SLA sweep.

Each service locks the task row, re-checks everything on the locked row (status, version,
claim, permissions), writes, and records its audit event in the same transaction, so two
reviewers deciding at once, a double click, or a decision on a task that was reassigned,
escalated, expired or already decided all end with exactly one effect and a clear
``ApplicationError`` for the loser.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError
from refunds.agent.schemas import Action
from refunds.decisions import FinalPayload, refund_remaining_check, refund_request_finalize
from refunds.execution.backends import backends_from_settings
from refunds.execution.executor import MESSAGES, idempotency_key_for
from refunds.models import OutboundMessage, RefundRequest
from refunds.money import quantize
from refunds.states import RefundStatus
from refunds.transitions import refund_request_transition

from . import events
from . import permissions as perms
from .models import (
    ACTIVE_TASK_STATUSES,
    APPROVING_OUTCOMES,
    Outcome,
    Queue,
    QueueGroupObjectPermission,
    QueueUserObjectPermission,
    RejectReason,
    ReviewDecision,
    ReviewTask,
    TaskStatus,
)
from .selectors import proposed_decision
from .transitions import review_task_lock, review_task_transition

logger = logging.getLogger(__name__)

SENIOR_QUEUE = "senior"
STANDARD_QUEUE = "standard"
LEGAL_QUEUE = "legal"
SLA_ACTOR = Actor.system("review-sla")
# What the customer is told when a case times out: nothing was executed, it is not closed.
TIMEOUT_CUSTOMER_NOTICE = (
    "We have not been able to finish reviewing your request yet. Nothing has been charged "
    "or refunded, and your case is still open with our team: we will contact you."
)
TIMEOUT_MESSAGE_KIND = OutboundMessage.Kind.CASE_OPEN
REVIEW_REVIEWABLE = (RefundStatus.IN_REVIEW, RefundStatus.ESCALATED)
MAX_PRIORITY = max(RefundRequest.Priority.values)


def four_eyes_amount() -> Decimal:
    return Decimal(str(settings.REVIEW_FOUR_EYES_AMOUNT))


def _forbidden(message: str = "You may not work this task.") -> ApplicationError:
    return ApplicationError(message, code="forbidden", status_code=403)


def _unclaimed_status(task: ReviewTask) -> str:
    return TaskStatus.ESCALATED if task.escalated_at else TaskStatus.OPEN


def _closed_error(task: ReviewTask) -> ApplicationError:
    """'Already decided by … at …' (or expired) for a task that is no longer active."""
    if task.status == TaskStatus.EXPIRED:
        return ApplicationError(
            f"This task expired at {timezone.localtime(task.decided_at):%Y-%m-%d %H:%M} "
            "(past its hard deadline); nothing was decided.",
            code="task_expired",
        )
    final = task.decisions.filter(is_final=True).select_related("reviewer").first()
    who = final.reviewer.get_username() if final else "someone"
    when = timezone.localtime(final.created_at if final else task.decided_at)
    outcome = final.get_outcome_display().lower() if final else "decided"
    return ApplicationError(
        f"Already decided by {who} at {when:%Y-%m-%d %H:%M:%S} ({outcome}).",
        code="task_already_decided",
        extra={"decided_by": who, "decided_at": when.isoformat(), "outcome": outcome},
    )


def _queue_named(slug: str) -> Queue:
    queue = Queue.objects.filter(slug=slug).first()
    if queue is None:
        raise ApplicationError(
            f"The '{slug}' review queue is missing; recreate it in the admin.", code="queue_missing"
        )
    return queue


def _require_worker(task: ReviewTask, user) -> None:
    if not perms.user_is_human_staff(user):
        raise _forbidden("Inactive and machine accounts cannot work review tasks.")
    if not perms.user_can_work_queue(user, task.queue):
        raise _forbidden(f"You do not work the {task.queue.name} queue.")


# --- Queue access ----------------------------------------------------------------------------


@transaction.atomic
def queue_access_grant(
    *, queue: Queue, actor: Actor, user=None, group: Group | None = None
) -> None:
    """Lets ``user`` or ``group`` work ``queue`` (guardian object permission, direct FK
    table). Machine accounts are refused. Audited ``review_queue.access_granted``."""
    target = _access_target(user, group)
    model = QueueUserObjectPermission if user is not None else QueueGroupObjectPermission
    holder = {"user": user} if user is not None else {"group": group}
    if model.objects.filter(
        content_object=queue, permission__codename=perms.WORK_QUEUE, **holder
    ).exists():
        return  # already granted: nothing to do, nothing to audit
    assign_perm(perms.WORK_QUEUE, target, queue)
    record_event(
        event_type=events.QUEUE_ACCESS_GRANTED,
        actor=actor,
        subject=queue,
        payload=events.queue_access_payload(user=user, group=group),
    )


@transaction.atomic
def queue_access_revoke(
    *, queue: Queue, actor: Actor, user=None, group: Group | None = None
) -> None:
    target = _access_target(user, group)
    remove_perm(perms.WORK_QUEUE, target, queue)
    record_event(
        event_type=events.QUEUE_ACCESS_REVOKED,
        actor=actor,
        subject=queue,
        payload=events.queue_access_payload(user=user, group=group),
    )


# Which role works which queue by default (``queue_access_defaults_ensure``).
DEFAULT_QUEUE_ACCESS = {
    "reviewer": ["standard"],
    "senior_reviewer": ["standard", "senior", "legal"],
}


def queue_access_defaults_ensure(*, actor: Actor) -> None:
    """Grants the role groups their default queues (idempotent; used by ``seed_demo``):
    reviewers work ``standard``; senior reviewers ``standard``, ``senior`` and ``legal``.
    Individual grants and revocations are made in the admin (Queue page)."""
    for group_name, slugs in DEFAULT_QUEUE_ACCESS.items():
        group = Group.objects.filter(name=group_name).first()
        if group is None:
            continue
        for queue in Queue.objects.filter(slug__in=slugs):
            queue_access_grant(queue=queue, group=group, actor=actor)


def _access_target(user, group):
    if (user is None) == (group is None):
        raise ApplicationError(
            "Grant to exactly one user or one group.", code="invalid_grant", status_code=400
        )
    if user is not None and perms.user_is_machine(user):
        raise ApplicationError(
            "Machine accounts cannot work review queues.", code="machine_account", status_code=400
        )
    if group is not None and group.name in perms.MACHINE_ROLES:
        raise ApplicationError(
            "Machine accounts cannot work review queues.", code="machine_account", status_code=400
        )
    return user if user is not None else group


# --- Opening ---------------------------------------------------------------------------------


def _reason_codes(reasons: list[dict]) -> str:
    codes = [str(r.get("code", "")).strip() for r in reasons if r.get("code")]
    return f",{','.join(codes)}," if codes else ""


@transaction.atomic
def review_task_open(
    *, request: RefundRequest, queue_slug: str, priority: int, reasons: list[dict]
) -> ReviewTask:
    """Opens the review task of a request the gate sent to review. Idempotent: if the
    request already has an active task, that task is returned unchanged.

    Precondition: the request is ``in_review`` (or ``escalated``), else ``ApplicationError``
    ``not_in_review``. An unknown or inactive queue slug falls back to ``standard`` (logged
    and audited) rather than losing the case. Audited ``review_task.opened``.
    """
    existing = ReviewTask.objects.filter(request=request, status__in=ACTIVE_TASK_STATUSES).first()
    if existing is not None:
        return existing
    locked = RefundRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status not in REVIEW_REVIEWABLE:
        raise ApplicationError(
            f"Refund request {locked.public_id} is '{locked.status}'; only a request in "
            "review gets a review task.",
            code="not_in_review",
        )
    queue = Queue.objects.filter(slug=queue_slug, is_active=True).first()
    fallback = queue is None
    if fallback:
        logger.warning("unknown review queue, using standard", extra={"queue": queue_slug})
        queue = _queue_named(STANDARD_QUEUE)
    now = timezone.now()
    task = ReviewTask(
        request=locked,
        queue=queue,
        priority=min(max(int(priority), 0), MAX_PRIORITY),
        reasons=[
            {"code": str(r.get("code", "")), "message": str(r.get("message", ""))} for r in reasons
        ],
        reason_codes=_reason_codes(reasons)[:500],
        created_at=now,
        due_at=now + timedelta(minutes=queue.sla_minutes),
        deadline_at=now + timedelta(minutes=queue.hard_deadline_minutes),
    )
    try:
        with transaction.atomic():
            task.save(force_insert=True)
    except IntegrityError:  # a concurrent caller opened it first: same answer
        return ReviewTask.objects.get(request=request, status__in=ACTIVE_TASK_STATUSES)
    record_event(
        event_type=events.TASK_OPENED,
        actor=Actor.system("review"),
        subject=locked,
        payload={
            "task": task.pk,
            "queue": queue.slug,
            "requested_queue": queue_slug,
            "fallback": fallback,
            "priority": task.priority,
            "reasons": [r["code"] for r in task.reasons],
            "due_at": task.due_at,
            "deadline_at": task.deadline_at,
        },
    )
    return task


# --- Claims ----------------------------------------------------------------------------------


@transaction.atomic
def review_task_claim(*, task: ReviewTask, user) -> ReviewTask:
    """Locks the task to ``user`` for ``REVIEW_CLAIM_MINUTES`` (claiming again extends it).
    A claim that has run out may be taken by anyone of the queue.

    Raises ``ApplicationError``: ``forbidden`` (403) if the user may not work the queue,
    ``task_already_decided``/``task_expired`` for a closed task, ``task_claimed`` while
    another reviewer holds an unexpired claim. Audited ``review_task.claimed``.
    """
    locked = review_task_lock(task)
    _require_worker(locked, user)
    if not locked.is_active:
        raise _closed_error(locked)
    now = timezone.now()
    if locked.claimed_by_other(user, now):
        raise ApplicationError(
            f"Claimed by {locked.assignee.get_username()} until "
            f"{timezone.localtime(locked.claim_expires_at):%H:%M}.",
            code="task_claimed",
        )
    until = now + timedelta(minutes=settings.REVIEW_CLAIM_MINUTES)
    _claim_for(
        locked,
        user,
        now,
        actor=Actor.user(user),
        event_type=events.TASK_CLAIMED,
        payload={"until": until},
    )
    return locked


@transaction.atomic
def review_task_release(*, task: ReviewTask, user) -> ReviewTask:
    """Gives a claimed task back to its queue. Only its assignee or a user who may
    reassign. Audited ``review_task.released``."""
    locked = review_task_lock(task)
    if not locked.is_active:
        raise _closed_error(locked)
    if locked.status != TaskStatus.CLAIMED:
        return locked
    if locked.assignee_id != user.pk and not (
        perms.user_can_reassign(user) and perms.user_can_view_task(user, locked)
    ):
        raise _forbidden("Only the reviewer holding the claim or a senior reviewer may release it.")
    previous = locked.assignee.get_username() if locked.assignee else ""
    _unclaim(
        locked,
        actor=Actor.user(user),
        event_type=events.TASK_RELEASED,
        payload=events.task_released_payload(previous_assignee=previous),
    )
    return locked


def _claim_for(task: ReviewTask, user, now: datetime, **event) -> None:
    """Locks the task to ``user`` for ``REVIEW_CLAIM_MINUTES`` (a claim or a reassignment)."""
    review_task_transition(
        task=task,
        to_status=TaskStatus.CLAIMED,
        changes={
            "assignee": user,
            "claimed_at": now,
            "claim_expires_at": now + timedelta(minutes=settings.REVIEW_CLAIM_MINUTES),
        },
        **event,
    )


def _unclaim(task: ReviewTask, **event) -> None:
    """Back to its queue: ``open``, or ``escalated`` if it was escalated."""
    review_task_transition(
        task=task,
        to_status=_unclaimed_status(task),
        changes={"assignee": None, "claimed_at": None, "claim_expires_at": None},
        **event,
    )


@transaction.atomic
def review_task_reassign(*, task: ReviewTask, to_user, by) -> ReviewTask:
    """A senior reviewer hands a task to ``to_user``, who must be able to work its queue;
    the task becomes claimed by them. A decision already open in the previous assignee's
    browser is then refused (the task's version changed). Audited
    ``review_task.reassigned``."""
    locked = review_task_lock(task)
    if not (perms.user_can_reassign(by) and perms.user_can_view_task(by, locked)):
        raise _forbidden("Only a senior reviewer of this queue may reassign.")
    if not locked.is_active:
        raise _closed_error(locked)
    if not (
        perms.user_is_human_staff(to_user) and perms.user_can_work_queue(to_user, locked.queue)
    ):
        raise ApplicationError(
            f"{to_user.get_username()} does not work the {locked.queue.name} queue.",
            code="invalid_assignee",
            status_code=400,
        )
    previous = locked.assignee.get_username() if locked.assignee else ""
    now = timezone.now()
    _claim_for(
        locked,
        to_user,
        now,
        actor=Actor.user(by),
        event_type=events.TASK_REASSIGNED,
        payload={"from": previous, "to": to_user.get_username()},
    )
    return locked


# --- Personal data ---------------------------------------------------------------------------


@transaction.atomic
def review_pii_reveal(*, task: ReviewTask, user) -> None:
    """Records that ``user`` saw the customer's personal data on this task. Raises
    ``forbidden`` (403) without ``reviews.view_pii`` or access to the queue."""
    if not perms.user_can_view_task(user, task):
        raise _forbidden()
    if not perms.user_can_view_pii(user):
        raise _forbidden("You may not see customers' personal data.")
    record_event(
        event_type=events.PII_REVEALED,
        actor=Actor.user(user),
        subject=task.request,
        payload=events.pii_revealed_payload(task=task),
    )


# --- Decisions -------------------------------------------------------------------------------


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
      the approval becomes final (see ``_tell_approval``).
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
    ``four_eyes_same_approver``, ``invalid_decision`` (400) for missing or invalid
    fields, ``repeat_question`` (400), and ``IllegalTransition`` if the request is no
    longer in review. Nothing is written when it raises.
    """
    locked = review_task_lock(task)
    _require_worker(locked, user)
    if not locked.is_active:
        raise _closed_error(locked)
    if expected_version is not None and locked.version != expected_version:
        raise ApplicationError(
            "This task changed since you opened it (claimed, reassigned, escalated or a "
            "first approval was recorded); reload it and decide again.",
            code="task_changed",
        )
    now = timezone.now()
    if locked.claimed_by_other(user, now):
        raise ApplicationError(
            f"Claimed by {locked.assignee.get_username()} until "
            f"{timezone.localtime(locked.claim_expires_at):%H:%M}; ask a senior reviewer "
            "to reassign it.",
            code="task_claimed",
        )
    if perms.user_created_case(user, locked):
        raise _forbidden("You cannot decide a case you created or in which you are the customer.")
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
        return _approve(locked, user, proposal, fields, action, amount)
    if outcome == Outcome.REJECT:
        return _reject(locked, user, fields, reason_code)
    if outcome == Outcome.ESCALATE:
        return _escalate(locked, user, fields)
    if outcome == Outcome.REQUEST_MORE_INFO:
        return _request_more_info(locked, user, fields)
    raise _invalid(f"Unknown outcome {outcome!r}.")


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_decision", status_code=400)


def _close(task: ReviewTask, now: datetime) -> None:
    review_task_transition(task=task, to_status=TaskStatus.DECIDED, changes={"decided_at": now})


def _tell_customer(*, request: RefundRequest, key: str, kind: str, body: str) -> str:
    """Sends a message to the customer through the executor's messaging backend (an
    ``OutboundMessage`` delivered by the integration's webhook, queued on commit; idempotent
    on ``key``). Returns the message reference."""
    return (
        backends_from_settings()
        .messaging.send(idempotency_key=key, request=request, kind=kind, body=body)
        .reference
    )


def _clear_pending(task: ReviewTask) -> None:
    ReviewDecision.objects.filter(task=task, pending=True).update(pending=False)


def _approve(task, user, proposal, fields, action, amount) -> ReviewDecision:
    request = task.request
    if fields["outcome"] == Outcome.APPROVE:
        if proposal is None:
            raise _invalid("There is no valid AI proposal to approve; use approve with edits.")
        _refuse_other_figures(proposal, action, amount, request.currency)
        action, amount = proposal.action, proposal.amount
    if action not in {a.value for a in Action}:
        raise _invalid(f"Unknown action {action!r}.")
    if amount is None:
        amount = Decimal("0")
    try:
        amount = quantize(Decimal(amount))
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise _invalid("The amount must be a number.") from exc
    if amount < 0:
        raise _invalid("The amount must be zero or more.")
    if action != Action.APPROVE_REFUND and amount != 0:
        raise _invalid("Only a refund carries an amount; set it to 0 for this action.")
    if action == Action.APPROVE_REFUND:
        if amount == 0:
            raise _invalid("A refund of 0 is not a refund.")
        # Early advice (before a four-eyes first approval too); the binding check, and the
        # reservation, are refund_request_finalize's, under the order's row lock.
        refund_remaining_check(request=request, order=request.order, amount=amount)
    payload = FinalPayload(str(request.public_id), action, amount, request.currency)
    payload_hash = payload.hash()
    fields.update(
        action=action,
        amount=amount,
        payload_hash=payload_hash,
        amount_difference=(
            amount - fields["proposed_amount"] if fields["proposed_amount"] is not None else None
        ),
    )
    now = fields["created_at"]
    needs_two = action == Action.APPROVE_REFUND and amount > four_eyes_amount()
    pending = task.decisions.filter(pending=True).select_related("reviewer").first()
    confirms = None
    if needs_two:
        if pending is not None and pending.reviewer_id == user.pk:
            raise ApplicationError(
                f"You already approved this case at "
                f"{timezone.localtime(pending.created_at):%H:%M}; above "
                f"{four_eyes_amount()} a second, different approver must confirm it.",
                code="four_eyes_same_approver",
                status_code=403,
            )
        if pending is None or not payload.matches(pending.payload_hash):
            # First approval (or a different payload replacing the pending one): recorded,
            # not final; the task goes back to the queue for a second approver. The
            # pending hash is keyed (made with any key of the ring: a rotation between the
            # two approvals does not matter), so an edit of the pending row in the
            # database cannot make it confirm a payload its approver did not approve.
            _clear_pending(task)
            decision = ReviewDecision.objects.create(**fields, pending=True)
            _unclaim(task)
            record_event(
                event_type=events.FIRST_APPROVAL,
                actor=Actor.user(user),
                subject=request,
                payload={
                    "task": task.pk,
                    "decision": decision.pk,
                    "action": action,
                    "amount": amount,
                    "payload_hash": payload_hash,
                    "replaces": pending.pk if pending else None,
                },
            )
            return decision
        confirms = pending
    _clear_pending(task)
    refund_request_finalize(
        request=request,
        action=action,
        amount=amount,
        actor=Actor.user(user),
        source="review",
        extra={
            "review_task": task.pk,
            "outcome": fields["outcome"],
            "four_eyes_first_approver": (confirms.reviewer.get_username() if confirms else None),
        },
    )
    if request.final_payload_hash != payload_hash:  # pragma: no cover - same formula
        raise ApplicationError(
            "The final payload does not match the approved one.", code="payload_mismatch"
        )
    decision = ReviewDecision.objects.create(**fields, is_final=True, confirms=confirms)
    _close(task, now)
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
        payload={
            "task": task.pk,
            "decision": decision.pk,
            "outcome": fields["outcome"],
            "action": action,
            "amount": amount,
            "proposed_action": fields["proposed_action"],
            "proposed_amount": fields["proposed_amount"],
            "payload_hash": payload_hash,
            "confirms": confirms.pk if confirms else None,
            "customer_message": reference or None,
        },
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
        raise _invalid(
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
    return _tell_customer(request=request, key=key, kind=kind, body=message)


def _reject(task, user, fields, reason_code) -> ReviewDecision:
    if reason_code not in RejectReason.values:
        raise _invalid("Choose a reason code for the rejection.")
    if not fields["comment"]:
        raise _invalid("A comment is required to reject.")
    fields["reason_code"] = reason_code
    _clear_pending(task)
    refund_request_transition(
        request=task.request,
        to_status=RefundStatus.REJECTED,
        actor=Actor.user(user),
        reason=f"rejected: {reason_code}",
        payload={"review_task": task.pk},
    )
    decision = ReviewDecision.objects.create(**fields, is_final=True)
    _close(task, fields["created_at"])
    reference = _tell_customer(
        request=task.request,
        key=f"review-decision-{decision.pk}",
        kind=OutboundMessage.Kind.DENIAL,
        body=fields["message"] or MESSAGES[Action.DENY_REFUND][1],
    )
    record_event(
        event_type=events.DECIDED,
        actor=Actor.user(user),
        subject=task.request,
        payload={
            "task": task.pk,
            "decision": decision.pk,
            "outcome": "reject",
            "reason_code": reason_code,
            "comment": fields["comment"],
            "customer_message": reference,
        },
    )
    return decision


def _move_to_senior(task: ReviewTask, now: datetime, note: str) -> Queue:
    senior = _queue_named(SENIOR_QUEUE)
    _escalate_task(
        task, now, note, queue=senior, due_at=now + timedelta(minutes=senior.sla_minutes)
    )
    return senior


def _escalate_task(task: ReviewTask, now: datetime, note: str, **changes) -> None:
    """Unclaimed, ``escalated``, one priority up (``changes``: a new queue and due time)."""
    review_task_transition(
        task=task,
        to_status=TaskStatus.ESCALATED,
        changes={
            **changes,
            "priority": min(task.priority + 1, MAX_PRIORITY),
            "escalated_at": now,
            "escalation_note": note,
            "assignee": None,
            "claimed_at": None,
            "claim_expires_at": None,
        },
    )


def _escalate(task, user, fields) -> ReviewDecision:
    if not fields["comment"]:
        raise _invalid("Add a note for the senior reviewer.")
    if task.queue.slug == SENIOR_QUEUE:
        raise _invalid("This task is already in the senior queue; decide it or reassign it.")
    now = fields["created_at"]
    _clear_pending(task)
    if task.request.status == RefundStatus.IN_REVIEW:
        refund_request_transition(
            request=task.request,
            to_status=RefundStatus.ESCALATED,
            actor=Actor.user(user),
            reason="escalated by a reviewer",
            payload={"review_task": task.pk},
        )
    from_queue = task.queue.slug
    decision = ReviewDecision.objects.create(**fields)
    _move_to_senior(task, now, fields["comment"])
    record_event(
        event_type=events.ESCALATED,
        actor=Actor.user(user),
        subject=task.request,
        payload={
            "task": task.pk,
            "decision": decision.pk,
            "from_queue": from_queue,
            "to_queue": SENIOR_QUEUE,
            "priority": task.priority,
            "note": fields["comment"],
        },
    )
    return decision


def _same_words(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _request_more_info(task, user, fields) -> ReviewDecision:
    if not fields["message"]:
        raise _invalid("Write the question to ask the customer.")
    asked = (
        OutboundMessage.objects.filter(request=task.request, kind=OutboundMessage.Kind.MORE_INFO)
        .order_by("created_at")
        .values_list("created_at", "body")
    )
    repeated = next((at for at, body in asked if _same_words(body, fields["message"])), None)
    if repeated is not None:
        raise ApplicationError(
            f"The customer was already asked exactly this on "
            f"{timezone.localtime(repeated):%Y-%m-%d %H:%M} (see the conversation); ask "
            "something new, or decide on what they answered.",
            code="repeat_question",
            status_code=400,
        )
    _clear_pending(task)
    refund_request_transition(
        request=task.request,
        to_status=RefundStatus.AWAITING_CUSTOMER,
        actor=Actor.user(user),
        reason="more information requested",
        payload={"review_task": task.pk, "question": fields["message"]},
    )
    decision = ReviewDecision.objects.create(**fields, is_final=True)
    _close(task, fields["created_at"])
    reference = _tell_customer(
        request=task.request,
        key=f"review-decision-{decision.pk}",
        kind=OutboundMessage.Kind.MORE_INFO,
        body=fields["message"],
    )
    record_event(
        event_type=events.DECIDED,
        actor=Actor.user(user),
        subject=task.request,
        payload={
            "task": task.pk,
            "decision": decision.pk,
            "outcome": "request_more_info",
            "question": fields["message"],
            "customer_message": reference,
        },
    )
    return decision


# --- SLA -------------------------------------------------------------------------------------


def review_sla_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The scheduled SLA job (``reviews.tasks.review_sla_sweep``, every minute):

    1. tasks past their hard deadline are expired (``review_task_expire``);
    2. unclaimed (or stale-claimed) tasks past their due time that were never escalated
       move to the senior queue with priority + 1 (a ``legal`` task stays in ``legal``
       and only gains priority: legal cases need legal reviewers);
    3. claims that ran out are released.

    Each task is handled in its own transaction, so one failure does not stop the sweep.
    Returns the counts.
    """
    now = now or timezone.now()
    counts = {"expired": 0, "escalated": 0, "released": 0}
    active = ReviewTask.objects.filter(active=1)
    for pk in active.filter(deadline_at__lte=now).values_list("pk", flat=True):
        counts["expired"] += _sweep_one(review_task_expire, pk, now)
    overdue = active.filter(due_at__lte=now, escalated_at__isnull=True).exclude(
        status=TaskStatus.CLAIMED, claim_expires_at__gt=now
    )
    for pk in overdue.values_list("pk", flat=True):
        counts["escalated"] += _sweep_one(review_task_escalate_overdue, pk, now)
    stale = active.filter(status=TaskStatus.CLAIMED, claim_expires_at__lte=now)
    for pk in stale.values_list("pk", flat=True):
        counts["released"] += _sweep_one(_release_stale_claim, pk, now)
    return counts


def _sweep_one(service, pk: int, now: datetime) -> int:
    try:
        return int(bool(service(task=ReviewTask(pk=pk), now=now)))
    except ApplicationError as exc:
        logger.warning("SLA sweep skipped a task", extra={"task": pk, "code": exc.code})
        return 0


@transaction.atomic
def review_task_expire(*, task: ReviewTask, now: datetime | None = None) -> bool:
    """Past the hard deadline: the task is ``expired`` and the request ``expired`` — nothing
    executes. The customer notice (the case is still open) is recorded in the
    ``review.timed_out`` event, distinct from any human rejection. Returns False if the task
    was no longer active or not yet due."""
    now = now or timezone.now()
    locked = review_task_lock(task)
    if not locked.is_active or locked.deadline_at > now:
        return False
    _clear_pending(locked)
    review_task_transition(task=locked, to_status=TaskStatus.EXPIRED, changes={"decided_at": now})
    if locked.request.status in REVIEW_REVIEWABLE:
        refund_request_transition(
            request=locked.request,
            to_status=RefundStatus.EXPIRED,
            actor=SLA_ACTOR,
            reason="review hard deadline passed",
            payload={"review_task": locked.pk},
        )
    # Its own kind, so the integration can tell this notice from a denial or a question.
    reference = _tell_customer(
        request=locked.request,
        key=f"review-timeout-{locked.pk}",
        kind=TIMEOUT_MESSAGE_KIND,
        body=TIMEOUT_CUSTOMER_NOTICE,
    )
    record_event(
        event_type=events.TIMED_OUT,
        actor=SLA_ACTOR,
        subject=locked.request,
        payload={
            "task": locked.pk,
            "queue": locked.queue.slug,
            "deadline_at": locked.deadline_at,
            "customer_notice": TIMEOUT_CUSTOMER_NOTICE,
            "customer_message": reference,
        },
    )
    return True


@transaction.atomic
def review_task_escalate_overdue(*, task: ReviewTask, now: datetime | None = None) -> bool:
    """Past the due time: to the senior queue with a raised priority (``legal`` stays put,
    priority raised). Skipped while a reviewer holds a live claim."""
    now = now or timezone.now()
    locked = review_task_lock(task)
    if (
        not locked.is_active
        or locked.due_at > now
        or locked.escalated_at is not None
        or (
            locked.status == TaskStatus.CLAIMED
            and locked.claim_expires_at
            and locked.claim_expires_at > now
        )
    ):
        return False
    from_queue = locked.queue.slug
    note = f"SLA: overdue since {timezone.localtime(locked.due_at):%Y-%m-%d %H:%M}"
    if from_queue not in (SENIOR_QUEUE, LEGAL_QUEUE):
        _move_to_senior(locked, now, note)
    else:
        _escalate_task(locked, now, note)
    if locked.request.status == RefundStatus.IN_REVIEW:
        refund_request_transition(
            request=locked.request,
            to_status=RefundStatus.ESCALATED,
            actor=SLA_ACTOR,
            reason="review SLA missed",
            payload={"review_task": locked.pk},
        )
    record_event(
        event_type=events.SLA_ESCALATED,
        actor=SLA_ACTOR,
        subject=locked.request,
        payload={
            "task": locked.pk,
            "from_queue": from_queue,
            "to_queue": locked.queue.slug,
            "priority": locked.priority,
        },
    )
    return True


@transaction.atomic
def _release_stale_claim(*, task: ReviewTask, now: datetime) -> bool:
    locked = review_task_lock(task)
    if (
        locked.status != TaskStatus.CLAIMED
        or locked.claim_expires_at is None
        or locked.claim_expires_at > now
    ):
        return False
    previous = locked.assignee.get_username() if locked.assignee else ""
    _unclaim(
        locked,
        actor=SLA_ACTOR,
        event_type=events.TASK_RELEASED,
        payload=events.task_released_payload(previous_assignee=previous, reason="claim timed out"),
    )
    return True
