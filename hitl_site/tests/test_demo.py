import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
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


def test_seed_demo_is_refused_where_demo_data_is_not_allowed(settings):
    settings.HITL_DEMO_DATA_ALLOWED = False

    with pytest.raises(CommandError, match="ensure_roles"):
        call_command("seed_demo")

    assert not get_user_model().objects.exists()


def test_ensure_roles_creates_the_groups_and_queue_grants_without_users(capsys):
    from guardian.shortcuts import get_perms

    from reviews.models import Queue

    call_command("ensure_roles")

    reviewer_group = Group.objects.get(name=roles.REVIEWER)
    assert set(Group.objects.values_list("name", flat=True)) == set(roles.ROLE_PERMISSIONS)
    assert get_perms(reviewer_group, Queue.objects.get(slug="standard"))
    assert not get_user_model().objects.exists()
    assert "Roles up to date." in capsys.readouterr().out


def test_ensure_roles_restores_a_permission_removed_by_hand():
    call_command("ensure_roles")
    policy_admins = Group.objects.get(name=roles.POLICY_ADMIN)
    policy_admins.permissions.remove(
        Permission.objects.get(codename="change_refundpolicy", content_type__app_label="refunds")
    )

    call_command("ensure_roles")

    assert policy_admins.permissions.filter(codename="change_refundpolicy").exists()
