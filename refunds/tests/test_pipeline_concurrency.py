"""Workers drafting overlapping batches while intake updates the same customers, on
PostgreSQL with real row locks: no deadlock, no double claim, one proposal per request."""

import importlib
import logging
import threading
from unittest import mock

import pytest
from django.apps import apps
from django.db import connections

from audit.selectors import audit_chain_verify
from refunds.models import Proposal, RefundRequest
from refunds.pipeline import refund_request_run_pipeline
from refunds.services import refund_request_create
from refunds.states import RefundStatus
from refunds.tests.factories import (
    ORDERED_AT,
    CustomerFactory,
    OrderFactory,
    RefundRequestFactory,
    iso_z,
    policy_version,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _setup():
    # Transactional tests flush what migrations created: put the default gate policy back.
    importlib.import_module("refunds.migrations.0002_gate_policy").create_default_policy(apps, None)
    policy_version()
    with mock.patch("refunds.jobs.async_task"):
        yield


def _run_all(calls) -> list[object]:
    barrier = threading.Barrier(len(calls), timeout=10)
    results: list[object] = [None] * len(calls)

    def worker(n, call):
        try:
            barrier.wait()
            results[n] = call()
        except Exception as exc:
            results[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a worker hung"
    return results


def _intake(customer, n, repeat=10):
    """Intake for an existing customer: it locks the customer row (the upsert), then the
    audit chain head, which is what could deadlock with a badly ordered pipeline."""

    def call():
        for k in range(repeat):
            data = {
                "channel": "web",
                "message": "Also broken.",
                "customer": {
                    "external_id": customer.external_id,
                    "name": f"Renamed {n}-{k}",
                    "tier": "standard",
                    "country": "GB",
                },
                "order": {
                    "external_id": f"{customer.external_id}-extra-{n}-{k}",
                    "amount": "10.00",
                    "currency": "GBP",
                    "items": [],
                    "status": "delivered",
                    "ordered_at": iso_z(ORDERED_AT),
                },
            }
            refund_request_create(integration=customer.integration, data=data)

    return call


def test_overlapping_batches_and_intake_never_deadlock_or_double_draft(caplog):
    customers = [CustomerFactory() for _ in range(3)]
    requests = [
        RefundRequestFactory(
            message="It arrived broken",
            order=OrderFactory(customer=customers[i % 3], integration=customers[i % 3].integration),
        )
        for i in range(48)
    ]
    ids = [r.pk for r in requests]

    with caplog.at_level(logging.WARNING, logger="refunds.pipeline"):
        results = _run_all(
            [
                *(
                    lambda pk=pk: refund_request_run_pipeline(request_id=pk, batch_size=8)
                    for pk in ids[:3]
                ),
                *(_intake(customers[n % 3], n) for n in range(4)),
            ]
        )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    drafted = sum(results[:3])
    assert 0 < drafted <= 24
    for request in RefundRequest.objects.all():
        count = Proposal.objects.filter(request=request).count()
        assert request.status != RefundStatus.DRAFTING
        assert count == (0 if request.status == RefundStatus.RECEIVED else 1)
    assert audit_chain_verify().ok
