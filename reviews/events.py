"""The review domain's audit events: their type names and the payloads they carry.

Every ``record_event`` of ``reviews.services`` and ``reviews.transitions`` names its type
from here, so the names the timeline, the labels and the reports key on are defined once.
"""

from typing import Any

QUEUE_ACCESS_GRANTED = "review_queue.access_granted"
QUEUE_ACCESS_REVOKED = "review_queue.access_revoked"
QUEUE_OWNERS_CHANGED = "review_queue.owners_changed"

TASK_OPENED = "review_task.opened"
TASK_CLAIMED = "review_task.claimed"
TASK_RELEASED = "review_task.released"
TASK_REASSIGNED = "review_task.reassigned"

# A reviewer's absence (subject: the absence) and each claimed task it moved (subject: the
# task; payload: the absence, from, to).
ABSENCE_SET = "reviewer_absence.set"
ABSENCE_CANCELLED = "reviewer_absence.cancelled"
ABSENCE_TASK_HANDED_OVER = "reviewer_absence.task_handed_over"
ABSENCE_TASK_RELEASED = "reviewer_absence.task_released"

PII_REVEALED = "review.pii_revealed"
FIRST_APPROVAL = "review.first_approval"
DECIDED = "review.decided"
ESCALATED = "review.escalated"
TIMED_OUT = "review.timed_out"
SLA_ESCALATED = "review.sla_escalated"

# The personal data the decision package shows unmasked once revealed.
PII_FIELDS = ["email", "phone", "address"]


def queue_access_payload(*, user=None, group=None) -> dict[str, Any]:
    return {"user": getattr(user, "pk", None), "group": getattr(group, "name", None)}


def task_released_payload(*, previous_assignee: str, reason: str = "") -> dict[str, Any]:
    payload: dict[str, Any] = {"previous_assignee": previous_assignee}
    if reason:
        payload["reason"] = reason
    return payload


def pii_revealed_payload(*, task) -> dict[str, Any]:
    return {"task": task.pk, "customer": task.request.customer_id, "fields": PII_FIELDS}


def decided_payload(*, task, decision, outcome: str, **details: Any) -> dict[str, Any]:
    """``review.decided``: the task, the decision, the outcome, then the outcome's own
    details (reason and comment, the question, the approved figures...)."""
    return {"task": task.pk, "decision": decision.pk, "outcome": outcome, **details}


def absence_payload(absence) -> dict[str, Any]:
    return {
        "user": absence.user.get_username(),
        "delegate": absence.delegate.get_username() if absence.delegate_id else None,
        "starts_at": absence.starts_at,
        "ends_at": absence.ends_at,
        "note": absence.note,
    }
