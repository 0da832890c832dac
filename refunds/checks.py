"""System checks for the worker's time budget (run by ``check``, ``migrate``, ``qcluster``).

A misconfigured cluster fails quietly in production: with ``retry`` ≤ ``timeout`` the broker
hands a still-running task to a second worker; with unbounded attempts a poisoned task runs
for ever; with one model attempt longer than the drafting budget every slow case goes to
review after a single try. So the process refuses to start instead.
"""

from django.conf import settings
from django.core import checks

# The pipeline starts no model attempt that could not end within this share of the task
# timeout; the rest is left for the database work around the drafts.
DRAFT_BUDGET_SHARE = 0.75
MAX_TASK_ATTEMPTS = 10


def draft_budget_seconds() -> float:
    return DRAFT_BUDGET_SHARE * settings.Q_CLUSTER.get("timeout", 120)


def model_attempt_seconds() -> float:
    """The longest one attempt at the OpenAI-compatible server can take: every client retry
    running into its timeout."""
    return settings.HITL_OPENAI_TIMEOUT * (settings.HITL_OPENAI_MAX_RETRIES + 1)


@checks.register(checks.Tags.compatibility)
def check_worker_time_budget(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    cluster = settings.Q_CLUSTER
    timeout, retry = cluster.get("timeout"), cluster.get("retry")
    max_attempts = cluster.get("max_attempts", 0)
    errors: list[checks.CheckMessage] = []
    if not timeout or not retry or retry <= timeout:
        errors.append(
            checks.Error(
                f"Q_RETRY ({retry}) must be greater than Q_TIMEOUT ({timeout}).",
                hint="Otherwise the broker redelivers a task that is still running.",
                id="refunds.E001",
            )
        )
    if not 1 <= max_attempts <= MAX_TASK_ATTEMPTS:
        errors.append(
            checks.Error(
                f"Q_MAX_ATTEMPTS ({max_attempts}) must be between 1 and {MAX_TASK_ATTEMPTS}.",
                hint="0 means unlimited in django-q2: a failing task would be retried for ever.",
                id="refunds.E002",
            )
        )
    if settings.HITL_OPENAI_TIMEOUT <= 0 or settings.HITL_OPENAI_MAX_RETRIES < 0:
        errors.append(
            checks.Error(
                "HITL_OPENAI_TIMEOUT must be positive and HITL_OPENAI_MAX_RETRIES not negative.",
                id="refunds.E003",
            )
        )
    elif timeout and model_attempt_seconds() > draft_budget_seconds():
        errors.append(
            checks.Error(
                f"One model attempt can take HITL_OPENAI_TIMEOUT * (HITL_OPENAI_MAX_RETRIES + 1)"
                f" = {model_attempt_seconds():g} s, more than {DRAFT_BUDGET_SHARE:.0%} of"
                f" Q_TIMEOUT ({draft_budget_seconds():g} s).",
                hint="Raise Q_TIMEOUT (and Q_RETRY above it) or lower the model timeout.",
                id="refunds.E004",
            )
        )
    if not 1 <= settings.HITL_DRAFT_MAX_ATTEMPTS <= MAX_TASK_ATTEMPTS:
        errors.append(
            checks.Error(
                f"HITL_DRAFT_MAX_ATTEMPTS ({settings.HITL_DRAFT_MAX_ATTEMPTS}) must be between"
                f" 1 and {MAX_TASK_ATTEMPTS}.",
                id="refunds.E005",
            )
        )
    return errors
