"""Needs PostgreSQL: real concurrent executors racing for the same decision."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connections
from django.db.models import Sum

from refunds.execution.backends import (
    Backends,
    LedgerPaymentBackend,
    RecordsFulfilmentBackend,
    WebhookMessagingBackend,
)
from refunds.execution.executor import execution_run
from refunds.models import Execution, LedgerRefund, RefundRequest
from refunds.states import RefundStatus
from refunds.tests.factories import OrderFactory, final_decision
from refunds.tests.payment_server import FakePaymentServer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
WORKERS = 6


class SlowUnguardedLedger(LedgerPaymentBackend):
    """No captured-amount guard, and slow: only the executor stands between the racers
    and a double refund. Counts the calls that reach it."""

    def __init__(self):
        super().__init__(enforce_captured_limit=False)
        self.calls = 0
        self._lock = threading.Lock()

    def refund(self, **kwargs):
        with self._lock:
            self.calls += 1
        time.sleep(0.2)
        return super().refund(**kwargs)


def race(request_ids, backends=None):
    barrier = threading.Barrier(len(request_ids))
    outcomes, errors = [], []

    def worker(request_id):
        try:
            barrier.wait()
            outcomes.append(execution_run(request_id=request_id, backends=backends).status)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(rid,)) for rid in request_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return outcomes


def test_same_decision_run_concurrently_calls_the_provider_once():
    request = final_decision(amount="10")
    ledger = SlowUnguardedLedger()
    backends = Backends(
        payment=ledger, fulfilment=RecordsFulfilmentBackend(), messaging=WebhookMessagingBackend()
    )

    outcomes = race([request.pk] * WORKERS, backends)

    assert ledger.calls == 1
    assert LedgerRefund.objects.count() == 1
    assert sorted(outcomes).count(RefundStatus.EXECUTED) == 1
    assert set(outcomes) <= {RefundStatus.EXECUTED, "busy", "skipped"}
    assert RefundRequest.objects.get(pk=request.pk).status == RefundStatus.EXECUTED
    assert Execution.objects.count() == 1


def test_same_decision_run_concurrently_over_http_refunds_once(settings):
    server = FakePaymentServer(secret="s").start()
    settings.HITL_PAYMENT_BACKEND = "http"
    settings.HITL_PAYMENT_URL = server.url
    settings.HITL_PAYMENT_HMAC_SECRET = "s"
    try:
        request = final_decision(amount="10")
        race([request.pk] * WORKERS)
    finally:
        server.stop()

    assert server.refund_count == 1 and len(server.state.posts) == 1


def test_competing_refunds_on_one_order_never_exceed_it():
    order = OrderFactory(amount=Decimal("20.00"))
    requests = [final_decision(amount="8", order=order) for _ in range(4)]
    # Bypass the decision-time check, as a stale gate might have: 4 x 8 > 20.
    race(
        [r.pk for r in requests],
        Backends(
            payment=SlowUnguardedLedger(),
            fulfilment=RecordsFulfilmentBackend(),
            messaging=WebhookMessagingBackend(),
        ),
    )

    total = LedgerRefund.objects.filter(order=order).aggregate(t=Sum("amount"))["t"] or 0
    assert total <= order.amount
