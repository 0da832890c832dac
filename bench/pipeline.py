"""Pipeline throughput: intake → draft → gate for N requests against a slow model.

One command (SQLite + ORM broker, a fresh database file in a temporary directory):

    .venv/bin/python bench/pipeline.py --cases 1000 --delay 1.0

PostgreSQL + Redis (the database is migrated; only this run's requests are measured):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hitl_agent \
    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/pipeline.py --cases 1000

What runs: an OpenAI-compatible server on 127.0.0.1 in this process that answers every
chat completion after ``--delay`` seconds (a well-formed tool call), a real
``manage.py qcluster`` (``--workers`` processes) drafting through the ``openai`` provider,
i.e. the real langchain-openai client over HTTP, and the intake API called in this process
(DRF test client, API-key authentication, the real intake service) for every case. The
clock runs from the first intake to the last gate decision.

Prints: cases/s, p50/p95 end-to-end latency (intake commit → gate decision), model calls in
flight (peak, counted by the server), and peak memory of all processes (this one plus the
whole cluster tree), as the sum of PSS (shared pages counted once) and of RSS.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _memory import MemorySampler  # noqa: E402  (bench/ is on the path when run as a script)

MESSAGES = [
    "My order arrived broken, the screen is cracked. Please refund me.",
    "The item is damaged, the box was crushed and it does not work.",
    "It stopped working after two days, it's defective.",
    "Arrived broken!! I want my money back.",
    "Could you exchange it for another size please?",
    "I am not happy with this product.",
    "The parcel arrived damaged, refund please. Otherwise I will file a chargeback.",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument(
        "--delay", type=float, default=1.0, help="Seconds the fake model takes to answer each call."
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="Intake rate in requests/s (0: as fast as intake goes).",
    )
    parser.add_argument("--workers", type=int, default=2, help="qcluster worker processes.")
    parser.add_argument(
        "--intake-threads",
        type=int,
        default=1,
        help="Concurrent intake callers (as several web workers would be); "
        "on SQLite more than one mostly adds write-lock contention.",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="HITL_DRAFT_CONCURRENCY: model calls in flight per worker.",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=32,
        help="HITL_DRAFT_BATCH_SIZE: requests a task claims at once.",
    )
    parser.add_argument("--timeout", type=float, default=600.0)
    return parser.parse_args()


# --- The run --------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    # A SIGTERM (e.g. from `timeout`) unwinds through the finally blocks that stop the cluster.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    # The same cluster name here (which enqueues) and in the cluster (which dequeues).
    os.environ.update(
        DJANGO_SETTINGS_MODULE="hitl_site.settings.local",
        HITL_VAR_DIR=str(workdir),
        LOG_LEVEL="WARNING",
        DEBUG="false",
        Q_CLUSTER_NAME=f"bench-{os.getpid()}",
        Q_POLL="0.1",
    )
    from refunds.tests.openai_server import FakeOpenAIServer

    server = FakeOpenAIServer(delay=args.delay).start()
    cluster_env = {
        **os.environ,
        "HITL_DRAFTER_PROVIDER": "openai",
        "HITL_OPENAI_BASE_URL": server.base_url,
        "HITL_OPENAI_API_KEY": "bench",
        "HITL_OPENAI_MODEL": "bench-model",
        "HITL_OPENAI_TIMEOUT": "30",
        "HITL_OPENAI_MAX_RETRIES": "2",
        "Q_WORKERS": str(args.workers),
        "HITL_DRAFT_CONCURRENCY": str(args.concurrency),
        "HITL_DRAFT_BATCH_SIZE": str(args.batch),
    }
    _create_postgres_database(os.environ["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=cluster_env,
        check=True,
    )

    import django

    django.setup()
    from django.db import connection

    database = f"{connection.vendor} ({connection.settings_dict['NAME']})"
    broker = "Redis" if os.environ.get("REDIS_URL") else "ORM"
    print(
        f"database: {database}, broker: {broker}, cases: {args.cases}, model delay: "
        f"{args.delay}s, workers: {args.workers}, concurrency/worker: {args.concurrency}, "
        f"batch: {args.batch}, intake threads: {args.intake_threads}",
        flush=True,
    )
    key, integration = _setup_intake()

    log = (workdir / "qcluster.log").open("w")
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=cluster_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    sampler = MemorySampler([os.getpid(), cluster.pid])
    sampler.start()
    try:
        time.sleep(3)  # let the cluster start its workers before the clock starts
        cpu_before = os.times()
        result = _run(args, key, integration)
    finally:
        sampler.stop()
        _stop(cluster)
        log.close()
        server.stop()
    cpu_after = os.times()  # children: the cluster and its workers, reaped by _stop
    result.update(
        {
            "model_calls": len(server.requests),
            "model_calls_in_flight_peak": server.peak_in_flight,
            "peak_memory_pss_mib": round(sampler.peak_pss / 1024),
            "peak_memory_rss_mib": round(sampler.peak_rss / 1024),
            "processes_peak": sampler.peak_processes,
            # CPU per case, less sensitive than cases/s to what else the machine runs.
            # "intake" includes this process's polling and fake model server; "cluster"
            # includes the cluster's start-up and idle polling; databases not counted.
            "cpu_ms_per_case_intake": _cpu_ms(cpu_before, cpu_after, args.cases, "self"),
            "cpu_ms_per_case_cluster": _cpu_ms(cpu_before, cpu_after, args.cases, "children"),
        }
    )
    print(json.dumps(result, indent=2))
    if connection.vendor == "sqlite":
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"cluster log: {workdir / 'qcluster.log'}")


def _cpu_ms(before, after, cases: int, whose: str) -> float:
    if whose == "self":
        seconds = (after.user - before.user) + (after.system - before.system)
    else:
        seconds = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
    return round(seconds * 1000 / max(cases, 1), 1)


def _create_postgres_database(url: str) -> None:
    """Creates the PostgreSQL database named in ``url`` if it does not exist yet."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg
    from psycopg import sql

    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _setup_intake():
    from audit.services import Actor
    from hitl_site.demo import DEMO_POLICY_TEXT
    from refunds.models import Integration, RefundPolicy
    from refunds.policies import refund_policy_version_create
    from refunds.services import integration_api_key_create

    policy, _ = RefundPolicy.objects.get_or_create(
        slug="refund-policy", defaults={"title": "Refund policy"}
    )
    refund_policy_version_create(policy=policy, text=DEMO_POLICY_TEXT, actor=Actor.system("bench"))
    integration = Integration.objects.create(
        name=f"bench-{time.time_ns()}", kind=Integration.Kind.WEB_FORM, throttle_rate="100000/min"
    )
    _, key = integration_api_key_create(
        integration=integration, name="bench", actor=Actor.system("bench")
    )
    return key, integration


def _client(key: str):
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def _payload(i: int, run: str) -> dict:
    from django.utils import timezone

    now = timezone.now()
    amount = f"{10 + (i * 7) % 90}.00"
    return {
        "channel": "web",
        "external_reference": f"{run}-{i}",
        "customer": {
            "external_id": f"{run}-c{i % 400}",
            "name": f"Customer {i % 400}",
            "email": f"c{i % 400}@example.com",
            "tier": "standard",
            "country": "GB",
        },
        "order": {
            "external_id": f"{run}-o{i}",
            "amount": amount,
            "currency": "GBP",
            "items": [{"sku": "W-1", "name": "Widget", "quantity": 1, "unit_price": amount}],
            "ordered_at": (now - timezone.timedelta(days=9)).isoformat(),
            "delivered_at": (now - timezone.timedelta(days=5)).isoformat(),
            "status": "delivered",
        },
        "message": MESSAGES[i % len(MESSAGES)],
        "requested_amount": amount,
    }


def _run(args, key, integration) -> dict:
    from django.db import connections
    from django.db.models import Min
    from django.urls import reverse

    from refunds.models import GateEvaluation, RefundRequest

    url = reverse("api:refund-request-list")
    local = threading.local()

    def post(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = _client(key)
        response = local.client.post(url, _payload(i, integration.name), format="json")
        assert response.status_code == 201, response.content

    started = time.monotonic()
    with ThreadPoolExecutor(
        max_workers=args.intake_threads, initializer=connections.close_all
    ) as pool:
        futures = []
        for i in range(args.cases):
            if args.rate:
                time.sleep(max(0.0, started + i / args.rate - time.monotonic()))
            futures.append(pool.submit(post, i))
        for future in futures:
            future.result()
        # Each intake thread closes its own database connection.
        list(pool.map(lambda _: connections.close_all(), range(args.intake_threads * 4)))
    intake_seconds = time.monotonic() - started
    print(f"intake done: {args.cases} requests in {intake_seconds:.1f}s", flush=True)

    ours = RefundRequest.objects.filter(integration=integration)
    deadline = time.monotonic() + args.timeout
    done = 0
    while time.monotonic() < deadline:
        done = (
            GateEvaluation.objects.filter(request__integration=integration)
            .values("request")
            .distinct()
            .count()
        )
        if done >= args.cases:
            break
        time.sleep(0.5)
    rows = list(
        ours.annotate(gated_at=Min("gate_evaluations__created_at")).values_list(
            "created_at", "gated_at", "status"
        )
    )
    finished = [(c, g) for c, g, _ in rows if g is not None]
    latencies = sorted((g - c).total_seconds() for c, g in finished)
    first = min(c for c, _, _ in rows)
    last = max(g for _, g in finished) if finished else first
    elapsed = (last - first).total_seconds() or 1e-9
    statuses: dict[str, int] = {}
    for _, _, status in rows:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "cases": args.cases,
        "finished": len(finished),
        "elapsed_s": round(elapsed, 2),
        "cases_per_s": round(len(finished) / elapsed, 1),
        "intake_per_s": round(args.cases / intake_seconds, 1),
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2)
        if latencies
        else None,
        "statuses": statuses,
    }


def _stop(cluster: subprocess.Popen) -> None:
    if cluster.poll() is None:
        cluster.terminate()
    try:
        cluster.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=5)


if __name__ == "__main__":
    main()
