"""A customer's answer to a request for more information re-opens the case."""

from django.db import transaction

from audit.services import Actor, record_event

from . import events, jobs
from .models import CustomerReply, RefundRequest
from .states import RefundStatus
from .transitions import refund_request_transition


@transaction.atomic
def refund_request_customer_reply(
    *, request: RefundRequest, message: str, actor: Actor
) -> CustomerReply:
    """Records the reply and moves ``awaiting_customer → received``; drafting is queued
    again on commit (the drafter finds the replies in ``request.customer_replies``).

    Raises ``IllegalTransition`` (409) unless the request is awaiting the customer.
    """
    refund_request_transition(
        request=request,
        to_status=RefundStatus.RECEIVED,
        actor=actor,
        reason="customer replied",
        expected_from=RefundStatus.AWAITING_CUSTOMER,
    )
    reply = CustomerReply.objects.create(request=request, message=message)
    record_event(
        event_type=events.CUSTOMER_REPLIED,
        actor=actor,
        subject=request,
        payload={"reply": reply.pk, "characters": len(message)},
    )
    transaction.on_commit(lambda: jobs.enqueue_refund_request_processing(request.pk))
    return reply
