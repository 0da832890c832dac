"""The daily roll-up of the loop: the dashboard's figures as counts per day
(``DailyLoopCount``, counted by ``analytics.counting``), so the page sums a few thousand
small rows for its closed days instead of scanning a period's requests.

``loop_stats_rollup`` stores one day — a closed day whole, today up to its last full
hour — idempotently (delete and insert in one transaction); ``loop_stats_rollup_due``
(scheduled hourly, ``analytics.tasks``) counts today's full hours, back-fills the closed
days of the last ``HITL_LOOP_STATS_DAYS`` without a complete roll-up and re-counts the last
``HITL_LOOP_STATS_SETTLE_DAYS``, whose cases may still move on (a request's status, an
execution's phase). Older days keep the statuses they had when they were last counted.
"""

import logging
import time as clock
from collections import Counter
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from hitl_site.errors import ApplicationError

from .counting import ALL, Dimensions, dimension_values, loop_counts
from .facts import DashboardFilters
from .models import DailyLoopCount, DailyLoopRollup

logger = logging.getLogger(__name__)

# --- The roll-up ------------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    """Midnight starting ``day`` in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def rollup_end(day: date, now: datetime) -> datetime:
    """Where a roll-up of ``day`` stops: the next midnight for a closed day; for today, the
    last full hour (local), so the page counts at most an hour's rows live."""
    if day < timezone.localdate(now):
        return day_start(day + timedelta(days=1))
    hour = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    return max(hour, day_start(day))


@transaction.atomic
def loop_stats_rollup(
    *, day: date, now: datetime | None = None, dims: Dimensions | None = None
) -> int:
    """Counts ``day`` (in the site's time zone) into ``DailyLoopCount`` and marks it rolled
    up (``DailyLoopRollup``) up to ``rollup_end``: a closed day whole, today up to its last
    full hour. Idempotent: the day's counts are deleted and written again in one
    transaction, under a lock on the day's marker row, so a re-run replaces them, two runs
    at once take turns, and readers see the old counts or the new.

    Returns the number of count rows written. Raises ``ApplicationError`` (``day_open``)
    for a day after today."""
    now = now or timezone.now()
    if day > timezone.localdate(now):
        raise ApplicationError(
            f"{day.isoformat()} has not begun: there is nothing to roll up yet.",
            code="day_open",
            status_code=400,
        )
    end = rollup_end(day, now)
    if connection.vendor == "postgresql":
        # The set columns' EXISTS subplans make the planner's estimate huge, so PostgreSQL
        # JIT-compiles each counting query: ~2.7 s of compilation for ~1 s of work a day.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
    marker, _ = DailyLoopRollup.objects.select_for_update().get_or_create(
        day=day, defaults={"until": end}
    )
    f = DashboardFilters(start=day_start(day), end=end)
    counts = loop_counts(f, dims=dims or dimension_values()) if end > f.start else Counter()
    totals: Counter = Counter()
    for (_, metric, key, *_dims), n in counts.items():
        totals[(day, metric, key, ALL, ALL, ALL, ALL)] += n
    counts.update(totals)
    DailyLoopCount.objects.filter(day=day).delete()
    rows = DailyLoopCount.objects.bulk_create(
        [
            DailyLoopCount(
                day=day,
                metric=metric,
                key=key,
                queues=queues,
                channel=channel,
                providers=providers,
                policy_versions=policy_versions,
                n=n,
            )
            for (_, metric, key, queues, channel, providers, policy_versions), n in counts.items()
        ],
        batch_size=2000,
    )
    marker.until, marker.rolled_up_at, marker.rows = end, now, len(rows)
    marker.save(update_fields=["until", "rolled_up_at", "rows"])
    return len(rows)


def days_due(*, now: datetime | None = None) -> list[date]:
    """Closed days of the last ``HITL_LOOP_STATS_DAYS`` to count, newest first: those
    without a complete roll-up and the last ``HITL_LOOP_STATS_SETTLE_DAYS`` (settling)."""
    today = timezone.localdate(now or timezone.now())
    window = [today - timedelta(days=n) for n in range(1, settings.HITL_LOOP_STATS_DAYS + 1)]
    done = {
        day
        for day, until in DailyLoopRollup.objects.filter(
            day__gte=window[-1], day__lt=today
        ).values_list("day", "until")
        if until >= day_start(day + timedelta(days=1))
    }
    settling = set(window[: settings.HITL_LOOP_STATS_SETTLE_DAYS])
    return [d for d in window if d not in done or d in settling]


def loop_stats_rollup_due(
    *, now: datetime | None = None, budget_seconds: float | None = None
) -> list[date]:
    """Rolls up today's full hours, then ``days_due``, newest first, each in its own
    transaction; stops starting new days once ``budget_seconds`` have passed (a first
    back-fill of 90 busy days then spreads over a few runs instead of outliving the task
    timeout). Returns the days."""
    now = now or timezone.now()
    started = clock.monotonic()
    dims = dimension_values()
    done = []
    for day in [timezone.localdate(now), *days_due(now=now)]:
        if budget_seconds is not None and clock.monotonic() - started > budget_seconds:
            break
        loop_stats_rollup(day=day, now=now, dims=dims)
        done.append(day)
    return done
