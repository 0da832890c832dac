"""The notification domain's audit events and the review/ops events it reads."""

from analytics import events as analytics_events
from reviews import events as review_events

# What the collector reads from the audit log (see notifications.collect).
DRIFT_DETECTED = analytics_events.DRIFT_DETECTED
WATCHED = (
    review_events.ESCALATED,
    review_events.SLA_ESCALATED,
    review_events.FIRST_APPROVAL,
    DRIFT_DETECTED,
)

CREATED = "notification.created"
DELIVERY_SENT = "notification.delivery_sent"
DELIVERY_FAILED = "notification.delivery_failed"
DELIVERY_REQUEUED = "notification.delivery_requeued"
LINK_OPENED = "notification.link_opened"
LINK_REFUSED = "notification.link_refused"
PREFERENCE_CHANGED = "notification.preference_changed"
