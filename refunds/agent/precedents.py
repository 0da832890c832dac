"""Precedents: past cases that humans decided, shown to the drafter as cited examples.

The human decisions live in ``reviews``, which ``refunds`` must not import: ``reviews``
registers a ``PrecedentFinder`` in ``refunds.hooks.precedent_finder``, and what crosses
into the drafter are the plain frozen ``Precedent`` records below, never ORM objects.

Precedents are an enhancement, not a safety step: if no finder is registered, or
``HITL_PRECEDENTS_K`` is 0, the drafter drafts without them (the gate and the human
review stay exactly as they are). Contrast ``review_task_opener``, whose absence fails
loudly because a case would be lost.

Personal data: a precedent's excerpt is ANOTHER customer's words, so it is masked here
(e-mails, phone numbers, long digit runs) and capped in length before it is stored,
prompted or shown. Its text is untrusted like any customer's: the prompt neutralises its
tags, and a precedent whose words trip the injection screen has them withheld.

Ranking helpers (``rank_by_bm25``, ``similarity``) are pure, shared by the SQLite path of
the finder and by ``evaluate_drafter``'s in-memory corpus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from rank_bm25 import BM25Okapi

from .terms import query_terms, tokenize

EXCERPT_CHARS = 280
NOTE_CHARS = 200
DEFAULT_MIN_SIMILARITY = 0.2

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w])\+?\d[\d ()./-]{6,}\d")
_DIGITS = re.compile(r"\d{5,}")
_BANDS = ((Decimal("25"), "under 25"), (Decimal("100"), "25-100"), (Decimal("250"), "100-250"))


def mask_text(text: str, *, limit: int = EXCERPT_CHARS) -> str:
    """Another customer's words, safe to show: e-mail addresses, phone numbers and runs of
    five or more digits (order, card, account numbers) replaced, length capped."""
    text = _EMAIL.sub("[e-mail]", text or "")
    text = _PHONE.sub("[number]", text)
    text = _DIGITS.sub("[number]", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def amount_band(amount: Decimal | None) -> str:
    """A coarse band ("25-100"): enough to compare cases, not the other customer's figure."""
    if amount is None:
        return "unknown"
    for limit, label in _BANDS:
        if amount < limit:
            return label
    return "250 and over"


@dataclass(frozen=True)
class Precedent:
    """One final human decision on another case, as the drafter may see it."""

    reference: str  # the decision's id, e.g. "decision 42" (stable across prompts)
    decision_id: int
    task_id: int | None
    excerpt: str  # masked, capped: another customer's words
    gate_reasons: tuple[str, ...]  # why the gate sent it to a human
    reviewer_reason: str  # the reviewer's reason code (rejections)
    amount_band: str
    outcome: str  # approve, approve_with_edits, reject, request_more_info
    proposed_action: str
    proposed_amount: Decimal | None
    final_action: str
    final_amount: Decimal | None
    note: str  # the reviewer's note, masked and capped
    decided_at: datetime
    score: float = 0.0  # the backend's rank (BM25 or ts_rank): only comparable within a list
    similarity: float = 0.0  # term overlap with the case, 0..1, the same on every backend
    withheld: tuple[str, ...] = ()  # injection markers: the words were withheld

    @property
    def edit_summary(self) -> str:
        """What the reviewer changed in the proposal, in words."""
        if not self.proposed_action:
            return f"decided {self.final_action} {_money(self.final_amount)} (no valid draft)"
        if (self.proposed_action, self.proposed_amount) == (self.final_action, self.final_amount):
            return "kept the proposal"
        if self.proposed_action != self.final_action:
            return f"changed {self.proposed_action} to {self.final_action}"
        direction = (
            "lowered" if (self.final_amount or 0) < (self.proposed_amount or 0) else "raised"
        )
        return (
            f"{direction} the amount from {_money(self.proposed_amount)} "
            f"to {_money(self.final_amount)}"
        )

    @property
    def changed(self) -> bool:
        return bool(self.proposed_action) and self.edit_summary != "kept the proposal"

    def provenance(self, cite: str) -> dict[str, Any]:
        """What a proposal records about a precedent it saw (``Proposal.precedents``)."""
        return {
            "cite": cite,
            "reference": self.reference,
            "decision": self.decision_id,
            "task": self.task_id,
            "score": round(self.score, 4),
            "similarity": round(self.similarity, 4),
            "outcome": self.outcome,
            "proposed_action": self.proposed_action,
            "proposed_amount": _money(self.proposed_amount),
            "final_action": self.final_action,
            "final_amount": _money(self.final_amount),
            "gate_reasons": list(self.gate_reasons),
            "reviewer_reason": self.reviewer_reason,
            "excerpt": self.excerpt,
            "note": self.note,
            "edit_summary": self.edit_summary,
            "decided_at": self.decided_at.isoformat(),
            "withheld": list(self.withheld),
        }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


@dataclass(frozen=True)
class PrecedentQuery:
    """What the finder is asked: the case's words, which case (excluded with every other
    decision of it), and the moment before which precedents must have been decided."""

    text: str
    request_id: int | None
    decided_before: datetime
    k: int
    min_similarity: float = DEFAULT_MIN_SIMILARITY


class PrecedentFinder(Protocol):
    def __call__(self, *, query: PrecedentQuery) -> list[Precedent]: ...


def similarity(query_text: str, text: str) -> float:
    """Dice overlap of the two texts' stemmed terms (0..1). Backend-independent, so the
    minimum similarity means the same on SQLite and PostgreSQL."""
    a, b = set(tokenize(query_text)), set(tokenize(text))
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def rank_by_bm25(
    query_text: str, candidates: Sequence[tuple[str, Precedent]], *, k: int, min_similarity: float
) -> list[Precedent]:
    """The ``k`` best candidates (their full text, the precedent) for ``query_text`` by
    BM25 over the stemmed terms, at least ``min_similarity`` similar, best first."""
    if k <= 0 or not candidates:
        return []
    corpus = [tokenize(text) or ["\u2205"] for text, _ in candidates]
    scores = BM25Okapi(corpus).get_scores(query_terms(query_text))
    order = sorted(
        range(len(candidates)), key=lambda i: (-scores[i], -candidates[i][1].decision_id)
    )
    return finish(
        query_text,
        [(candidates[i][0], replace(candidates[i][1], score=float(scores[i]))) for i in order],
        k=k,
        min_similarity=min_similarity,
    )


def finish(
    query_text: str, ranked: Sequence[tuple[str, Precedent]], *, k: int, min_similarity: float
) -> list[Precedent]:
    """Ranked candidates → the first ``k`` at least ``min_similarity`` similar, each with
    its similarity set (both backends end here)."""
    found = []
    for text, precedent in ranked:
        sim = similarity(query_text, text)
        if sim >= min_similarity and sim > 0:
            found.append(replace(precedent, similarity=sim))
        if len(found) == k:
            break
    return found
