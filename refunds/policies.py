"""Writes for refund-policy documents: every edit is a new version, split into sections."""

from django.db import transaction
from django.db.models import Max

from audit.services import Actor, record_event
from hitl_site.errors import ApplicationError

from . import events
from .agent.retrieval import split_policy_text
from .models import RefundPolicy, RefundPolicySection, RefundPolicyVersion


@transaction.atomic
def refund_policy_version_create(
    *, policy: RefundPolicy, text: str, actor: Actor, created_by=None, change_note: str = ""
) -> RefundPolicyVersion:
    """Saves ``text`` as the policy's next version and splits it into sections.

    Raises ``ApplicationError`` (400) for text with no content. Audited as
    ``refund_policy.version_created`` with the section ids.
    """
    text = text.strip()
    if not text:
        raise ApplicationError("The policy text is empty.", code="empty_policy", status_code=400)
    RefundPolicy.objects.select_for_update().get(pk=policy.pk)  # serialise version numbers
    latest = policy.versions.aggregate(n=Max("version"))["n"] or 0
    if latest and policy.versions.get(version=latest).text == text:
        return policy.versions.get(version=latest)
    version = RefundPolicyVersion.objects.create(
        policy=policy,
        version=latest + 1,
        text=text,
        created_by=created_by,
        change_note=change_note[:300],
    )
    sections = split_policy_text(text)
    RefundPolicySection.objects.bulk_create(
        RefundPolicySection(
            version=version, section_id=sid, title=title[:200], body=body, position=i
        )
        for i, (sid, title, body) in enumerate(sections)
    )
    record_event(
        event_type=events.REFUND_POLICY_VERSION_CREATED,
        actor=actor,
        subject=version,
        payload={
            "policy": policy.slug,
            "version": version.version,
            "sections": [sid for sid, _, _ in sections],
            "change_note": change_note,
        },
    )
    return version
