"""Writes the chain head out of the database every 15 minutes (a django-q2 schedule,
editable in the admin under "Background tasks")."""

from django.db import migrations

NAME = "anchor-audit-chain"


def forwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "audit.tasks.audit_anchor_write", "schedule_type": "I",
                             "minutes": 15, "repeats": -1})


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_trigger"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
