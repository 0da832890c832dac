"""The reconciler runs every minute on whichever worker picks it up."""

from django.db import migrations

FUNC = "refunds.tasks.pipeline_reconcile_task"


def forwards(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    schedule.objects.update_or_create(
        name="reconcile-pipeline",
        defaults={"func": FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1})


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="reconcile-pipeline").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0005_agent_policies_proposals"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
