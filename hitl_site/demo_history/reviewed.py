"""A reviewed history for the demo, worked through the real pipeline: each case is drafted
by the offline drafter with no precedents (the history stands for the weeks before they
were switched on, so every draft is the heuristics' own), routed by the gate, and decided
in review by the demo senior reviewer through ``review_decide`` by house rules the
heuristics do not know, in varied wording:

- "opened and used, now not working": the draft refunds in full, reviewers refund half;
- "cracked after I dropped it": the draft refunds, reviewers reject (customer damage);
- "arrived damaged in the box": the draft refunds in full, reviewers approve as drafted;
- "tracking says delivered but I never got it": the draft asks, reviewers reject;
- "want a different size/colour": the draft offers a replacement, reviewers approve.

Reviewers are not perfectly consistent: a ``noise`` share of the cases is approved as
drafted whatever the rule says; otherwise a draft that does not follow the rule is edited
to it. This is what precedents learn from (``evaluate_drafter
--precedents both``) and what the decision page shows under "Similar past cases"."""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from refunds import hooks
from refunds.agent.providers import build_provider
from refunds.models import Customer, Integration, Order, RefundRequest
from refunds.pipeline import refund_request_run_pipeline
from refunds.services import refund_request_create
from reviews.decision_package import proposed_decision
from reviews.models import ReviewTask
from reviews.services import review_decide

CUSTOMER_PREFIX = "hist-cust-"
ITEMS = ["headphones", "blender", "desk lamp", "kettle", "speaker", "keyboard", "drone"]
# pattern -> (message templates, the reviewers' rule: reject, or grant what _house_rule says)
PATTERNS = {
    "used": (
        [
            "I opened the {item} and used it for a week, now it is not working properly.",
            "Used the {item} a few times since opening it and it stopped, not working now.",
            "After opening and using the {item} for some days it is not working any more.",
        ],
        "grant",
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
        "grant",
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
        "grant",
    ),
}
REJECTIONS = {
    "dropped": ("policy_not_met", "Damage caused by the customer."),
    "tracking": ("insufficient_evidence", "Courier proof of delivery."),
}


@dataclass(frozen=True)
class ReviewedHistory:
    cases: int
    decided: int
    not_reviewed: int


def reviewed_history_seed(
    *, integration: Integration, cases: int, seed: int, noise: float = 0.1, reviewer=None
) -> ReviewedHistory:
    """Creates and decides ``cases`` requests (customers ``hist-cust-<seed>-<n>``); the
    same arguments give the same history. Callers make it idempotent."""
    rng = random.Random(seed)
    reviewer = reviewer or get_user_model().objects.get(username="senior")
    provider = build_provider("offline")
    names = list(PATTERNS)
    decided = not_reviewed = 0
    for n in range(cases):
        pattern = names[n % len(names)] if n < len(names) else rng.choice(names)
        request = _request_create(integration, rng, pattern, f"{seed}-{n}")
        with hooks.precedent_finder.override(None):
            refund_request_run_pipeline(request_id=request.pk, batch_size=1, provider=provider)
        task = ReviewTask.objects.filter(request=request, active=1).first()
        if task is None:
            not_reviewed += 1
            continue
        rule = "as_drafted" if rng.random() < noise else PATTERNS[pattern][1]
        _decide(task, reviewer, pattern, rule)
        decided += 1
    return ReviewedHistory(cases=cases, decided=decided, not_reviewed=not_reviewed)


def _request_create(integration, rng, pattern: str, suffix: str) -> RefundRequest:
    """Through intake (``refund_request_create``), as the API would: audited, webhooked."""
    templates, _ = PATTERNS[pattern]
    item = rng.choice(ITEMS)
    amount = Decimal(rng.randrange(40, 200))
    now = timezone.now()
    data = {
        "channel": RefundRequest.Channel.WEB,
        "message": rng.choice(templates).format(item=item),
        "requested_amount": amount,
        "customer": {
            "external_id": f"{CUSTOMER_PREFIX}{suffix}",
            "name": f"Customer {suffix}",
            "email": f"hist-{suffix}@example.com",
            "tier": Customer.Tier.STANDARD,
            "country": "GB",
        },
        "order": {
            "external_id": f"hist-ord-{suffix}",
            "amount": amount,
            "currency": "GBP",
            "status": Order.Status.DELIVERED,
            "ordered_at": now - timedelta(days=12),
            "delivered_at": now - timedelta(days=8),
            "items": [{"sku": f"H{suffix}", "name": item, "quantity": 1, "unit_price": amount}],
        },
    }
    return refund_request_create(integration=integration, data=data).request


def _decide(task: ReviewTask, reviewer, pattern: str, rule: str) -> None:
    """Applies the house rule whatever the draft said (reviewers know the rule; the draft
    may or may not have followed earlier precedents): approved as drafted when the draft
    already matches it, edited to it otherwise."""
    if rule == "reject":
        reason, comment = REJECTIONS[pattern]
        review_decide(
            task=task, user=reviewer, outcome="reject", reason_code=reason, comment=comment
        )
        return
    proposed = proposed_decision(task.request)
    if rule == "as_drafted" and proposed is not None:
        review_decide(task=task, user=reviewer, outcome="approve")
        return
    action, amount, comment = _house_rule(pattern, task.request.order.amount)
    if proposed is not None and (proposed.action, proposed.amount) == (action, amount):
        review_decide(task=task, user=reviewer, outcome="approve")
        return
    review_decide(
        task=task,
        user=reviewer,
        outcome="approve_with_edits",
        action=action,
        amount=amount,
        comment=comment,
    )


def _house_rule(pattern: str, order_amount: Decimal) -> tuple[str, Decimal, str]:
    if pattern == "used":
        half = (order_amount / 2).quantize(Decimal("0.01"))
        return "approve_refund", half, "Opened and used: half refund."
    if pattern == "size":
        return "offer_replacement", Decimal("0.00"), "Exchange: replacement."
    return "approve_refund", order_amount, "Damaged in transit: full refund."
