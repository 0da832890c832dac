"""The three queues the gate routes to, and the SLA sweep schedule (every minute)."""

from django.db import migrations

QUEUES = [
    # slug, name, SLA minutes, hard deadline minutes, description
    ("standard", "Standard", 240, 3 * 24 * 60, "Everyday cases the gate sends to review."),
    ("senior", "Senior", 120, 3 * 24 * 60,
     "Escalations, overdue cases and the riskier gate reasons (amount beyond the order, "
     "owner or currency mismatches, repeat refunds)."),
    ("legal", "Legal", 480, 5 * 24 * 60,
     "Cases mentioning fraud, chargebacks, injury or legal action."),
]
SWEEP = "reviews.tasks.review_sla_sweep"


def create(apps, schema_editor):
    Queue = apps.get_model("reviews", "Queue")
    for slug, name, sla, deadline, description in QUEUES:
        Queue.objects.get_or_create(slug=slug, defaults={
            "name": name, "sla_minutes": sla, "hard_deadline_minutes": deadline,
            "description": description})
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(func=SWEEP, defaults={
        "name": "review SLA sweep", "schedule_type": "I", "minutes": 1, "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=SWEEP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_review_models"),
        ("django_q", "__latest__"),
    ]

    operations = [migrations.RunPython(create, remove)]
