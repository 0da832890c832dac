"""The risk and policy gate. ``engine`` is pure (import it anywhere); ``services``,
``selectors`` and ``backtest`` touch the database."""

from .engine import (
    ROUTE_AUTO,
    ROUTE_REVIEW,
    GateContext,
    GatePolicySnapshot,
    GateReason,
    GateResult,
    evaluate_gate,
)

__all__ = [
    "ROUTE_AUTO",
    "ROUTE_REVIEW",
    "GateContext",
    "GatePolicySnapshot",
    "GateReason",
    "GateResult",
    "evaluate_gate",
]
