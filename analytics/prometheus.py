"""Prometheus metrics at ``/metrics`` (the ``prometheus-client`` library).

Two kinds of figures:

* **Process counters** kept by ``PrometheusMiddleware``: HTTP requests by route (the URL
  pattern, never the raw path, so the label set stays bounded), method and status, and
  their duration. Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (an
  empty directory, wiped at deploy) so every worker's counts are summed.
* **Database gauges** read by ``DatabaseCollector``, so they are right whichever process
  serves the scrape: review queue depth and oldest open task per queue (live, every
  scrape); requests by status, proposals by provider and error code, token usage, model
  latency (count and sum, per provider), executions by phase, customer satisfaction
  scores by path (count and sum) (table-wide aggregates, from a
  snapshot shared through the cache and at most ``METRICS_DB_CACHE_SECONDS`` old).

``METRICS_TOKEN`` (setting / environment variable), when set, is required as
``Authorization: Bearer <token>``; without it the endpoint is open (keep it on an
internal network).

Why not django-prometheus: the only generic part here is the 20-line middleware, and
django-prometheus would replace it with differently named series (``django_http_*`` by view
name, not ``hitl_http_*`` by URL pattern), breaking existing dashboards and alerts; its
database metrics need a wrapped database engine and count driver calls, not the loop's
state, which stays in hand-written collectors either way.
"""

import hmac
import logging
import os
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, IntegerField, Min, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "hitl_http_requests", "HTTP requests served, by route.", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "hitl_http_request_duration_seconds",
    "Server time of HTTP requests, by route.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TOKEN_KINDS = ("input_tokens", "output_tokens", "total_tokens")


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return "/" + match.route if match.route else (match.view_name or "<unnamed>")


class PrometheusMiddleware:
    """Counts every response by URL pattern; /metrics itself included (it is a route)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route, method = _route(request), request.method or ""
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)
        return response


SNAPSHOT_CACHE_KEY = "hitl:metrics:database-totals:v1"


def _database_totals() -> dict:
    """The table-wide aggregates: each scans a whole table (about a second in all at 1 M
    requests on PostgreSQL), so they are read at most once per ``METRICS_DB_CACHE_SECONDS``
    for every scraper and replica together (the cache is Redis when ``REDIS_URL`` is set)."""
    ttl = settings.METRICS_DB_CACHE_SECONDS
    totals = cache.get(SNAPSHOT_CACHE_KEY) if ttl > 0 else None
    if totals is None:
        totals = _read_database_totals()
        if ttl > 0:
            cache.set(SNAPSHOT_CACHE_KEY, totals, ttl)
    return totals


def _read_database_totals() -> dict:
    from refunds.models import CustomerFeedback, Execution, Proposal, RefundRequest

    started = time.monotonic()
    sums = {kind: Sum(Cast(KT(f"token_usage__{kind}"), IntegerField())) for kind in TOKEN_KINDS}
    totals = {
        "requests": list(
            RefundRequest.objects.order_by().values_list("status").annotate(n=Count("pk"))
        ),
        "proposals": list(
            Proposal.objects.order_by()
            .values_list("provider", "error_code")
            .annotate(n=Count("pk"))
        ),
        "usage": list(
            Proposal.objects.order_by()
            .values("provider")
            .annotate(n=Count("pk"), latency=Sum("latency_ms"), **sums)
        ),
        "executions": list(
            Execution.objects.order_by().values_list("phase").annotate(n=Count("pk"))
        ),
        "feedback": list(
            CustomerFeedback.objects.order_by()
            .values_list("path")
            .annotate(n=Count("pk"), total=Sum("score"))
        ),
    }
    totals["read_at"] = time.time()
    totals["read_seconds"] = time.monotonic() - started
    return totals


class DatabaseCollector(Collector):
    """Reads the loop's state from the database: queue depth live on every scrape (cheap,
    through the open-task index), the table-wide totals from a shared snapshot."""

    def collect(self):
        from reviews.models import ReviewTask

        up = GaugeMetricFamily(
            "hitl_metrics_database_up", "1 if the database gauges below could be read."
        )
        try:
            families = list(self._families(ReviewTask))
        except Exception:  # a scrape must answer even when the database does not
            logger.exception("metrics: reading the database failed")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, ReviewTask):
        depth = GaugeMetricFamily(
            "hitl_review_queue_depth",
            "Review tasks waiting for a decision, by queue.",
            labels=["queue"],
        )
        oldest = GaugeMetricFamily(
            "hitl_review_oldest_open_task_age_seconds",
            "Age of the oldest waiting review task, by queue.",
            labels=["queue"],
        )
        now = timezone.now()
        for row in (
            ReviewTask.objects.filter(active=1)
            .order_by()
            .values("queue__slug")
            .annotate(n=Count("pk"), oldest=Min("created_at"))
        ):
            depth.add_metric([row["queue__slug"]], row["n"])
            oldest.add_metric([row["queue__slug"]], (now - row["oldest"]).total_seconds())
        yield depth
        yield oldest
        yield from self._total_families(_database_totals())

    def _total_families(self, totals: dict):
        age = GaugeMetricFamily(
            "hitl_metrics_snapshot_age_seconds",
            "How old the table-wide totals below are (METRICS_DB_CACHE_SECONDS).",
        )
        age.add_metric([], max(0.0, time.time() - totals["read_at"]))
        yield age
        read = GaugeMetricFamily(
            "hitl_metrics_snapshot_read_seconds",
            "How long reading the table-wide totals took the database.",
        )
        read.add_metric([], totals["read_seconds"])
        yield read

        requests = GaugeMetricFamily(
            "hitl_refund_requests", "Refund requests by status.", labels=["status"]
        )
        for status, n in totals["requests"]:
            requests.add_metric([status], n)
        yield requests

        proposals = CounterMetricFamily(
            "hitl_proposals",
            "Drafting attempts stored, by provider and error code (empty: a decision was drafted).",
            labels=["provider", "error_code"],
        )
        for provider, error_code, n in totals["proposals"]:
            proposals.add_metric([provider, error_code], n)
        yield proposals

        tokens = CounterMetricFamily(
            "hitl_model_tokens", "Model tokens used, by provider.", labels=["provider", "kind"]
        )
        latency = SummaryMetricFamily(
            "hitl_model_latency_seconds",
            "Drafting latency (all attempts) by provider.",
            labels=["provider"],
        )
        for row in totals["usage"]:
            for kind in TOKEN_KINDS:
                tokens.add_metric([row["provider"], kind.removesuffix("_tokens")], row[kind] or 0)
            latency.add_metric(
                [row["provider"]], count_value=row["n"], sum_value=(row["latency"] or 0) / 1000
            )
        yield tokens
        yield latency

        executions = GaugeMetricFamily(
            "hitl_executions",
            "Executions of final decisions, by phase "
            "(recorded: done; failed: will not heal by itself).",
            labels=["phase"],
        )
        for phase, n in totals["executions"]:
            executions.add_metric([phase], n)
        yield executions

        satisfaction = SummaryMetricFamily(
            "hitl_customer_satisfaction_score",
            "Customer feedback scores (1 to 5) by the path the case took "
            "(auto_approved, human_reviewed, denied, no_decision); mean = sum / count.",
            labels=["path"],
        )
        for path, n, total in totals.get("feedback", []):  # a snapshot cached before: none
            satisfaction.add_metric([path], count_value=n, sum_value=total or 0)
        yield satisfaction


def _process_registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorised(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
@require_GET
def metrics_view(request):
    if not _authorised(request):
        response = HttpResponse(
            "A valid bearer token is required.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    body = generate_latest(_process_registry()) + generate_latest(database)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
