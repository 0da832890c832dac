"""The drift alert: today's review rate or override rate against its trailing baseline.

When either leaves the baseline by more than ``HITL_DRIFT_MARGIN`` (absolute: 0.10 is ten
percentage points), something upstream changed — the model, the retrieval, the case mix or
a downstream system — and someone should look. The dashboard shows the alert
(``drift_alerts``: reads only, so a page view has no side effect); the hourly schedule
(``drift_check``) writes the first sighting of each metric each day to the audit log
(``ops.drift_detected``) and logs it as a warning, for the log-based alerting to pick up.

``detect_drift`` is pure; ``drift_alerts`` reads the daily counts; ``drift_check`` reads
them and records the events.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent
from audit.services import Actor, record_event

from .events import DRIFT_DETECTED
from .facts import DashboardFilters
from .figures import daily_series

logger = logging.getLogger(__name__)

SUBJECT_TYPE = "ops.metric"
REVIEW_RATE = "review_rate"
OVERRIDE_RATE = "override_rate"
LABELS = {REVIEW_RATE: "Review rate", OVERRIDE_RATE: "Human override rate"}


@dataclass(frozen=True)
class DailyCount:
    day: date
    part: int
    whole: int


@dataclass(frozen=True)
class DriftAlert:
    metric: str
    day: date
    today: float
    baseline: float
    margin: float
    today_cases: int
    baseline_cases: int

    @property
    def label(self) -> str:
        return LABELS.get(self.metric, self.metric)

    @property
    def delta(self) -> float:
        return self.today - self.baseline

    def as_payload(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "day": self.day.isoformat(),
            "today": round(self.today, 4),
            "baseline": round(self.baseline, 4),
            "margin": self.margin,
            "today_cases": self.today_cases,
            "baseline_cases": self.baseline_cases,
        }


def detect_drift(
    *, metric: str, today: DailyCount, baseline: list[DailyCount], margin: float, min_cases: int
) -> DriftAlert | None:
    """An alert when today's rate differs from the pooled baseline rate (sum of parts over
    sum of wholes, so quiet days weigh little) by more than ``margin``. Nothing when today
    or the baseline has fewer than ``min_cases`` cases: small numbers swing."""
    base_part = sum(d.part for d in baseline)
    base_whole = sum(d.whole for d in baseline)
    if today.whole < min_cases or base_whole < min_cases:
        return None
    today_rate, base_rate = today.part / today.whole, base_part / base_whole
    if abs(today_rate - base_rate) <= margin:
        return None
    return DriftAlert(
        metric=metric,
        day=today.day,
        today=today_rate,
        baseline=base_rate,
        margin=margin,
        today_cases=today.whole,
        baseline_cases=base_whole,
    )


def _series(counts: dict[date, dict[str, int]], part: str, days: list[date]) -> list[DailyCount]:
    return [
        DailyCount(d, counts.get(d, {}).get(part, 0), counts.get(d, {}).get("total", 0))
        for d in days
    ]


def drift_window_start(now: datetime) -> datetime:
    first = timezone.localdate(now) - timedelta(days=settings.HITL_DRIFT_BASELINE_DAYS)
    return timezone.make_aware(datetime.combine(first, datetime.min.time()))


def drift_alerts(
    *,
    now: datetime | None = None,
    routing: dict[date, dict[str, int]] | None = None,
    overrides: dict[date, dict[str, int]] | None = None,
) -> list[DriftAlert]:
    """Today (in the site's time zone) against the ``HITL_DRIFT_BASELINE_DAYS`` before it,
    over all cases. The daily roll-up for the baseline and the live tables for today
    (``figures.daily_series``: four queries), or none when the caller passes the
    unfiltered daily counts covering the window."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = [today - timedelta(days=n) for n in range(settings.HITL_DRIFT_BASELINE_DAYS, -1, -1)]
    f = DashboardFilters(start=drift_window_start(now), end=now + timedelta(seconds=1))
    if routing is None or overrides is None:
        routing, overrides = daily_series(f, now=now)
    series = {
        REVIEW_RATE: _series(routing, "review", days),
        OVERRIDE_RATE: _series(overrides, "overridden", days),
    }
    alerts = []
    for metric, counts in series.items():
        alert = detect_drift(
            metric=metric,
            today=counts[-1],
            baseline=counts[:-1],
            margin=settings.HITL_DRIFT_MARGIN,
            min_cases=settings.HITL_DRIFT_MIN_CASES,
        )
        if alert is not None:
            alerts.append(alert)
    return alerts


def drift_alert_record(*, alert: DriftAlert) -> bool:
    """Writes the audit event and the warning for ``alert`` unless today's event for that
    metric exists. Returns True if it wrote one. The chain head is locked first, so two
    checks running at once (on PostgreSQL) write one event, not two."""
    subject = (SUBJECT_TYPE, f"{alert.metric}:{alert.day.isoformat()}")
    recorded = AuditEvent.objects.filter(
        event_type=DRIFT_DETECTED, subject_type=subject[0], subject_id=subject[1]
    )
    if recorded.exists():  # the usual case: no lock taken
        return False
    with transaction.atomic():
        AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        if recorded.exists():
            return False
        record_event(
            event_type=DRIFT_DETECTED,
            actor=Actor.system("drift-monitor"),
            subject=subject,
            payload=alert.as_payload(),
        )
    logger.warning(
        "drift: %s is %.1f%% today against a baseline of %.1f%%",
        alert.metric,
        alert.today * 100,
        alert.baseline * 100,
        extra=alert.as_payload(),
    )
    return True


def drift_check(*, now: datetime | None = None, **daily) -> list[DriftAlert]:
    """The current alerts, each recorded once per day: the hourly ``drift check`` schedule
    (django-q2, ``analytics/migrations/0002``). Never called by a page (a GET writes
    nothing); ``daily``: the counts ``drift_alerts`` may reuse."""
    alerts = drift_alerts(now=now, **daily)
    for alert in alerts:
        drift_alert_record(alert=alert)
    return alerts
