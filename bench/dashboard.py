"""Benchmark of the operations dashboard at 1,000,000 refund requests.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hitl_ops \
        .venv/bin/python bench/dashboard.py [--rows 1000000] [--runs 20]
    .venv/bin/python bench/dashboard.py --rows 50000             # SQLite (a temp file)

Creates a throw-away test database (``test_<name>_bench`` on PostgreSQL), seeds N refund
requests (default 1,000,000; ``--rows``) with ``bulk_create`` in batches — each with its
proposal and gate evaluation spread over 90 days, 30 % routed to review with a task and a
final human decision (some overridden, some rejected with a reason code, some seen by two
reviewers), every approval with its execution (3 % failed) — then rolls up every closed
day and today's full hours (``analytics.rollup``, the hourly schedule's work; timed and
printed separately), then, as an auditor, requests the dashboard (default 30-day period,
and filtered variants) through Django's test client and prints the query count and the
median and p95 server time. ``--reuse`` migrates the kept database first (new tables and
indexes) and rolls it up again; ``--no-rollup`` times the page on the live tables alone.
Target (issue 8): median <= 300 ms on PostgreSQL.
"""

import argparse
import statistics
import time
from datetime import timedelta

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

    from analytics import rollup
    from analytics.counting import dimension_values
    from refunds.models import GateEvaluation

    oldest = GateEvaluation.objects.aggregate(first=Min("created_at"))["first"]
    if oldest is None:
        return
    today = timezone.localdate()
    day, days, rows = timezone.localdate(oldest), 0, 0
    t0 = time.perf_counter()
    dims = dimension_values()
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
        from _dashboard_seed import seed

        seed(n, batch)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
    n = RefundRequest.objects.count()
    seeded = time.perf_counter() - t0
    print(f"database: {connection.vendor}; refund requests: {n:,} (seeded in {seeded:.0f} s)")
    from analytics.models import DailyLoopCount, DailyLoopRollup

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
