"""The dashboard benchmark's data (``bench/dashboard.py``): N refund requests through the
whole loop, written with ``bulk_create`` in batches — each with its proposal and gate
evaluation spread over 90 days, 30 % routed to review with a task and a final human
decision (some overridden, some rejected with a reason code, some seen by two reviewers),
every approval with its execution (3 % failed)."""

import random
from datetime import timedelta
from decimal import Decimal


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
