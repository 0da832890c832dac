"""Refund-policy documents (versioned, split into sections) and the agent's proposals."""

from django.conf import settings
from django.db import models

from .core import RefundRequest


class RefundPolicy(models.Model):
    """A policy document that policy admins edit; each edit is a new immutable version."""

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "refund policies"

    def __str__(self) -> str:
        return self.title


class RefundPolicyVersion(models.Model):
    """Immutable text of one version; the newest version is the one retrieval uses."""

    policy = models.ForeignKey(RefundPolicy, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    text = models.TextField(help_text="Markdown; each '## ' heading starts a section.")
    change_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["policy", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "version"], name="refund_policy_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy.slug} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Policy versions are immutable; save a new version instead.")
        super().save(*args, **kwargs)


class RefundPolicySection(models.Model):
    """One retrievable section of a version, with a stable id like ``returns-2``."""

    version = models.ForeignKey(
        RefundPolicyVersion, on_delete=models.CASCADE, related_name="sections"
    )
    section_id = models.CharField(max_length=80)
    title = models.CharField(max_length=200)
    body = models.TextField()
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "section_id"], name="refund_policy_section_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.section_id}: {self.title}"


class Proposal(models.Model):
    """The agent's draft for a request, with everything needed to explain it later."""

    class ErrorCode(models.TextChoices):
        MODEL_UNAVAILABLE = "model_unavailable", "Model unavailable"
        MODEL_OUTPUT_INVALID = "model_output_invalid", "Model output invalid"
        MODEL_REFUSED = "model_refused", "Model refused"
        MODEL_EMPTY = "model_empty", "Model gave no answer"

    request = models.ForeignKey(RefundRequest, on_delete=models.PROTECT, related_name="proposals")
    policy_version = models.ForeignKey(
        RefundPolicyVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals",
    )
    provider = models.CharField(max_length=32)
    model_name = models.CharField(max_length=200)
    prompt_name = models.CharField(max_length=64)
    prompt_version = models.CharField(max_length=32)
    prompt_messages = models.JSONField(default=list)
    sections = models.JSONField(default=list, help_text="Chosen sections with their scores.")
    context = models.JSONField(default=dict, help_text="The case facts the model saw.")
    precedents = models.JSONField(
        default=list,
        blank=True,
        help_text="The similar past human decisions the model saw (cited P1..Pk), with "
        "their scores and outcomes.",
    )
    raw_output = models.JSONField(null=True, blank=True)
    decision = models.JSONField(null=True, blank=True)
    token_usage = models.JSONField(default=dict, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=1)
    error_code = models.CharField(max_length=32, choices=ErrorCode.choices, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Proposal {self.pk} for {self.request_id}"

    @property
    def succeeded(self) -> bool:
        return self.decision is not None and not self.error_code
