"""The case timeline: one page that answers why an action was taken, on which policy text,
what the model recommended, who approved it and what was executed — read from the audit
log (``audit.selectors.audit_events_for_subject``), the case thread (``refunds.thread``:
the conversation with the customer, the drafts and the decisions, as the review page shows
it) and the execution records."""

from dataclasses import dataclass, field
from typing import Any

from audit.models import AuditEvent
from audit.selectors import audit_events_for_subject

from .models import Execution, RefundRequest
from .thread import CaseThread, case_thread

# Which events answer which question; the latest event of each kind is shown in the summary.
QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("Which policy text was used", ("context.retrieved",)),
    ("What the model recommended", ("proposal.created",)),
    ("Why it was routed as it was", ("gate.evaluated",)),
    ("Who reviewed it", ("review.decided", "review.claimed", "review.escalated")),
    ("Who approved the final action", ("decision.finalized",)),
    ("What was executed", ("execution.recorded", "execution.failed", "execution.refused")),
]


@dataclass(frozen=True)
class TimelineAnswer:
    question: str
    event: AuditEvent | None


@dataclass
class CaseTimeline:
    request: RefundRequest
    events: list[AuditEvent]
    answers: list[TimelineAnswer]
    thread: CaseThread
    executions: list[Execution] = field(default_factory=list)
    related: dict[str, list[Any]] = field(default_factory=dict)


def refund_request_timeline(*, request: RefundRequest) -> CaseTimeline:
    """Every audit event about ``request`` in chain order, the event answering each of the
    questions above, the case thread (messages out, replies in, drafts and decisions), and
    the execution, ledger and webhook records."""
    events = list(
        audit_events_for_subject(
            subject_type=RefundRequest._meta.label_lower, subject_id=str(request.pk)
        ).order_by("sequence")
    )
    latest: dict[str, AuditEvent] = {}
    for event in events:
        latest[event.event_type] = event
    answers = []
    for question, types in QUESTIONS:
        found = [latest[t] for t in types if t in latest]
        answers.append(
            TimelineAnswer(question, max(found, key=lambda e: e.sequence) if found else None)
        )
    return CaseTimeline(
        request=request,
        events=events,
        answers=answers,
        thread=case_thread(request=request),
        executions=list(request.executions.order_by("created_at")),
        related={
            "Refunds in the ledger": list(request.ledger_refunds.all()),
            "Replacement orders": list(request.replacement_orders.all()),
            "Webhook deliveries": list(request.webhook_deliveries.order_by("created_at")),
        },
    )
