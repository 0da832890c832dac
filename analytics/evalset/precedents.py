"""Precedents in the evaluation: a held-back split of the evaluation set by decision time.

The cases decided before the cut-off (the first ``split`` share, oldest first) form the
precedent corpus; the rest are evaluated, each drafted with the corpus' most similar
cases decided before it (never its own request's), ranked as on SQLite (BM25 over the
stemmed terms, ``refunds.agent.precedents.rank_by_bm25``) and screened like live
precedents. No ORM: records in, contexts out.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from refunds.agent.precedent_lookup import precedents_for
from refunds.agent.precedents import (
    NOTE_CHARS,
    Precedent,
    PrecedentQuery,
    amount_band,
    mask_text,
    rank_by_bm25,
)

from .replay import EvalCase, EvalSetError, draft_context_from_record


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return None


def decided_at(record: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str((record.get("human") or {}).get("decided_at")))
    except ValueError as exc:
        raise EvalSetError("human.decided_at is not a time") from exc


def precedent_from_record(record: dict[str, Any], *, number: int) -> tuple[str, Precedent]:
    """(the customer's full text, the precedent) for one record of the corpus."""
    context = draft_context_from_record(record)
    human = record.get("human") or {}
    proposed = ((record.get("proposal") or {}).get("decision")) or {}
    gate = record.get("gate") or {}
    proposed_action = str(proposed.get("action") or "")
    return context.customer_text(), Precedent(
        reference=f"{record.get('request', '')} decision {human.get('decision', number)}",
        decision_id=int(human.get("decision") or number),
        task_id=None,
        excerpt=mask_text(context.message),
        gate_reasons=tuple(str(r.get("code", "")) for r in gate.get("reasons") or []),
        reviewer_reason=str(human.get("reason_code") or ""),
        amount_band=amount_band(context.requested_amount or _decimal(proposed.get("amount"))),
        outcome=str(human.get("outcome") or ""),
        proposed_action=proposed_action,
        proposed_amount=_decimal(proposed.get("amount") or "0") if proposed_action else None,
        final_action=str(human.get("action") or ""),
        final_amount=_decimal(human.get("amount") or "0"),
        note=mask_text(str(human.get("comment") or ""), limit=NOTE_CHARS),
        decided_at=decided_at(record),
    )


@dataclass(frozen=True)
class Corpus:
    """The precedent corpus: (request, full text, precedent) per decision before the cut."""

    entries: tuple[tuple[str, str, Precedent], ...]

    def finder_for(self, request: str):
        """A ``PrecedentFinder`` over the corpus that never returns ``request``'s own."""

        def find(*, query: PrecedentQuery) -> list[Precedent]:
            candidates = [
                (text, p)
                for req, text, p in self.entries
                if req != request and p.decided_at < query.decided_before
            ]
            return rank_by_bm25(
                query.text, candidates, k=query.k, min_similarity=query.min_similarity
            )

        return find


def split_records(
    numbered: list[tuple[int, dict[str, Any]]], *, split: float
) -> tuple[Corpus, list[tuple[int, dict[str, Any]]]]:
    """Oldest first by decision time: the first ``split`` share is the corpus, the rest is
    evaluated (records that cannot be read raise ``EvalSetError`` in the caller's loop)."""
    ordered = sorted(numbered, key=lambda item: decided_at(item[1]))
    cut = int(len(ordered) * split)
    entries = []
    for number, record in ordered[:cut]:
        try:
            text, precedent = precedent_from_record(record, number=number)
        except EvalSetError:
            continue
        entries.append((str(record.get("request", "")), text, precedent))
    return Corpus(tuple(entries)), ordered[cut:]


def with_precedents(case: EvalCase, record: dict[str, Any], corpus: Corpus) -> EvalCase:
    """The case drafted with its precedents from the corpus (as the pipeline would)."""
    found = precedents_for(
        text=case.context.customer_text(),
        request_id=None,
        decided_before=decided_at(record),
        finder=corpus.finder_for(case.request),
    )
    return replace(case, context=replace(case.context, precedents=found))
