"""Finding the precedents of a case being drafted: through the ``precedent_finder`` hook
(registered by ``reviews``) or a finder given by the caller (``evaluate_drafter``'s
held-back corpus), screened for prompt injection before anything reaches the prompt."""

import logging
from dataclasses import replace
from datetime import datetime

from django.conf import settings

from .. import hooks
from .precedents import Precedent, PrecedentFinder, PrecedentQuery
from .screening import injection_markers_in

logger = logging.getLogger(__name__)


def screen_precedent(precedent: Precedent) -> Precedent:
    """A precedent whose words (excerpt or note) look like instructions keeps its decided
    figures, but its words are withheld: another customer's text must not steer a draft,
    and the case being drafted is not sent to review for it (it is not this customer's)."""
    markers = injection_markers_in(precedent.excerpt, precedent.note)
    if not markers:
        return precedent
    return replace(
        precedent,
        excerpt="[withheld: the text looked like instructions]",
        note="",
        withheld=markers,
    )


def precedents_for(
    *,
    text: str,
    request_id: int | None,
    decided_before: datetime,
    finder: PrecedentFinder | None = None,
    k: int | None = None,
) -> tuple[Precedent, ...]:
    """Up to ``k`` (``HITL_PRECEDENTS_K``) screened precedents for a case, best first; none
    when k is 0, no finder is registered, or the finder fails (logged: a draft without
    precedents is still a good draft, and the gate and the reviewer follow anyway)."""
    k = settings.HITL_PRECEDENTS_K if k is None else k
    finder = finder or hooks.precedent_finder.get_optional()
    if k <= 0 or finder is None or not text.strip():
        return ()
    query = PrecedentQuery(
        text=text,
        request_id=request_id,
        decided_before=decided_before,
        k=k,
        min_similarity=settings.HITL_PRECEDENTS_MIN_SIMILARITY,
    )
    try:
        found = finder(query=query)
    except Exception:
        logger.exception("finding precedents failed; drafting without them")
        return ()
    return tuple(screen_precedent(p) for p in found[:k])
