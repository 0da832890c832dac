"""Refund domain models, one module per area so each stays readable."""

from .agent import Proposal, RefundPolicy, RefundPolicySection, RefundPolicyVersion
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
from .feedback import CustomerFeedback
from .gate import GateEvaluation, GatePolicyVersion

__all__ = [
    "Customer",
    "CustomerFeedback",
    "CustomerReply",
    "Execution",
    "GateEvaluation",
    "GatePolicyVersion",
    "Integration",
    "IntegrationAPIKey",
    "IntegrationWebhook",
    "LedgerRefund",
    "Order",
    "OutboundMessage",
    "Proposal",
    "RefundPolicy",
    "RefundPolicySection",
    "RefundPolicyVersion",
    "RefundRequest",
    "ReplacementOrder",
    "WebhookDelivery",
]
