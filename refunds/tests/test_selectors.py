"""Reads with rules in them."""

import uuid

import pytest

from refunds.selectors import refund_request_by_reference
from refunds.tests.factories import RefundRequestFactory

pytestmark = pytest.mark.django_db


def test_refund_request_by_reference_takes_the_id_the_public_id_or_its_start():
    request = RefundRequestFactory()
    public = str(request.public_id)

    for reference in (str(request.pk), public, public.upper(), public[:8], f" {public[:13]} "):
        assert refund_request_by_reference(reference) == request, reference


def test_refund_request_by_reference_finds_a_public_id_that_starts_with_digits_only():
    request = RefundRequestFactory(public_id=uuid.UUID("12345678-0000-4000-8000-000000000000"))

    assert refund_request_by_reference("12345678") == request


@pytest.mark.parametrize("reference", ["", "abc", "not-a-uuid-at-all", "9" * 30, "1234567"])
def test_refund_request_by_reference_is_none_for_what_names_no_request(reference):
    RefundRequestFactory()

    assert refund_request_by_reference(reference) is None


def test_refund_request_by_reference_refuses_an_ambiguous_prefix():
    for suffix in ("1", "2"):
        RefundRequestFactory(public_id=uuid.UUID(f"abcdef01-0000-4000-8000-00000000000{suffix}"))

    assert refund_request_by_reference("abcdef01") is None
    assert refund_request_by_reference("abcdef01-0000-4000-8000-000000000002") is not None
