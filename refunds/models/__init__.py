"""Refund domain models, one module per area so each stays readable."""

from .core import Customer, Integration, IntegrationAPIKey, Order, RefundRequest
from .execution import (
    CustomerReply,
    Execution,
    IntegrationWebhook,
    LedgerRefund,
    OutboundMessage,
    ReplacementOrder,
    WebhookDelivery,
)

__all__ = ["Customer", "CustomerReply", "Execution", "Integration", "IntegrationAPIKey",
           "IntegrationWebhook", "LedgerRefund", "Order", "OutboundMessage", "RefundRequest",
           "ReplacementOrder", "WebhookDelivery"]
