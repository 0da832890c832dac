"""The drift alert: a pure comparison, and one audit event per metric and day."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from analytics import drift
from analytics.drift import DailyCount, detect_drift
from analytics.tests.factories import routed
from audit.models import AuditEvent

DAY = date(2026, 11, 20)


def baseline(part: int, whole: int, days: int = 14) -> list[DailyCount]:
    return [DailyCount(DAY - timedelta(days=n), part, whole) for n in range(days, 0, -1)]


def test_no_alert_within_the_margin():
    assert (
        detect_drift(
            metric="review_rate",
            today=DailyCount(DAY, 35, 100),
            baseline=baseline(30, 100),
            margin=0.1,
            min_cases=20,
        )
        is None
    )


@pytest.mark.parametrize("today_part", [45, 15])
def test_alert_when_today_leaves_the_baseline_either_way(today_part):
    alert = detect_drift(
        metric="review_rate",
        today=DailyCount(DAY, today_part, 100),
        baseline=baseline(30, 100),
        margin=0.1,
        min_cases=20,
    )
    assert alert is not None
    assert alert.baseline == pytest.approx(0.3)
    assert alert.today == pytest.approx(today_part / 100)
    assert alert.baseline_cases == 1400


def test_small_numbers_raise_no_alert():
    assert (
        detect_drift(
            metric="review_rate",
            today=DailyCount(DAY, 10, 10),
            baseline=baseline(30, 100),
            margin=0.1,
            min_cases=20,
        )
        is None
    )
    assert (
        detect_drift(
            metric="review_rate",
            today=DailyCount(DAY, 90, 100),
            baseline=baseline(0, 1),
            margin=0.1,
            min_cases=20,
        )
        is None
    )


def test_the_baseline_is_pooled_so_quiet_days_weigh_little():
    days = [DailyCount(DAY - timedelta(days=2), 1, 1), DailyCount(DAY - timedelta(days=1), 30, 100)]
    alert = detect_drift(
        metric="m", today=DailyCount(DAY, 31, 100), baseline=days, margin=0.1, min_cases=20
    )
    assert alert is None  # pooled 31/101, not the mean of 100% and 30%


@pytest.mark.django_db
def test_drift_check_records_one_audit_event_per_metric_and_day(settings):
    settings.HITL_DRIFT_MIN_CASES = 3
    settings.HITL_DRIFT_MARGIN = 0.2
    now = timezone.now()
    for days_ago in range(1, 4):  # baseline: every case auto-approved
        for _ in range(2):
            routed(route="auto", at=now - timedelta(days=days_ago))
    for _ in range(3):  # today: every case reviewed
        routed(route="review", at=now - timedelta(minutes=1))

    alerts = drift.drift_check(now=now)
    assert [a.metric for a in alerts] == ["review_rate"]
    assert alerts[0].today == 1.0 and alerts[0].baseline == 0.0
    drift.drift_check(now=now)  # a second scheduled check on the same day

    events = AuditEvent.objects.filter(event_type="ops.drift_detected")
    assert events.count() == 1
    event = events.get()
    assert event.subject_id == f"review_rate:{timezone.localdate(now).isoformat()}"
    assert event.payload["today"] == 1.0


@pytest.mark.django_db
def test_drift_check_is_quiet_without_a_change(settings):
    settings.HITL_DRIFT_MIN_CASES = 1
    now = timezone.now()
    routed(route="auto", at=now - timedelta(days=1))
    routed(route="auto", at=now)
    assert drift.drift_check(now=now) == []
    assert not AuditEvent.objects.filter(event_type="ops.drift_detected").exists()
