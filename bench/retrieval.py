"""Top-1 accuracy of policy-section retrieval on the labelled messages.

    .venv/bin/python bench/retrieval.py            # accuracy, then each miss
    .venv/bin/python bench/retrieval.py --all      # every message with its top three

Ranks the demo refund policy's sections (``hitl_site.demo.DEMO_POLICY_TEXT``) for each message
of ``refunds/agent/tests/labelled_messages.py`` exactly as the pipeline does (the query from
``draft_query``, the index from ``PolicyIndex``) and prints the share whose expected section
comes first: on the labelled set the ranking was tuned on, and on the held-out set it never
was (the honest figure). No database: the policy text is indexed in memory.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings.test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="print every message's top three")
    args = parser.parse_args()

    import django

    django.setup()
    from refunds.agent.retrieval import draft_query
    from refunds.agent.tests.labelled_messages import (
        HELD_OUT_MESSAGES,
        LABELLED_MESSAGES,
        demo_policy_index,
        top1_accuracy,
    )

    index = demo_policy_index()
    for name, cases in (("labelled", LABELLED_MESSAGES), ("held-out", HELD_OUT_MESSAGES)):
        accuracy, misses = top1_accuracy(index, cases)
        total = len(cases)
        print(f"top-1 accuracy, {name}: {accuracy:.1%} ({total - len(misses)}/{total} messages)")
        for case, got in misses:
            print(f"  miss: {case.message!r}\n        expected {case.expected}, ranked first {got}")
    if args.all:
        for case in LABELLED_MESSAGES + HELD_OUT_MESSAGES:
            query = draft_query(
                message=case.message, item_names=[case.item], order_status=case.order_status
            )
            top = ", ".join(f"{s.section_id} {s.score:.2f}" for s in index.rank(query))
            mark = "ok  " if index.rank(query, k=1)[0].section_id == case.expected else "MISS"
            print(f"{mark} {case.message[:60]!r:64} {top}")


if __name__ == "__main__":
    main()
