"""How the offline heuristic drafter uses the <precedents> block: explainably, or not at all.

Rule: take the precedents that are very similar (similarity at least
``FOLLOW_SIMILARITY``) and on which the drafter had proposed the same action it is about
to propose now. If the closest of them was changed by its reviewer, and every other one
was changed the same way (the same new action; or, same action, the amount lowered, or
raised), the draft follows the humans: the new action, or the amount scaled by the
closest precedent's final/proposed ratio (capped at what is refundable). The rationale
cites the precedent id. Kept proposals, disagreeing reviewers or weak similarity: the
draft stays as the heuristics made it. A precedent's words (untrusted) are never read,
only its decided figures.
"""

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FOLLOW_SIMILARITY = 0.5
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Followed:
    action: str
    amount: Decimal
    why: str


def parse_precedents(block: str) -> list[dict[str, Any]]:
    """The records of the <precedents> block (one JSON object a line; "(none)" is none)."""
    records = []
    for line in block.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _figures(record: dict, key: str) -> tuple[str, Decimal]:
    part = record.get(key) or {}
    try:
        amount = Decimal(str(part.get("amount") or "0"))
    except ArithmeticError:
        amount = Decimal("0")
    return str(part.get("action") or ""), amount


def _change(record: dict) -> tuple[str, str] | None:
    """How the reviewer changed the proposal: ("action", new action), ("amount", "lower"
    or "higher"), or None if they kept it."""
    (p_action, p_amount), (d_action, d_amount) = (
        _figures(record, "proposed"),
        _figures(record, "decided"),
    )
    if d_action != p_action:
        return ("action", d_action)
    if d_amount != p_amount:
        return ("amount", "lower" if d_amount < p_amount else "higher")
    return None


def follow_precedents(
    records: list[dict[str, Any]],
    *,
    action: str,
    amount: Decimal,
    fallback_amount: Decimal,
    remaining: Decimal,
) -> Followed | None:
    """The humans' outcome to follow (see the module docstring), or None."""
    close = [
        r
        for r in records
        if float(r.get("similarity") or 0) >= FOLLOW_SIMILARITY
        and _figures(r, "proposed")[0] == action
    ]
    if not close:
        return None
    best = close[0]
    change = _change(best)
    if change is None or any(_change(r) != change for r in close[1:]):
        return None
    cite = str(best.get("id", "P?"))
    others = f" and {len(close) - 1} more like it" if len(close) > 1 else ""
    _, p_amount = _figures(best, "proposed")
    d_action, d_amount = _figures(best, "decided")
    if change[0] == "action":
        new_amount = Decimal("0")
        if d_action == "approve_refund":
            new_amount = min(fallback_amount, remaining)
        why = (
            f"following precedent {cite}{others} (similarity {best.get('similarity')}): on a "
            f"very similar case reviewers changed {action} to {d_action}"
        )
        return Followed(d_action, new_amount.quantize(CENT), why)
    ratio = d_amount / p_amount if p_amount > 0 else Decimal("1")
    new_amount = min((amount * ratio).quantize(CENT, rounding=ROUND_HALF_UP), remaining)
    why = (
        f"following precedent {cite}{others} (similarity {best.get('similarity')}): on a very "
        f"similar case reviewers {change[1]}ed the amount from {p_amount:.2f} to "
        f"{d_amount:.2f}, so this draft refunds the same share"
    )
    return Followed(action, new_amount, why)
