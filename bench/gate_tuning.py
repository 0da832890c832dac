"""Precision of the gate-tuning suggestions on a deterministic reviewed history.

    .venv/bin/python bench/gate_tuning.py [--per-day 60] [--weeks 8] [--holdout 0.5] [--seed 15]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hitl_p2 .venv/bin/python bench/gate_tuning.py

The imported half of the demo history (``hitl_site.demo_history.imported``: simulated
humans whose chance of approving a proposal unchanged depends on the case), seeded into a
throw-away database (a temp SQLite file, or ``test_<name>_bench`` on PostgreSQL) with its
own knobs: ``--weeks`` of requests, ``--per-day`` a day, routed by the real gate under an
active policy that also reviews enterprise customers and the US (version 2, as an admin
might have set it); the last two days are partly still in review. (``seed_demo --history``
imports the same traffic under the demo's version 1, beside a reviewed history; its figures
are in the README.)

Then it runs ``manage.py suggest_gate_changes`` (all of the window) and
``suggest_gate_changes --holdout F``: suggestions from the earlier part, their precision
(share approved unchanged by the humans) on the later part — the figure to read.
"""

import argparse


def seed(*, per_day: int, weeks: int, seed_value: int) -> None:
    from audit.services import Actor
    from hitl_site.demo_history.imported import gate_history_import
    from refunds.gate.services import gate_policy_version_activate, gate_policy_version_create
    from refunds.models import Integration

    actor = Actor.system("bench")
    policy = gate_policy_version_create(
        values={"review_tiers": ["enterprise"], "review_countries": ["US"]},
        change_note="bench: enterprise customers and the US reviewed",
        actor=actor,
    )
    gate_policy_version_activate(version=policy, actor=actor)
    integration = Integration.objects.create(name="bench-gate-tuning", kind="web_form")
    history = gate_history_import(
        integration=integration,
        policy=policy,
        per_day=per_day,
        weeks=weeks,
        seed=seed_value,
        leave_recent_open=True,
        actor=actor,
    )
    print(
        f"Seeded {history.requests} requests over {weeks} weeks under policy v{policy.version}: "
        f"auto {history.auto}, approved {history.approved}, edited {history.edited}, "
        f"rejected {history.rejected}, open {history.open}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=60)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--holdout", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    from _setup import use_bench_database

    use_bench_database()
    from django.core.management import call_command
    from django.db import connection

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        seed(per_day=args.per_day, weeks=args.weeks, seed_value=args.seed)
        print("\n$ manage.py suggest_gate_changes", flush=True)
        call_command("suggest_gate_changes")
        print(f"\n$ manage.py suggest_gate_changes --holdout {args.holdout}", flush=True)
        call_command("suggest_gate_changes", "--holdout", str(args.holdout))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
