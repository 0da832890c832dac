from decimal import Decimal

import pytest

from audit.integrity import Verdict
from audit.models import AuditEvent
from audit.services import Actor
from hitl_site.errors import ApplicationError
from refunds.decisions import FinalPayload, final_payload_check, refund_request_finalize
from refunds.execution.backends import (
    Backends,
    LedgerPaymentBackend,
    ProviderRefused,
    RecordsFulfilmentBackend,
    WebhookMessagingBackend,
)
from refunds.execution.executor import execution_run
from refunds.execution.recovery import execution_close, execution_retry
from refunds.models import RefundRequest
from refunds.selectors import order_refundable_remaining
from refunds.states import FINAL_APPROVED_STATUSES, RefundStatus
from refunds.tests.factories import OrderFactory, RefundRequestFactory
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
    assert final_payload_check(request) == Verdict.VALID


def test_payload_hash_no_longer_matches_after_the_amount_changes():
    request = request_in(RefundStatus.IN_REVIEW)
    refund_request_finalize(
        request=request, action="approve_refund", amount=Decimal("5"), actor=SYSTEM, source="review"
    )
    RefundRequest.objects.filter(pk=request.pk).update(final_amount=Decimal("500"))

    request.refresh_from_db()
    assert final_payload_check(request) != Verdict.VALID


def test_finalize_queues_execution_on_commit(django_capture_on_commit_callbacks):
    from unittest import mock

    request = request_in(RefundStatus.IN_REVIEW)
    with (
        mock.patch("refunds.jobs.async_task") as async_task,
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


# --- the order's refundable remainder, reserved at finalize ----------------------------------


def approve(request, amount, *, status=RefundStatus.IN_REVIEW):
    RefundRequest.objects.filter(pk=request.pk).update(status=status)
    request.refresh_from_db()
    return refund_request_finalize(
        request=request,
        action="approve_refund",
        amount=Decimal(amount),
        actor=SYSTEM,
        source="review",
    )


class DecliningLedger(LedgerPaymentBackend):
    def refund(self, **kwargs):
        raise ProviderRefused("card expired")


DECLINING = Backends(
    payment=DecliningLedger(),
    fulfilment=RecordsFulfilmentBackend(),
    messaging=WebhookMessagingBackend(),
)


@pytest.fixture
def order():
    return OrderFactory(amount=Decimal("20.00"))


def test_second_approval_past_the_remainder_is_refused_at_decision_time(order):
    first, second = RefundRequestFactory(order=order), RefundRequestFactory(order=order)
    approve(first, "15.00")  # approved, not yet executed: it holds 15.00 of the order

    with pytest.raises(ApplicationError) as exc:
        approve(second, "10.00")

    assert exc.value.code == "refund_exceeds_remaining" and exc.value.status_code == 409
    assert exc.value.message == (
        "Not approved: 10.00 GBP exceeds what is left to refund on the order (5.00 GBP of "
        "20.00 GBP; the rest is already approved or refunded on other requests for this "
        "order). Approve at most that, or reject."
    )
    assert exc.value.extra == {"remaining": "5.00", "order_amount": "20.00"}
    second.refresh_from_db()
    assert (second.status, second.final_action, second.final_payload_hash) == (
        RefundStatus.IN_REVIEW,
        "",
        "",
    )
    assert AuditEvent.objects.filter(event_type="decision.finalized").count() == 1


@pytest.mark.parametrize("via", [RefundStatus.IN_REVIEW, RefundStatus.GATED])
def test_an_approval_of_exactly_the_remainder_is_final(order, via):
    approve(RefundRequestFactory(order=order), "15.00")
    second = RefundRequestFactory(order=order)

    approve(second, "5.00", status=via)

    assert RefundRequest.objects.get(pk=second.pk).status in FINAL_APPROVED_STATUSES


def test_only_refunds_are_held_to_the_remainder(order):
    approve(RefundRequestFactory(order=order), "20.00")
    other = RefundRequestFactory(order=order)
    RefundRequest.objects.filter(pk=other.pk).update(status=RefundStatus.IN_REVIEW)

    refund_request_finalize(
        request=other, action="offer_replacement", amount=Decimal("0"), actor=SYSTEM, source="t"
    )

    assert RefundRequest.objects.get(pk=other.pk).status == RefundStatus.APPROVED


def test_an_executed_refund_keeps_its_share_of_the_order(order):
    first = RefundRequestFactory(order=order)
    approve(first, "15.00")
    assert execution_run(request_id=first.pk).status == RefundStatus.EXECUTED

    with pytest.raises(ApplicationError, match=r"\(5\.00 GBP of 20\.00 GBP"):
        approve(RefundRequestFactory(order=order), "10.00")


def test_a_failed_execution_releases_its_reservation_and_its_retry_takes_it_again(order):
    first, second = RefundRequestFactory(order=order), RefundRequestFactory(order=order)
    approve(first, "15.00")
    assert execution_run(request_id=first.pk, backends=DECLINING).status == "failed"
    first.refresh_from_db()
    assert first.status == RefundStatus.EXECUTION_FAILED  # the provider did nothing

    approve(second, "10.00")  # the 15.00 was released when the execution failed

    with pytest.raises(ApplicationError) as exc:  # 15.00 no longer fits beside the 10.00
        execution_retry(request=first, actor=SYSTEM)
    assert exc.value.code == "refund_exceeds_remaining"
    assert RefundRequest.objects.get(pk=first.pk).status == RefundStatus.EXECUTION_FAILED
    execution_close(request=first, actor=SYSTEM)
    assert order_refundable_remaining(order=order) == Decimal("10.00")


def test_a_retry_that_still_fits_reserves_again_and_is_counted(order):
    first = RefundRequestFactory(order=order)
    approve(first, "15.00")
    execution_run(request_id=first.pk, backends=DECLINING)
    first.refresh_from_db()

    execution_retry(request=first, actor=SYSTEM)

    assert RefundRequest.objects.get(pk=first.pk).status == RefundStatus.EXECUTING
    assert order_refundable_remaining(order=order) == Decimal("5.00")
    with pytest.raises(ApplicationError, match="exceeds what is left"):
        approve(RefundRequestFactory(order=order), "10.00")


@pytest.mark.parametrize(
    ("status", "counts"),
    [
        (RefundStatus.AUTO_APPROVED, True),  # reserved
        (RefundStatus.APPROVED, True),  # reserved
        (RefundStatus.EXECUTING, True),  # reserved, being paid
        (RefundStatus.EXECUTED, True),  # paid
        (RefundStatus.EXECUTION_FAILED, False),  # released: the provider did nothing
        (RefundStatus.CLOSED, False),  # released for good
        (RefundStatus.REJECTED, False),
        (RefundStatus.IN_REVIEW, False),
    ],
)
def test_the_remainder_counts_reserved_and_paid_refunds_only(order, status, counts):
    RefundRequestFactory(
        order=order, status=status, final_action="approve_refund", final_amount=Decimal("6.00")
    )

    remaining = order_refundable_remaining(order=order)

    assert remaining == (Decimal("14.00") if counts else Decimal("20.00"))
