"""Benchmark of the operations dashboard at 1,000,000 refund requests.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hitl_ops \
        .venv/bin/python bench/dashboard.py [--rows 1000000] [--runs 20]
    .venv/bin/python bench/dashboard.py --rows 50000             # SQLite (a temp file)

Creates a throw-away test database (``test_<name>_bench`` on PostgreSQL), seeds N refund
requests (default 1,000,000; ``--rows``) with ``bulk_create`` in batches — each with its
proposal and gate evaluation spread over 90 days, 30 % routed to review with a task and a
final human decision (some overridden, some rejected with a reason code, some seen by two
reviewers), every approval with its execution (3 % failed) — then rolls up every closed
day and today's full hours (``reviews.rollup``, the hourly schedule's work; timed and
printed separately), then, as an auditor, requests the dashboard (default 30-day period,
and filtered variants) through Django's test client and prints the query count and the
median and p95 server time. ``--reuse`` migrates the kept database first (new tables and
indexes) and rolls it up again; ``--no-rollup`` times the page on the live tables alone.
Target (issue 8): median <= 300 ms on PostgreSQL.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings.test")
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("TEST_DATABASE_NAME", "")

URLS = [
    "/review/dashboard/",
    "/review/dashboard/?period=7",
    "/review/dashboard/?period=90",
    "/review/dashboard/?channel=chat",
    "/review/dashboard/?provider=openai",
    "/review/dashboard/?queue=senior",
    "/review/dashboard/?policy_version=1",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument(
        "--keep", action="store_true", help="Keep the seeded database (for --reuse or EXPLAIN)."
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Time a database kept by --keep instead of seeding one.",
    )
    parser.add_argument(
        "--profile", action="store_true", help="Also print each query's time on the default page."
    )
    parser.add_argument(
        "--no-rollup",
        action="store_true",
        help="Drop the daily roll-up and time the page on the live tables alone.",
    )
    args = parser.parse_args()

    from _setup import use_bench_database

    use_bench_database()
    from django.conf import settings
    from django.db import connection

    if args.reuse:
        old_name = connection.settings_dict["NAME"]
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["TEST"]["NAME"]
        connection.close()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # the tables and indexes added since --keep
    else:
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(
            args.rows,
            args.runs,
            args.batch,
            seed_rows=not args.reuse,
            profile=args.profile,
            roll_up=not args.no_rollup,
        )
    finally:
        if not (args.keep or args.reuse):
            connection.creation.destroy_test_db(old_name, verbosity=0)


def seed(n: int, batch: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db.models import F
    from django.utils import timezone

    from refunds.models import (
        Customer,
        Execution,
        GateEvaluation,
        GatePolicyVersion,
        Integration,
        Order,
        Proposal,
        RefundRequest,
    )
    from reviews.models import Queue, ReviewDecision, ReviewTask

    rng = random.Random(8)
    now = timezone.now()
    integration = Integration.objects.create(name="bench", kind="web_form")
    customers = Customer.objects.bulk_create(
        [
            Customer(
                integration=integration,
                external_id=f"c-{i}",
                name=f"Customer {i}",
                tier="standard",
                country="GB",
            )
            for i in range(2000)
        ]
    )
    # Requests share orders: the dashboard never reads them, and this halves the seeding.
    orders = Order.objects.bulk_create(
        [
            Order(
                integration=integration,
                customer=c,
                external_id=f"o-{i}",
                amount=Decimal("40.00"),
                currency="GBP",
                ordered_at=now - timedelta(days=100),
                status="delivered",
            )
            for i, c in enumerate(customers)
        ]
    )
    policy = GatePolicyVersion.objects.get(is_active=True)
    queues = {q.slug: q for q in Queue.objects.all()}
    User = get_user_model()
    reviewers = User.objects.bulk_create(
        [User(username=f"reviewer-{i}", is_staff=True) for i in range(40)]
    )
    channels = ["web", "chat", "email", "api"]
    reject_reasons = [
        "policy_not_met",
        "outside_window",
        "suspected_fraud",
        "insufficient_evidence",
        "duplicate",
    ]
    decision_json = {
        "action": "approve_refund",
        "amount": "20.00",
        "currency": "GBP",
        "rationale": "Damaged on arrival.",
        "cited_sections": ["2.1"],
        "policy_match": "strong",
        "needs_human_review": False,
        "customer_sentiment": "calm",
        "risk_flags": [],
    }
    for start in range(0, n, batch):
        size = min(batch, n - start)
        plan = []
        for _ in range(size):
            at = now - timedelta(seconds=rng.randint(0, 90 * 86400))
            review = rng.random() < 0.3
            outcome = (
                rng.choices(
                    ["approve", "approve_with_edits", "reject", "request_more_info", None],
                    [50, 20, 20, 5, 5],
                )[0]
                if review
                else None
            )
            plan.append((at, review, outcome))
        requests = RefundRequest.objects.bulk_create(
            [
                RefundRequest(
                    integration=integration,
                    channel=channels[(start + i) % 4],
                    customer=orders[(start + i) % len(orders)].customer,
                    order=orders[(start + i) % len(orders)],
                    message="It arrived broken.",
                    requested_amount=Decimal("20.00"),
                    currency="GBP",
                    status=(
                        "executed"
                        if not review
                        else {
                            None: "in_review",
                            "reject": "rejected",
                            "request_more_info": "awaiting_customer",
                        }.get(outcome, "executed")
                    ),
                )
                for i, (at, review, outcome) in enumerate(plan)
            ]
        )
        Proposal.objects.bulk_create(
            [
                Proposal(
                    request=r,
                    provider="openai" if rng.random() < 0.2 else "offline",
                    model_name="m",
                    prompt_name="refund-draft",
                    prompt_version="1.0",
                    decision=decision_json,
                    token_usage={"input_tokens": 900, "output_tokens": 120, "total_tokens": 1020},
                    latency_ms=rng.randint(300, 4000),
                )
                for r in requests
            ]
        )
        GateEvaluation.objects.bulk_create(
            [
                GateEvaluation(
                    request=r,
                    policy_version=policy,
                    route="review" if review else "auto",
                    reasons=[],
                    queue=(
                        rng.choice(["standard", "standard", "senior", "legal"]) if review else ""
                    ),
                    priority=1,
                    decision=decision_json,
                    context={},
                    created_at=at,
                )
                for r, (at, review, _) in zip(requests, plan, strict=True)
            ]
        )
        tasks, decided = [], []
        for r, (at, review, outcome) in zip(requests, plan, strict=True):
            if not review:
                continue
            waited = timedelta(minutes=rng.randint(5, 600))
            created = at + timedelta(minutes=1)
            task = ReviewTask(
                request=r,
                queue=queues[rng.choice(["standard", "senior"])],
                status="open" if outcome is None else "decided",
                created_at=created,
                due_at=created + timedelta(minutes=240),
                deadline_at=created + timedelta(days=3),
                decided_at=None if outcome is None else created + waited,
            )
            tasks.append(task)
            if outcome is not None:
                decided.append((task, outcome, created + waited))
        ReviewTask.objects.bulk_create(tasks)
        decisions = []
        for task, outcome, when in decided:
            reviewer = rng.choice(reviewers)
            common = {
                "task": task,
                "request_id": task.request_id,
                "currency": "GBP",
                "proposed_action": "approve_refund",
                "proposed_amount": Decimal("20.00"),
            }
            if rng.random() < 0.05:  # a four-eyes first approval by someone else
                decisions.append(
                    ReviewDecision(
                        **common,
                        reviewer=rng.choice(reviewers),
                        outcome="approve",
                        action="approve_refund",
                        amount=Decimal("20.00"),
                        created_at=when - timedelta(minutes=3),
                    )
                )
            approving = outcome in ("approve", "approve_with_edits")
            decisions.append(
                ReviewDecision(
                    **common,
                    reviewer=reviewer,
                    outcome=outcome,
                    is_final=True,
                    created_at=when,
                    action="approve_refund" if approving else "",
                    amount=(Decimal("20.00") if outcome == "approve" else Decimal("12.50"))
                    if approving
                    else None,
                    reason_code=rng.choice(reject_reasons) if outcome == "reject" else "",
                )
            )
        ReviewDecision.objects.bulk_create(decisions)
        approved = [
            (r, at)
            for r, (at, review, outcome) in zip(requests, plan, strict=True)
            if not review or outcome in ("approve", "approve_with_edits")
        ]
        executions = Execution.objects.bulk_create(
            [
                Execution(
                    request=r,
                    payload_hash="h" * 64,
                    decided_at=at,
                    idempotency_key=f"bench-{r.pk}",
                    action="approve_refund",
                    amount=Decimal("20.00"),
                    currency="GBP",
                    phase="failed" if rng.random() < 0.03 else "recorded",
                )
                for r, at in approved
            ]
        )
        # created_at is auto_now_add: move it to the decision time, as in real life
        Execution.objects.filter(pk__in=[e.pk for e in executions]).update(
            created_at=F("decided_at")
        )
        done = start + size
        if done % (batch * 20) == 0 or done == n:
            print(f"  seeded {done:,} requests", flush=True)


def timed(client, urls: list[str]) -> list[float]:
    times = []
    for url in urls:
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def roll_up_closed_days() -> None:
    """Every closed day since the oldest gate evaluation, and today's full hours, as the
    schedule would (timed)."""
    from django.db import connection
    from django.db.models import Min
    from django.utils import timezone

    from refunds.models import GateEvaluation
    from reviews import rollup

    oldest = GateEvaluation.objects.aggregate(first=Min("created_at"))["first"]
    if oldest is None:
        return
    today = timezone.localdate()
    day, days, rows = timezone.localdate(oldest), 0, 0
    t0 = time.perf_counter()
    dims = rollup.dimension_values()
    while day < today:
        rows += rollup.loop_stats_rollup(day=day, dims=dims)
        day += timedelta(days=1)
        days += 1
    took = time.perf_counter() - t0
    print(
        f"rolled up {days} closed days ({rows:,} count rows) in {took:.1f} s"
        f" ({took / max(days, 1):.2f} s a day)",
        flush=True,
    )
    t0 = time.perf_counter()
    rows = rollup.loop_stats_rollup(day=today, dims=dims)
    until = timezone.localtime(rollup.rollup_end(today, timezone.now()))
    print(
        f"rolled up today to {until:%H:%M} ({rows:,} count rows) in"
        f" {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reviews_dailyloopcount")
            cursor.execute("VACUUM ANALYZE reviews_dailylooprollup")


def run(
    n: int, runs: int, batch: int, *, seed_rows: bool, profile: bool, roll_up: bool = True
) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from hitl_site import roles
    from refunds.models import RefundRequest

    t0 = time.perf_counter()
    if seed_rows:
        seed(n, batch)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
    n = RefundRequest.objects.count()
    seeded = time.perf_counter() - t0
    print(f"database: {connection.vendor}; refund requests: {n:,} (seeded in {seeded:.0f} s)")
    from reviews.models import DailyLoopCount, DailyLoopRollup

    if connection.vendor == "postgresql":  # no dead rows left behind by an earlier run
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE reviews_dailyloopcount, reviews_dailylooprollup")
    else:
        DailyLoopCount.objects.all().delete()
        DailyLoopRollup.objects.all().delete()
    if roll_up:
        roll_up_closed_days()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-auditor", defaults={"is_staff": True}
    )
    user.groups.add(roles.roles_ensure()[roles.AUDITOR])
    client = Client()
    client.force_login(user)
    timed(client, URLS)  # warm up
    with CaptureQueriesContext(connection) as ctx:
        client.get(URLS[0])
    if profile:
        for q in sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:12]:
            print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:160]}")
    for url in URLS:
        with CaptureQueriesContext(connection) as counted:
            client.get(url)
        queries = len(counted)
        times = timed(client, [url] * runs)
        p95 = statistics.quantiles(times, n=20)[18]
        print(
            f"{url:40} queries {queries:2d}   median {statistics.median(times):7.1f} ms"
            f"   p95 {p95:7.1f} ms   ({runs} requests)",
            flush=True,
        )


if __name__ == "__main__":
    main()
