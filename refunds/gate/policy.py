"""Gate policy values: their validation, normalisation and a readable diff between versions.

No ORM here: the model validates its fields with these functions, the admin form
normalises with them, and the diff works on two ``GatePolicySnapshot`` objects.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from refunds.actions import Action
from refunds.agent.schemas import Sentiment
from refunds.money import COUNTRY_CODES, CURRENCY_CODES

from .text import normalize_terms
from .vocabulary import QUEUES, REASON_CODES, GatePolicySnapshot

MAX_CEILING = Decimal("100000.00")
MAX_PRIOR_REFUNDS = 1000
MAX_AGE_HOURS = 24 * 365
MAX_RISK_TERMS = 200
MIN_TERM_LENGTH = 3  # shorter terms ("a", "ok") would match nearly every message
MAX_TERM_LENGTH = 60
CUSTOMER_TIERS = ("standard", "premium", "enterprise")

# The editable policy values, in the order the admin and the diff show them.
POLICY_FIELDS: tuple[tuple[str, str], ...] = (
    ("auto_approve_ceiling", "Auto-approve ceiling"),
    ("currency_ceilings", "Per-currency ceilings"),
    ("auto_actions", "Actions allowed without a human"),
    ("required_policy_match", "Policy match required for auto-approval"),
    ("review_sentiments", "Sentiments that require review"),
    ("risk_terms", "High-risk terms"),
    ("honour_model_review_flag", "Honour the model's own review request"),
    ("review_tiers", "Customer tiers always reviewed"),
    ("review_countries", "Countries always reviewed"),
    ("max_prior_refunds_90d", "Most prior refunds in 90 days before review"),
    ("repeat_complaint_min_requests", "Earlier requests that make a repeat complaint"),
    ("queue_routes", "Queue per reason"),
    ("priority_tiers", "Tiers that raise priority"),
    ("priority_amount", "Amount that raises priority"),
    ("priority_age_hours", "Waiting hours that raise priority"),
)
POLICY_FIELD_NAMES = tuple(name for name, _ in POLICY_FIELDS)


def _require_list(value: Any) -> list:
    if not isinstance(value, list | tuple):
        raise ValidationError("Expected a list of values.", code="invalid")
    return list(value)


def _closed_choices(value: Any, allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    unknown = [v for v in _require_list(value) if v not in allowed]
    if unknown:
        raise ValidationError(
            f"Unknown {what}: {', '.join(map(str, unknown))}. Allowed: {', '.join(allowed)}.",
            code="invalid_choice",
        )


def validate_actions(value: Any) -> None:
    _closed_choices(value, (a.value for a in Action), "action")


def validate_sentiments(value: Any) -> None:
    _closed_choices(value, (s.value for s in Sentiment), "sentiment")


def validate_tiers(value: Any) -> None:
    _closed_choices(value, CUSTOMER_TIERS, "customer tier")


def validate_countries(value: Any) -> None:
    _closed_choices(value, sorted(COUNTRY_CODES), "country code")


def validate_risk_terms(value: Any) -> None:
    terms = _require_list(value)
    if len(terms) > MAX_RISK_TERMS:
        raise ValidationError(f"At most {MAX_RISK_TERMS} terms.", code="too_many")
    if any(not isinstance(t, str) for t in terms):
        raise ValidationError("Each term must be text.", code="invalid")
    bad = [t for t in terms if not MIN_TERM_LENGTH <= len(t) <= MAX_TERM_LENGTH]
    if bad:
        raise ValidationError(
            f"Terms must be {MIN_TERM_LENGTH} to {MAX_TERM_LENGTH} characters long: "
            f"{', '.join(repr(t) for t in bad)}.",
            code="term_length",
        )
    if tuple(terms) != normalize_terms(terms):
        raise ValidationError(
            "Terms must be normalised (lower case, NFKC, no duplicates).", code="not_normalised"
        )


def validate_amount_bounds(value: Decimal | None) -> None:
    if value is not None and not Decimal("0") <= value <= MAX_CEILING:
        raise ValidationError(f"Must be between 0 and {MAX_CEILING}.", code="out_of_range")


def validate_currency_ceilings(value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ValidationError("Expected currency: amount pairs.", code="invalid")
    for currency, amount in value.items():
        if currency not in CURRENCY_CODES:
            raise ValidationError(
                f"{currency!r} is not an ISO 4217 currency code.", code="currency"
            )
        try:
            parsed = Decimal(str(amount))
        except InvalidOperation:
            raise ValidationError(
                f"{amount!r} is not an amount ({currency}).", code="invalid"
            ) from None
        if not parsed.is_finite() or parsed.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValidationError(
                f"{amount!r} must have at most two decimal places ({currency}).", code="invalid"
            )
        try:
            validate_amount_bounds(parsed)
        except ValidationError:
            raise ValidationError(
                f"The {currency} ceiling must be between 0 and {MAX_CEILING}.", code="out_of_range"
            ) from None


def validate_queue_routes(value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ValidationError("Expected reason: queue pairs.", code="invalid")
    for code, queue in value.items():
        if code not in REASON_CODES:
            raise ValidationError(f"Unknown reason code {code!r}.", code="invalid_choice")
        if queue not in QUEUES:
            raise ValidationError(
                f"Unknown queue {queue!r} for {code}; use one of {', '.join(QUEUES)}.",
                code="invalid_choice",
            )


# --- A readable diff ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyChange:
    field: str
    label: str
    old: str
    new: str


def _readable(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) for v in value):
        return ", ".join(f"{k}: {v}" for k, v in value) or "—"
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "—"
    return str(value)


def gate_policy_diff(old: GatePolicySnapshot | None, new: GatePolicySnapshot) -> list[PolicyChange]:
    """The values that differ from ``old`` to ``new`` (all of them when ``old`` is None),
    each as readable text, in ``POLICY_FIELDS`` order."""
    labels = dict(POLICY_FIELDS)
    changes = []
    for f in fields(GatePolicySnapshot):
        if f.name == "version":
            continue
        before = None if old is None else getattr(old, f.name)
        after = getattr(new, f.name)
        if old is not None and before == after:
            continue
        changes.append(
            PolicyChange(
                field=f.name,
                label=labels.get(f.name, f.name),
                old=_readable(before) if old is not None else "",
                new=_readable(after),
            )
        )
    return changes


def policy_changes_to_json(changes: list[PolicyChange]) -> list[dict[str, str]]:
    return [{"field": c.field, "old": c.old, "new": c.new} for c in changes]
