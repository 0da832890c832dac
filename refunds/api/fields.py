"""``MoneyField``: the one serializer field for amounts, in requests and in responses."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from ..money import DECIMAL_PLACES, MAX_DIGITS, format_money

# What every amount in a response looks like; the tests and the schema hold clients to it.
MONEY_RESPONSE_PATTERN = r"^\d+\.\d{2}$"


class MoneyField(serializers.DecimalField):
    """In: a decimal string or JSON number, at most two places, never negative (never a
    float: the parser reads JSON numbers as ``Decimal``). Out: always a two-decimal
    string (``"20.00"``) through ``money.format_money``, whatever the source holds
    (a model instance's ``Decimal``, or a drafted decision's ``"20.0"`` in a JSON column)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        super().__init__(
            max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, coerce_to_string=True, **kwargs
        )

    def to_representation(self, value) -> str:
        return format_money(value)


class MoneyFieldExtension(OpenApiSerializerFieldExtension):
    """Responses promise exactly two decimals; requests keep DRF's decimal mapping."""

    target_class = MoneyField

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {
            "type": "string",
            "format": "decimal",
            "pattern": MONEY_RESPONSE_PATTERN,
            "example": "20.00",
        }
