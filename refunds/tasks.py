"""django-q2 entry points: each takes an id, loads, and calls a service."""

import logging

from django_q.tasks import async_task

logger = logging.getLogger(__name__)


def enqueue_refund_request_processing(request_id: int) -> None:
    """Called on commit of the intake transaction, so the worker always finds the row."""
    # save=False: a successful run leaves no Task row (the audit log records everything it
    # did); failures are still saved. Saves one write per request at high volume.
    async_task(
        "refunds.tasks.refund_request_process",
        request_id,
        task_name=f"process-refund-request-{request_id}",
        group="refund-pipeline",
        save=False,
    )


def refund_request_process(request_id: int) -> None:
    """Drafts and gates this request and others waiting (see ``refunds.pipeline``).
    Safe to run twice."""
    from .pipeline import refund_request_run_pipeline

    refund_request_run_pipeline(request_id=request_id)


def enqueue_refund_request_execution(request_id: int) -> None:
    """Called on commit of a final decision (see ``refunds.decisions``)."""
    async_task(
        "refunds.tasks.refund_request_execute",
        request_id,
        task_name=f"execute-refund-request-{request_id}",
        group="refund-execution",
    )


def refund_request_execute(request_id: int) -> None:
    """Runs the action of a final decision, exactly once (see ``refunds.execution``).
    Safe to deliver twice: a second run finds the work done or the lock held."""
    from .execution.executor import execution_run

    outcome = execution_run(request_id=request_id)
    logger.info(
        "execution run",
        extra={"request_id": request_id, "outcome": outcome.status, "detail": outcome.detail},
    )


def executions_reconcile() -> None:
    """Scheduled (every minute): re-drives final decisions with no finished execution."""
    from .execution.reconciler import executions_reconcile as reconcile

    report = reconcile()
    if report.redriven:
        logger.info("executions re-driven", extra={"count": report.redriven})


def webhook_delivery_send(delivery_id: int) -> None:
    from .webhooks import webhook_delivery_send as send

    send(delivery_id=delivery_id)


def webhooks_deliver_due() -> None:
    """Scheduled (every minute): sends the webhooks whose next attempt is due."""
    from .webhooks import webhooks_deliver_due as deliver

    deliver()


def pipeline_reconcile_task() -> dict:
    """Scheduled every minute (see the schedules migration)."""
    from .pipeline import pipeline_reconcile

    return pipeline_reconcile()
