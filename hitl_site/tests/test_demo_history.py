"""``seed_demo --history``: a reviewed history worked through the pipeline and review, and
imported weeks of gated traffic (sizes shrunk here; the real ones are in the README)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import DailyLoopRollup
from audit.models import AuditEvent
from audit.services import Actor
from hitl_site import demo_history
from hitl_site.demo import demo_seed
from hitl_site.demo_history.imported import gate_history_import
from hitl_site.demo_history.reviewed import reviewed_history_seed
from refunds import events
from refunds.gate.selectors import gate_policy_active
from refunds.models import GateEvaluation, Integration, RefundRequest
from refunds.states import RefundStatus
from reviews.models import ReviewDecision

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def small_history(monkeypatch):
    monkeypatch.setattr(demo_history, "REVIEWED_CASES", 5)
    monkeypatch.setattr(demo_history, "IMPORTED_PER_DAY", 2)
    monkeypatch.setattr(demo_history, "IMPORTED_WEEKS", 1)


def imported_requests():
    return RefundRequest.objects.filter(integration__name=demo_history.IMPORT_INTEGRATION)


def test_seed_demo_history_decides_cases_in_review_and_imports_gated_traffic(small_history, capsys):
    call_command("seed_demo", "--history")

    assert "5 cases decided in review" in capsys.readouterr().out
    assert ReviewDecision.objects.filter(is_final=True).count() == 5
    assert imported_requests().count() == 14
    assert GateEvaluation.objects.filter(request__in=imported_requests()).count() == 14


def test_seed_demo_history_rolls_up_the_imported_days_for_the_dashboard(small_history):
    call_command("seed_demo", "--history")

    yesterday = timezone.localdate() - timedelta(days=1)
    assert DailyLoopRollup.objects.filter(day=yesterday).exists()
    assert DailyLoopRollup.objects.filter(day=yesterday - timedelta(days=7)).exists()


def test_seed_demo_history_runs_once(small_history, capsys):
    call_command("seed_demo", "--history")
    counts = (RefundRequest.objects.count(), AuditEvent.objects.count())
    capsys.readouterr()

    call_command("seed_demo", "--history")

    assert "History:     already seeded" in capsys.readouterr().out
    assert (RefundRequest.objects.count(), AuditEvent.objects.count()) == counts


def test_seed_demo_without_history_seeds_none(small_history):
    call_command("seed_demo")

    assert not ReviewDecision.objects.exists()
    assert not Integration.objects.filter(name=demo_history.IMPORT_INTEGRATION).exists()


def test_reviewed_history_decides_each_kind_of_complaint_by_its_house_rule():
    integration = demo_seed()["integration"]

    reviewed_history_seed(integration=integration, cases=5, seed=3, noise=0.0)

    decisions = ReviewDecision.objects.filter(is_final=True).select_related("request__order")
    outcomes = sorted(
        (
            d.action or d.outcome,
            d.amount == d.request.order.amount,
            d.amount == d.request.order.amount / 2,
        )
        for d in decisions
    )
    assert outcomes == sorted(
        [
            ("approve_refund", False, True),  # opened and used: half
            ("reject", False, False),  # dropped: customer damage
            ("approve_refund", True, False),  # damaged in transit: in full
            ("reject", False, False),  # tracking says delivered
            ("offer_replacement", False, False),  # another size or colour
        ]
    )


def test_reviewed_history_enters_through_intake_like_the_api():
    integration = demo_seed()["integration"]

    reviewed_history_seed(integration=integration, cases=2, seed=3, noise=0.0)

    received = AuditEvent.objects.filter(event_type=events.REFUND_REQUEST_RECEIVED).count()
    assert received == 2


def test_imported_history_is_decided_backdated_into_its_window_and_audited():
    integration = Integration.objects.create(name="import", kind="internal")
    now = timezone.now()

    history = gate_history_import(
        integration=integration,
        policy=gate_policy_active(),
        per_day=3,
        weeks=2,
        seed=7,
        actor=Actor.system("test"),
    )

    requests = RefundRequest.objects.filter(integration=integration)
    assert history.requests == requests.count() == 42
    assert history.open == 0
    assert not requests.exclude(status__in=[RefundStatus.EXECUTED, RefundStatus.REJECTED])
    assert not requests.filter(created_at__lt=now - timedelta(weeks=2, minutes=1))
    assert not requests.filter(created_at__gt=now)
    assert AuditEvent.objects.filter(event_type=events.REFUND_REQUEST_IMPORTED).count() == 42


def test_imported_history_outcomes_add_up_and_refunds_are_never_above_the_order():
    integration = Integration.objects.create(name="import", kind="internal")

    history = gate_history_import(
        integration=integration,
        policy=gate_policy_active(),
        per_day=5,
        weeks=1,
        seed=1,
        actor=Actor.system("test"),
    )

    assert history.auto + history.approved + history.edited + history.rejected == 35
    for request in RefundRequest.objects.filter(integration=integration).select_related("order"):
        assert Decimal("0") <= request.final_amount <= request.order.amount
