"""The roles of the back-office as Django groups, with their model-level permissions.

Object-level permissions (which queue a reviewer may work) are granted per object with
django-guardian by the review services; these groups carry only what a role may do anywhere.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

REVIEWER = "reviewer"
SENIOR_REVIEWER = "senior_reviewer"
POLICY_ADMIN = "policy_admin"
AUDITOR = "auditor"
INTEGRATION = "integration"

_VIEW_DOMAIN = [
    "refunds.view_refundrequest",
    "refunds.view_customer",
    "refunds.view_order",
    "refunds.view_gateevaluation",
    "refunds.view_proposal",  # the model's provenance: prompt, sections, raw output, usage
]
_VIEW_REFUND_POLICY = [
    "refunds.view_refundpolicy",
    "refunds.view_refundpolicyversion",
    "refunds.view_refundpolicysection",
]
# Saving a refund policy creates a new version (refunds.policies); versions stay read-only.
_REFUND_POLICY_ADMIN = [
    *_VIEW_REFUND_POLICY,
    "refunds.add_refundpolicy",
    "refunds.change_refundpolicy",
]
_GATE_POLICY_ADMIN = [
    "refunds.add_gatepolicyversion",
    "refunds.change_gatepolicyversion",
    "refunds.view_gatepolicyversion",
    "refunds.activate_gatepolicyversion",
    "refunds.backtest_gatepolicyversion",
]
_VIEW_EXECUTION = [
    "refunds.view_execution",
    "refunds.view_ledgerrefund",
    "refunds.view_replacementorder",
    "refunds.view_outboundmessage",
    "refunds.view_customerreply",
    "refunds.view_webhookdelivery",
]
# Which queues a reviewer works is an object permission (reviews.services.queue_access_grant).
# Reviewers see in the admin only the cases of their queues; the other roles see every case.
_VIEW_EVERY_CASE = "refunds.view_every_refundrequest"
_REVIEW = ["reviews.view_reviewtask", "reviews.view_reviewdecision", "reviews.view_queue"]
_DASHBOARD = "reviews.view_ops_dashboard"
# Reviewers' absences in the admin: senior reviewers set and cancel them for colleagues
# (the rule is reviews.reassign_reviewtask, see reviews.permissions); auditors read them.
_VIEW_ABSENCES = "reviews.view_reviewerabsence"
_SENIOR_REVIEW = [
    *_REVIEW,
    "reviews.reassign_reviewtask",
    "reviews.view_queue_stats",
    "reviews.view_pii",
    _DASHBOARD,
    _VIEW_ABSENCES,
]
# Creating and revoking integration API keys (the admin's key actions). No role group holds
# it: integrations are administered by superusers only (no group may add or change one), and
# a key is a live credential for the API. Grant it to a person directly if they must issue keys.
MANAGE_INTEGRATION_KEYS = "refunds.manage_integration_keys"
# Reviewers see customers only through the decision package, where personal data is masked
# unless they hold reviews.view_pii (and each reveal is audited): no admin Customer page.
_REVIEWER_DOMAIN = [p for p in _VIEW_DOMAIN if p != "refunds.view_customer"]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Reviewers judge cases against the refund policy: the decision package shows the
    # retrieved sections, the admin's policy pages (read-only) the whole text and history.
    REVIEWER: [*_REVIEWER_DOMAIN, *_VIEW_REFUND_POLICY, *_REVIEW],
    SENIOR_REVIEWER: [
        *_REVIEWER_DOMAIN,
        *_VIEW_REFUND_POLICY,
        _VIEW_EVERY_CASE,  # they retry or close the failed executions of any case
        *_SENIOR_REVIEW,
        *_VIEW_EXECUTION,
        "refunds.retry_execution",
    ],
    POLICY_ADMIN: [
        *_VIEW_DOMAIN,
        _VIEW_EVERY_CASE,
        "refunds.view_integration",
        *_GATE_POLICY_ADMIN,
        *_REFUND_POLICY_ADMIN,
        "reviews.add_queue",
        "reviews.change_queue",
        "reviews.view_queue",
        _DASHBOARD,
    ],
    AUDITOR: [
        *_VIEW_DOMAIN,
        _VIEW_EVERY_CASE,
        "refunds.view_integration",
        "audit.view_auditevent",
        "refunds.view_gatepolicyversion",
        *_VIEW_REFUND_POLICY,
        *_VIEW_EXECUTION,
        _DASHBOARD,
        _VIEW_ABSENCES,
    ],
    INTEGRATION: [],
}


def _permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def roles_ensure() -> dict[str, Group]:
    """Creates or updates every role group to hold exactly its listed permissions."""
    groups = {}
    for name, dotted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([_permission(d) for d in dotted])
        groups[name] = group
    return groups
