"""django-q2 entry points of analytics (scheduled by ``reviews/migrations/0006`` and
pointed here by ``analytics/migrations/0002``)."""

import logging

logger = logging.getLogger(__name__)


def loop_stats_rollup_due() -> list[str]:
    """Hourly: roll up the closed days that are due (analytics.rollup.days_due), within a
    time budget well under the cluster's task timeout; the next run goes on from there."""
    from django.conf import settings

    from .rollup import loop_stats_rollup_due as rollup_due

    budget = settings.Q_CLUSTER.get("timeout", 120) / 2
    days = [d.isoformat() for d in rollup_due(budget_seconds=budget)]
    if days:
        logger.info("loop stats rolled up", extra={"days": days})
    return days
