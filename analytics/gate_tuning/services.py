"""The one write of gate tuning: a suggestion made a draft policy version (never active)."""

from dataclasses import replace

from django.db import transaction

from audit.services import Actor
from hitl_site.errors import ApplicationError
from refunds.gate.selectors import gate_policy_active
from refunds.gate.services import gate_policy_version_create
from refunds.gate.vocabulary import GatePolicySnapshot
from refunds.models import GatePolicyVersion

from .history import SuggestionsPage, gate_tuning_suggestions


@transaction.atomic
def gate_policy_suggestion_draft_create(
    *,
    key: str,
    seen_version: int,
    actor: Actor,
    created_by=None,
    page: SuggestionsPage | None = None,
) -> GatePolicyVersion:
    """Creates an inactive policy version from the suggestion ``key`` as computed now for
    the active policy, based on it, with the suggestion's figures in the change note (which
    ``gate_policy_version_create`` audits as ``gate_policy.version_created``).

    ``seen_version`` is the active version the suggestion was shown for. Raises
    ``ApplicationError``: ``stale_suggestion`` (409) when another version became active
    since, or when the history no longer supports the suggestion; ``draft_exists`` (409)
    when a draft on the active version already holds the change; the errors of
    ``gate_policy_version_create`` otherwise. Activates nothing.
    """
    active = page.active if page else gate_policy_active()
    if active.version != seen_version:  # checked before replaying the history
        raise ApplicationError(
            f"The active gate policy changed (v{seen_version} → v{active.version}) since "
            "the suggestions were drawn; nothing was created. Review the new suggestions.",
            code="stale_suggestion",
            status_code=409,
        )
    page = page or gate_tuning_suggestions()
    found = next((s for s in page.suggestions if s.key == key), None)
    if found is None:
        raise ApplicationError(
            "That change is no longer suggested by the reviewed history; nothing was "
            "created. Review the current suggestions.",
            code="stale_suggestion",
            status_code=409,
        )
    existing = _draft_holding(found.candidate.policy, based_on=page.active)
    if existing is not None:  # a second click, or a colleague's
        raise ApplicationError(
            f"Draft version {existing.version} already holds this change; nothing was "
            "created. Open it from Gate policy versions.",
            code="draft_exists",
            status_code=409,
        )
    return gate_policy_version_create(
        values={found.candidate.field: found.candidate.value},
        change_note=found.change_note,
        actor=actor,
        created_by=created_by,
        based_on=page.active,
    )


def _draft_holding(
    policy: GatePolicySnapshot, *, based_on: GatePolicyVersion
) -> GatePolicyVersion | None:
    """A never-activated draft on ``based_on`` whose settings are ``policy``'s."""
    wanted = replace(policy, version=0)
    drafts = GatePolicyVersion.objects.filter(
        based_on=based_on, is_active=False, activated_at__isnull=True
    )
    return next((d for d in drafts if replace(d.to_snapshot(), version=0) == wanted), None)
