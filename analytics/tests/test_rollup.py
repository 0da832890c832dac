"""The daily roll-up: the same figures as the live tables, idempotent, scheduled."""

import importlib
import math
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule
from hypothesis import given
from hypothesis import strategies as st

from analytics import facts, figures, latency, loop_metrics, rollup
from analytics.models import DailyLoopCount, DailyLoopRollup
from analytics.tests.factories import decided, executed, routed
from hitl_site.errors import ApplicationError
from refunds.models import Execution
from refunds.tests.factories import GatePolicyVersionFactory, UserFactory
from reviews.models import Outcome, ReviewTask, TaskStatus
from reviews.tests.factories import proposal_for, queue

pytestmark = pytest.mark.django_db


def _executed_at(request, at, phase=Execution.Phase.RECORDED) -> None:
    execution = executed(request, phase=phase)
    Execution.objects.filter(pk=execution.pk).update(created_at=at)


def _day_of_cases(at, alice, bob) -> None:
    """A day's mix: both paths, every channel/provider/queue filter, overrides, rejections
    with reason codes, a four-eyes case, SLA misses, failed executions, and requests that
    belong to two providers, two policy versions and two queues."""
    routed(route="auto", status="executed", at=at)
    auto = routed(route="auto", channel="chat", provider="openai", at=at)
    _executed_at(auto.request, at, phase=Execution.Phase.FAILED)
    decided(at=at, reviewer=alice, waited=timedelta(minutes=30))
    decided(at=at, reviewer=bob, outcome=Outcome.APPROVE_WITH_EDITS, amount="12.00")
    decided(
        at=at,
        reviewer=alice,
        outcome=Outcome.REJECT,
        action="",
        amount=None,
        reason_code="suspected_fraud",
        queue_slug="senior",
        channel="email",
        waited=timedelta(hours=9),  # past the 4 h due time
    )
    first = decided(
        at=at,
        reviewer=bob,
        provider="openai",
        earlier=(alice, Outcome.APPROVE, "approve_refund", "20.00"),
        waited=timedelta(hours=2, minutes=7),
    )
    _executed_at(first.request, at)
    # a request drafted twice (two providers), judged under two policy versions, and
    # reviewed in two queues
    twice = decided(at=at, reviewer=alice, queue_slug="senior", waited=timedelta(minutes=3))
    proposal_for(twice.request, provider="openai")
    routed_again = routed(at=at)
    routed_again.request = twice.request
    routed_again.policy_version = GatePolicyVersionFactory(is_active=False)
    routed_again.save()
    ReviewTask.objects.create(
        request=twice.request,
        queue=queue("standard"),
        status=TaskStatus.DECIDED,
        due_at=at,
        deadline_at=at,
        created_at=at - timedelta(hours=1),
    )
    _executed_at(twice.request, at)


@pytest.fixture
def history():
    """Four days of cases, today included; returns now."""
    now = timezone.now()
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    for days_ago in range(4):
        _day_of_cases(now - timedelta(days=days_ago, minutes=10), alice, bob)
    return now


def _period(now, days: int = 7, **filters) -> facts.DashboardFilters:
    start = rollup.day_start(timezone.localdate(now) - timedelta(days=days - 1))
    return facts.DashboardFilters(start=start, end=now + timedelta(seconds=1), **filters)


def _roll_up_closed_days(now, days: int = 7) -> None:
    today = timezone.localdate(now)
    for n in range(1, days):
        rollup.loop_stats_rollup(day=today - timedelta(days=n), now=now)


def _assert_same_figures(f: facts.DashboardFilters, now) -> None:
    counts = figures.loop_counts(f, now=now)
    live_decisions = loop_metrics.decision_summary(f)
    live_decisions.pop("p50", None), live_decisions.pop("p95", None)
    assert figures.routing_summary(counts) == loop_metrics.routing_summary(f)
    assert figures.decision_summary(counts) == live_decisions
    assert figures.reviewer_agreement(counts) == loop_metrics.reviewer_agreement(f)
    assert figures.execution_summary(counts) == loop_metrics.execution_summary(f)
    assert figures.reason_code_distribution(counts) == loop_metrics.reason_code_distribution(f)
    assert figures.reviewer_workload(counts) == loop_metrics.reviewer_workload(f)
    assert figures.daily_routing(counts) == loop_metrics.daily_routing(f)
    assert figures.daily_overrides(counts) == loop_metrics.daily_overrides(f)
    live_paths = loop_metrics.outcomes_by_path(f)
    for route, outcomes in figures.outcomes_by_path(counts).items():
        assert sorted(outcomes, key=str) == sorted(live_paths.get(route, []), key=str)
    durations = sorted(
        d.total_seconds()
        for d in facts.final_decisions(f)
        .annotate(d=facts.review_seconds())
        .values_list("d", flat=True)
    )
    estimated = figures.review_latency(counts)
    for key, p in (("p50", 0.5), ("p95", 0.95)):
        if not durations:
            assert estimated[key] is None
        else:  # the documented precision: one bucket
            exact = _percentile_cont(durations, p)
            assert estimated[key] == pytest.approx(exact, rel=2 ** (1 / 16) - 1, abs=1)


def _percentile_cont(ordered: list[float], p: float) -> float:
    rank = p * (len(ordered) - 1)
    below = math.floor(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (rank - below) * (ordered[above] - ordered[below])


FILTERS = [
    {},
    {"channel": "chat"},
    {"channel": "email"},
    {"provider": "openai"},
    {"provider": "offline"},
    {"queue": "senior"},
    {"queue": "standard"},
    {"policy_version": 1},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) or "all" for f in FILTERS])
def test_rolled_up_figures_equal_the_live_ones(history, filters):
    _roll_up_closed_days(history)
    assert DailyLoopRollup.objects.count() == 6
    _assert_same_figures(_period(history, **filters), history)


def test_a_closed_day_without_a_roll_up_is_counted_live(history):
    _roll_up_closed_days(history)
    DailyLoopRollup.objects.filter(day=timezone.localdate(history) - timedelta(days=2)).delete()
    f = _period(history)
    assert figures.live_start(f, now=history) == rollup.day_start(
        timezone.localdate(history) - timedelta(days=2)
    )
    _assert_same_figures(f, history)


def test_a_period_not_starting_at_midnight_is_counted_live(history):
    _roll_up_closed_days(history)
    f = facts.DashboardFilters(start=history - timedelta(days=3), end=history)
    assert figures.live_start(f, now=history) == f.start
    _assert_same_figures(f, history)


def test_rolling_up_a_day_again_replaces_its_counts(history):
    day = timezone.localdate(history) - timedelta(days=1)
    rows = rollup.loop_stats_rollup(day=day, now=history)

    def stored():
        return sorted(
            DailyLoopCount.objects.filter(day=day).values_list(
                "metric", "key", "queues", "channel", "providers", "policy_versions", "n"
            )
        )

    before = stored()
    assert rollup.loop_stats_rollup(day=day, now=history) == rows == len(before)
    assert stored() == before
    assert DailyLoopRollup.objects.get(day=day).rows == rows


def test_rolling_up_a_day_again_picks_up_what_changed(history):
    day = timezone.localdate(history) - timedelta(days=1)
    rollup.loop_stats_rollup(day=day, now=history)
    routed(route="review", at=rollup.day_start(day) + timedelta(hours=1))
    rollup.loop_stats_rollup(day=day, now=history)
    _assert_same_figures(_period(history), history)


def test_a_day_not_begun_is_not_rolled_up():
    with pytest.raises(ApplicationError) as error:
        rollup.loop_stats_rollup(day=timezone.localdate() + timedelta(days=1))
    assert error.value.code == "day_open"


def test_today_is_rolled_up_to_its_last_full_hour(history):
    later = history + timedelta(hours=1)  # today's cases (ten minutes before history) are in
    _roll_up_closed_days(later)
    rollup.loop_stats_rollup(day=timezone.localdate(later), now=later)
    hour = timezone.localtime(later).replace(minute=0, second=0, microsecond=0)
    assert DailyLoopRollup.objects.get(day=timezone.localdate(later)).until == hour
    f = _period(later)
    assert figures.live_start(f, now=later) == hour
    _assert_same_figures(f, later)


def test_days_due_are_the_missing_the_partial_and_the_settling_closed_days(settings):
    settings.HITL_LOOP_STATS_DAYS = 10
    settings.HITL_LOOP_STATS_SETTLE_DAYS = 2
    today = timezone.localdate()
    for n in range(1, 11):
        day = today - timedelta(days=n)
        if n != 6:  # 8: counted up to its last hour only (while it was today)
            until = rollup.day_start(day + timedelta(days=1 if n != 8 else 0)) + timedelta(
                hours=0 if n != 8 else 23
            )
            DailyLoopRollup.objects.create(day=day, until=until)
    assert rollup.days_due() == [today - timedelta(days=n) for n in (1, 2, 6, 8)]


def test_the_scheduled_roll_up_fills_the_window(settings):
    settings.HITL_LOOP_STATS_DAYS = 3
    routed(at=timezone.now() - timedelta(days=2))
    days = import_string("analytics.tasks.loop_stats_rollup_due")()
    today = timezone.localdate()
    assert days == [(today - timedelta(days=n)).isoformat() for n in (0, 1, 2, 3)]
    assert DailyLoopCount.objects.filter(day=today - timedelta(days=2), metric="routed").exists()


def test_the_schedules_migration_schedules_the_roll_up_and_the_drift_check():
    migration = importlib.import_module("reviews.migrations.0006_loop_stats_schedules")
    migration.forwards(apps, None)  # idempotent; transactional tests may have flushed it
    moved = importlib.import_module("analytics.migrations.0002_move_content_types_and_schedules")
    moved.forwards(apps, None)  # points them at analytics, as on a fresh database
    funcs = dict(Schedule.objects.values_list("func", "schedule_type"))
    assert funcs["analytics.tasks.loop_stats_rollup_due"] == Schedule.HOURLY
    assert funcs["analytics.drift.drift_check"] == Schedule.HOURLY
    for _, func in migration.SCHEDULES:
        assert callable(import_string(moved.FUNCS[func]))


def test_the_command_rolls_up_the_given_days():
    out = StringIO()
    today = timezone.localdate()
    since = (today - timedelta(days=3)).isoformat()
    call_command("rollup_loop_stats", "--since", since, stdout=out)
    assert "Rolled up 3 day(s)" in out.getvalue()
    assert DailyLoopRollup.objects.count() == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "yesterday"], "--since must be a date like"),
        (["--since", "2026-01-01", "--until", "2026-13-01"], "--until must be a date like"),
        (["--since", "2026-01-05", "--until", "2026-01-05"], "--since must be before --until"),
        (["--since", "2026-01-01", "--until", "2999-01-01"], "--until must be today"),
        (["--until", "2026-01-01"], "--until needs --since"),
    ],
)
def test_the_command_refuses_bad_dates(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("rollup_loop_stats", *args)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.95, 1.0])
def test_percentiles_from_buckets_are_within_a_bucket_of_percentile_cont(p):
    durations = sorted(60 * 1.37**i % 40_000 + 1 for i in range(500))
    buckets: dict[int, int] = {}
    for d in durations:
        buckets[latency.latency_bucket(d)] = buckets.get(latency.latency_bucket(d), 0) + 1
    estimate = latency.percentile_from_buckets(buckets, p)
    assert estimate == pytest.approx(_percentile_cont(durations, p), rel=2 ** (1 / 16) - 1)


def test_percentiles_of_no_durations_are_empty():
    assert latency.percentile_from_buckets({}, 0.5) is None


@given(
    durations=st.lists(st.floats(min_value=1, max_value=10**7), min_size=1, max_size=200),
    p=st.sampled_from([0.5, 0.95]),
)
def test_bucket_percentiles_are_within_the_documented_precision(durations, p):
    buckets: dict[int, int] = {}
    for d in durations:
        buckets[latency.latency_bucket(d)] = buckets.get(latency.latency_bucket(d), 0) + 1
    estimate = latency.percentile_from_buckets(buckets, p)
    exact = _percentile_cont(sorted(durations), p)
    assert estimate == pytest.approx(exact, rel=2 ** (1 / 16) - 1 + 1e-9)
