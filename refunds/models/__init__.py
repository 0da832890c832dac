"""Refund domain models, one module per area so each stays readable."""

from .agent import Proposal, RefundPolicy, RefundPolicySection, RefundPolicyVersion
from .core import Customer, Integration, IntegrationAPIKey, Order, RefundRequest
from .gate import GateEvaluation, GatePolicyVersion

__all__ = ["Customer", "GateEvaluation", "GatePolicyVersion", "Integration", "IntegrationAPIKey",
           "Order", "Proposal", "RefundPolicy", "RefundPolicySection", "RefundPolicyVersion",
           "RefundRequest"]
