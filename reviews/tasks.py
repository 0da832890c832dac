"""django-q2 entry points of human review (scheduled by the 0002 and 0006 data migrations)."""

import logging

logger = logging.getLogger(__name__)


def review_sla_sweep() -> dict[str, int]:
    """Every minute: expire, escalate and release per the queues' SLAs."""
    from .services import review_sla_sweep as sweep

    counts = sweep()
    if any(counts.values()):
        logger.info("review SLA sweep", extra=counts)
    return counts


def loop_stats_rollup_due() -> list[str]:
    """Hourly: roll up the closed days that are due (reviews.rollup.days_due), within a
    time budget well under the cluster's task timeout; the next run goes on from there."""
    from django.conf import settings

    from .rollup import loop_stats_rollup_due as rollup_due

    budget = settings.Q_CLUSTER.get("timeout", 120) / 2
    days = [d.isoformat() for d in rollup_due(budget_seconds=budget)]
    if days:
        logger.info("loop stats rolled up", extra={"days": days})
    return days
