import pytest
from django.core.exceptions import ValidationError

from refunds.models.core import validate_throttle_rate


@pytest.mark.parametrize("rate", ["120/min", "5/sec", "1000/hour", "10/day", "3/m"])
def test_throttle_rate_validator_accepts_drf_rates(rate):
    validate_throttle_rate(rate)


@pytest.mark.parametrize("rate", ["2/fortnight", "2/", "/min", "ten/min", "5"])
def test_throttle_rate_validator_refuses_malformed_rates(rate):
    with pytest.raises(ValidationError):
        validate_throttle_rate(rate)
