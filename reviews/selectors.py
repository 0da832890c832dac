"""Reads of human review that carry rules: which tasks a user sees, in what order, and
everything the decision package shows — each in a fixed number of queries."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet, Value
from django.utils import timezone

from refunds.agent.providers import OFFLINE, drafter_name
from refunds.models import GateEvaluation, Proposal, RefundRequest
from refunds.selectors import RefundHistory, customer_refund_history
from refunds.thread import CaseThread, case_thread

from . import permissions as perms
from .models import Queue, ReviewDecision, ReviewTask, TaskStatus

QUEUE_PAGE_FIELDS = (
    "id",
    "priority",
    "status",
    "reasons",
    "due_at",
    "deadline_at",
    "claim_expires_at",
    "escalated_at",
    "created_at",
    "version",
    "queue__id",
    "queue__slug",
    "queue__name",
    "assignee__id",
    "assignee__username",
    "request__id",
    "request__public_id",
    "request__status",
    "request__requested_amount",
    "request__currency",
    "request__channel",
    "request__created_at",
    "request__customer__id",
    "request__customer__name",
    "request__customer__tier",
)


def review_queue_for_user(
    *,
    user,
    queue: str = "",
    status: str = "",
    priority: str = "",
    reason: str = "",
    search: str = "",
    now: datetime | None = None,
) -> QuerySet[ReviewTask]:
    """The open tasks of the queues ``user`` may work, most urgent first (priority, then
    due time). Filters: ``queue`` (slug), ``status`` (``open``: unclaimed or with a claim
    that ran out; ``mine``; ``claimed``; ``escalated``), ``priority``, ``reason`` (a gate
    reason code), ``search`` (request id prefix, customer name or external id, order id).

    Loads only the columns the queue page shows, joined in one query. "queue_id + 0" keeps
    the planner off the per-queue index: it then walks review_task_open_order in page
    order and stops after the page, instead of joining and sorting every open task of the
    user's queues (528 ms → a few ms at 100,000 tasks on SQLite)."""
    ids = _queue_filter_ids(user, queue)
    qs = (
        ReviewTask.objects.alias(queue_key=F("queue_id") + Value(0))
        .filter(active=1, queue_key__in=ids)
        .select_related("queue", "assignee", "request", "request__customer")
        .only(*QUEUE_PAGE_FIELDS)
        .order_by("-priority", "due_at", "id")
    )
    return _filtered(
        qs, user=user, status=status, priority=priority, reason=reason, search=search, now=now
    )


COUNT_CAP = 5000


def review_queue_count(
    *,
    user,
    queue: str = "",
    status: str = "",
    priority: str = "",
    reason: str = "",
    search: str = "",
    now: datetime | None = None,
) -> int:
    """The number of tasks ``review_queue_for_user`` lists, counted on the per-queue index
    and capped at ``COUNT_CAP + 1`` (the page then says "5000+"): counting 100,000 rows
    for a filter would cost more than the page itself. Seniors see exact depths in the
    queue statistics."""
    qs = ReviewTask.objects.filter(active=1, queue_id__in=_queue_filter_ids(user, queue))
    qs = _filtered(
        qs, user=user, status=status, priority=priority, reason=reason, search=search, now=now
    )
    return qs.order_by().values("pk")[: COUNT_CAP + 1].count()


def _queue_filter_ids(user, slug: str) -> list[int]:
    ids = perms.queue_ids_for_user(user)
    if slug:
        return [q.pk for q in review_queues_for_user(user=user) if q.slug == slug]
    return sorted(ids)


def _filtered(
    qs: QuerySet[ReviewTask],
    *,
    user,
    status: str,
    priority: str,
    reason: str,
    search: str,
    now: datetime | None,
) -> QuerySet[ReviewTask]:
    now = now or timezone.now()
    if status == "open":
        qs = qs.filter(
            Q(status__in=[TaskStatus.OPEN, TaskStatus.ESCALATED])
            | Q(status=TaskStatus.CLAIMED, claim_expires_at__lte=now)
        )
    elif status == "mine":
        qs = qs.filter(status=TaskStatus.CLAIMED, assignee=user)
    elif status in (TaskStatus.CLAIMED, TaskStatus.ESCALATED):
        qs = qs.filter(status=status)
    if priority.isdigit():
        qs = qs.filter(priority=int(priority))
    if reason:
        qs = qs.filter(reason_codes__contains=f",{reason.strip()},")
    search = search.strip()
    if search:
        qs = qs.filter(
            Q(request__public_id__startswith=search)
            if _looks_like_uuid(search)
            else Q(request__customer__name__icontains=search)
            | Q(request__customer__external_id=search)
            | Q(request__order__external_id=search)
        )
    return qs


def _looks_like_uuid(text: str) -> bool:
    return len(text) >= 8 and all(c in "0123456789abcdef-" for c in text.lower())


def review_queues_for_user(*, user) -> list[Queue]:
    """The queues ``user`` works (cached on the user object for the request)."""
    cached = getattr(user, "_review_queues", None)
    if cached is None:
        ids = perms.queue_ids_for_user(user)
        cached = list(Queue.objects.filter(pk__in=ids).order_by("slug")) if ids else []
        user._review_queues = cached
    return cached


@dataclass(frozen=True)
class QueueStats:
    queue: str
    depth: int
    overdue: int
    oldest_created_at: datetime | None


def review_queue_stats(*, user, now: datetime | None = None) -> list[QueueStats]:
    """Depth, overdue count and oldest task per queue the user works (one query). Empty for
    users without ``reviews.view_queue_stats``."""
    if not perms.user_can_view_queue_stats(user):
        return []
    now = now or timezone.now()
    ids = perms.queue_ids_for_user(user)
    slugs = {q.pk: q.slug for q in review_queues_for_user(user=user)}
    # Grouped on the queue id only (no join), so the index review_task_open_queue answers
    # it without reading the table.
    rows = (
        ReviewTask.objects.filter(active=1, queue_id__in=ids)
        .values("queue_id")
        .annotate(
            depth=Count("pk"),
            overdue=Count("pk", filter=Q(due_at__lte=now)),
            oldest=Min("created_at"),
        )
        .order_by()
    )
    return sorted(
        (QueueStats(slugs[r["queue_id"]], r["depth"], r["overdue"], r["oldest"]) for r in rows),
        key=lambda s: s.queue,
    )


def review_task_for_user(*, user, pk: int) -> ReviewTask | None:
    """The task, with everything the package shows joined, or None if it does not exist or
    the user may not see it (the page then answers 404, never 403: no existence leak)."""
    task = (
        ReviewTask.objects.select_related(
            "queue",
            "assignee",
            "request",
            "request__customer",
            "request__order",
            "request__integration",
        )
        .filter(pk=pk, queue_id__in=perms.queue_ids_for_user(user))
        .first()
    )
    return task


# --- The AI proposal -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposedDecision:
    """The AI's proposal as the reviewer sees it, whichever model stored it."""

    action: str
    amount: Decimal
    currency: str
    rationale: str
    policy_match: str = ""
    needs_human_review: bool | None = None
    customer_sentiment: str = ""
    risk_flags: tuple[str, ...] = ()
    cited_sections: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "ProposedDecision | None":
        if not data or "action" not in data:
            return None
        try:
            amount = Decimal(str(data.get("amount", "0")))
        except InvalidOperation:
            return None
        return cls(
            action=str(data["action"]),
            amount=amount,
            currency=str(data.get("currency", "")),
            rationale=str(data.get("rationale", "")),
            policy_match=str(data.get("policy_match", "")),
            needs_human_review=data.get("needs_human_review"),
            customer_sentiment=str(data.get("customer_sentiment", "")),
            risk_flags=tuple(data.get("risk_flags") or ()),
            cited_sections=tuple(data.get("cited_sections") or ()),
        )


def latest_proposal(request: RefundRequest) -> Proposal | None:
    """The latest drafting attempt (successful or not) with its refund-policy version."""
    return (
        Proposal.objects.filter(request=request)
        .select_related("policy_version", "policy_version__policy")
        .order_by("-created_at", "-id")
        .first()
    )


def latest_gate_evaluation(request: RefundRequest) -> GateEvaluation | None:
    return (
        GateEvaluation.objects.filter(request=request)
        .select_related("policy_version")
        .order_by("-created_at", "-id")
        .first()
    )


_UNSET: Any = object()


def proposed_decision(
    request: RefundRequest,
    *,
    proposal: Proposal | None = _UNSET,
    evaluation: GateEvaluation | None = _UNSET,
) -> ProposedDecision | None:
    """The decision the AI proposed: the latest proposal's, else the one the gate judged
    (the gate stores the ``RefundDecision`` it evaluated). None when drafting failed."""
    proposal = latest_proposal(request) if proposal is _UNSET else proposal
    found = ProposedDecision.from_json(getattr(proposal, "decision", None))
    if found is not None:
        return found
    evaluation = latest_gate_evaluation(request) if evaluation is _UNSET else evaluation
    return ProposedDecision.from_json(evaluation.decision if evaluation else None)


# --- The decision package --------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    provider: str = ""
    model_name: str = ""
    prompt_version: str = ""
    policy_version: str = ""
    gate_policy_version: str = ""
    error_code: str = ""
    error_message: str = ""
    # What the model was shown and what it answered, for a reviewer who doubts the draft.
    prompt_messages: tuple[dict, ...] = ()
    raw_output: str = ""
    token_usage: tuple[tuple[str, int], ...] = ()
    latency_ms: int | None = None
    attempts: int | None = None

    @property
    def drafter_label(self) -> str:
        """What reviewers are told drafted the case: the offline drafter is never an AI."""
        if not self.provider:
            return ""
        if self.provider == OFFLINE:
            return f"{drafter_name(self.provider)} ({self.model_name}; rules, not an AI)"
        return f"{self.model_name} via {drafter_name(self.provider)}"


def _provenance(proposal: Proposal | None, evaluation: GateEvaluation | None) -> Provenance:
    gate_policy = f"v{evaluation.policy_version.version}" if evaluation is not None else ""
    error_code = getattr(proposal, "error_code", "") or getattr(evaluation, "failure_code", "")
    if proposal is None:
        return Provenance(gate_policy_version=gate_policy, error_code=str(error_code or ""))
    messages = proposal.prompt_messages if isinstance(proposal.prompt_messages, list) else []
    usage = proposal.token_usage if isinstance(proposal.token_usage, dict) else {}
    return Provenance(
        provider=proposal.provider,
        model_name=proposal.model_name,
        prompt_version=proposal.prompt_version,
        policy_version=str(proposal.policy_version) if proposal.policy_version else "",
        gate_policy_version=gate_policy,
        error_code=str(error_code or ""),
        error_message=proposal.error_message,
        prompt_messages=tuple(
            {"role": str(m.get("role", "")), "content": str(m.get("content", ""))}
            for m in messages
            if isinstance(m, dict)
        ),
        raw_output=(
            json.dumps(proposal.raw_output, indent=2, ensure_ascii=False, default=str)
            if proposal.raw_output is not None
            else ""
        ),
        token_usage=tuple((k, v) for k, v in sorted(usage.items()) if isinstance(v, int)),
        latency_ms=proposal.latency_ms,
        attempts=proposal.attempts,
    )


@dataclass
class DecisionPackage:
    task: ReviewTask
    request: RefundRequest
    proposal: ProposedDecision | None
    gate_reasons: list[dict]
    sections: list[dict]
    provenance: Provenance
    history: RefundHistory
    decisions: list[ReviewDecision]  # on this task, oldest first
    pending_approval: ReviewDecision | None
    thread: CaseThread  # the whole case: messages, replies, drafts, decisions, with times
    extra: dict = field(default_factory=dict)


def _sections(proposal, decision: ProposedDecision | None) -> list[dict]:
    """Policy sections with their retrieval scores, from the stored proposal; without one,
    the ids the decision cites (no score)."""
    raw = getattr(proposal, "sections", None) or []
    sections = []
    for s in raw if isinstance(raw, list) else []:
        if isinstance(s, dict):
            sections.append(
                {
                    "id": s.get("id") or s.get("section_id", ""),
                    "title": s.get("title", ""),
                    "score": s.get("score"),
                    "text": s.get("text", ""),
                }
            )
    if not sections and decision is not None:
        sections = [
            {"id": sid, "title": "", "score": None, "text": ""} for sid in decision.cited_sections
        ]
    return sections


def decision_package(task: ReviewTask) -> DecisionPackage:
    """Everything a reviewer needs to decide ``task`` (loaded by ``review_task_for_user``)
    in seven queries, however long the case: the case thread (five: every draft, gate
    evaluation, decision, message and reply; the latest evaluation and this task's
    decisions are taken from it), the latest proposal in full with its provenance, and the
    refund history."""
    request = task.request
    thread = case_thread(request=request, current_task=task)
    proposal = latest_proposal(request)  # in full: its prompt and raw answer are shown
    evaluation = thread.latest_evaluation
    decision = proposed_decision(request, proposal=proposal, evaluation=evaluation)
    provenance = _provenance(proposal, evaluation)
    decisions = [d for d in thread.decisions if d.task_id == task.pk]
    return DecisionPackage(
        task=task,
        request=request,
        proposal=decision,
        gate_reasons=task.reasons or (evaluation.reasons if evaluation else []),
        sections=_sections(proposal, decision),
        provenance=provenance,
        history=customer_refund_history(customer=request.customer, exclude_request=request),
        decisions=decisions,
        pending_approval=next((d for d in decisions if d.pending), None),
        thread=thread,
    )


# --- Personal data ---------------------------------------------------------------------------


def mask_email(value: str) -> str:
    if not value or "@" not in value:
        return "•••" if value else ""
    local, _, domain = value.partition("@")
    return f"{local[:1]}•••@{domain[:1]}•••"


def mask_phone(value: str) -> str:
    digits = [c for c in value if c.isdigit()]
    return f"•••• {''.join(digits[-2:])}" if digits else ""


def mask_address(value: str) -> str:
    return "••• (hidden)" if value else ""
