"""The reconciler: re-drives every final decision that has no finished execution.

The Redis broker can lose a task and a worker can die mid-call; this sweep (scheduled every
minute, also ``manage.py reconcile_executions``) finds what was left behind and runs the
executor again, which is idempotent, so re-driving something that is in fact fine costs
nothing but a skipped run.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .. import jobs
from ..models import Execution, RefundRequest
from ..states import FINAL_APPROVED_STATUSES, RefundStatus
from .executor import execution_run
from .recording import ExecutionOutcome


@dataclass
class ReconcileReport:
    redriven: int = 0
    outcomes: dict[int, str] = field(default_factory=dict)


def executions_to_redrive(*, now=None, grace_seconds: int | None = None) -> list[int]:
    """Ids of requests to run again: approved for longer than the grace period and not
    started, or ``executing`` with no live lock and the next attempt due."""
    now = now or timezone.now()
    grace = settings.HITL_RECONCILE_GRACE if grace_seconds is None else grace_seconds
    cutoff = now - timedelta(seconds=grace)
    not_started = RefundRequest.objects.filter(
        status__in=FINAL_APPROVED_STATUSES, status_changed_at__lte=cutoff
    ).values_list("pk", flat=True)
    stalled = Execution.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        request__status=RefundStatus.EXECUTING,
        phase__in=(Execution.Phase.STARTED, Execution.Phase.PROVIDER_CALLED),
    ).values_list("request_id", flat=True)
    return sorted(set(not_started) | set(stalled))


def executions_reconcile(
    *, inline: bool = False, now=None, grace_seconds: int | None = None
) -> ReconcileReport:
    """Re-drives what ``executions_to_redrive`` finds: runs the executor in this process
    (``inline``) or queues it for the workers."""
    report = ReconcileReport()
    for request_id in executions_to_redrive(now=now, grace_seconds=grace_seconds):
        report.redriven += 1
        if inline:
            outcome: ExecutionOutcome = execution_run(request_id=request_id)
            report.outcomes[request_id] = outcome.status
        else:
            jobs.enqueue_refund_request_execution(request_id)
            report.outcomes[request_id] = "queued"
    return report
