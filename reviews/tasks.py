"""django-q2 entry points of human review (scheduled by the 0002 data migration)."""

import logging

logger = logging.getLogger(__name__)


def review_sla_sweep() -> dict[str, int]:
    """Every minute: expire, escalate and release per the queues' SLAs."""
    from .services import review_sla_sweep as sweep

    counts = sweep()
    if any(counts.values()):
        logger.info("review SLA sweep", extra=counts)
    return counts
