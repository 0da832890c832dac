"""The refund request state machine: the statuses and the only moves allowed between them.

received ──> drafting ──> gated ──> auto_approved ──────────────┐
   ▲  │         │           │                                   ▼
   │  │         └─> received (re-driven after a crash)       executing ──> executed
   │  │                     └──> in_review ──> approved ──────▲   │
   │  │                          │  ▲   │ └──> rejected           └──> execution_failed
   │  │                          │  │   └────> escalated ──> approved / rejected  │  │
   │  │                          ▼  │                                    (retry) ◄─┘  └─> closed
   └──┴──────────── awaiting_customer (customer replied: draft again)
                           ▲
executing ─────────────────┘ (request_more_info executed: the customer was asked)
any open status ──> expired
"""

from django.db import models


class RefundStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    DRAFTING = "drafting", "Drafting"
    GATED = "gated", "Gated"
    IN_REVIEW = "in_review", "In review"
    ESCALATED = "escalated", "Escalated"
    AWAITING_CUSTOMER = "awaiting_customer", "Awaiting customer"
    AUTO_APPROVED = "auto_approved", "Auto-approved"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXECUTING = "executing", "Executing"
    EXECUTED = "executed", "Executed"
    EXECUTION_FAILED = "execution_failed", "Execution failed"
    EXPIRED = "expired", "Expired"
    CLOSED = "closed", "Closed"


S = RefundStatus

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.DRAFTING, S.EXPIRED}),
    S.DRAFTING: frozenset({S.GATED, S.RECEIVED, S.EXPIRED}),
    S.GATED: frozenset({S.AUTO_APPROVED, S.IN_REVIEW}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.ESCALATED, S.AWAITING_CUSTOMER, S.EXPIRED}),
    S.ESCALATED: frozenset({S.APPROVED, S.REJECTED, S.IN_REVIEW, S.AWAITING_CUSTOMER, S.EXPIRED}),
    S.AWAITING_CUSTOMER: frozenset({S.RECEIVED, S.EXPIRED}),
    S.AUTO_APPROVED: frozenset({S.EXECUTING}),
    S.APPROVED: frozenset({S.EXECUTING}),
    S.EXECUTING: frozenset({S.EXECUTED, S.EXECUTION_FAILED, S.AWAITING_CUSTOMER}),
    S.EXECUTION_FAILED: frozenset({S.EXECUTING, S.CLOSED}),
    S.EXECUTED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CLOSED: frozenset(),
}

TERMINAL_STATUSES = frozenset(s for s, moves in ALLOWED_TRANSITIONS.items() if not moves)
# A decision is final (and may reach the executor) only in these statuses.
FINAL_APPROVED_STATUSES = frozenset({S.AUTO_APPROVED, S.APPROVED})


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())
