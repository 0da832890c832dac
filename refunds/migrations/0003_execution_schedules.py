"""The periodic work of execution, as django-q2 schedules (editable in the admin under
"Background tasks"): the reconciler and the webhook sweep, every minute."""

from django.db import migrations

SCHEDULES = [
    ("reconcile-executions", "refunds.tasks.executions_reconcile"),
    ("deliver-due-webhooks", "refunds.tasks.webhooks_deliver_due"),
]


def forwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": 1,
                                 "repeats": -1})


def backwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0003_execution_models"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
