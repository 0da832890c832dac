"""Benchmark of the review pages at 100,000 open tasks.

    .venv/bin/python bench/review_queue.py                      # SQLite (a file in a temp dir)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hitl_review \
        .venv/bin/python bench/review_queue.py

Creates a throw-away test database (``test_<name>_bench`` on PostgreSQL), seeds N open
review tasks (default 100,000; ``--tasks``), then, as a senior reviewer working the
standard and senior queues, requests the queue page and the decision package page through
Django's test client and prints the query count and the median and p95 server time of each.
Target: <= 15 queries per page, constant in N; median <= 100 ms.
"""

import argparse
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    from _setup import use_bench_database

    use_bench_database()
    from django.db import connection

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args.tasks, args.runs)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def seed(n: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from audit.services import Actor
    from hitl_site import roles
    from refunds.models import (
        Customer,
        GateEvaluation,
        GatePolicyVersion,
        Integration,
        Order,
        RefundRequest,
    )
    from reviews.models import Queue, ReviewTask
    from reviews.services import queue_access_grant

    rng = random.Random(6)
    now = timezone.now()
    integration = Integration.objects.create(name="bench", kind="web_form")
    customers = Customer.objects.bulk_create(
        [
            Customer(
                integration=integration,
                external_id=f"c-{i}",
                name=f"Customer {i}",
                email=f"c{i}@example.com",
                tier=rng.choice(["standard", "premium"]),
                country="GB",
            )
            for i in range(2000)
        ],
        batch_size=2000,
    )
    queues = {q.slug: q for q in Queue.objects.all()}
    weights = [("standard", 0.6), ("senior", 0.3), ("legal", 0.1)]
    reasons = [
        {"code": "amount_over_ceiling", "message": "Over the ceiling."},
        {"code": "sentiment_requires_review", "message": "The customer is angry."},
    ]
    batch = 5000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        orders = Order.objects.bulk_create(
            [
                Order(
                    integration=integration,
                    customer=customers[(start + i) % len(customers)],
                    external_id=f"o-{start + i}",
                    amount=Decimal("80.00"),
                    currency="GBP",
                    ordered_at=now - timedelta(days=9),
                    status="delivered",
                )
                for i in range(size)
            ]
        )
        requests = RefundRequest.objects.bulk_create(
            [
                RefundRequest(
                    integration=integration,
                    channel="web",
                    customer=o.customer,
                    order=o,
                    message="It broke after two days. " * 4,
                    requested_amount=Decimal("80.00"),
                    currency="GBP",
                    status="in_review",
                )
                for o in orders
            ]
        )
        tasks = []
        for r in requests:
            slug = rng.choices([w[0] for w in weights], [w[1] for w in weights])[0]
            created = now - timedelta(minutes=rng.randint(0, 600))
            tasks.append(
                ReviewTask(
                    request=r,
                    queue=queues[slug],
                    priority=rng.randint(0, 3),
                    reasons=reasons,
                    reason_codes=",amount_over_ceiling,sentiment_requires_review,",
                    created_at=created,
                    due_at=created + timedelta(minutes=240),
                    deadline_at=created + timedelta(days=3),
                )
            )
        ReviewTask.objects.bulk_create(tasks)
    policy = GatePolicyVersion.objects.get(is_active=True)
    sample = list(
        ReviewTask.objects.filter(queue__slug__in=["standard", "senior"])
        .select_related("request")
        .order_by("?")[:200]
    )
    GateEvaluation.objects.bulk_create(
        [
            GateEvaluation(
                request=t.request,
                policy_version=policy,
                route="review",
                reasons=reasons,
                queue=t.queue.slug,
                priority=t.priority,
                context={},
                decision={
                    "action": "approve_refund",
                    "amount": "80.00",
                    "currency": "GBP",
                    "rationale": "Defective on arrival (2.1).",
                    "cited_sections": ["2.1"],
                    "policy_match": "medium",
                    "needs_human_review": True,
                    "customer_sentiment": "angry",
                    "risk_flags": [],
                },
            )
            for t in sample
        ]
    )
    groups = roles.roles_ensure()
    user = get_user_model().objects.create_user("bench-senior", password="x", is_staff=True)
    user.groups.add(groups[roles.SENIOR_REVIEWER])
    for slug in ("standard", "senior"):
        queue_access_grant(queue=queues[slug], user=user, actor=Actor.system("bench"))
    return user, sample


def timed(client, urls: list[str]) -> list[float]:
    times = []
    for url in urls:
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def run(n: int, runs: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    t0 = time.perf_counter()
    user, sample = seed(n)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    seeded = time.perf_counter() - t0
    client = Client()
    client.force_login(user)
    queue_urls = [
        "/review/",
        "/review/?page=2",
        "/review/?queue=senior",
        "/review/?priority=3",
        "/review/?status=open",
        "/review/?reason=sentiment_requires_review",
    ]
    task_urls = [f"/review/tasks/{t.pk}/" for t in sample]
    timed(client, queue_urls + task_urls[:5])  # warm up
    print(f"database: {connection.vendor}; open tasks: {n:,} (seeded in {seeded:.0f} s)")
    for label, urls in (("queue page", queue_urls), ("decision package", task_urls)):
        with CaptureQueriesContext(connection) as ctx:
            client.get(urls[0])
        queries = len(ctx)  # now: the next request resets the connection's query log
        times = timed(client, [urls[i % len(urls)] for i in range(runs)])
        p95 = statistics.quantiles(times, n=20)[18]
        print(
            f"{label:17} queries {queries:2d}   median {statistics.median(times):6.1f} ms"
            f"   p95 {p95:6.1f} ms   ({runs} requests)"
        )


if __name__ == "__main__":
    main()
