"""An append-only, hash-chained log of everything that happened and who did it."""

from django.db import models

from .integrity import HASH_MAX_LENGTH


class AuditEventQuerySet(models.QuerySet):
    """Refuses bulk changes: audit history is written once, never edited or removed."""

    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only; they cannot be updated.")

    def delete(self):
        raise PermissionError("Audit events are append-only; they cannot be deleted.")

    _raw_delete = delete


class ActorType(models.TextChoices):
    USER = "user", "User"
    INTEGRATION = "integration", "Integration"
    SYSTEM = "system", "System"
    MODEL = "model", "Model"


class AuditEvent(models.Model):
    """One link of the chain: ``hash = HMAC-SHA256(key, canonical(fields) including
    prev_hash)``, stored as ``hmac-sha256:<key id>:<hex>`` (``audit.integrity``); events
    from before keyed hashes carry a plain SHA-256 hex digest.

    ``sequence`` is contiguous from 1, so a deleted or inserted row shows as a gap or a
    broken link in ``verify_audit``; ``prev_hash`` is unique, so the chain cannot fork.
    """

    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False, db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    event_type = models.CharField(max_length=64, db_index=True)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=HASH_MAX_LENGTH, unique=True, editable=False)
    hash = models.CharField(max_length=HASH_MAX_LENGTH, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "sequence"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.event_type} {self.subject_type}:{self.subject_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events are append-only; they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only; they cannot be deleted.")


class AuditChainHead(models.Model):
    """A single row locked by every append, so concurrent writers queue instead of forking.

    Portable across databases: ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
    IMMEDIATE transaction mode already serialises writers.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=HASH_MAX_LENGTH, default="0" * 64)

    def __str__(self) -> str:
        return f"head #{self.sequence}"
