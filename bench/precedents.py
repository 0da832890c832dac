"""A deterministic demo history for measuring precedents: after ``seed_demo``, drafts
``--cases`` requests with the offline drafter (precedents off, so every draft is the
heuristics' own) and has the demo superuser decide each through ``review_decide`` by
house rules the heuristics do not know, repeated with varied wording:

- "opened and used, now not working": the draft refunds in full, reviewers refund half;
- "cracked after I dropped it": the draft refunds, reviewers reject (customer damage);
- "arrived damaged in the box": the draft refunds in full, reviewers approve as drafted;
- "tracking says delivered but I never got it": the draft asks, reviewers reject;
- "want a different size/colour": the draft offers a replacement, reviewers approve.

Reviewers are not perfectly consistent: ``--noise`` (default 0.1) of the cases are
approved as drafted whatever the rule says.

Then measure, e.g. (a scratch SQLite database)::

    export DATABASE_URL=sqlite:///var/precedents-demo.sqlite3
    .venv/bin/python manage.py migrate -v0 && .venv/bin/python manage.py seed_demo
    .venv/bin/python bench/precedents.py --cases 150
    .venv/bin/python manage.py export_eval_set --since 2000-01-01 -o var/precedents.jsonl
    .venv/bin/python manage.py evaluate_drafter --dataset var/precedents.jsonl \\
        --precedents both --split 0.7
"""

import argparse
import os
import random
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings.local")
os.environ["HITL_PRECEDENTS_K"] = "0"  # the history's drafts are the heuristics' own

ITEMS = ["headphones", "blender", "desk lamp", "kettle", "speaker", "keyboard", "drone"]
# pattern -> (message templates, the reviewer's rule)
PATTERNS = {
    "used": (
        [
            "I opened the {item} and used it for a week, now it is not working properly.",
            "Used the {item} a few times since opening it and it stopped, not working now.",
            "After opening and using the {item} for some days it is not working any more.",
        ],
        "half",
    ),
    "dropped": (
        [
            "The {item} is cracked after I dropped it on the floor, please refund.",
            "I dropped the {item} and now the case is cracked, I want my money back.",
            "My {item} fell off the table and cracked, can I get a refund?",
        ],
        "reject",
    ),
    "transit": (
        [
            "The {item} arrived damaged in the box, the packaging was crushed.",
            "Box was crushed and the {item} arrived damaged.",
            "The {item} came damaged, the parcel was dented when it arrived.",
        ],
        "approve",
    ),
    "tracking": (
        [
            "Tracking says the {item} was delivered but I never got it, where is it?",
            "The courier marked the {item} as delivered, it is not at my door.",
            "My {item} shows delivered in tracking but nothing came.",
        ],
        "reject",
    ),
    "size": (
        [
            "The {item} is the wrong colour, could I exchange it for the black one?",
            "Can I swap the {item} for a different size please?",
            "I would like to exchange the {item} for another colour.",
        ],
        "approve",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=150)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--noise", type=float, default=0.1)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from refunds.agent.providers import build_provider
    from refunds.models import Customer, Integration, Order, RefundRequest
    from refunds.pipeline import refund_request_run_pipeline
    from reviews.models import ReviewTask
    from reviews.services import review_decide

    rng = random.Random(args.seed)
    integration = Integration.objects.get(name="demo-web-form")
    reviewer = get_user_model().objects.get(username="admin")
    provider = build_provider("offline")
    now = timezone.now()
    decided = skipped = 0
    names = list(PATTERNS)
    for n in range(args.cases):
        pattern = names[n % len(names)] if n < len(names) else rng.choice(names)
        templates, rule = PATTERNS[pattern]
        item = rng.choice(ITEMS)
        amount = Decimal(rng.randrange(40, 200))
        customer = Customer.objects.create(
            integration=integration,
            external_id=f"prec-cust-{args.seed}-{n}",
            name=f"Customer {n}",
            email=f"prec{n}@example.com",
            tier=Customer.Tier.STANDARD,
            country="GB",
        )
        order = Order.objects.create(
            integration=integration,
            customer=customer,
            external_id=f"prec-ord-{args.seed}-{n}",
            amount=amount,
            currency="GBP",
            status=Order.Status.DELIVERED,
            ordered_at=now - timedelta(days=12),
            delivered_at=now - timedelta(days=8),
            items=[{"sku": f"P{n}", "name": item, "quantity": 1, "unit_price": str(amount)}],
        )
        request = RefundRequest.objects.create(
            integration=integration,
            channel=RefundRequest.Channel.WEB,
            customer=customer,
            order=order,
            message=rng.choice(templates).format(item=item),
            requested_amount=amount,
            currency="GBP",
        )
        refund_request_run_pipeline(request_id=request.pk, batch_size=1, provider=provider)
        task = ReviewTask.objects.filter(request=request, active=1).first()
        if task is None:
            skipped += 1
            continue
        if rng.random() < args.noise:
            rule = "approve"
        if rule == "reject":
            reason = "policy_not_met" if pattern == "dropped" else "insufficient_evidence"
            review_decide(
                task=task,
                user=reviewer,
                outcome="reject",
                reason_code=reason,
                comment="Damage caused by the customer."
                if pattern == "dropped"
                else "Courier proof of delivery.",
            )
        elif rule == "half":
            review_decide(
                task=task,
                user=reviewer,
                outcome="approve_with_edits",
                action="approve_refund",
                amount=(amount / 2).quantize(Decimal("0.01")),
                comment="Opened and used: half refund.",
            )
        else:
            review_decide(task=task, user=reviewer, outcome="approve")
        decided += 1
    print(f"cases: {args.cases}; decided by a human: {decided}; not sent to review: {skipped}")


if __name__ == "__main__":
    main()
