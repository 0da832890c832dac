"""The precedent finder: the final human decisions most similar to a case being drafted.

Registered as ``refunds.hooks.precedent_finder`` (``ReviewsConfig.ready``); the drafter
gets plain ``Precedent`` records, never these models. One query on every backend:

- PostgreSQL: full-text search (``SearchVector``/``SearchQuery``/``SearchRank``, English
  configuration) over the requests' messages, matched with ``@@`` (the GIN expression
  index of refunds migration 0017) and ranked by ``ts_rank`` in the database;
- elsewhere (SQLite): the newest ``HITL_PRECEDENTS_POOL`` candidates ranked in Python with
  BM25 over the stemmed terms the policy retrieval uses (``refunds.agent.terms``).

Both then keep the first ``k`` at least ``min_similarity`` similar (``finish``). Only
final decisions (approvals made final, rejections, requests for information) count,
decided before ``decided_before``, never one on the case itself.
"""

import re
from dataclasses import replace
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from refunds.agent.precedents import (
    NOTE_CHARS,
    Precedent,
    PrecedentQuery,
    amount_band,
    finish,
    mask_text,
    rank_by_bm25,
)
from refunds.agent.terms import STOPWORDS

from .models import NON_REFUND_OUTCOME_ACTIONS, ReviewDecision

FIELDS = (
    "pk",
    "task_id",
    "outcome",
    "action",
    "amount",
    "proposed_action",
    "proposed_amount",
    "reason_code",
    "comment",
    "created_at",
    "request__message",
    "request__requested_amount",
    "task__reason_codes",
)
MAX_QUERY_WORDS = 32
# PostgreSQL: how many ranked rows to fetch per precedent wanted, so the similarity floor
# can still leave k.
OVERFETCH = 5


def _candidates(query: PrecedentQuery) -> QuerySet:
    qs = ReviewDecision.objects.filter(is_final=True, created_at__lt=query.decided_before)
    if query.request_id is not None:
        qs = qs.exclude(request_id=query.request_id)
    return qs


def precedent_from_row(row: dict) -> Precedent:
    """A ``values(*FIELDS)`` row as a ``Precedent`` (the final action of a rejection is a
    denial, of a request for information the question; neither refunds anything)."""
    outcome = row["outcome"]
    non_refund = NON_REFUND_OUTCOME_ACTIONS.get(outcome)
    final_action = str(non_refund or row["action"])
    final_amount = 0 if non_refund else row["amount"]
    proposed = row["proposed_action"]
    return Precedent(
        reference=f"decision {row['pk']}",
        decision_id=row["pk"],
        task_id=row["task_id"],
        excerpt=mask_text(row["request__message"]),
        gate_reasons=tuple(c for c in (row["task__reason_codes"] or "").split(",") if c),
        reviewer_reason=row["reason_code"],
        amount_band=amount_band(row["request__requested_amount"] or row["proposed_amount"]),
        outcome=outcome,
        proposed_action=proposed,
        proposed_amount=_decimal(row["proposed_amount"] or 0) if proposed else None,
        final_action=final_action,
        final_amount=None if final_amount is None else _decimal(final_amount),
        note=mask_text(row["comment"], limit=NOTE_CHARS),
        decided_at=row["created_at"],
    )


def _decimal(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _tsquery_words(text: str) -> list[str]:
    words = [w for w in dict.fromkeys(re.findall(r"[a-z0-9]+", text.lower())) if w not in STOPWORDS]
    return words[:MAX_QUERY_WORDS]


def _find_postgres(query: PrecedentQuery) -> list[Precedent]:
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    words = _tsquery_words(query.text)
    if not words:
        return []
    # Plain alphanumeric words joined with "|": any word may match, rank does the rest.
    tsquery = SearchQuery(" | ".join(words), search_type="raw", config="english")
    vector = SearchVector("request__message", config="english")
    rows = (
        _candidates(query)
        .annotate(document=vector, rank=SearchRank(vector, tsquery))
        .filter(document=tsquery)
        .order_by("-rank", "-created_at", "-pk")
        .values(*FIELDS, "rank")[: query.k * OVERFETCH]
    )
    ranked = [
        (row["request__message"], replace(precedent_from_row(row), score=float(row["rank"])))
        for row in rows
    ]
    return finish(query.text, ranked, k=query.k, min_similarity=query.min_similarity)


def _find_bm25(query: PrecedentQuery) -> list[Precedent]:
    rows = (
        _candidates(query)
        .order_by("-created_at", "-pk")
        .values(*FIELDS)[: settings.HITL_PRECEDENTS_POOL]
    )
    candidates = [(row["request__message"], precedent_from_row(row)) for row in rows]
    return rank_by_bm25(query.text, candidates, k=query.k, min_similarity=query.min_similarity)


def precedents_find(*, query: PrecedentQuery) -> list[Precedent]:
    """The ``query.k`` most similar final human decisions, best first (one query)."""
    if query.k <= 0:
        return []
    if connection.vendor == "postgresql":
        return _find_postgres(query)
    return _find_bm25(query)
