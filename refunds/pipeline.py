"""From a received request to a gated one: claim, retrieve, draft, record, hand to the gate.

Throughput: one task claims a batch of received requests (its own plus others waiting)
and drafts them with up to ``HITL_DRAFT_CONCURRENCY`` model calls in flight on threads;
the database writes stay on the task's own thread. Duplicate deliveries are harmless: a
request is claimed by the compare-and-set ``received → drafting``, and a draft is recorded
only if the claim is still the current one (a fencing check on ``status_changed_at``).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_deferred, record_event

from . import events, jobs
from .agent.chain import DraftOutcome, draft_decisions
from .agent.context import DraftContext
from .agent.prompts import PROMPT_NAME, PROMPT_VERSION
from .agent.providers import Provider, build_provider
from .agent.retrieval import build_draft_context, policy_index_current
from .agent.schemas import RefundDecision
from .agent.screening import PROMPT_INJECTION_SUSPECTED
from .checks import draft_budget_seconds, model_attempt_seconds
from .gate.services import refund_request_gate
from .models import Customer, Order, Proposal, RefundRequest
from .states import RefundStatus
from .transitions import IllegalTransition, refund_request_transition

logger = logging.getLogger(__name__)
PIPELINE = Actor.system("pipeline")


@dataclass(frozen=True)
class Claim:
    request: RefundRequest
    token: datetime  # status_changed_at when claimed: the fencing token


def _attempt_seconds(provider: Provider) -> float:
    """The longest one attempt can take (the offline drafter does not wait on anything)."""
    return model_attempt_seconds() if provider.name == "openai" else 0.0


def _claim(request: RefundRequest) -> Claim | None:
    if request.status != RefundStatus.RECEIVED:
        return None  # a duplicate delivery, seen without taking any write lock
    try:
        refund_request_transition(
            request=request,
            to_status=RefundStatus.DRAFTING,
            actor=PIPELINE,
            reason="drafting started",
            expected_from=RefundStatus.RECEIVED,
        )
    except IllegalTransition:
        return None  # someone else claimed it since we read it (its savepoint rolled back)
    return Claim(request, request.status_changed_at)


def _claim_batch(*, request_id: int, batch_size: int) -> list[Claim]:
    """Claims ``request_id`` (if still received) and the oldest other waiting requests, up
    to ``batch_size``, in one transaction: one write lock and one commit for the batch
    instead of one per request.

    Lock order (PostgreSQL): every candidate row is locked up front, in one statement,
    before the first audit event takes the audit chain head; rows another worker holds are
    skipped, not waited for. Waiting for a row while holding the chain head could deadlock
    with a transaction that holds that row and waits for the chain head.
    """
    own = RefundRequest.objects.filter(pk=request_id, status=RefundStatus.RECEIVED).exists()
    others = list(
        RefundRequest.objects.filter(status=RefundStatus.RECEIVED)
        .exclude(pk=request_id)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[: batch_size - (1 if own else 0)]
    )
    ids = [request_id, *others] if own else others
    if not ids:
        return []
    with transaction.atomic(), audit_deferred():  # the chain head only for the commit
        candidates = list(
            RefundRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order", "customer", "integration")
            .filter(pk__in=ids, status=RefundStatus.RECEIVED)
            .order_by("created_at", "id")
        )
        return [claim for claim in map(_claim, candidates) if claim is not None]


def refund_request_run_pipeline(
    *, request_id: int, batch_size: int | None = None, provider: Provider | None = None
) -> int:
    """Drafts and gates ``request_id`` plus up to ``batch_size - 1`` other waiting requests
    (or ``batch_size`` of them when ``request_id`` was already taken: every task helps
    drain the queue).

    Returns how many requests this call drafted. Safe to run twice for the same id.
    """
    batch_size = batch_size or settings.HITL_DRAFT_BATCH_SIZE
    claims = _claim_batch(request_id=request_id, batch_size=batch_size)
    if not claims:
        return 0
    provider = provider or build_provider()
    started = time.monotonic()
    policy = policy_index_current()  # one policy read and index for the whole batch
    contexts = [build_draft_context(request=c.request, policy=policy) for c in claims]
    outcomes = draft_decisions(
        contexts=contexts,
        provider=provider,
        max_concurrency=settings.HITL_DRAFT_CONCURRENCY,
        max_attempts=settings.HITL_DRAFT_MAX_ATTEMPTS,
        backoff_seconds=settings.HITL_DRAFT_BACKOFF_SECONDS,
        deadline=started + draft_budget_seconds(),
        attempt_seconds=_attempt_seconds(provider),
    )
    # One transaction per case, not one per batch: a transaction holds the audit chain
    # head from its first event to its commit, and intake waits for it meanwhile.
    finished = 0
    for claim, context, outcome in zip(claims, contexts, outcomes, strict=True):
        try:  # one bad case must not lose the others
            finished += proposal_record_and_gate(
                claim=claim, context=context, outcome=outcome, provider=provider
            )
        except Exception:  # the reconciler re-drives it later
            logger.exception(
                "recording a draft failed", extra={"request": str(claim.request.public_id)}
            )
    return finished


@transaction.atomic
def proposal_record_and_gate(
    *, claim: Claim, context: DraftContext, outcome: DraftOutcome, provider: Provider
) -> bool:
    """Stores the proposal and routes the request through the gate, in one transaction.

    Returns False (and writes nothing) if the claim is stale: the request was re-driven by
    the reconciler while this draft was running, so another draft owns it now.
    """
    with audit_deferred():  # the chain head is taken at the end, only until commit
        # Lock order: customer, order, request, then (when the deferred events are appended,
        # at the end) the audit chain head: intake takes customer and order before the chain
        # head too, and the gate re-locks these same rows later in this transaction, so
        # nothing here waits on a row while holding the chain head.
        Customer.objects.select_for_update().filter(pk=claim.request.customer_id).first()
        Order.objects.select_for_update().filter(pk=claim.request.order_id).first()
        locked = RefundRequest.objects.select_for_update().get(pk=claim.request.pk)
        if locked.status != RefundStatus.DRAFTING or locked.status_changed_at != claim.token:
            logger.warning("stale draft discarded", extra={"request": str(locked.public_id)})
            return False
        proposal = Proposal.objects.create(
            request=locked,
            policy_version_id=context.policy_version_id,
            provider=provider.name,
            model_name=provider.model_name,
            prompt_name=PROMPT_NAME,
            prompt_version=PROMPT_VERSION,
            prompt_messages=outcome.prompt_messages,
            sections=context.sections_with_scores(),
            context=context.case_facts(),
            precedents=context.precedents_with_scores(),
            raw_output=outcome.raw_output,
            decision=outcome.decision.model_dump(mode="json") if outcome.decision else None,
            token_usage=outcome.token_usage,
            latency_ms=outcome.latency_ms,
            attempts=outcome.attempts,
            error_code=outcome.error_code,
            error_message=outcome.error_message,
        )
        record_event(
            event_type=events.CONTEXT_RETRIEVED,
            actor=PIPELINE,
            subject=locked,
            payload={
                "policy_version": context.policy_version,
                "sections": context.sections_with_scores(),
                "refundable_remaining": context.refundable_remaining,
                "injection_markers": list(context.injection_markers),
                "precedents": [
                    {k: p[k] for k in ("cite", "decision", "score", "similarity", "outcome")}
                    for p in proposal.precedents
                ],
            },
        )
        record_event(
            event_type=events.PROPOSAL_CREATED,
            actor=Actor.model(provider.label),
            subject=locked,
            payload={
                "proposal": proposal.pk,
                "provider": provider.name,
                "model": provider.model_name,
                "prompt_version": proposal.prompt_version,
                "decision": proposal.decision,
                "error_code": outcome.error_code,
                "attempts": outcome.attempts,
                "precedents": [p["decision"] for p in proposal.precedents],
            },
        )
        refund_request_transition(
            request=locked,
            to_status=RefundStatus.GATED,
            actor=PIPELINE,
            reason="drafted",
            payload={"proposal": proposal.pk},
        )
        _hand_over_to_gate(locked, outcome.decision, _failure_code(context, outcome))
        return True


def _failure_code(context: DraftContext, outcome: DraftOutcome) -> str | None:
    """The model's failure, else a suspected prompt injection found by the deterministic
    screen: either one sends the case to a human whatever the model answered."""
    if outcome.error_code:
        return outcome.error_code
    return PROMPT_INJECTION_SUSPECTED if context.injection_markers else None


def _hand_over_to_gate(
    request: RefundRequest, decision: RefundDecision | None, failure_code: str | None
) -> None:
    refund_request_gate(request=request, decision=decision, failure_code=failure_code)


def pipeline_reconcile(
    *, stale_after: timedelta | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Re-drives requests a lost or crashed task left behind: ``received`` ones waiting too
    long are re-enqueued; ``drafting`` ones stuck too long go back to ``received`` first.
    A draft still running elsewhere then finds its claim stale and records nothing, so a
    request ends with one proposal per drafting round."""
    if stale_after is None:  # not `or`: timedelta(0) ("re-drive everything now") is falsy
        stale_after = timedelta(seconds=settings.HITL_DRAFT_STALE_SECONDS)
    cutoff = (now or timezone.now()) - stale_after
    requeued = reset = 0
    for request in RefundRequest.objects.filter(
        status=RefundStatus.DRAFTING, status_changed_at__lt=cutoff
    ):
        try:
            with transaction.atomic():
                refund_request_transition(
                    request=request,
                    to_status=RefundStatus.RECEIVED,
                    actor=Actor.system("reconciler"),
                    reason="drafting timed out; re-driven",
                    expected_from=RefundStatus.DRAFTING,
                )
                transaction.on_commit(
                    lambda pk=request.pk: jobs.enqueue_refund_request_processing(pk)
                )
            reset += 1
        except IllegalTransition:
            continue
    for pk in RefundRequest.objects.filter(
        status=RefundStatus.RECEIVED, status_changed_at__lt=cutoff
    ).values_list("pk", flat=True):
        jobs.enqueue_refund_request_processing(pk)
        requeued += 1
    return {"reset": reset, "requeued": requeued}
