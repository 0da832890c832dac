"""The audit event names analytics writes (its only write: a drift alert, once a day)."""

DRIFT_DETECTED = "ops.drift_detected"
