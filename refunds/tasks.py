"""django-q2 entry points: each takes an id, loads, and calls a service.

Leaves of the import graph: nothing in ``refunds`` imports this module (services queue
these tasks by dotted name through ``refunds.jobs``)."""

import logging

from .execution.executor import execution_run
from .execution.reconciler import executions_reconcile as reconcile
from .pipeline import pipeline_reconcile, refund_request_run_pipeline
from .webhooks import webhook_delivery_send as send
from .webhooks import webhooks_deliver_due as deliver

logger = logging.getLogger(__name__)


def refund_request_process(request_id: int) -> None:
    """Drafts and gates this request and others waiting (see ``refunds.pipeline``).
    Safe to run twice."""
    refund_request_run_pipeline(request_id=request_id)


def refund_request_execute(request_id: int) -> None:
    """Runs the action of a final decision, exactly once (see ``refunds.execution``).
    Safe to deliver twice: a second run finds the work done or the lock held."""
    outcome = execution_run(request_id=request_id)
    logger.info(
        "execution run",
        extra={"request_id": request_id, "outcome": outcome.status, "detail": outcome.detail},
    )


def executions_reconcile() -> None:
    """Scheduled (every minute): re-drives final decisions with no finished execution."""
    report = reconcile()
    if report.redriven:
        logger.info("executions re-driven", extra={"count": report.redriven})


def webhook_delivery_send(delivery_id: int) -> None:
    send(delivery_id=delivery_id)


def webhooks_deliver_due() -> None:
    """Scheduled (every minute): sends the webhooks whose next attempt is due."""
    deliver()


def pipeline_reconcile_task() -> dict:
    """Scheduled every minute (see the schedules migration)."""
    return pipeline_reconcile()
