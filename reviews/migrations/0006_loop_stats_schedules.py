"""The dashboard's periodic work, as django-q2 schedules (editable in the admin under
"Background tasks"): the daily roll-up of closed days and the drift check, every hour, so
the drift alert is raised when nobody opens the dashboard."""

from django.db import migrations

SCHEDULES = [
    ("roll up loop stats", "reviews.tasks.loop_stats_rollup_due"),
    ("drift check", "reviews.drift.drift_check"),
]


def forwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "H", "repeats": -1})


def backwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0005_daily_loop_rollup"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
