"""Embedded default: SQLite, ORM broker, offline drafter; no server or key needed."""

from django.core.management.utils import get_random_secret_key

from .base import *  # noqa: F403
from .base import (
    DEVELOPMENT_INTEGRITY_KEY,
    DEVELOPMENT_INTEGRITY_KEY_ID,
    HITL_INTEGRITY_KEY,
    VAR_DIR,
    env,
)


def _development_secret_key() -> str:
    """A key generated once into var/, so sessions survive restarts without configuration."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret_key()

# Without HITL_INTEGRITY_KEY, the published development key (never accepted in production).
if not HITL_INTEGRITY_KEY:
    HITL_INTEGRITY_KEY_ID = DEVELOPMENT_INTEGRITY_KEY_ID
    HITL_INTEGRITY_KEY = DEVELOPMENT_INTEGRITY_KEY
