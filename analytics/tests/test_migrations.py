"""The roll-up models moved from ``reviews`` to ``analytics`` in Django's state only: a
database that was at ``reviews/0007`` with rows in the two tables keeps every row, its
content types and its schedules follow the move, and going back restores the old state.
(``django-test-migrations`` is not a dependency: ``MigrationExecutor`` directly.)"""

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from analytics.models import DailyLoopCount, DailyLoopRollup

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("reviews", "0007_keyed_payload_hash"), ("analytics", None)]
DAY = date(2026, 11, 20)


def migrate(targets):
    """Migrates to ``targets``; returns the apps of the state reached."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def leaf_nodes():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_rows_content_types_and_schedules_survive_the_move():
    old = migrate(BEFORE)
    OldCount = old.get_model("reviews", "DailyLoopCount")
    OldRollup = old.get_model("reviews", "DailyLoopRollup")
    assert OldCount._meta.db_table == "reviews_dailyloopcount"
    until = timezone.make_aware(datetime.combine(DAY + timedelta(days=1), datetime.min.time()))
    OldRollup.objects.create(day=DAY, until=until, rows=2)
    for key, n in (("auto", 3), ("review", 4)):
        OldCount.objects.create(
            day=DAY,
            metric="routed",
            key=key,
            queues="*",
            channel="*",
            providers="*",
            policy_versions="*",
            n=n,
        )
    ContentType = old.get_model("contenttypes", "ContentType")
    Permission = old.get_model("auth", "Permission")
    count_type, _ = ContentType.objects.get_or_create(app_label="reviews", model="dailyloopcount")
    Permission.objects.get_or_create(
        content_type=count_type,
        codename="view_dailyloopcount",
        defaults={"name": "Can view daily loop count"},
    )
    Schedule = old.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="drift check", defaults={"func": "reviews.drift.drift_check", "schedule_type": "H"}
    )

    new = migrate(leaf_nodes())

    assert DailyLoopRollup.objects.get(day=DAY).rows == 2
    assert sorted(DailyLoopCount.objects.filter(day=DAY).values_list("key", "n")) == [
        ("auto", 3),
        ("review", 4),
    ]
    moved = new.get_model("contenttypes", "ContentType").objects.get(pk=count_type.pk)
    assert (moved.app_label, moved.model) == ("analytics", "dailyloopcount")
    assert (
        new.get_model("auth", "Permission")
        .objects.filter(content_type=moved, codename="view_dailyloopcount")
        .exists()
    )
    funcs = set(new.get_model("django_q", "Schedule").objects.values_list("func", flat=True))
    assert "analytics.drift.drift_check" in funcs
    assert "analytics.tasks.loop_stats_rollup_due" in funcs
    assert not {f for f in funcs if f.startswith(("reviews.drift.", "reviews.rollup."))}
    assert "reviews.tasks.loop_stats_rollup_due" not in funcs


def test_going_back_to_reviews_0007_keeps_the_rows_in_the_old_models():
    DailyLoopRollup.objects.create(day=DAY, until=timezone.now(), rows=0)

    old = migrate(BEFORE)

    assert old.get_model("reviews", "DailyLoopRollup").objects.filter(day=DAY).exists()
    funcs = set(old.get_model("django_q", "Schedule").objects.values_list("func", flat=True))
    assert "analytics.drift.drift_check" not in funcs
    migrate(leaf_nodes())
    assert DailyLoopRollup.objects.filter(day=DAY).exists()
