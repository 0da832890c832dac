"""Builds the ``DraftContext`` for a request and picks the policy sections that matter.

Sections are ranked with BM25 (rank-bm25) over the section title (counted twice) and body
against the customer's message and replies, the item names and the order's status, all
reduced to stemmed terms with negation and synonyms (``terms.py``); only the top few go
into the prompt, each recorded with its score. ``bench/retrieval.py`` measures the ranking.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.text import slugify
from rank_bm25 import BM25Okapi

from ..models import (
    OutboundMessage,
    Proposal,
    RefundPolicySection,
    RefundPolicyVersion,
    RefundRequest,
)
from ..selectors import customer_refund_history, order_refundable_remaining
from ..thread import pair_questions_with_replies
from .context import DraftContext, PolicySection
from .precedent_lookup import precedents_for
from .screening import injection_markers_in
from .terms import query_terms, tokenize

TOP_K = 3
# Order statuses whose word helps pick a section ("delivered" for the return window,
# "shipped" for non-arrival, ...). Not "placed": the only section saying it is the preamble.
STATUS_TERMS = {
    "delivered": "delivered",
    "shipped": "shipped",
    "cancelled": "cancelled",
    "returned": "returned",
}


def split_policy_text(text: str) -> list[tuple[str, str, str]]:
    """Splits markdown at '## ' headings into (section_id, title, body); ids are slugs of
    the titles, made unique with a number, so they stay stable across edits of the body."""
    sections: list[tuple[str, str, list[str]]] = []
    title, lines = "Preamble", []
    for line in text.splitlines():
        if line.startswith("## "):
            if "".join(lines).strip():
                sections.append((title, "\n".join(lines).strip(), lines))
            title, lines = line[3:].strip(), []
        else:
            lines.append(line)
    if "".join(lines).strip():
        sections.append((title, "\n".join(lines).strip(), lines))
    seen: dict[str, int] = {}
    result = []
    for title, body, _ in sections:
        base = slugify(title)[:70] or "section"
        seen[base] = seen.get(base, 0) + 1
        section_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        result.append((section_id, title, body))
    return result


@dataclass(frozen=True)
class PolicyIndex:
    """One policy version's sections with their BM25 index. The pipeline builds it once per
    batch: building the index costs more than ranking a case against it."""

    version: RefundPolicyVersion | None
    sections: tuple[PolicySection, ...]
    bm25: BM25Okapi | None

    @classmethod
    def build(
        cls, sections: list[PolicySection], version: RefundPolicyVersion | None = None
    ) -> "PolicyIndex":
        corpus = [tokenize(f"{s.title} {s.title} {s.body}") for s in sections]
        return cls(version, tuple(sections), BM25Okapi(corpus) if sections else None)

    def rank(self, query: str | list[str], k: int = TOP_K) -> list[PolicySection]:
        """The ``k`` best sections for ``query`` by BM25, best first, scores attached.
        ``query`` is a customer's text (its synonyms are added) or terms from
        ``draft_query``."""
        if self.bm25 is None:
            return []
        scores = self.bm25.get_scores(query_terms(query) if isinstance(query, str) else query)
        ranked = sorted(
            zip(self.sections, scores, strict=True), key=lambda pair: (-pair[1], pair[0].section_id)
        )
        return [
            PolicySection(s.section_id, s.title, s.body, float(score)) for s, score in ranked[:k]
        ]


def draft_query(
    *, message: str, replies: Iterable[str] = (), item_names: Iterable[str] = (), order_status: str
) -> list[str]:
    """The terms a case's sections are ranked against: the customer's words with their
    synonyms, then the item names and the order's status where it tells, as they are (a
    "Power bank" is not a complaint about a bank). The pipeline and ``bench/retrieval.py``
    both build the query here."""
    customer = query_terms(" ".join((message, *replies)))
    return customer + tokenize(" ".join((*item_names, STATUS_TERMS.get(order_status, ""))))


def current_policy_version() -> RefundPolicyVersion | None:
    """The newest version of the policy documents (one document per deployment today)."""
    return (
        RefundPolicyVersion.objects.select_related("policy").order_by("-created_at", "-id").first()
    )


def policy_index_current() -> PolicyIndex:
    """The current policy version's sections, indexed (empty if there is no policy)."""
    version = current_policy_version()
    if version is None:
        return PolicyIndex.build([])
    sections = [
        PolicySection(s.section_id, s.title, s.body)
        for s in RefundPolicySection.objects.filter(version=version)
    ]
    return PolicyIndex.build(sections, version)


def _days_between(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else (end - start).days


def build_draft_context(
    *, request: RefundRequest, now: datetime | None = None, policy: PolicyIndex | None = None
) -> DraftContext:
    """Gathers what a careful human would look at. Reads the database; the chain never does.

    ``policy``: the index to rank sections in (default: the current policy, loaded)."""
    now = now or timezone.now()
    policy = policy or policy_index_current()
    order, customer = request.order, request.customer
    history = customer_refund_history(customer=customer, now=now, exclude_request=request)
    earlier = []
    if request.conversation_id:
        earlier = [
            {
                "id": str(r.public_id),
                "status": r.status,
                "message": r.message[:500],
                "created_at": r.created_at.isoformat(),
            }
            for r in RefundRequest.objects.filter(
                integration=request.integration,
                conversation_id=request.conversation_id,
                created_at__lt=request.created_at,
            ).order_by("-created_at")[:5]
        ]
    timed_replies = list(request.customer_replies.values_list("created_at", "message"))
    replies = tuple(message for _, message in timed_replies)
    questions = pair_questions_with_replies(
        list(
            OutboundMessage.objects.filter(request=request, kind=OutboundMessage.Kind.MORE_INFO)
            .order_by("created_at", "id")
            .values_list("created_at", "body")
        ),
        timed_replies,
    )
    item_names = [str(item.get("name", "")) for item in order.items or []]
    query = draft_query(
        message=request.message, replies=replies, item_names=item_names, order_status=order.status
    )
    version = policy.version
    return DraftContext(
        request_public_id=str(request.public_id),
        channel=request.channel,
        message=request.message,
        currency=request.currency,
        requested_amount=request.requested_amount,
        order={
            "external_id": order.external_id,
            "amount": order.amount,
            "currency": order.currency,
            "status": order.status,
            "items": order.items,
            "ordered_at": order.ordered_at.isoformat(),
            "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
            "days_since_order": _days_between(order.ordered_at, now),
            "days_since_delivery": _days_between(order.delivered_at, now),
        },
        customer={
            "tier": customer.tier,
            "country": customer.country,
            "account_age_days": (now.date() - customer.customer_since).days
            if customer.customer_since
            else None,
        },
        refund_history={
            "count_90d": history.count_90d,
            "total_90d": history.total_90d,
            "count_365d": history.count_365d,
            "total_365d": history.total_365d,
        },
        refundable_remaining=order_refundable_remaining(order=order, exclude_request=request),
        earlier_requests=earlier,
        replies=replies,
        questions_asked=tuple(
            {
                "number": q.number,
                "asked_at": q.asked_at.isoformat(),
                "question": q.question,
                "answered_by_reply": q.reply_number,
            }
            for q in questions
        ),
        policy_version=str(version) if version else "",
        policy_version_id=version.pk if version else None,
        sections=tuple(policy.rank(query)),
        injection_markers=injection_markers_in(
            request.message, *replies, *(e["message"] for e in earlier), *item_names
        ),
        precedents=precedents_for(
            text=" ".join((request.message, *replies)), request_id=request.pk, decided_before=now
        ),
    )


def has_proposal(request: RefundRequest) -> bool:
    return Proposal.objects.filter(request=request).exists()
