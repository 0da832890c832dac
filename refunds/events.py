"""The audit event types the refunds domain records, in one place (as Saleor keeps an
``events.py`` per domain): every ``record_event`` in ``refunds`` names its type from here,
so the vocabulary of the audit log can be read, searched and changed in one file.

The values are stored in the append-only audit log: never rename one (add a new type).
"""

from typing import Any

# Intake and the conversation
REFUND_REQUEST_RECEIVED = "refund_request.received"
REFUND_REQUEST_IMPORTED = "refund_request.imported"
REFUND_REQUEST_TRANSITIONED = "refund_request.transitioned"
CUSTOMER_REPLIED = "customer.replied"
CUSTOMER_FEEDBACK_GIVEN = "customer.feedback_given"

# Integrations
INTEGRATION_API_KEY_CREATED = "integration.api_key_created"
INTEGRATION_API_KEY_REVOKED = "integration.api_key_revoked"

# Drafting, gate and decisions
CONTEXT_RETRIEVED = "context.retrieved"
PROPOSAL_CREATED = "proposal.created"
GATE_EVALUATED = "gate.evaluated"
GATE_POLICY_VERSION_CREATED = "gate_policy.version_created"
GATE_POLICY_VERSION_ACTIVATED = "gate_policy.version_activated"
REFUND_POLICY_VERSION_CREATED = "refund_policy.version_created"
DECISION_FINALIZED = "decision.finalized"
DECISION_PAYLOAD_REKEYED = "decision.payload_rekeyed"  # written by migration 0013

# Execution
EXECUTION_STARTED = "execution.started"
EXECUTION_PROVIDER_CALLED = "execution.provider_called"
EXECUTION_RECORDED = "execution.recorded"
EXECUTION_REFUSED = "execution.refused"
EXECUTION_FAILED = "execution.failed"
EXECUTION_OUTCOME_UNKNOWN = "execution.outcome_unknown"
EXECUTION_RETRY_REQUESTED = "execution.retry_requested"

# The events whose payload carries a final decision's payload hash.
DECISION_HASH_EVENTS = [DECISION_FINALIZED, DECISION_PAYLOAD_REKEYED]


def execution_error_payload(*, execution, error: str) -> dict[str, Any]:
    """The payload of ``execution.failed`` / ``.refused`` / ``.outcome_unknown``."""
    return {"execution": execution.pk, "error": error, "attempts": execution.attempts}


def transition_payload(
    *, from_status: str, to_status: str, reason: str, extra: dict[str, Any] | None
) -> dict[str, Any]:
    """The payload of ``refund_request.transitioned``."""
    return {"from": from_status, "to": to_status, "reason": reason, **(extra or {})}
