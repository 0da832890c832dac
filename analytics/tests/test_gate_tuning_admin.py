"""The admin's "Suggested changes" page and its "Create draft" button: who may use them
(a test per role, from the table below), what they show and do, and that a stale or
forged post creates nothing."""

import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.tests.gate_tuning_cases import stored_case
from audit.services import Actor
from hitl_site import roles
from refunds.gate.services import gate_policy_version_activate, gate_policy_version_create
from refunds.models import GatePolicyVersion
from refunds.tests.factories import UserFactory
from reviews.tests.factories import active_gate_policy

pytestmark = pytest.mark.django_db
SUPERUSER = "superuser"
PAGE = "admin:refunds_gatepolicyversion_suggestions"
DRAFT = "admin:refunds_gatepolicyversion_suggestion_draft"
KEY = "auto_approve_ceiling=30.00"
# Who may open the page and create a draft from a suggestion: the holders of
# refunds.add_gatepolicyversion. Everyone else gets 403.
MAY_USE = {
    roles.POLICY_ADMIN: True,
    SUPERUSER: True,
    roles.REVIEWER: False,
    roles.SENIOR_REVIEWER: False,
    roles.AUDITOR: False,
    roles.INTEGRATION: False,
}


@pytest.fixture
def client_as(role_user):
    def make(role):
        user = (
            UserFactory(is_staff=True, is_superuser=True) if role == SUPERUSER else role_user(role)
        )
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def history():
    return [stored_case() for _ in range(25)]


def post_draft(client, **overrides):
    data = {"key": KEY, "seen_version": active_gate_policy().version, "since": "", **overrides}
    return client.post(reverse(DRAFT), data)


@pytest.mark.parametrize(("role", "allowed"), MAY_USE.items())
def test_who_may_open_the_suggestions_page(client_as, history, role, allowed):
    response = client_as(role).get(reverse(PAGE))

    assert response.status_code == (200 if allowed else 403)


@pytest.mark.parametrize(("role", "allowed"), MAY_USE.items())
def test_who_may_create_a_draft_from_a_suggestion(client_as, history, role, allowed):
    response = post_draft(client_as(role))

    assert response.status_code == (302 if allowed else 403)
    assert GatePolicyVersion.objects.count() == (2 if allowed else 1)


def test_page_shows_each_suggestion_in_words_with_a_create_draft_button(client_as, history):
    response = client_as(roles.POLICY_ADMIN).get(reverse(PAGE))

    content = response.content.decode()
    assert "Auto-approve ceiling: 25.00 → 30.00" in content
    assert "25 were approved unchanged" in content
    assert 'value="Create draft"' in content
    assert "csrfmiddlewaretoken" in content
    assert "Nothing activates by itself" in content


def test_page_costs_the_same_queries_whatever_the_history(client_as, history):
    client = client_as(roles.POLICY_ADMIN)
    client.get(reverse(PAGE))  # warm the session and the content-type cache

    with CaptureQueriesContext(connection) as small:
        client.get(reverse(PAGE))
    for _ in range(40):
        stored_case(sentiment="frustrated", amount="20.00")
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse(PAGE))

    assert "stop reviewing &#x27;frustrated&#x27;" in response.content.decode()
    assert len(large) == len(small)


def test_create_draft_opens_the_drafts_backtest_and_activates_nothing(client_as, history):
    active = active_gate_policy()

    response = post_draft(client_as(roles.POLICY_ADMIN), since="2026-01-01")

    draft = GatePolicyVersion.objects.get(is_active=False)
    assert response.url == (
        reverse("admin:refunds_gatepolicyversion_backtest", args=[draft.pk]) + "?since=2026-01-01"
    )
    assert GatePolicyVersion.objects.get(is_active=True) == active
    assert draft.created_by is not None


def test_stale_suggestion_is_refused_with_a_message(client_as, history):
    client = client_as(roles.POLICY_ADMIN)
    seen = active_gate_policy().version
    actor = Actor.system("tests")
    newer = gate_policy_version_create(
        values={"risk_terms": ["fraud"]}, change_note="x", actor=actor
    )
    gate_policy_version_activate(version=newer, actor=actor)

    response = post_draft(client, seen_version=seen)

    assert response.url == reverse(PAGE)
    assert GatePolicyVersion.objects.count() == 2
    page = client.get(response.url).content.decode()
    assert "The active gate policy changed" in page


def test_incomplete_post_creates_nothing(client_as, history):
    response = post_draft(client_as(roles.POLICY_ADMIN), seen_version="v1")

    assert response.url == reverse(PAGE)
    assert GatePolicyVersion.objects.count() == 1


def test_create_draft_refuses_get(client_as):
    assert client_as(roles.POLICY_ADMIN).get(reverse(DRAFT)).status_code == 405


def test_create_draft_refuses_a_post_without_the_csrf_token(role_user, history):
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user(roles.POLICY_ADMIN))

    response = post_draft(client)

    assert response.status_code == 403
    assert GatePolicyVersion.objects.count() == 1


@pytest.mark.parametrize(("role", "shown"), [(roles.POLICY_ADMIN, True), (roles.AUDITOR, False)])
def test_versions_change_list_links_the_page_for_policy_admins_only(client_as, role, shown):
    response = client_as(role).get(reverse("admin:refunds_gatepolicyversion_changelist"))

    assert response.status_code == 200
    assert (reverse(PAGE) in response.content.decode()) is shown


def test_every_button_on_the_page_creates_its_draft(client_as, history):
    for _ in range(22):
        stored_case(sentiment="frustrated", amount="20.00")
    client = client_as(roles.POLICY_ADMIN)
    page = client.get(reverse(PAGE)).content.decode()
    keys = [html.unescape(k) for k in re.findall(r'name="key" value="([^"]*)"', page)]

    for key in keys:
        assert post_draft(client, key=key).status_code == 302

    drafts = GatePolicyVersion.objects.filter(is_active=False).order_by("version")
    assert [d.change_note.split(":")[1].strip() for d in drafts] == [
        "auto-approve ceiling",
        "sentiments that require review",
    ]
    assert drafts[1].review_sentiments == ["angry"]
