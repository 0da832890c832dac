"""django-q2 entry points of the audit log."""


def audit_anchor_write() -> None:
    """Scheduled (every 15 minutes): writes the chain head out of the database. A sink
    that fails raises ``AnchorSinkError``, so the task shows as failed (admin, Background
    tasks > Failed tasks) after the other sinks were written."""
    from .anchors import audit_anchor_write as write

    write()
