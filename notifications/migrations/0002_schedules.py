"""The notifications' periodic work, as django-q2 schedules (editable in the admin under
"Background tasks"), every minute: read the new audit events, warn about SLAs and send what
is due (``notifications tick``); retry the deliveries whose next attempt has come.

The collector's cursor starts at the last audit event already recorded: an existing
deployment is not told about everything that ever happened."""

from django.db.models import Max

from django.db import migrations

SCHEDULES = [
    ("notifications tick", "notifications.tasks.notifications_tick"),
    ("notification deliveries due", "notifications.tasks.notification_deliveries_due"),
]


def forwards(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    last = AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    apps.get_model("notifications", "NotificationCursor").objects.get_or_create(
        pk=1, defaults={"last_event_id": last}
    )
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "I", "minutes": 1, "repeats": -1},
        )


def backwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("audit", "0005_keyed_hashes"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
