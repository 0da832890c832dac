"""Reads with rules in them: who may see which requests, and what is loaded with them."""

from django.db.models import QuerySet

from .models import Integration, RefundRequest


def refund_requests_for_integration(*, integration: Integration) -> QuerySet[RefundRequest]:
    """An integration sees only its own requests; anything else is a 404 to it."""
    return RefundRequest.objects.filter(integration=integration).select_related(
        "customer", "order")
