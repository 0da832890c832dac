"""A real ``manage.py qcluster`` process on the configured broker: the ORM broker on the
SQLite lane, Redis on the PostgreSQL lane (``make test-postgres``)."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from refunds.models import Proposal, RefundRequest
from refunds.pipeline import pipeline_reconcile
from refunds.states import RefundStatus
from refunds.tests import openai_server as answers
from refunds.tests.factories import intake_payload, policy_version

pytestmark = [
    pytest.mark.slow,
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_cluster(tmp_path, **env) -> subprocess.Popen:
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hitl_site.settings.test",
        "DATABASE_URL": database_url(),
        "HITL_VAR_DIR": str(tmp_path),
        "Q_WORKERS": "1",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
    """Kills the whole cluster (sentinel, pusher, workers): by then nothing is in flight."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def post_request(api_client) -> RefundRequest:
    response = api_client.post(
        reverse("api:refund-request-list"),
        intake_payload(message="The widget arrived broken."),
        format="json",
    )
    assert response.status_code == 201
    return RefundRequest.objects.get(public_id=response.json()["id"])


def status_of(request) -> str:
    return RefundRequest.objects.values_list("status", flat=True).get(pk=request.pk)


def test_a_posted_request_is_drafted_by_a_real_worker(api_client, tmp_path):
    policy_version()
    cluster = start_cluster(tmp_path)
    try:
        request = post_request(api_client)
        wait_for(
            lambda: status_of(request) not in ("received", "drafting"),
            what="the worker to draft the request",
        )
    finally:
        stop(cluster)

    assert status_of(request) in (
        RefundStatus.AUTO_APPROVED,
        RefundStatus.IN_REVIEW,
        RefundStatus.EXECUTING,
        RefundStatus.EXECUTED,
    )
    assert Proposal.objects.filter(request=request).count() == 1


def test_a_worker_killed_mid_draft_leaves_a_recoverable_request(
    api_client, tmp_path, openai_server
):
    openai_server.queue(answers.sleep(60))  # the first draft hangs until the worker dies
    hanging = start_cluster(
        tmp_path,
        HITL_DRAFTER_PROVIDER="openai",
        HITL_OPENAI_BASE_URL=openai_server.base_url,
        HITL_OPENAI_API_KEY="test",
        HITL_OPENAI_TIMEOUT="120",
        HITL_OPENAI_MAX_RETRIES="0",
        Q_TIMEOUT="300",  # the start-up check wants one model attempt within 3/4 of it
        Q_RETRY="360",
    )
    try:
        request = post_request(api_client)
        wait_for(lambda: openai_server.requests, what="the worker to call the model")
        assert status_of(request) == RefundStatus.DRAFTING
    finally:
        stop(hanging, signal.SIGKILL)

    assert not Proposal.objects.filter(request=request).exists()
    result = pipeline_reconcile(stale_after=timedelta(0))
    assert result["reset"] == 1
    assert status_of(request) == RefundStatus.RECEIVED

    recovering = start_cluster(tmp_path)  # offline drafter this time
    try:
        wait_for(
            lambda: status_of(request) not in ("received", "drafting"),
            what="the re-driven request to be drafted",
        )
    finally:
        stop(recovering)
    assert Proposal.objects.filter(request=request).count() == 1
    assert settings.Q_CLUSTER["name"].startswith("hitl-test-")
