"""The audit log's own event type names: what the admin records about itself. Each domain
names its events in its own ``events.py`` (``refunds.events``, ``reviews.events``)."""

ADMIN_ACTION_REFUSED = "admin.action_refused"
