"""The http payment backend against a fake payment service on 127.0.0.1, with faults."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from refunds.execution.backends import HttpPaymentBackend, ProviderAmbiguous, ProviderRefused
from refunds.execution.executor import execution_run
from refunds.models import Execution, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import final_decision
from refunds.tests.payment_server import FakePaymentServer

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
S = RefundStatus
SECRET = "test-payment-secret"


@pytest.fixture
def server(settings):
    server = FakePaymentServer(secret=SECRET, sleep_seconds=0.6).start()
    settings.HITL_PAYMENT_BACKEND = "http"
    settings.HITL_PAYMENT_URL = server.url
    settings.HITL_PAYMENT_HMAC_SECRET = SECRET
    settings.HITL_PAYMENT_TIMEOUT = 0.25
    yield server
    server.stop()


def status_of(request) -> str:
    return RefundRequest.objects.get(pk=request.pk).status


def backend(server, secret=SECRET) -> HttpPaymentBackend:
    return HttpPaymentBackend(url=server.url, secret=secret, timeout=0.25)


def test_refund_is_posted_with_key_and_signature_and_the_reference_stored(server):
    request = final_decision(amount="12.50")

    outcome = execution_run(request_id=request.pk)

    assert outcome.status == S.EXECUTED
    execution = Execution.objects.get()
    ((key, body),) = server.state.posts
    assert key == execution.idempotency_key
    assert body == {
        "amount": "12.50",
        "currency": "GBP",
        "order": request.order.external_id,
        "reference": str(request.public_id),
    }
    assert execution.backend == "http"
    assert execution.provider_reference == server.state.refunds[key].id


def test_same_decision_run_twice_refunds_once(server):
    request = final_decision(amount="5")

    execution_run(request_id=request.pk)
    execution_run(request_id=request.pk)

    assert server.refund_count == 1 and len(server.state.posts) == 1


@pytest.mark.parametrize("fault", ["timeout", "error_500", "drop_before"])
def test_failure_before_the_refund_is_retried_with_the_same_key(server, fault):
    request = final_decision(amount="5")
    server.inject(fault)

    first = execution_run(request_id=request.pk)
    assert first.status == "pending" and status_of(request) == S.EXECUTING
    second = execution_run(request_id=request.pk)

    assert second.status == S.EXECUTED
    keys = [key for key, _ in server.state.posts]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert server.refund_count == 1


@pytest.mark.parametrize("fault", ["slow_success", "drop_after_success"])
def test_lost_answer_after_success_is_replayed_not_repaid(server, fault):
    request = final_decision(amount="5")
    server.inject(fault)

    assert execution_run(request_id=request.pk).status == "pending"
    outcome = execution_run(request_id=request.pk)

    assert outcome.status == S.EXECUTED
    assert server.refund_count == 1
    execution = Execution.objects.get()
    assert execution.result["replayed"] is True
    assert execution.provider_reference == next(iter(server.state.refunds.values())).id


def test_changed_amount_under_the_same_key_is_refused(server):
    request = final_decision(amount="5")
    http = backend(server)
    http.refund(
        idempotency_key="k-1",
        amount=Decimal("5.00"),
        currency="GBP",
        order=request.order,
        request=request,
    )

    with pytest.raises(ProviderRefused, match="409 idempotency_key_mismatch"):
        http.refund(
            idempotency_key="k-1",
            amount=Decimal("6.00"),
            currency="GBP",
            order=request.order,
            request=request,
        )
    assert server.refund_count == 1


def test_key_already_used_for_another_amount_is_refused_and_fails(server):
    from refunds.execution.executor import idempotency_key_for
    from refunds.tests.payment_server import FakeRefund

    request = final_decision(amount="5")
    key = idempotency_key_for(request)
    server.state.refunds[key] = FakeRefund("re_other", key, "4.00", "GBP", "x")

    outcome = execution_run(request_id=request.pk)

    assert outcome.status == "failed" and "idempotency_key_mismatch" in outcome.detail
    assert status_of(request) == S.EXECUTION_FAILED


def test_refused_resend_after_a_lost_answer_is_looked_up_not_failed(server):
    request = final_decision(amount="5")
    server.inject("drop_after_success")
    execution_run(request_id=request.pk)
    # The provider now refuses the resend (say, 409 "still processing"): ask, don't fail.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HttpPaymentBackend, "refund", _refuse)
        outcome = execution_run(request_id=request.pk)

    assert outcome.status == S.EXECUTED
    assert server.refund_count == 1


def _refuse(self, **kwargs):
    raise ProviderRefused("HTTP 409 request_in_progress")


def test_bad_signature_is_refused(server, settings):
    settings.HITL_PAYMENT_HMAC_SECRET = "wrong"
    request = final_decision(amount="5")

    outcome = execution_run(request_id=request.pk)

    assert outcome.status == "failed" and "bad_signature" in outcome.detail
    assert server.refund_count == 0


def test_lookup_by_key(server):
    request = final_decision(amount="5")
    http = backend(server)
    assert http.lookup(idempotency_key="nope") is None
    http.refund(
        idempotency_key="k-2",
        amount=Decimal("5.00"),
        currency="GBP",
        order=request.order,
        request=request,
    )

    found = http.lookup(idempotency_key="k-2")

    assert (found.amount, found.currency) == (Decimal("5.00"), "GBP")


def test_after_the_retry_window_the_outcome_is_looked_up_not_resent(server, settings):
    settings.HITL_EXECUTION_RETRY_WINDOW = 60
    request = final_decision(amount="5")
    server.inject("drop_after_success")
    execution_run(request_id=request.pk)
    Execution.objects.update(first_called_at=timezone.now() - timedelta(minutes=5))

    outcome = execution_run(request_id=request.pk)

    assert outcome.status == S.EXECUTED
    assert len(server.state.posts) == 1 and server.refund_count == 1


def test_zero_and_negative_amounts_never_leave_the_process(server):
    request = final_decision(amount="5")
    for amount in (Decimal("0"), Decimal("-1.00"), Decimal("1.001")):
        with pytest.raises(ProviderRefused):
            backend(server).refund(
                idempotency_key="k",
                amount=amount,
                currency="GBP",
                order=request.order,
                request=request,
            )
    assert server.state.posts == []


def test_unreachable_service_is_ambiguous():
    with pytest.raises(ProviderAmbiguous):
        HttpPaymentBackend(url="http://127.0.0.1:9", secret="s", timeout=0.2).lookup(
            idempotency_key="k"
        )
