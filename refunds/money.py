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


def validate_currency(value: str) -> None:
    if value not in CURRENCY_CODES:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.", code="currency")


def validate_country(value: str) -> None:
    if value not in COUNTRY_CODES:
        raise ValidationError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code.", code="country"
        )
