"""The executor with the embedded backends: exactly once, refusals before any call, crash
recovery, the in-flight lock, and the senior reviewer's retry and close."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import Actor
from refunds.execution import executor as executor_module
from refunds.execution.backends import (
    Backends,
    LedgerPaymentBackend,
    ProviderAmbiguous,
    ProviderRefused,
    RecordsFulfilmentBackend,
    WebhookMessagingBackend,
)
from refunds.execution.executor import execution_run, idempotency_key_for
from refunds.execution.prechecks import execution_precheck
from refunds.execution.recovery import execution_close, execution_retry
from refunds.models import (
    Execution,
    LedgerRefund,
    OutboundMessage,
    RefundRequest,
    ReplacementOrder,
    WebhookDelivery,
)
from refunds.states import RefundStatus
from refunds.tests.factories import (
    IntegrationFactory,
    OrderFactory,
    RefundRequestFactory,
    final_decision,
    final_decision_past_the_remainder,
)
from refunds.transitions import IllegalTransition

pytestmark = pytest.mark.django_db
S = RefundStatus
Phase = Execution.Phase
SENIOR = Actor.system("senior-in-tests")


class SpyPayment(LedgerPaymentBackend):
    """The ledger, recording every call, with scripted faults: ``"refuse"``, ``"timeout"``
    (nothing done), ``"lost_reply"`` (done, then the answer is lost)."""

    def __init__(self, faults=(), **kwargs):
        super().__init__(**kwargs)
        self.faults = list(faults)
        self.calls: list[tuple] = []
        self.lookups: list[str] = []

    def refund(self, **kwargs):
        self.calls.append((kwargs["idempotency_key"], kwargs["amount"], kwargs["currency"]))
        fault = self.faults.pop(0) if self.faults else None
        if fault == "refuse":
            raise ProviderRefused("card account closed")
        if fault == "timeout":
            raise ProviderAmbiguous("timed out")
        result = super().refund(**kwargs)
        if fault == "lost_reply":
            raise ProviderAmbiguous("connection dropped after the refund")
        return result

    def lookup(self, *, idempotency_key):
        self.lookups.append(idempotency_key)
        return super().lookup(idempotency_key=idempotency_key)


def backends(payment=None) -> Backends:
    return Backends(
        payment=payment or SpyPayment(),
        fulfilment=RecordsFulfilmentBackend(),
        messaging=WebhookMessagingBackend(),
    )


def status_of(request) -> str:
    return RefundRequest.objects.get(pk=request.pk).status


def test_approved_refund_is_paid_once_and_recorded():
    request = final_decision(amount="12.50")
    spy = SpyPayment()

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == S.EXECUTED
    assert status_of(request) == S.EXECUTED
    refund = LedgerRefund.objects.get()
    assert (refund.amount, refund.currency, refund.request_id) == (
        Decimal("12.50"),
        "GBP",
        request.pk,
    )
    execution = Execution.objects.get()
    assert execution.phase == Phase.RECORDED
    assert execution.provider_reference == refund.reference
    assert execution.idempotency_key == idempotency_key_for(request)
    assert execution.locked_until is None
    assert spy.calls == [(execution.idempotency_key, Decimal("12.50"), "GBP")]


def test_auto_approved_decision_is_executed_too():
    request = final_decision(amount="5", via=S.GATED)
    assert request.status == S.AUTO_APPROVED

    assert execution_run(request_id=request.pk).status == S.EXECUTED
    assert LedgerRefund.objects.count() == 1


def test_same_decision_run_twice_sequentially_pays_once():
    request = final_decision(amount="10")
    spy = SpyPayment()

    first = execution_run(request_id=request.pk, backends=backends(spy))
    second = execution_run(request_id=request.pk, backends=backends(spy))

    assert (first.status, second.status) == (S.EXECUTED, "skipped")
    assert LedgerRefund.objects.count() == 1
    assert len(spy.calls) == 1


def test_idempotency_key_is_deterministic_per_final_decision():
    request = final_decision(amount="10")
    again = RefundRequest.objects.get(pk=request.pk)

    assert idempotency_key_for(request) == idempotency_key_for(again)
    other = final_decision(amount="10")
    assert idempotency_key_for(other) != idempotency_key_for(request)


@pytest.mark.parametrize(
    "status",
    [
        S.RECEIVED,
        S.DRAFTING,
        S.GATED,
        S.IN_REVIEW,
        S.ESCALATED,
        S.AWAITING_CUSTOMER,
        S.REJECTED,
        S.EXPIRED,
        S.CLOSED,
        S.EXECUTION_FAILED,
    ],
)
def test_non_final_or_rejected_request_executes_nothing(status):
    request = RefundRequestFactory(final_action="approve_refund", final_amount=Decimal("5"))
    RefundRequest.objects.filter(pk=request.pk).update(status=status)
    spy = SpyPayment()

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == "skipped"
    assert status_of(request) == status
    assert spy.calls == [] and not Execution.objects.exists()
    assert not LedgerRefund.objects.exists()


def test_ai_only_decision_without_a_final_hash_is_refused_before_any_call():
    """Approved status but no decision made through finalize (no payload hash)."""
    request = RefundRequestFactory(final_action="approve_refund", final_amount=Decimal("5"))
    RefundRequest.objects.filter(pk=request.pk).update(status=S.APPROVED)
    spy = SpyPayment()

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == "failed"
    assert "payload hash" in outcome.detail
    assert status_of(request) == S.EXECUTION_FAILED
    assert spy.calls == []
    assert Execution.objects.get().last_error == outcome.detail


def test_amount_changed_after_approval_is_refused_before_any_call():
    request = final_decision(amount="5")
    RefundRequest.objects.filter(pk=request.pk).update(final_amount=Decimal("20"))
    spy = SpyPayment()

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == "failed" and "payload hash" in outcome.detail
    assert spy.calls == [] and not LedgerRefund.objects.exists()


def test_zero_refund_is_refused_before_any_call():
    request = final_decision(amount="0")
    spy = SpyPayment()

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == "failed" and "must be positive" in outcome.detail
    assert spy.calls == []


def test_negative_amount_is_refused_by_the_precheck_and_by_every_backend():
    from refunds.decisions import FinalPayload

    request = RefundRequestFactory(final_action="approve_refund")
    request.final_amount = Decimal("-5")  # the database refuses it; the checks must too
    request.final_payload_hash = FinalPayload.of(request).hash()

    assert "must be positive" in execution_precheck(request=request, remaining=Decimal("20"))
    with pytest.raises(ProviderRefused):
        LedgerPaymentBackend().refund(
            idempotency_key="k",
            amount=Decimal("-5"),
            currency="GBP",
            order=request.order,
            request=request,
        )


def test_refund_over_the_remaining_amount_is_refused_before_any_call():
    order = OrderFactory(amount=Decimal("20.00"))
    earlier = final_decision(amount="15", order=order)
    assert execution_run(request_id=earlier.pk).status == S.EXECUTED
    # Finalize refuses this now (test_decisions); a row from before that check still
    # meets the executor's own.
    request = final_decision_past_the_remainder(amount="10", order=order)
    spy = SpyPayment()

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == "failed" and "remainder of 5.00" in outcome.detail
    assert spy.calls == []
    assert LedgerRefund.objects.count() == 1


def test_wrong_currency_is_refused_before_any_call():
    request = final_decision(amount="5")
    type(request.order).objects.filter(pk=request.order_id).update(currency="EUR")
    spy = SpyPayment()

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == "failed" and "Currency GBP" in outcome.detail
    assert spy.calls == []


def test_provider_refusal_ends_in_execution_failed_with_the_error():
    request = final_decision(amount="5")

    outcome = execution_run(request_id=request.pk, backends=backends(SpyPayment(["refuse"])))

    assert outcome.status == "failed"
    assert status_of(request) == S.EXECUTION_FAILED
    execution = Execution.objects.get()
    assert (execution.phase, execution.last_error) == (Phase.FAILED, "card account closed")


def test_ambiguous_timeout_is_retried_with_the_same_key():
    request = final_decision(amount="5")
    spy = SpyPayment(["timeout"])

    first = execution_run(request_id=request.pk, backends=backends(spy))
    assert first.status == "pending"
    assert status_of(request) == S.EXECUTING
    second = execution_run(request_id=request.pk, backends=backends(spy))

    assert second.status == S.EXECUTED
    assert len(spy.calls) == 2 and spy.calls[0] == spy.calls[1]
    assert LedgerRefund.objects.count() == 1
    assert Execution.objects.get().attempts == 2


def test_lost_reply_after_success_is_resent_with_the_same_key_and_pays_once():
    request = final_decision(amount="5")
    spy = SpyPayment(["lost_reply"])

    assert execution_run(request_id=request.pk, backends=backends(spy)).status == "pending"
    assert execution_run(request_id=request.pk, backends=backends(spy)).status == S.EXECUTED

    assert LedgerRefund.objects.count() == 1
    assert Execution.objects.get().result["replayed"] is True


class Crash(BaseException):
    """A worker dying: not an Exception, so nothing on the way catches it."""


def test_crash_after_the_provider_succeeded_and_before_the_record_resumes_once():
    request = final_decision(amount="5")
    spy = SpyPayment()
    with mock.patch.object(executor_module, "_record", side_effect=Crash), pytest.raises(Crash):
        execution_run(request_id=request.pk, backends=backends(spy))
    # The dead worker's lock is still there (its `finally` never ran in a real crash).
    Execution.objects.update(
        locked_until=timezone.now() + timedelta(minutes=1), lock_owner="dead-worker"
    )
    assert LedgerRefund.objects.count() == 1
    assert Execution.objects.get().phase == Phase.PROVIDER_CALLED

    assert execution_run(request_id=request.pk, backends=backends(spy)).status == "busy"
    Execution.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == S.EXECUTED
    assert LedgerRefund.objects.count() == 1
    assert len({call[0] for call in spy.calls}) == 1


def test_crash_after_the_claim_and_before_the_call_resumes():
    request = final_decision(amount="5")
    with (
        mock.patch.object(executor_module, "_mark_called", side_effect=Crash),
        pytest.raises(Crash),
    ):
        execution_run(request_id=request.pk)
    assert status_of(request) == S.EXECUTING
    assert Execution.objects.get().phase == Phase.STARTED

    assert execution_run(request_id=request.pk).status == S.EXECUTED
    assert LedgerRefund.objects.count() == 1


def test_a_held_lock_makes_a_second_executor_back_off():
    request = final_decision(amount="5")
    with mock.patch.object(
        executor_module, "_run", return_value=executor_module.ExecutionOutcome("pending")
    ):
        execution_run(request_id=request.pk)
    Execution.objects.update(
        locked_until=timezone.now() + timedelta(minutes=1), lock_owner="someone-else"
    )
    spy = SpyPayment()

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == "busy" and spy.calls == []
    assert Execution.objects.get().lock_owner == "someone-else"


def test_after_the_retry_window_the_provider_is_asked_instead_of_resending(settings):
    settings.HITL_EXECUTION_RETRY_WINDOW = 60
    request = final_decision(amount="5")
    spy = SpyPayment(["lost_reply"])
    execution_run(request_id=request.pk, backends=backends(spy))
    Execution.objects.update(first_called_at=timezone.now() - timedelta(minutes=5))

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == S.EXECUTED
    assert len(spy.calls) == 1 and len(spy.lookups) == 1
    assert LedgerRefund.objects.count() == 1


def test_after_the_retry_window_an_unknown_key_means_nothing_was_done(settings):
    settings.HITL_EXECUTION_RETRY_WINDOW = 60
    request = final_decision(amount="5")
    spy = SpyPayment(["timeout"])
    execution_run(request_id=request.pk, backends=backends(spy))
    Execution.objects.update(first_called_at=timezone.now() - timedelta(minutes=5))

    outcome = execution_run(request_id=request.pk, backends=backends(spy))

    assert outcome.status == "failed" and "no record" in outcome.detail
    assert status_of(request) == S.EXECUTION_FAILED
    assert len(spy.calls) == 1


def test_ledger_refuses_a_changed_amount_under_the_same_key():
    request = final_decision(amount="5")
    ledger = LedgerPaymentBackend()
    ledger.refund(
        idempotency_key="key-1",
        amount=Decimal("5.00"),
        currency="GBP",
        order=request.order,
        request=request,
    )

    with pytest.raises(ProviderRefused, match="already used"):
        ledger.refund(
            idempotency_key="key-1",
            amount=Decimal("6.00"),
            currency="GBP",
            order=request.order,
            request=request,
        )
    with pytest.raises(ProviderRefused, match="already used"):
        ledger.refund(
            idempotency_key="key-1",
            amount=Decimal("5.00"),
            currency="EUR",
            order=request.order,
            request=request,
        )
    assert LedgerRefund.objects.count() == 1


def test_senior_retry_resends_with_the_same_key_and_close_ends_the_case(
    django_capture_on_commit_callbacks,
):
    request = final_decision(amount="5")
    execution_run(request_id=request.pk, backends=backends(SpyPayment(["refuse"])))
    key = Execution.objects.get().idempotency_key

    with (
        mock.patch("refunds.jobs.async_task") as async_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        execution_retry(request=request, actor=SENIOR)
    assert async_task.call_args.args == ("refunds.tasks.refund_request_execute", request.pk)
    assert status_of(request) == S.EXECUTING
    spy = SpyPayment()
    assert execution_run(request_id=request.pk, backends=backends(spy)).status == S.EXECUTED
    assert spy.calls[0][0] == key
    assert Execution.objects.count() == 1

    with pytest.raises(IllegalTransition):
        execution_close(request=request, actor=SENIOR)


def test_close_after_a_failure():
    request = final_decision(amount="5")
    execution_run(request_id=request.pk, backends=backends(SpyPayment(["refuse"])))

    execution_close(request=request, actor=SENIOR, reason="customer paid by cheque")

    assert status_of(request) == S.CLOSED
    with pytest.raises(IllegalTransition):
        execution_retry(request=request, actor=SENIOR)


def test_deny_sends_a_customer_message_and_executes():
    integration = IntegrationFactory(webhook_url="https://hooks.example.com/x")
    request = final_decision(
        action="deny_refund", amount="0", order=OrderFactory(customer__integration=integration)
    )

    outcome = execution_run(request_id=request.pk)

    assert outcome.status == S.EXECUTED
    message = OutboundMessage.objects.get()
    assert message.kind == OutboundMessage.Kind.DENIAL
    delivery = WebhookDelivery.objects.get(event="customer_message.created")
    assert delivery.payload["data"]["message_reference"] == message.reference


def test_request_more_info_ends_awaiting_the_customer():
    request = final_decision(action="request_more_info", amount="0")

    outcome = execution_run(request_id=request.pk)

    assert outcome.status == S.AWAITING_CUSTOMER
    assert status_of(request) == S.AWAITING_CUSTOMER
    assert OutboundMessage.objects.get().kind == OutboundMessage.Kind.MORE_INFO
    assert not LedgerRefund.objects.exists()


def test_replacement_creates_one_replacement_order():
    request = final_decision(action="offer_replacement", amount="0")

    assert execution_run(request_id=request.pk).status == S.EXECUTED
    assert execution_run(request_id=request.pk).status == "skipped"

    replacement = ReplacementOrder.objects.get()
    assert replacement.order_id == request.order_id
    assert Execution.objects.get().provider_reference == replacement.reference
    assert not LedgerRefund.objects.exists()


def test_every_phase_is_in_the_audit_log_and_the_chain_holds():
    request = final_decision(amount="5")
    execution_run(request_id=request.pk, backends=backends(SpyPayment(["timeout"])))
    execution_run(request_id=request.pk)

    types = list(
        AuditEvent.objects.filter(subject_id=str(request.pk)).values_list("event_type", flat=True)
    )
    assert types[types.index("decision.finalized") :] == [
        "decision.finalized",
        "refund_request.transitioned",
        "execution.started",
        "refund_request.transitioned",
        "execution.provider_called",
        "execution.outcome_unknown",
        "execution.provider_called",
        "execution.recorded",
        "refund_request.transitioned",
    ]
    assert audit_chain_verify().ok


def test_the_task_runs_the_executor():
    from refunds.tasks import refund_request_execute

    request = final_decision(amount="5")

    refund_request_execute(request.pk)

    assert status_of(request) == S.EXECUTED


def test_finalize_queues_the_execution_that_pays(django_capture_on_commit_callbacks):
    from refunds import tasks

    def run_now(name, *args, **kwargs):
        getattr(tasks, name.rsplit(".", 1)[1])(*args)

    with (
        mock.patch("refunds.jobs.async_task", side_effect=run_now),
        django_capture_on_commit_callbacks(execute=True),
    ):
        request = final_decision(amount="7")

    assert status_of(request) == S.EXECUTED
    assert LedgerRefund.objects.get().amount == Decimal("7.00")
