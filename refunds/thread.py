"""The case thread: everything said and decided on one refund request, in time order.

The customer's request and replies (in), our messages to them (out: questions, denials,
approvals, notices), every drafting round (what the drafter proposed and where the gate
sent it) and every reviewer's decision. One read, ``case_thread``, in a fixed number of
queries whatever the length of the thread, used by the review page
(``reviews.decision_package``) and the admin case timeline
(``refunds.timeline``), so both tell the same story.

``pair_questions_with_replies`` is the one rule for "which reply answers which question"
(the first reply after a question and before the next one); the drafter's context uses it
too (``refunds.agent.retrieval``).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .actions import RejectReason
from .agent.providers import drafter_name
from .models import CustomerReply, GateEvaluation, OutboundMessage, Proposal, RefundRequest

# Who speaks in an entry: the customer (their words are untrusted), us to the customer, or
# the back-office talking to itself (drafts, routing, reviewers' decisions).
IN, OUT, INTERNAL = "in", "out", "internal"

OUT_TITLES = {
    OutboundMessage.Kind.MORE_INFO: "Question to the customer",
    OutboundMessage.Kind.DENIAL: "Denial sent to the customer",
    OutboundMessage.Kind.APPROVAL: "Approval message sent to the customer",
    OutboundMessage.Kind.CASE_OPEN: "Notice sent to the customer",
}
# Heavy provenance fields a thread never shows (the review page loads them for the
# latest draft only).
PROPOSAL_DEFERRED = ("prompt_messages", "raw_output", "context", "sections", "token_usage")


@dataclass(frozen=True)
class QuestionAndAnswer:
    """A question we put to the customer and the reply that answered it (if any yet)."""

    number: int
    asked_at: datetime
    question: str
    reply: str | None = None
    replied_at: datetime | None = None
    reply_number: int | None = None

    @property
    def answered(self) -> bool:
        return self.replied_at is not None


def pair_questions_with_replies(
    questions: Sequence[tuple[datetime, str]], replies: Sequence[tuple[datetime, str]]
) -> list[QuestionAndAnswer]:
    """Each question (time, text), oldest first, with the first reply sent after it and
    before the next question; replies sent before any question are nobody's answer."""
    paired = []
    replies = sorted(enumerate(replies, start=1), key=lambda r: r[1][0])
    for number, (asked_at, text) in enumerate(questions, start=1):
        following = questions[number][0] if number < len(questions) else None
        answer = next(
            (
                (n, at, body)
                for n, (at, body) in replies
                if at >= asked_at and (following is None or at < following)
            ),
            None,
        )
        paired.append(
            QuestionAndAnswer(
                number=number,
                asked_at=asked_at,
                question=text,
                reply=answer[2] if answer else None,
                replied_at=answer[1] if answer else None,
                reply_number=answer[0] if answer else None,
            )
        )
    return paired


@dataclass(frozen=True)
class ThreadEntry:
    at: datetime
    kind: str  # request, reply, message, draft, decision
    direction: str  # IN, OUT or INTERNAL
    title: str
    who: str = ""
    text: str = ""  # the words said (or the draft's rationale, the reviewer's comment)
    untrusted: bool = False  # the customer's (or the model's) words: read, never follow
    facts: tuple[str, ...] = ()  # short facts: "approve refund 20.00 GBP", "queue standard"
    reasons: tuple[dict, ...] = ()  # the gate's reasons for a drafting round
    note: str = ""  # e.g. "answered by reply 1 at 2026-11-30 10:02"
    current: bool = False  # the draft the open task is deciding on


@dataclass
class CaseThread:
    request: RefundRequest
    entries: list[ThreadEntry]
    questions: list[QuestionAndAnswer] = field(default_factory=list)
    decisions: list[Any] = field(default_factory=list)  # reviews.ReviewDecision, oldest first
    evaluations: list[GateEvaluation] = field(default_factory=list)  # oldest first

    @property
    def latest_evaluation(self) -> GateEvaluation | None:
        return self.evaluations[-1] if self.evaluations else None

    @property
    def answered_questions(self) -> list[QuestionAndAnswer]:
        return [q for q in self.questions if q.answered]

    @property
    def reopened(self) -> bool:
        """The customer answered a question of ours: the case came back to be decided."""
        return bool(self.answered_questions)


def _money(action: str, amount: Any, currency: str) -> str:
    words = str(action).replace("_", " ")
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, TypeError, ValueError):
        return words
    return f"{words} {value:.2f} {currency}" if value else words


def _draft_entry(
    proposal: Proposal | None, evaluation: GateEvaluation | None, currency: str
) -> ThreadEntry:
    decision = (proposal.decision if proposal else None) or (
        evaluation.decision if evaluation else None
    )
    error = (proposal.error_code if proposal else "") or (
        evaluation.failure_code if evaluation else ""
    )
    facts = []
    if isinstance(decision, dict) and "action" in decision:
        facts.append(
            "draft: "
            + _money(decision["action"], decision.get("amount"), decision.get("currency", currency))
        )
    elif error:
        facts.append(f"no proposal ({error})")
    if error and isinstance(decision, dict):
        facts.append(f"flagged {error}")
    title = "Draft"
    if evaluation is not None:
        if evaluation.route == GateEvaluation.Route.AUTO:
            title, route = "Draft, auto-approved by the gate", "auto-approved"
        else:
            title, route = "Draft, sent to human review", f"queue {evaluation.queue or 'standard'}"
        facts.append(route)
    who = ""
    if proposal is not None:
        who = f"{drafter_name(proposal.provider)} ({proposal.model_name})"
    return ThreadEntry(
        at=proposal.created_at if proposal else evaluation.created_at,  # type: ignore[union-attr]
        kind="draft",
        direction=INTERNAL,
        title=title,
        who=who,
        text=str(decision.get("rationale", "")) if isinstance(decision, dict) else "",
        untrusted=True,
        facts=tuple(facts),
        reasons=tuple(
            {"code": str(r.get("code", "")), "message": str(r.get("message", ""))}
            for r in (evaluation.reasons if evaluation else [])
            if isinstance(r, dict)
        ),
    )


def _drafting_rounds(
    proposals: Iterable[Proposal], evaluations: Iterable[GateEvaluation], currency: str
) -> list[ThreadEntry]:
    """One entry per drafting round: a proposal and the gate evaluation that followed it.
    A proposal the gate never judged, or an evaluation without a stored proposal, stands
    alone."""
    events = sorted(
        [(p.created_at, 0, p) for p in proposals] + [(e.created_at, 1, e) for e in evaluations],
        key=lambda item: (item[0], item[1], item[2].pk),
    )
    entries, open_proposal = [], None
    for _, is_evaluation, row in events:
        if not is_evaluation:
            if open_proposal is not None:
                entries.append(_draft_entry(open_proposal, None, currency))
            open_proposal = row
        else:
            entries.append(_draft_entry(open_proposal, row, currency))
            open_proposal = None
    if open_proposal is not None:
        entries.append(_draft_entry(open_proposal, None, currency))
    return entries


def _decision_entry(
    decision, sent: dict[str, OutboundMessage], sent_words: dict[str, OutboundMessage]
) -> ThreadEntry:
    facts = []
    if decision.action:
        facts.append(_money(decision.action, decision.amount, decision.currency))
    if decision.amount_difference:
        facts.append(f"{decision.amount_difference:+.2f} vs the draft")
    if decision.reason_code:
        labels = dict(RejectReason.choices)
        facts.append(labels.get(decision.reason_code, decision.reason_code.replace("_", " ")))
    if decision.pending:
        facts.append("awaiting a second approval")
    # Its message went out under the decision's own key, or (an approved denial or
    # question) under the execution's key with the same words.
    message = sent.get(f"review-decision-{decision.pk}") or (
        sent_words.get(decision.message) if decision.message else None
    )
    note = ""
    if message is not None:
        note = f"sent to the customer as {message.reference} (below)"
    elif decision.message and decision.outcome != "escalate":
        note = "message to the customer stored with the decision, not sent"
    text = decision.comment
    if decision.message and message is None:
        text = f"{text}\n\nTo the customer: {decision.message}".strip()
    return ThreadEntry(
        at=decision.created_at,
        kind="decision",
        direction=INTERNAL,
        title=f"Decision: {decision.get_outcome_display()}",
        who=decision.reviewer.get_username(),
        text=text,
        facts=tuple(facts),
        note=note,
    )


def case_thread(*, request: RefundRequest, current_task=None) -> CaseThread:
    """The whole thread of ``request``, oldest first, in five queries (drafts, gate
    evaluations, decisions, messages out, replies) however long it is.

    ``current_task``: the open review task, if any; the drafting round it decides on is
    marked ``current``."""
    proposals = list(
        Proposal.objects.filter(request=request).defer(*PROPOSAL_DEFERRED).order_by("created_at")
    )
    evaluations = list(
        GateEvaluation.objects.filter(request=request)
        .select_related("policy_version")
        .defer("context")
        .order_by("created_at", "id")
    )
    decisions = list(
        request.review_decisions.select_related("reviewer").order_by("created_at", "id")
    )
    messages = list(OutboundMessage.objects.filter(request=request).order_by("created_at", "id"))
    replies = list(CustomerReply.objects.filter(request=request).order_by("created_at", "id"))

    asked = [m for m in messages if m.kind == OutboundMessage.Kind.MORE_INFO]
    questions = pair_questions_with_replies(
        [(m.created_at, m.body) for m in asked], [(r.created_at, r.message) for r in replies]
    )
    by_message = {m.pk: q for m, q in zip(asked, questions, strict=True)}
    by_reply = {q.reply_number: q for q in questions if q.reply_number is not None}

    entries = [
        ThreadEntry(
            at=request.created_at,
            kind="request",
            direction=IN,
            title="The customer's request",
            who="customer",
            text=request.message,
            untrusted=True,
            facts=(
                (f"asks {request.requested_amount} {request.currency}",)
                if request.requested_amount is not None
                else ()
            ),
        )
    ]
    entries += _drafting_rounds(proposals, evaluations, request.currency)
    sent = {m.idempotency_key: m for m in messages}
    sent_words = {m.body: m for m in messages}
    entries += [_decision_entry(d, sent, sent_words) for d in decisions]
    for m in messages:
        question = by_message.get(m.pk)
        note = ""
        if question is not None:
            note = (
                f"answered by reply {question.reply_number}"
                if question.answered
                else "not answered yet"
            )
        entries.append(
            ThreadEntry(
                at=m.created_at,
                kind="message",
                direction=OUT,
                title=OUT_TITLES.get(m.kind, m.get_kind_display()),
                who=m.reference,
                text=m.body,
                note=note,
            )
        )
    for number, r in enumerate(replies, start=1):
        question = by_reply.get(number)
        entries.append(
            ThreadEntry(
                at=r.created_at,
                kind="reply",
                direction=IN,
                title=f"Reply {number} from the customer",
                who="customer",
                text=r.message,
                untrusted=True,
                note=f"answers question {question.number}" if question else "",
            )
        )
    order = {"request": 0, "draft": 1, "decision": 2, "message": 3, "reply": 4}
    entries.sort(key=lambda e: (e.at, order[e.kind]))
    if current_task is not None and current_task.is_active:
        drafts = [i for i, e in enumerate(entries) if e.kind == "draft"]
        if drafts:
            entries[drafts[-1]] = replace(entries[drafts[-1]], current=True)
    return CaseThread(
        request=request,
        entries=entries,
        questions=questions,
        decisions=decisions,
        evaluations=evaluations,
    )
