"""django-q2 entry points of the audit log."""


def audit_anchor_write() -> None:
    """Scheduled (every 15 minutes): writes the chain head out of the database."""
    from .anchors import audit_anchor_write as write

    write()
