"""Money invariant, property-based: over random interleavings of approvals, executions,
provider faults, crashes, lock expiry, retries and reconciler runs, the sum refunded per
order never exceeds the order amount, and no request is ever refunded twice.

The ledger's own captured-amount guard is switched off, so the executor alone must hold
the invariant; the decision-time checks (gate, review) are bypassed too, so approvals
over the remainder reach the executor.
"""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

from django.db.models import Count, Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from audit.services import Actor
from hitl_site.errors import ApplicationError
from refunds.decisions import refund_request_finalize
from refunds.execution.backends import (
    Backends,
    LedgerPaymentBackend,
    ProviderAmbiguous,
    ProviderRefused,
    RecordsFulfilmentBackend,
    WebhookMessagingBackend,
)
from refunds.execution.executor import execution_run
from refunds.execution.reconciler import executions_reconcile
from refunds.execution.recovery import execution_retry
from refunds.models import Execution, LedgerRefund, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import OrderFactory, RefundRequestFactory

S = RefundStatus
ACTOR = Actor.system("property-test")
REQUESTS = 3
ORDER_AMOUNT = Decimal("20.00")


class Crash(BaseException):
    """The worker dies: nothing in the executor catches it."""


class FaultyLedger(LedgerPaymentBackend):
    def __init__(self, fault):
        super().__init__(enforce_captured_limit=False)
        self.fault = fault

    def refund(self, **kwargs):
        if self.fault == "timeout":
            raise ProviderAmbiguous("timed out before the provider did anything")
        if self.fault == "refuse":
            raise ProviderRefused("declined")
        if self.fault == "crash_before_call":
            raise Crash
        result = super().refund(**kwargs)
        if self.fault == "lost_reply":
            raise ProviderAmbiguous("connection dropped after the refund")
        if self.fault == "crash_after_call":
            raise Crash
        return result

    def lookup(self, **kwargs):
        if self.fault in ("timeout", "lost_reply"):
            raise ProviderAmbiguous("lookup failed too")
        return super().lookup(**kwargs)


def backends(fault=None) -> Backends:
    return Backends(
        payment=FaultyLedger(fault),
        fulfilment=RecordsFulfilmentBackend(),
        messaging=WebhookMessagingBackend(),
    )


FAULTS = st.sampled_from(
    [None, "timeout", "lost_reply", "refuse", "crash_before_call", "crash_after_call"]
)
INDEX = st.integers(0, REQUESTS - 1)
AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=ORDER_AMOUNT, places=2)
STEPS = st.one_of(
    st.tuples(st.just("approve"), INDEX, AMOUNTS),
    st.tuples(st.just("execute"), INDEX, FAULTS),
    st.tuples(st.just("expire_locks")),
    st.tuples(st.just("pass_retry_window")),
    st.tuples(st.just("retry"), INDEX),
    st.tuples(st.just("reconcile"), FAULTS),
)


class MoneyInvariantTests(TestCase):
    def setUp(self):
        self.order = OrderFactory(amount=ORDER_AMOUNT)
        self.requests = [RefundRequestFactory(order=self.order) for _ in range(REQUESTS)]

    def approve(self, index, amount):
        request = RefundRequest.objects.get(pk=self.requests[index].pk)
        if request.status != S.RECEIVED:
            return
        RefundRequest.objects.filter(pk=request.pk).update(status=S.IN_REVIEW)
        request.refresh_from_db()
        with mock.patch("refunds.decisions.refund_remaining_check"):  # see the docstring
            refund_request_finalize(
                request=request,
                action="approve_refund",
                amount=amount,
                actor=ACTOR,
                source="property-test",
            )

    def execute(self, request_id, fault):
        try:
            execution_run(request_id=request_id, backends=backends(fault))
        except Crash:
            # A dead worker's lock stays until it expires.
            Execution.objects.filter(request_id=request_id).update(
                locked_until=timezone.now() + timedelta(minutes=5), lock_owner="dead"
            )

    def run_step(self, step):
        kind = step[0]
        if kind == "approve":
            self.approve(step[1], step[2])
        elif kind == "execute":
            self.execute(self.requests[step[1]].pk, step[2])
        elif kind == "expire_locks":
            Execution.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
        elif kind == "pass_retry_window":
            Execution.objects.exclude(first_called_at=None).update(
                first_called_at=timezone.now() - timedelta(days=1)
            )
        elif kind == "retry":
            request = RefundRequest.objects.get(pk=self.requests[step[1]].pk)
            if request.status == S.EXECUTION_FAILED:
                try:
                    execution_retry(request=request, actor=ACTOR)
                except ApplicationError as exc:  # the remainder went to other approvals
                    assert exc.code == "refund_exceeds_remaining", exc
        elif kind == "reconcile":
            for request_id in [r.pk for r in self.requests]:
                if RefundRequest.objects.get(pk=request_id).status in (S.APPROVED, S.EXECUTING):
                    self.execute(request_id, step[1])

    def assert_invariants(self):
        refunded = LedgerRefund.objects.filter(order=self.order).aggregate(total=Sum("amount"))[
            "total"
        ] or Decimal("0")
        assert refunded <= self.order.amount, refunded
        per_request = LedgerRefund.objects.values("request").annotate(n=Count("id"))
        assert all(row["n"] == 1 for row in per_request)

    @settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(steps=st.lists(STEPS, max_size=25))
    def test_refunds_never_exceed_the_order_and_never_repeat(self, steps):
        for step in steps:
            self.run_step(step)
            self.assert_invariants()
        # Then everything heals: locks expire, the reconciler runs with a healthy provider.
        Execution.objects.update(locked_until=None, next_attempt_at=None)
        for _ in range(2):
            executions_reconcile(inline=True, grace_seconds=0)
        self.assert_invariants()
        for request in RefundRequest.objects.filter(pk__in=[r.pk for r in self.requests]):
            refunds = list(LedgerRefund.objects.filter(request=request))
            assert request.status != S.EXECUTING, request.status
            if request.status == S.EXECUTED:
                assert [r.amount for r in refunds] == [request.final_amount]
            else:
                # execution_failed / closed / never approved: nothing was paid out.
                assert refunds == [], request.status
