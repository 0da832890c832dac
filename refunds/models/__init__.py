"""Refund domain models, one module per area so each stays readable."""

from .core import Customer, Integration, IntegrationAPIKey, Order, RefundRequest

__all__ = ["Customer", "Integration", "IntegrationAPIKey", "Order", "RefundRequest"]
