"""Gate tuning on stored history: the selector's query count, a suggestion made a draft
(inactive, audited, refused when stale), the draft's backtest agreeing with the
suggestion's figures, and the ``suggest_gate_changes`` command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.gate_tuning.history import gate_tuning_history, gate_tuning_suggestions
from analytics.gate_tuning.services import gate_policy_suggestion_draft_create
from analytics.tests.gate_tuning_cases import stored_case
from audit.models import AuditEvent
from audit.services import Actor
from hitl_site.errors import ApplicationError
from refunds.gate.backtest import gate_backtest
from refunds.gate.services import gate_policy_version_activate, gate_policy_version_create
from refunds.models import GatePolicyVersion
from reviews.tests.factories import active_gate_policy

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def history(n=25, **kwargs):
    return [stored_case(**kwargs) for _ in range(n)]


def test_history_is_read_in_one_query_whatever_its_size(django_assert_num_queries):
    history(30)
    since = timezone.localdate() - timedelta(weeks=8)

    with django_assert_num_queries(1):
        cases = gate_tuning_history(since=since)

    assert len(cases) == 30
    assert {c.human_outcome for c in cases} == {"approved"}


def test_suggestions_cost_two_queries(django_assert_num_queries):
    history(25)

    with django_assert_num_queries(2):
        page = gate_tuning_suggestions()

    assert [s.candidate.value for s in page.suggestions] == ["30.00"]


def test_history_outside_the_window_is_not_read(settings):
    settings.HITL_GATE_TUNING_WEEKS = 2
    history(25, at=timezone.now() - timedelta(weeks=3))

    assert gate_tuning_suggestions().suggestions == []


def test_suggestion_becomes_an_inactive_draft_based_on_the_active_version():
    history(25)
    active = active_gate_policy()

    draft = gate_policy_suggestion_draft_create(
        key="auto_approve_ceiling=30.00", seen_version=active.version, actor=ACTOR
    )

    assert not draft.is_active
    assert draft.based_on == active
    assert str(draft.auto_approve_ceiling) == "30.00"
    assert GatePolicyVersion.objects.get(is_active=True) == active
    assert draft.change_note.startswith("Suggested: auto-approve ceiling: 25.00 → 30.00")


def test_draft_from_a_suggestion_is_audited_with_its_figures():
    history(25)

    draft = gate_policy_suggestion_draft_create(
        key="auto_approve_ceiling=30.00", seen_version=active_gate_policy().version, actor=ACTOR
    )

    event = AuditEvent.objects.get(event_type="gate_policy.version_created")
    assert event.payload["version"] == draft.version
    assert "25/25 approved unchanged" in event.payload["change_note"]


def test_suggestion_is_refused_when_the_active_version_changed_since_the_page():
    history(25)
    seen = active_gate_policy().version
    newer = gate_policy_version_create(
        values={"risk_terms": ["fraud"]}, change_note="x", actor=ACTOR
    )
    gate_policy_version_activate(version=newer, actor=ACTOR)

    with pytest.raises(ApplicationError, match="active gate policy changed") as exc:
        gate_policy_suggestion_draft_create(
            key="auto_approve_ceiling=30.00", seen_version=seen, actor=ACTOR
        )

    assert exc.value.code == "stale_suggestion"
    assert GatePolicyVersion.objects.count() == 2


def test_a_second_draft_of_the_same_suggestion_is_refused():
    history(25)
    seen = active_gate_policy().version
    first = gate_policy_suggestion_draft_create(
        key="auto_approve_ceiling=30.00", seen_version=seen, actor=ACTOR
    )

    with pytest.raises(ApplicationError, match=f"Draft version {first.version} already") as exc:
        gate_policy_suggestion_draft_create(
            key="auto_approve_ceiling=30.00", seen_version=seen, actor=ACTOR
        )

    assert exc.value.code == "draft_exists"
    assert GatePolicyVersion.objects.count() == 2


def test_a_change_the_history_no_longer_supports_is_refused():
    history(25)

    with pytest.raises(ApplicationError, match="no longer suggested"):
        gate_policy_suggestion_draft_create(
            key="auto_approve_ceiling=45.00",
            seen_version=active_gate_policy().version,
            actor=ACTOR,
        )


outcomes = st.sampled_from(["approved", "approved", "approved", "edited", "rejected", None])
rows = st.lists(
    st.tuples(
        outcomes,
        st.sampled_from(["20.00", "30.00", "35.00", "45.00"]),
        st.sampled_from(["calm", "frustrated", "angry"]),
        st.sampled_from(["review", "auto"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows)
def test_suggestion_figures_equal_the_backtest_of_the_draft_it_creates(rows):
    with transaction.atomic():
        for outcome, amount, sentiment, route in rows:
            stored_case(
                outcome if route == "review" else None,
                amount=amount,
                sentiment=sentiment,
                route=route,
            )
        page_settings = {"HITL_GATE_TUNING_MIN_CASES": 1, "HITL_GATE_TUNING_MIN_PRECISION": 0.0}
        with override_settings(**page_settings):
            page = gate_tuning_suggestions()
            for suggestion in page.suggestions:
                with transaction.atomic():
                    draft = gate_policy_suggestion_draft_create(
                        key=suggestion.key,
                        seen_version=page.active.version,
                        actor=ACTOR,
                        page=page,
                    )
                    report = gate_backtest(draft=draft, since=page.since, baseline=page.active)
                    transaction.set_rollback(True)
                decided = report.draft_auto_human_approved + report.draft_auto_human_overruled
                assert suggestion.score.k == report.draft_auto_human_approved
                assert suggestion.score.m == decided
                assert suggestion.score.rejected == report.draft_auto_human_rejected
                assert suggestion.score.extra_auto == report.draft.auto - report.baseline.auto
        transaction.set_rollback(True)


def test_command_prints_the_suggestions():
    history(25)
    out = StringIO()

    call_command("suggest_gate_changes", stdout=out)

    assert "Auto-approve ceiling: 25.00 → 30.00" in out.getvalue()
    assert "25 were approved unchanged" in out.getvalue()


def test_command_holdout_measures_earlier_suggestions_on_later_cases():
    now = timezone.now()
    history(25, at=now - timedelta(days=40))
    history(9, at=now - timedelta(days=3))
    history(1, outcome="rejected", at=now - timedelta(days=3))
    out = StringIO()

    call_command("suggest_gate_changes", "--holdout", "0.5", stdout=out)

    assert "later part: 9/10 = 90.0% approved unchanged" in out.getvalue()
    assert "Precision of the 1 suggestion(s) on the later part: 9/10 = 90.0%." in out.getvalue()


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.2"])
def test_command_refuses_a_holdout_outside_zero_and_one(value):
    with pytest.raises(CommandError, match="between 0 and 1"):
        call_command("suggest_gate_changes", "--holdout", value, stdout=StringIO())


def test_command_refuses_a_bad_since():
    with pytest.raises(CommandError, match="date like"):
        call_command("suggest_gate_changes", "--since", "last week", stdout=StringIO())


@pytest.mark.parametrize(("option", "value"), [("--min-precision", "1.5"), ("--min-cases", "0")])
def test_command_refuses_thresholds_out_of_range(option, value):
    with pytest.raises(CommandError, match=option):
        call_command("suggest_gate_changes", option, value, stdout=StringIO())
