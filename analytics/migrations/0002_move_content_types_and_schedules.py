"""What else named the moved code by its old app, in existing databases:

* the ``ContentType`` rows of ``DailyLoopCount`` and ``DailyLoopRollup`` move from
  ``reviews`` to ``analytics``, so their permissions (and any group holding them) follow
  the models instead of being left on stale content types (a fresh database has none yet:
  ``post_migrate`` creates them under ``analytics``);
* the django-q2 schedules of ``reviews/0006_loop_stats_schedules`` point at the functions'
  new homes (in a fresh database too: 0006 has just written the old paths)."""

from django.db import migrations

MODELS = ["dailyloopcount", "dailylooprollup"]
FUNCS = {
    "reviews.tasks.loop_stats_rollup_due": "analytics.tasks.loop_stats_rollup_due",
    "reviews.drift.drift_check": "analytics.drift.drift_check",
}


def _move(apps, *, old_app: str, new_app: str, funcs: dict[str, str]) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(
        ContentType.objects.filter(app_label=new_app, model__in=MODELS).values_list(
            "model", flat=True
        )
    )
    # A content type already under the new label (only if post_migrate ran in between)
    # is kept; the old one is then stale, and remove_stale_contenttypes may delete it.
    ContentType.objects.filter(app_label=old_app, model__in=set(MODELS) - taken).update(
        app_label=new_app
    )
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in funcs.items():
        Schedule.objects.filter(func=old).update(func=new)


def forwards(apps, schema_editor):
    _move(apps, old_app="reviews", new_app="analytics", funcs=FUNCS)


def backwards(apps, schema_editor):
    _move(
        apps,
        old_app="analytics",
        new_app="reviews",
        funcs={new: old for old, new in FUNCS.items()},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("reviews", "0008_move_loop_stats_to_analytics"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
