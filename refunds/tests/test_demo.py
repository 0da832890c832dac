import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from hitl_site import roles
from refunds.models import Customer, Integration, IntegrationAPIKey, Order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def test_seed_demo_prints_credentials_and_a_working_api_key(capsys):
    call_command("seed_demo")

    out = capsys.readouterr().out
    key = out.split("API key:")[1].split()[0]
    assert "reviewer-demo-pass" in out
    assert IntegrationAPIKey.objects.is_valid(key)


def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = [
        m.objects.count()
        for m in (get_user_model(), Integration, Customer, Order, IntegrationAPIKey)
    ]

    call_command("seed_demo")

    assert capsys.readouterr().out == first
    assert counts == [
        m.objects.count()
        for m in (get_user_model(), Integration, Customer, Order, IntegrationAPIKey)
    ]


@pytest.mark.parametrize(
    ("username", "role"),
    [
        ("reviewer", roles.REVIEWER),
        ("senior", roles.SENIOR_REVIEWER),
        ("policy_admin", roles.POLICY_ADMIN),
        ("auditor", roles.AUDITOR),
    ],
)
def test_seed_demo_users_can_log_in_with_their_role(username, role):
    call_command("seed_demo")
    client = Client()

    assert client.login(username=username, password=f"{username}-demo-pass")
    assert get_user_model().objects.get(username=username).groups.filter(name=role).exists()


def test_roles_ensure_resets_group_permissions_to_the_declared_set():
    groups = roles.roles_ensure()
    groups[roles.AUDITOR].permissions.clear()

    roles.roles_ensure()

    perms = {
        f"{p.content_type.app_label}.{p.codename}" for p in groups[roles.AUDITOR].permissions.all()
    }
    assert perms == set(roles.ROLE_PERMISSIONS[roles.AUDITOR])


def test_seed_demo_reviewer_can_work_the_standard_queue():
    from reviews.models import Queue
    from reviews.permissions import queue_ids_for_user

    call_command("seed_demo")

    reviewer = get_user_model().objects.get(username="reviewer")
    assert Queue.objects.get(slug="standard").pk in set(queue_ids_for_user(reviewer))
