"""Needs PostgreSQL: concurrent intake with real connections (one per thread).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/hitl_api \
     .venv/bin/pytest --create-db -m postgres refunds/tests/test_api_concurrency.py
"""

import threading
from collections.abc import Callable
from unittest import mock

import pytest
from django.db import connections
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from refunds import services
from refunds.api.serializers import RefundRequestCreateSerializer
from refunds.models import Customer, Order, RefundRequest
from refunds.services import refund_request_create
from refunds.tests.factories import intake_payload

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LIST_URL = reverse("api:refund-request-list")
BARRIER_TIMEOUT = 10


@pytest.fixture(autouse=True)
def _no_broker():
    """The on-commit enqueue runs for real here (transactional tests); keep it local."""
    with mock.patch("refunds.jobs.async_task") as async_task:
        yield async_task


def run_concurrently(*calls: Callable[[], object]) -> list[object]:
    """Starts each call in its own thread (own DB connection) at the same moment and
    returns their results (or the exception each raised), in order."""
    barrier = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT)
    results: list[object] = [None] * len(calls)

    def worker(n: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[n] = call()
        except Exception as exc:  # returned to the test and asserted there
            results[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BARRIER_TIMEOUT * 3)
        assert not thread.is_alive(), "a concurrent request hung"
    return results


@pytest.fixture
def after_the_replay_check():
    """Holds every caller of ``refund_request_create`` just past its "is this key already
    used?" check until all have passed it, so the insert race really happens and the
    unique constraint (not the pre-check) must pick the winner."""

    def install(parties: int):
        barrier = threading.Barrier(parties, timeout=BARRIER_TIMEOUT)
        real_create = services._create

        def create_after_everyone_checked(**kwargs):
            barrier.wait()
            return real_create(**kwargs)

        return mock.patch.object(services, "_create", create_after_everyone_checked)

    return install


def validated(body: dict) -> dict:
    serializer = RefundRequestCreateSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def post_with_key(plain_key: str, body: dict, key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plain_key}")
    response = client.post(LIST_URL, body, format="json", headers={"Idempotency-Key": key})
    return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")


def test_two_concurrent_posts_with_the_same_key_create_one_request(integration, api_key_for):
    plain_key = api_key_for(integration)

    results = run_concurrently(
        lambda: post_with_key(plain_key, intake_payload(), "same-key"),
        lambda: post_with_key(plain_key, intake_payload(), "same-key"),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    (status_a, body_a, replayed_a), (status_b, body_b, replayed_b) = results
    assert (status_a, status_b) == (201, 201), results
    assert body_a["id"] == body_b["id"]
    assert {replayed_a, replayed_b} == {None, "true"}  # one created it, one replayed it
    assert RefundRequest.objects.count() == 1
    assert str(RefundRequest.objects.get().public_id) == body_a["id"]


def test_insert_race_on_the_same_key_has_one_winner_and_one_replay(
    integration, after_the_replay_check, _no_broker
):
    data = validated(intake_payload())

    with after_the_replay_check(2):
        results = run_concurrently(
            lambda: refund_request_create(
                integration=integration, data=data, idempotency_key="race-key"
            ),
            lambda: refund_request_create(
                integration=integration, data=data, idempotency_key="race-key"
            ),
        )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.created for r in results) == [False, True]
    assert results[0].request.public_id == results[1].request.public_id
    assert RefundRequest.objects.count() == 1
    assert Customer.objects.count() == 1
    assert Order.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="refund_request.received").count() == 1
    assert audit_chain_verify().ok
    _no_broker.assert_called_once()
    assert _no_broker.call_args.args[1] == RefundRequest.objects.get().pk


def test_insert_race_on_the_same_key_with_different_bodies_refuses_the_loser(
    integration, after_the_replay_check
):
    first = validated(intake_payload())
    second = validated(intake_payload(message="Something else entirely."))

    with after_the_replay_check(2):
        results = run_concurrently(
            lambda: refund_request_create(
                integration=integration, data=first, idempotency_key="race-key"
            ),
            lambda: refund_request_create(
                integration=integration, data=second, idempotency_key="race-key"
            ),
        )

    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1, results
    assert getattr(errors[0], "code", None) == "idempotency_key_reused"
    assert RefundRequest.objects.count() == 1


def test_concurrent_requests_without_a_key_share_one_new_customer_and_order(
    integration, after_the_replay_check
):
    data = validated(intake_payload())

    with after_the_replay_check(2):
        results = run_concurrently(
            lambda: refund_request_create(integration=integration, data=data),
            lambda: refund_request_create(integration=integration, data=data),
        )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(r.created for r in results)
    assert RefundRequest.objects.count() == 2
    assert Customer.objects.count() == 1
    assert Order.objects.count() == 1
