"""The gate policy admin: who may create, diff, backtest and activate, and form validation."""

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from hitl_site.errors import ApplicationError
from refunds.gate.vocabulary import DEFAULT_QUEUE_ROUTES
from refunds.models import GatePolicyVersion
from refunds.tests.factories import GateEvaluationFactory, GatePolicyVersionFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:refunds_gatepolicyversion_add")


def change_url(version):
    return reverse("admin:refunds_gatepolicyversion_change", args=[version.pk])


def page_url(name, version):
    return reverse(f"admin:refunds_gatepolicyversion_{name}", args=[version.pk])


def form_data(**overrides):
    """The admin form filled with the default policy's values."""
    data = {
        "change_note": "Tighter for the holidays",
        "auto_approve_ceiling": "25.00",
        "currency_ceilings": "",
        "auto_actions": ["approve_refund"],
        "required_policy_match": "strong",
        "review_sentiments": ["frustrated", "angry"],
        "risk_terms": "fraud\nchargeback\ninjury\nlegal\nlawsuit",
        "honour_model_review_flag": "on",
        "review_countries": "",
        "max_prior_refunds_90d": "",
        "repeat_complaint_min_requests": "1",
        "queue_routes": "\n".join(f"{k} = {v}" for k, v in DEFAULT_QUEUE_ROUTES.items()),
        "priority_tiers": ["premium", "enterprise"],
        "priority_amount": "100.00",
        "priority_age_hours": "24",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def policy_admin_client(client, role_user):
    client.force_login(role_user("policy_admin"))
    return client


@pytest.fixture
def reviewer_client(client, role_user):
    client.force_login(role_user("reviewer"))
    return client


@pytest.fixture
def active_version():
    return GatePolicyVersion.objects.get(is_active=True)


# --- A policy admin ---------------------------------------------------------------------------


def test_policy_admin_add_form_starts_from_the_active_version(policy_admin_client):
    response = policy_admin_client.get(ADD_URL)

    assert response.status_code == 200
    assert response.context["adminform"].form["risk_terms"].value() == (
        "fraud\nchargeback\ninjury\nlegal\nlawsuit"
    )


def test_policy_admin_creates_a_new_inactive_version(policy_admin_client):
    response = policy_admin_client.post(ADD_URL, form_data(auto_approve_ceiling="30.00"))

    new = GatePolicyVersion.objects.get(version=2)
    assert response.status_code == 302
    assert (new.auto_approve_ceiling, new.is_active) == (Decimal("30.00"), False)


def test_policy_admin_saving_a_version_creates_a_new_one_and_keeps_the_old(
    policy_admin_client, active_version
):
    policy_admin_client.post(
        change_url(active_version),
        form_data(risk_terms="fraud\nInjuries", review_countries="us, fr"),
    )

    active_version.refresh_from_db()
    new = GatePolicyVersion.objects.get(version=2)
    assert active_version.risk_terms == ["fraud", "chargeback", "injury", "legal", "lawsuit"]
    assert (new.risk_terms, new.review_countries) == (["fraud", "injuries"], ["US", "FR"])
    assert new.based_on == active_version


def test_policy_admin_edit_is_audited_with_who_and_what_changed(
    policy_admin_client, active_version
):
    policy_admin_client.post(change_url(active_version), form_data(currency_ceilings="JPY = 3000"))

    event = AuditEvent.objects.get(event_type="gate_policy.version_created")
    assert event.actor_type == "user"
    assert event.payload["changes"] == [
        {"field": "currency_ceilings", "old": "—", "new": "JPY: 3000"}
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("auto_approve_ceiling", "-1"),
        ("auto_approve_ceiling", "1000000"),
        ("currency_ceilings", "EUR thirty"),
        ("currency_ceilings", "XYZ = 10"),
        ("risk_terms", "ok"),
        ("review_countries", "Narnia"),
        ("queue_routes", "high_risk_term = basement"),
        ("max_prior_refunds_90d", "-3"),
        ("priority_age_hours", "100000"),
    ],
    ids=[
        "negative ceiling",
        "huge ceiling",
        "malformed currency line",
        "unknown currency",
        "two-letter term",
        "unknown country",
        "unknown queue",
        "negative prior refunds",
        "age over a year",
    ],
)
def test_policy_admin_invalid_value_is_refused_with_a_form_error(policy_admin_client, field, value):
    response = policy_admin_client.post(ADD_URL, form_data(**{field: value}))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert GatePolicyVersion.objects.count() == 1


def test_policy_admin_save_without_changes_is_refused(policy_admin_client, active_version):
    response = policy_admin_client.post(change_url(active_version), form_data())

    assert "Nothing differs from version 1" in str(response.context["adminform"].form.errors)
    assert GatePolicyVersion.objects.count() == 1


def test_policy_admin_sees_the_service_refusal_as_a_message(policy_admin_client, monkeypatch):
    from refunds import admin_gate

    def refuse(**kwargs):
        raise ApplicationError("Someone else saved first.", code="conflict")

    monkeypatch.setattr(admin_gate, "gate_policy_version_create", refuse)

    response = policy_admin_client.post(
        ADD_URL, form_data(auto_approve_ceiling="30.00"), follow=True
    )

    assert "Someone else saved first." in [str(m) for m in response.context["messages"]]
    assert GatePolicyVersion.objects.count() == 1


def test_policy_admin_sees_a_readable_diff(policy_admin_client):
    draft = GatePolicyVersionFactory(
        auto_approve_ceiling=Decimal("40.00"), based_on=GatePolicyVersion.objects.get(version=1)
    )

    response = policy_admin_client.get(page_url("diff", draft))

    assert response.status_code == 200
    assert [(c.label, c.old, c.new) for c in response.context["changes"]] == [
        ("Auto-approve ceiling", "25.00", "40.00")
    ]


def test_policy_admin_runs_a_backtest_from_the_admin(policy_admin_client):
    GateEvaluationFactory(proposal__amount=Decimal("30.00"))
    draft = GatePolicyVersionFactory(auto_approve_ceiling=Decimal("40.00"))

    response = policy_admin_client.get(page_url("backtest", draft), {"since": "2000-01-01"})

    report = response.context["report"]
    assert (report.cases, report.draft.auto, report.baseline.auto, len(report.changed)) == (
        1,
        1,
        0,
        1,
    )
    assert b"Cases that change route (1)" in response.content


def test_policy_admin_backtest_refuses_a_malformed_date(policy_admin_client):
    draft = GatePolicyVersionFactory()

    response = policy_admin_client.get(page_url("backtest", draft), {"since": "yesterday"})

    assert response.context["report"] is None
    assert "since" in response.context["form"].errors


def test_policy_admin_activates_a_version(policy_admin_client):
    draft = GatePolicyVersionFactory(auto_approve_ceiling=Decimal("40.00"))

    response = policy_admin_client.post(page_url("activate", draft))

    draft.refresh_from_db()
    assert response.status_code == 302
    assert draft.is_active
    assert AuditEvent.objects.filter(event_type="gate_policy.version_activated").exists()


def test_policy_admin_activation_page_asks_for_confirmation_first(policy_admin_client):
    draft = GatePolicyVersionFactory(auto_approve_ceiling=Decimal("40.00"))

    response = policy_admin_client.get(page_url("activate", draft))

    draft.refresh_from_db()
    assert response.status_code == 200
    assert not draft.is_active


def test_policy_admin_change_page_offers_diff_backtest_and_activate(policy_admin_client):
    draft = GatePolicyVersionFactory()

    content = policy_admin_client.get(change_url(draft)).content.decode()

    for name in ("diff", "backtest", "activate"):
        assert page_url(name, draft) in content


def test_policy_admin_cannot_delete_a_version(policy_admin_client, active_version):
    response = policy_admin_client.post(
        reverse("admin:refunds_gatepolicyversion_delete", args=[active_version.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert GatePolicyVersion.objects.filter(pk=active_version.pk).exists()


# --- A reviewer -------------------------------------------------------------------------------


def test_reviewer_cannot_create_a_version(reviewer_client):
    response = reviewer_client.post(ADD_URL, form_data(auto_approve_ceiling="30.00"))

    assert response.status_code == 403
    assert GatePolicyVersion.objects.count() == 1


@pytest.mark.parametrize("page", ["diff", "backtest", "activate"])
def test_reviewer_cannot_open_the_policy_pages(reviewer_client, active_version, page):
    assert reviewer_client.get(page_url(page, active_version)).status_code == 403


def test_reviewer_cannot_activate_a_version(reviewer_client):
    draft = GatePolicyVersionFactory()

    response = reviewer_client.post(page_url("activate", draft))

    draft.refresh_from_db()
    assert response.status_code == 403
    assert not draft.is_active


def test_auditor_can_read_gate_evaluations(client, role_user):
    # (Reviewers read those of their queues' cases: reviews/tests/test_admin.py.)
    evaluation = GateEvaluationFactory(
        reasons=[{"code": "amount_over_ceiling", "message": "Too much."}]
    )
    client.force_login(role_user("auditor"))

    response = client.get(reverse("admin:refunds_gateevaluation_change", args=[evaluation.pk]))

    assert response.status_code == 200
    assert b"Too much." in response.content


def test_auditor_can_read_a_diff_but_not_backtest(client, role_user, active_version):
    client.force_login(role_user("auditor"))

    assert client.get(page_url("diff", active_version)).status_code == 200
    assert client.get(page_url("backtest", active_version)).status_code == 403
