"""Who may run each admin action: every action of every registered ModelAdmin (Django's
``delete_selected`` and third-party pages included), for each role, against an explicit
table. An action missing from the table, or declaring no ``permissions=`` (Django then
offers it to anyone who can open the page), fails here: a new action must say who runs it."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from audit.services import Actor
from hitl_site import roles
from refunds.tests.factories import UserFactory
from reviews.services import queue_access_defaults_ensure

SUPERUSER = "superuser"
ROLES = (
    roles.REVIEWER,
    roles.SENIOR_REVIEWER,
    roles.POLICY_ADMIN,
    roles.AUDITOR,
    roles.INTEGRATION,
    SUPERUSER,
)
NOBODY: frozenset[str] = frozenset()
ONLY_SUPERUSER = frozenset({SUPERUSER})
QUEUE_WORKERS = frozenset({roles.REVIEWER, roles.SENIOR_REVIEWER, SUPERUSER})
EXECUTION_FIXERS = frozenset({roles.SENIOR_REVIEWER, SUPERUSER})
ABSENCE_MANAGERS = frozenset({roles.SENIOR_REVIEWER, SUPERUSER})

# "<app_label>.<model_name>.<action>": the roles that may run it (it is offered to them on a
# change list they may open). Records of what happened are never deleted, not even by a
# superuser; integration keys are minted and revoked only with manage_integration_keys,
# which no role holds.
EXPECTED: dict[str, frozenset[str]] = {
    "audit.auditevent.delete_selected": NOBODY,
    "auth.group.delete_selected": ONLY_SUPERUSER,
    "auth.user.delete_selected": ONLY_SUPERUSER,
    "django_q.failure.delete_selected": ONLY_SUPERUSER,
    "django_q.failure.resubmit_task": ONLY_SUPERUSER,
    "django_q.ormq.delete_selected": ONLY_SUPERUSER,
    "django_q.schedule.delete_selected": ONLY_SUPERUSER,
    "django_q.success.delete_selected": ONLY_SUPERUSER,
    "django_q.success.resubmit_task": ONLY_SUPERUSER,
    "notifications.notification.delete_selected": NOBODY,
    "notifications.notificationdelivery.delete_selected": NOBODY,
    "notifications.notificationdelivery.requeue": ONLY_SUPERUSER,
    "notifications.notificationmessage.delete_selected": NOBODY,
    "notifications.notificationpreference.delete_selected": ONLY_SUPERUSER,
    "refunds.customer.delete_selected": ONLY_SUPERUSER,
    "refunds.customerreply.delete_selected": NOBODY,
    "refunds.execution.close_cases": EXECUTION_FIXERS,
    "refunds.execution.delete_selected": NOBODY,
    "refunds.execution.retry_executions": EXECUTION_FIXERS,
    "refunds.gateevaluation.delete_selected": NOBODY,
    "refunds.gatepolicyversion.delete_selected": NOBODY,
    "refunds.integration.create_api_key": ONLY_SUPERUSER,
    "refunds.integration.delete_selected": ONLY_SUPERUSER,
    "refunds.integrationapikey.delete_selected": NOBODY,
    "refunds.integrationapikey.revoke_keys": ONLY_SUPERUSER,
    "refunds.integrationwebhook.delete_selected": ONLY_SUPERUSER,
    "refunds.ledgerrefund.delete_selected": NOBODY,
    "refunds.order.delete_selected": ONLY_SUPERUSER,
    "refunds.outboundmessage.delete_selected": NOBODY,
    "refunds.proposal.delete_selected": NOBODY,
    "refunds.refundpolicy.delete_selected": NOBODY,
    "refunds.refundpolicyversion.delete_selected": NOBODY,
    "refunds.refundrequest.delete_selected": ONLY_SUPERUSER,
    "refunds.replacementorder.delete_selected": NOBODY,
    "refunds.webhookdelivery.delete_selected": NOBODY,
    "refunds.webhookdelivery.requeue": EXECUTION_FIXERS,
    "rest_framework_api_key.apikey.delete_selected": ONLY_SUPERUSER,
    "reviews.queue.delete_selected": NOBODY,
    "reviews.reviewdecision.delete_selected": NOBODY,
    "reviews.reviewerabsence.cancel_absences": ABSENCE_MANAGERS,
    "reviews.reviewerabsence.delete_selected": NOBODY,
    "reviews.reviewtask.bulk_approve": QUEUE_WORKERS,
    "reviews.reviewtask.bulk_reject": QUEUE_WORKERS,
    "reviews.reviewtask.delete_selected": NOBODY,
}


# Registered only in some configurations: django-q2's queue page exists with the ORM broker.
ONLY_SOMETIMES = {"django_q.ormq.delete_selected"}


def _every_action():
    for model, model_admin in admin.site._registry.items():
        for func, name, _ in model_admin._get_base_actions():
            yield f"{model._meta.label_lower}.{name}", model_admin, func


ACTIONS = sorted(_every_action(), key=lambda row: row[0])
ACTION_IDS = [key for key, _, _ in ACTIONS]


@pytest.mark.parametrize(("key", "model_admin", "func"), ACTIONS, ids=ACTION_IDS)
def test_action_is_in_the_table(key, model_admin, func):
    assert key in EXPECTED, f"{key}: add it to EXPECTED with the roles that may run it"


@pytest.mark.parametrize(("key", "model_admin", "func"), ACTIONS, ids=ACTION_IDS)
def test_action_declares_permissions(key, model_admin, func):
    assert getattr(func, "allowed_permissions", None), (
        f"{key} declares no permissions=: anyone who can open the page could run it"
    )


def test_table_names_only_actions_that_exist():
    assert set(EXPECTED) - set(ACTION_IDS) - ONLY_SOMETIMES == set()


@pytest.fixture
def user_in(db, role_user):
    """A staff user of ``role`` in a deployment set up as ``ensure_roles`` leaves it (the
    role groups and the default queue grants)."""

    def make(role: str):
        if role == SUPERUSER:
            return UserFactory(is_staff=True, is_superuser=True)
        user = role_user(role)
        queue_access_defaults_ensure(actor=Actor.system("tests"))
        return user

    return make


@pytest.mark.parametrize("role", ROLES)
def test_who_may_run_each_admin_action(user_in, role):
    request = RequestFactory().get("/admin/")
    request.user = user_in(role)

    may_run = {
        key
        for key, model_admin, _ in ACTIONS
        if model_admin.has_view_or_change_permission(request)
        and key.rsplit(".", 1)[1] in model_admin.get_actions(request)
    }

    expected = {key for key in ACTION_IDS if role in EXPECTED.get(key, NOBODY)}
    assert may_run - expected == set(), f"{role} may run actions the table does not allow"
    assert expected - may_run == set(), f"{role} may not run actions the table allows"
