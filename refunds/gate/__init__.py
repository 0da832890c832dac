"""The risk and policy gate. ``engine`` and ``vocabulary`` are pure (import them
anywhere); ``services``, ``selectors`` and ``backtest`` touch the database."""

from .engine import evaluate_gate
from .vocabulary import (
    ROUTE_AUTO,
    ROUTE_REVIEW,
    GateContext,
    GatePolicySnapshot,
    GateReason,
    GateResult,
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
