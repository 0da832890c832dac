"""Queue owners: who answers for a queue (told of its escalations and SLA warnings, see
``notifications.recipients``), set in the Queue admin through ``queue_owners_set``."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import Actor
from hitl_site import roles
from hitl_site.errors import ApplicationError
from refunds.tests.factories import UserFactory
from reviews import events
from reviews.services import queue_owners_set
from reviews.tests.factories import queue

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def _owner_events():
    return list(
        AuditEvent.objects.filter(event_type=events.QUEUE_OWNERS_CHANGED).values_list(
            "payload", flat=True
        )
    )


def test_setting_owners_is_audited_with_who_was_added_and_removed():
    q = queue("senior")
    alice, bob = UserFactory(is_staff=True), UserFactory(is_staff=True)
    queue_owners_set(queue=q, owners=[alice], actor=SYSTEM)

    queue_owners_set(queue=q, owners=[bob], actor=SYSTEM)

    assert set(q.owners.all()) == {bob}
    assert _owner_events()[-1] == {"added": [bob.pk], "removed": [alice.pk]}


def test_setting_the_same_owners_again_records_nothing():
    q, alice = queue("senior"), UserFactory(is_staff=True)
    queue_owners_set(queue=q, owners=[alice], actor=SYSTEM)

    queue_owners_set(queue=q, owners=[alice], actor=SYSTEM)

    assert len(_owner_events()) == 1


@pytest.mark.parametrize("kind", ["machine", "inactive", "not_staff"])
def test_only_active_human_staff_can_own_a_queue(role_user, kind):
    candidate = {
        "machine": lambda: role_user(roles.INTEGRATION),
        "inactive": lambda: UserFactory(is_staff=True, is_active=False),
        "not_staff": lambda: UserFactory(is_staff=False),
    }[kind]()

    with pytest.raises(ApplicationError) as exc:
        queue_owners_set(queue=queue("senior"), owners=[candidate], actor=SYSTEM)

    assert exc.value.code == "invalid_owner"
    assert not queue("senior").owners.exists()


def _queue_form(q, **extra):
    return {
        "slug": q.slug,
        "name": q.name,
        "description": "",
        "is_active": "on",
        "sla_minutes": 60,
        "hard_deadline_minutes": 600,
        "groups": [],
        "users": [],
        **extra,
    }


def test_a_policy_admin_sets_the_owners_in_the_queue_admin_audited(client, role_user):
    admin_user, lead = role_user(roles.POLICY_ADMIN), UserFactory(is_staff=True)
    client.force_login(admin_user)
    q = queue("legal")
    url = reverse("admin:reviews_queue_change", args=[q.pk])

    response = client.post(url, _queue_form(q, queue_owners=[lead.pk]))

    assert response.status_code == 302
    assert list(q.owners.all()) == [lead]
    event = AuditEvent.objects.get(event_type=events.QUEUE_OWNERS_CHANGED)
    assert (event.actor_type, event.actor_id) == ("user", str(admin_user.pk))


def test_the_queue_admin_shows_the_current_owners(client, role_user):
    lead = UserFactory(is_staff=True, username="team-lead")
    q = queue("legal")
    queue_owners_set(queue=q, owners=[lead], actor=SYSTEM)
    client.force_login(role_user(roles.POLICY_ADMIN))

    response = client.get(reverse("admin:reviews_queue_change", args=[q.pk]))

    assert response.context["adminform"].form.initial["queue_owners"] == [lead.pk]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (roles.REVIEWER, 403),
        (roles.SENIOR_REVIEWER, 403),
        (roles.AUDITOR, 403),
        (roles.POLICY_ADMIN, 302),
    ],
)
def test_who_may_change_a_queues_owners(client, role_user, role, status):
    lead = UserFactory(is_staff=True)
    q = queue("legal")
    client.force_login(role_user(role))

    response = client.post(
        reverse("admin:reviews_queue_change", args=[q.pk]), _queue_form(q, queue_owners=[lead.pk])
    )

    assert response.status_code == status
    assert q.owners.exists() == (status == 302)
