"""Races on real concurrent PostgreSQL connections: two roll-ups of one day take turns."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from analytics import rollup
from analytics.models import DailyLoopCount, DailyLoopRollup
from analytics.tests.factories import decided, routed

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def race(*calls):
    """Runs the calls at the same moment on their own connections; returns their results
    (the return value, or the exception raised)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # collected and asserted by the caller
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_roll_ups_of_the_same_day_take_turns():
    at = timezone.now() - timedelta(days=1)
    routed(route="auto", at=at)
    decided(at=at)
    day = timezone.localdate(at)

    results = race(*[lambda: rollup.loop_stats_rollup(day=day)] * 3)

    assert all(isinstance(r, int) and r > 0 for r in results), results
    assert len(set(results)) == 1
    assert DailyLoopRollup.objects.filter(day=day).count() == 1
    assert DailyLoopCount.objects.filter(day=day).count() == results[0]
