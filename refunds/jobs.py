"""Queueing the django-q2 tasks of ``refunds.tasks``, by dotted name.

Services call these (on commit); the task functions themselves live in ``refunds.tasks``,
which imports the services. Keeping the two apart keeps the dependency one way:
services → jobs, tasks → services. Callers use ``jobs.enqueue_…`` (module attribute) so
tests can patch one place.
"""

from django_q.tasks import async_task


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


def enqueue_refund_request_execution(request_id: int) -> None:
    """Called on commit of a final decision (see ``refunds.decisions``)."""
    async_task(
        "refunds.tasks.refund_request_execute",
        request_id,
        task_name=f"execute-refund-request-{request_id}",
        group="refund-execution",
    )
