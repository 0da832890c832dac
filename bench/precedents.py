"""Does drafting with precedents agree more with reviewers? One command, on the demo's
reviewed history (``hitl_site.demo_history.reviewed``: five kinds of complaint that
reviewers decide by house rules the offline heuristics do not know, ``--noise`` of them
approved as drafted whatever the rule says)::

    .venv/bin/python bench/precedents.py [--cases 150] [--seed 15] [--noise 0.1] [--split 0.7]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hitl_p2 .venv/bin/python bench/precedents.py

In a throw-away database (a temp SQLite file, or ``test_<name>_bench`` on PostgreSQL, so
the full-text finder is measured there): ``seed_demo``, ``--cases`` requests drafted,
gated and decided in review, then ``export_eval_set`` and ``evaluate_drafter --precedents
both --split F``: the oldest ``F`` of the decisions are the precedent corpus, the rest are
re-drafted without and with precedents and compared with what the reviewers decided.
"""

import argparse
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=150)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--split", type=float, default=0.7)
    args = parser.parse_args()

    from _setup import use_bench_database

    use_bench_database()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    scratch = Path(tempfile.mkdtemp())
    settings.VAR_DIR = scratch  # the demo's API key file: not the developer's own
    try:
        from hitl_site.demo import demo_seed
        from hitl_site.demo_history.reviewed import reviewed_history_seed

        integration = demo_seed()["integration"]
        history = reviewed_history_seed(
            integration=integration, cases=args.cases, seed=args.seed, noise=args.noise
        )
        print(
            f"cases: {history.cases}; decided by a human: {history.decided}; "
            f"not sent to review: {history.not_reviewed}",
            flush=True,
        )
        dataset = scratch / "evalset.jsonl"
        call_command("export_eval_set", "--since", "2000-01-01", "-o", str(dataset))
        print(f"\n$ manage.py evaluate_drafter --precedents both --split {args.split}", flush=True)
        call_command(
            "evaluate_drafter",
            "--dataset",
            str(dataset),
            "--precedents",
            "both",
            "--split",
            str(args.split),
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
