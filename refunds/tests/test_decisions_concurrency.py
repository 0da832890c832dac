"""Needs PostgreSQL: approvals racing on one order, through the one finalize service (as a
reviewer's approval does) and through the gate (an auto-approval), never approve more than
the order, and every refusal or referral to review was justified."""

import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connections
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.services import Actor
from hitl_site.errors import ApplicationError
from refunds.decisions import refund_request_finalize
from refunds.gate.services import refund_request_gate
from refunds.models import GateEvaluation, RefundRequest
from refunds.selectors import order_refundable_remaining
from refunds.states import FINAL_APPROVED_STATUSES, RefundStatus
from refunds.tests.factories import OrderFactory, RefundDecisionFactory, RefundRequestFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
REVIEWER = Actor.system("reviewer")


def race(calls):
    """Runs the calls at the same moment, each on its own thread and connection; returns
    what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # judged by the caller
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def approval(order, source: str, amount: Decimal):
    """One racer: a reviewer's approval (``refund_request_finalize`` from ``in_review``)
    or the gate judging an auto-approvable proposal (``gated``)."""
    if source == "review":
        request = RefundRequestFactory(order=order, status=RefundStatus.IN_REVIEW)
        return request, lambda: refund_request_finalize(
            request=request,
            action="approve_refund",
            amount=amount,
            actor=REVIEWER,
            source="review",
        )
    request = RefundRequestFactory(order=order, status=RefundStatus.GATED)
    decision = RefundDecisionFactory(amount=amount)
    return request, lambda: refund_request_gate(request=request, decision=decision)


AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("25.00"), places=2)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    order_amount=st.decimals(min_value=Decimal("1.00"), max_value=Decimal("40.00"), places=2),
    racers=st.lists(
        st.tuples(st.sampled_from(["review", "gate"]), AMOUNTS), min_size=2, max_size=8
    ),
)
def test_racing_approvals_never_approve_more_than_the_order(order_amount, racers):
    order = OrderFactory(amount=order_amount)
    entries = [(amount, *approval(order, source, amount)) for source, amount in racers]

    with mock.patch("refunds.jobs.enqueue_refund_request_execution"):
        results = race([call for _, _, call in entries])

    approved = RefundRequest.objects.filter(
        order=order, status__in=FINAL_APPROVED_STATUSES, final_action="approve_refund"
    ).aggregate(total=Sum("final_amount"))["total"] or Decimal("0")
    assert approved <= order.amount  # the invariant
    left = order.amount - approved
    assert order_refundable_remaining(order=order) == left
    for (amount, request, _), result in zip(entries, results, strict=True):
        request.refresh_from_db()
        if isinstance(result, Exception):  # only a reviewer's approval is refused...
            assert isinstance(result, ApplicationError), repr(result)
            assert result.code == "refund_exceeds_remaining", result
            assert request.status == RefundStatus.IN_REVIEW and not request.final_action
            assert amount > left  # ...and only when it did not fit even at the end
        elif request.status in FINAL_APPROVED_STATUSES:
            assert request.final_amount == amount
        else:  # the gate sent it to a human; if for the amount, that was justified too
            assert request.status == RefundStatus.IN_REVIEW
            reasons = GateEvaluation.objects.get(request=request).reason_codes
            if "amount_exceeds_refundable" in reasons:
                assert amount > left
