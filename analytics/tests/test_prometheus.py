"""/metrics: the exporter's text format, the database gauges and the bearer token."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from refunds.tests.factories import RefundRequestFactory
from reviews.tests.factories import ReviewTaskFactory, proposal_for

pytestmark = pytest.mark.django_db


def _samples(response) -> dict:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_exports_the_database_gauges(client):
    task = ReviewTaskFactory(created_at=timezone.now() - timedelta(hours=2))
    RefundRequestFactory()
    proposal_for(
        task.request,
        token_usage={"input_tokens": 100, "output_tokens": 20, "total_tokens": 120},
        latency_ms=1500,
    )
    proposal_for(task.request, decision=None, error_code="model_unavailable", latency_ms=500)

    samples = _samples(client.get("/metrics"))

    assert samples[("hitl_metrics_database_up", ())] == 1
    assert samples[("hitl_refund_requests", (("status", "in_review"),))] == 1
    assert samples[("hitl_refund_requests", (("status", "received"),))] == 1
    assert samples[("hitl_review_queue_depth", (("queue", "standard"),))] == 1
    assert samples[("hitl_review_oldest_open_task_age_seconds", (("queue", "standard"),))] >= 7200
    assert (
        samples[
            ("hitl_proposals_total", (("error_code", "model_unavailable"), ("provider", "offline")))
        ]
        == 1
    )
    assert samples[("hitl_proposals_total", (("error_code", ""), ("provider", "offline")))] == 1
    assert samples[("hitl_model_tokens_total", (("kind", "total"), ("provider", "offline")))] == 120
    assert samples[("hitl_model_latency_seconds_count", (("provider", "offline"),))] == 2
    assert samples[("hitl_model_latency_seconds_sum", (("provider", "offline"),))] == 2.0


def test_metrics_counts_requests_by_route_not_by_path(client):
    client.get("/healthz")
    before = _samples(client.get("/metrics"))
    client.get("/review/tasks/123/")
    client.get("/review/tasks/456/")
    after = _samples(client.get("/metrics"))
    key = (
        "hitl_http_requests_total",
        (("method", "GET"), ("route", "/review/tasks/<int:pk>/"), ("status", "302")),
    )
    assert after[key] - before.get(key, 0) == 2
    assert not any("123" in str(labels) for _, labels in after)


def test_metrics_counts_executions_by_phase(client):
    from refunds.tests.factories import final_decision

    request = final_decision(via="gated")
    from refunds.models import Execution

    Execution.objects.create(
        request=request,
        payload_hash=request.final_payload_hash,
        decided_at=request.decided_at,
        idempotency_key="k-1",
        action="approve_refund",
        amount="10.00",
        currency="GBP",
        phase=Execution.Phase.FAILED,
    )
    samples = _samples(client.get("/metrics"))
    assert samples[("hitl_executions", (("phase", "failed"),))] == 1


@pytest.mark.parametrize(
    "header, status", [(None, 401), ("Bearer wrong", 401), ("Bearer s3cret", 200), ("s3cret", 401)]
)
def test_metrics_token_is_required_when_configured(client, settings, header, status):
    settings.METRICS_TOKEN = "s3cret"
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert client.get("/metrics", **extra).status_code == status


def test_metrics_answers_when_the_database_does_not(client, monkeypatch):
    from analytics import prometheus

    def broken(*args):
        raise RuntimeError("database down")

    monkeypatch.setattr(prometheus.DatabaseCollector, "_families", broken)
    samples = _samples(client.get("/metrics"))
    assert samples[("hitl_metrics_database_up", ())] == 0


def test_table_wide_totals_come_from_a_snapshot_shared_for_the_cache_period(client, settings):
    from django.core.cache import cache

    from analytics.prometheus import SNAPSHOT_CACHE_KEY

    settings.METRICS_DB_CACHE_SECONDS = 60
    cache.delete(SNAPSHOT_CACHE_KEY)
    RefundRequestFactory()
    first = _samples(client.get("/metrics"))
    RefundRequestFactory()
    ReviewTaskFactory()

    second = _samples(client.get("/metrics"))
    cache.delete(SNAPSHOT_CACHE_KEY)
    third = _samples(client.get("/metrics"))

    received = ("hitl_refund_requests", (("status", "received"),))
    assert first[received] == second[received] == 1  # the snapshot, not the table
    assert third[received] == 2
    assert second[("hitl_review_queue_depth", (("queue", "standard"),))] == 1  # always live
    assert second[("hitl_metrics_snapshot_age_seconds", ())] >= 0
    cache.delete(SNAPSHOT_CACHE_KEY)


def test_metrics_exports_customer_satisfaction_by_path(client):
    from refunds.models import CustomerFeedback

    for score, path in ((5, "auto_approved"), (3, "auto_approved"), (1, "denied")):
        CustomerFeedback.objects.create(request=RefundRequestFactory(), score=score, path=path)

    samples = _samples(client.get("/metrics"))

    auto, denied = (("path", "auto_approved"),), (("path", "denied"),)
    assert samples[("hitl_customer_satisfaction_score_count", auto)] == 2
    assert samples[("hitl_customer_satisfaction_score_sum", auto)] == 8
    assert samples[("hitl_customer_satisfaction_score_count", denied)] == 1
    assert samples[("hitl_customer_satisfaction_score_sum", denied)] == 1


def test_a_metrics_scrape_writes_no_audit_event(client):
    from audit.models import AuditEvent

    ReviewTaskFactory()
    before = AuditEvent.objects.count()
    assert client.get("/metrics").status_code == 200
    assert AuditEvent.objects.count() == before
