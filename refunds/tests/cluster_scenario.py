"""Steps of the qcluster tests, run in a subprocess with ``manage.py shell -c`` against the
same database as the cluster (a SQLite file, or the PostgreSQL test database), each
printing one JSON line for the test to read."""

import importlib
import json
import time

from django.urls import reverse
from rest_framework.test import APIClient

from audit.services import Actor
from refunds.demo import DEMO_POLICY_TEXT
from refunds.models import Integration, Proposal, RefundPolicy, RefundRequest
from refunds.policies import refund_policy_version_create
from refunds.services import integration_api_key_create
from refunds.tests.factories import intake_payload


def _print(**values) -> None:
    print(json.dumps(values, default=str), flush=True)


def post_request(message: str = "My widget arrived broken. Please refund me.") -> None:
    """Empties the broker queue, makes sure a policy exists, and posts a request through
    the intake API (which enqueues its processing on commit)."""
    from django_q.brokers import get_broker

    get_broker().purge_queue()
    # The default gate policy, as its migration creates it (a transactional test on the
    # PostgreSQL lane may have flushed it).
    from django.apps import apps

    importlib.import_module("refunds.migrations.0002_gate_policy").create_default_policy(
        apps, None)
    policy, _ = RefundPolicy.objects.get_or_create(slug="refund-policy",
                                                   defaults={"title": "Refund policy"})
    refund_policy_version_create(policy=policy, text=DEMO_POLICY_TEXT,
                                 actor=Actor.system("tests"))
    integration, _ = Integration.objects.get_or_create(
        name="cluster-test", defaults={"kind": Integration.Kind.WEB_FORM})
    _, key = integration_api_key_create(integration=integration, name="cluster",
                                        actor=Actor.system("tests"))
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    suffix = str(time.monotonic_ns())
    response = client.post(reverse("api:refund-request-list"), intake_payload(
        message=message, customer={"external_id": f"c-{suffix}"},
        order={"external_id": f"o-{suffix}"}), format="json")
    assert response.status_code == 201, response.content
    request = RefundRequest.objects.get(public_id=response.json()["id"])
    _print(id=request.pk, status=request.status)


def state(request_id: int) -> None:
    request = RefundRequest.objects.get(pk=request_id)
    proposals = list(Proposal.objects.filter(request=request).values("provider", "error_code",
                                                                     "attempts"))
    _print(id=request_id, status=request.status, proposals=proposals)


def wait_until_not(request_id: int, statuses: list[str], timeout: float = 30.0) -> None:
    """Polls until the request leaves ``statuses`` (or the timeout), then prints its state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if RefundRequest.objects.filter(pk=request_id).exclude(status__in=statuses).exists():
            break
        time.sleep(0.1)
    state(request_id)
