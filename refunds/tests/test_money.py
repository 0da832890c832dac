"""``format_money``: the text form of every amount that leaves the system."""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refunds.money import format_money

TWO_DECIMALS = re.compile(r"^\d+\.\d{2}$")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("20.0", "20.00"),
        ("20", "20.00"),
        (20, "20.00"),
        (Decimal("7.5"), "7.50"),
        (Decimal("1E+1"), "10.00"),
        (Decimal("-0"), "0.00"),
        (Decimal("0.005"), "0.01"),  # half up, as money.quantize rounds everywhere else
        (Decimal("9999999999.99"), "9999999999.99"),
    ],
)
def test_format_money_writes_two_decimals(amount, text):
    assert format_money(amount) == text


@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2))
def test_format_money_keeps_the_value_of_any_storable_amount(amount):
    text = format_money(amount)

    assert TWO_DECIMALS.match(text)
    assert Decimal(text) == amount
