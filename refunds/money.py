"""Money is a Decimal with two places and an ISO 4217 currency beside it, never a float."""

from decimal import ROUND_HALF_UP, Decimal

import pycountry
from django.core.exceptions import ValidationError

CURRENCY_CODES: frozenset[str] = frozenset(c.alpha_3 for c in pycountry.currencies)
COUNTRY_CODES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)
CENTS = Decimal("0.01")
MAX_DIGITS = 12
DECIMAL_PLACES = 2


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(CENTS, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | int | str) -> str:
    """The one text form of an amount that leaves the system (API responses, webhooks):
    always two decimals, e.g. ``"20.00"``, never ``"20.0"`` or ``"20"``, whatever the
    source held (a drafted decision keeps the model's own ``"20.0"``). Two places for every
    currency, as stored and as accepted on intake."""
    value = quantize(Decimal(str(amount)))
    return f"{abs(value) if value.is_zero() else value:f}"  # "-0" (valid model output) is "0.00"


def validate_currency(value: str) -> None:
    if value not in CURRENCY_CODES:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.", code="currency")


def validate_country(value: str) -> None:
    if value not in COUNTRY_CODES:
        raise ValidationError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code.", code="country"
        )
