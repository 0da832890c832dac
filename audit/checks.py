"""System check of the integrity keys (run by ``check``, ``migrate``, ``runserver``,
``qcluster``): a bad key ring stops the process at start, not at the first audit event."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .integrity import keyring


@checks.register(checks.Tags.security)
def check_integrity_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        keyring()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="See README, 'Integrity keys'.", id="audit.E001")]
    return []
