"""django-q2 entry points of notifications (scheduled by ``migrations/0002``). Leaves of
the import graph: each takes an id or nothing and calls a service."""

import logging

from .collect import notifications_collect, notifications_sla_scan
from .delivery import notification_deliveries_due as deliver_due
from .delivery import notification_delivery_send as send
from .dispatch import notifications_dispatch

logger = logging.getLogger(__name__)


def notifications_tick() -> dict[str, int]:
    """Every minute: read the new audit events, warn about SLAs, send what is due."""
    counts = {
        "collected": notifications_collect(),
        "sla_warned": notifications_sla_scan(),
        "messages": notifications_dispatch(),
    }
    if any(counts.values()):
        logger.info("notifications", extra=counts)
    return counts


def notification_delivery_send(delivery_id: int) -> None:
    send(delivery_id=delivery_id)


def notification_deliveries_due() -> int:
    """Every minute: retries whose time has come (and sends whose task was lost)."""
    return deliver_due()
