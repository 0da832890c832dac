from decimal import Decimal

import pytest

from audit.models import AuditEvent
from audit.services import Actor
from hitl_site.errors import ApplicationError
from refunds.decisions import FinalPayload, final_payload_matches, refund_request_finalize
from refunds.models import RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import RefundRequestFactory
from refunds.transitions import IllegalTransition

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def request_in(status):
    request = RefundRequestFactory()
    RefundRequest.objects.filter(pk=request.pk).update(status=status)
    request.refresh_from_db()
    return request


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (RefundStatus.GATED, RefundStatus.AUTO_APPROVED),
        (RefundStatus.IN_REVIEW, RefundStatus.APPROVED),
        (RefundStatus.ESCALATED, RefundStatus.APPROVED),
    ],
)
def test_finalize_moves_to_the_approved_status_for_its_source(from_status, to_status):
    request = request_in(from_status)

    refund_request_finalize(
        request=request, action="approve_refund", amount=Decimal("5"), actor=SYSTEM, source="tests"
    )

    request.refresh_from_db()
    assert request.status == to_status
    assert (request.final_action, request.final_amount) == ("approve_refund", Decimal("5.00"))
    assert request.decided_at is not None


def test_finalize_stores_a_payload_hash_that_matches():
    request = request_in(RefundStatus.IN_REVIEW)

    refund_request_finalize(
        request=request, action="approve_refund", amount=Decimal("5"), actor=SYSTEM, source="review"
    )

    request.refresh_from_db()
    assert request.final_payload_hash == FinalPayload.of(request).hash()
    assert final_payload_matches(request)


def test_payload_hash_no_longer_matches_after_the_amount_changes():
    request = request_in(RefundStatus.IN_REVIEW)
    refund_request_finalize(
        request=request, action="approve_refund", amount=Decimal("5"), actor=SYSTEM, source="review"
    )
    RefundRequest.objects.filter(pk=request.pk).update(final_amount=Decimal("500"))

    request.refresh_from_db()
    assert not final_payload_matches(request)


def test_finalize_queues_execution_on_commit(django_capture_on_commit_callbacks):
    from unittest import mock

    request = request_in(RefundStatus.IN_REVIEW)
    with (
        mock.patch("refunds.tasks.async_task") as async_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        refund_request_finalize(
            request=request,
            action="deny_refund",
            amount=Decimal("0"),
            actor=SYSTEM,
            source="review",
        )

    async_task.assert_called_once()
    assert async_task.call_args.args == ("refunds.tasks.refund_request_execute", request.pk)


def test_finalize_records_a_decision_event():
    request = request_in(RefundStatus.IN_REVIEW)

    refund_request_finalize(
        request=request,
        action="approve_refund",
        amount=Decimal("7.5"),
        actor=SYSTEM,
        source="review",
    )

    event = AuditEvent.objects.get(event_type="decision.finalized")
    assert event.payload["amount"] == "7.50"
    assert (
        event.payload["payload_hash"] == RefundRequest.objects.get(pk=request.pk).final_payload_hash
    )


@pytest.mark.parametrize(
    "status",
    [RefundStatus.RECEIVED, RefundStatus.APPROVED, RefundStatus.REJECTED, RefundStatus.EXECUTED],
)
def test_finalize_refuses_a_request_that_is_not_awaiting_a_decision(status):
    request = request_in(status)

    with pytest.raises(IllegalTransition):
        refund_request_finalize(
            request=request,
            action="approve_refund",
            amount=Decimal("5"),
            actor=SYSTEM,
            source="review",
        )

    assert RefundRequest.objects.get(pk=request.pk).final_action == ""


@pytest.mark.parametrize(
    ("action", "amount"), [("pay_double", Decimal("1")), ("approve_refund", Decimal("-1"))]
)
def test_finalize_refuses_unknown_action_or_negative_amount(action, amount):
    request = request_in(RefundStatus.IN_REVIEW)

    with pytest.raises(ApplicationError):
        refund_request_finalize(
            request=request, action=action, amount=amount, actor=SYSTEM, source="review"
        )

    assert RefundRequest.objects.get(pk=request.pk).status == RefundStatus.IN_REVIEW
