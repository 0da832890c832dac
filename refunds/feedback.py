"""Customer satisfaction: one score per request, once it reached a final state, so the
dashboard can compare the paths a case can take (auto-approved, human-reviewed, denied)."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError

from . import events
from .actions import Action
from .models import CustomerFeedback, GateEvaluation, RefundRequest
from .states import TERMINAL_STATUSES, RefundStatus

Path = CustomerFeedback.Path


@dataclass(frozen=True)
class FeedbackResult:
    feedback: CustomerFeedback
    created: bool


def feedback_path(request: RefundRequest) -> str:
    """How the case was decided: denied (rejected, or a decision to deny), no decision
    (expired), else by the route of the gate's latest evaluation — a case re-drafted after
    the customer answered is judged again, and its last judgement decided it."""
    if request.status == RefundStatus.REJECTED or request.final_action == Action.DENY_REFUND:
        return Path.DENIED
    if not request.final_action:
        return Path.NO_DECISION
    route = (
        GateEvaluation.objects.filter(request=request)
        .order_by("-created_at", "-pk")
        .values_list("route", flat=True)
        .first()
    )
    return Path.AUTO_APPROVED if route == GateEvaluation.Route.AUTO else Path.HUMAN_REVIEWED


def _same(feedback: CustomerFeedback, *, score: int, comment: str) -> FeedbackResult:
    if feedback.score != score or feedback.comment != comment:
        raise ApplicationError(
            "Feedback was already given for this request, with another score or comment.",
            code="feedback_already_given",
        )
    return FeedbackResult(feedback=feedback, created=False)


@transaction.atomic
def refund_request_feedback_give(
    *, request: RefundRequest, score: int, comment: str = "", actor: Actor
) -> FeedbackResult:
    """Stores the customer's score (1 to 5) and comment, with its path, and audits it.

    Once per request and idempotent: the same score and comment again return the stored
    feedback (``created=False``); different ones raise ``feedback_already_given`` (409).
    Only for a request in a final state (executed, rejected, expired, closed: the customer
    has their answer), else ``request_not_final`` (409). Concurrent first posts: the unique
    request column picks the winner, the loser is answered as a repeat.
    """
    existing = CustomerFeedback.objects.filter(request=request).first()
    if existing is not None:
        return _same(existing, score=score, comment=comment)
    if request.status not in TERMINAL_STATUSES:
        raise ApplicationError(
            f"Feedback is taken once the request is final; it is {request.status}.",
            code="request_not_final",
        )
    try:
        with transaction.atomic():
            feedback = CustomerFeedback.objects.create(
                request=request, score=score, comment=comment, path=feedback_path(request)
            )
    except IntegrityError:
        return _same(CustomerFeedback.objects.get(request=request), score=score, comment=comment)
    record_event(
        event_type=events.CUSTOMER_FEEDBACK_GIVEN,
        actor=actor,
        subject=request,
        payload={
            "feedback": feedback.pk,
            "score": score,
            "path": feedback.path,
            "comment_characters": len(comment),
        },
    )
    return FeedbackResult(feedback=feedback, created=True)
