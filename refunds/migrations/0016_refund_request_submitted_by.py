"""``RefundRequest.submitted_by``: the staff user who submitted a case, recorded on the case
itself, so that "who may not decide it" no longer depends on matching an audit event type.

Backfilled from the ``refund_request.received`` audit events whose actor is a user (the
audit table is only read: on PostgreSQL it is append-only). An actor id that is no longer
a user is skipped.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SUBJECT_TYPE = "refunds.refundrequest"
RECEIVED = "refund_request.received"  # the literal as stored; never renamed


def backfill_submitted_by(apps, schema_editor):
    request_model = apps.get_model("refunds", "RefundRequest")
    event_model = apps.get_model("audit", "AuditEvent")
    user_model = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    submitters: dict[int, int] = {}
    events = event_model.objects.filter(
        event_type=RECEIVED, subject_type=SUBJECT_TYPE, actor_type="user"
    ).order_by("sequence")
    for subject_id, actor_id in events.values_list("subject_id", "actor_id").iterator():
        if subject_id.isdigit() and actor_id.isdigit():
            submitters.setdefault(int(subject_id), int(actor_id))  # the first one counts
    users = set(
        user_model.objects.filter(pk__in=set(submitters.values())).values_list("pk", flat=True)
    )
    for request_id, user_id in submitters.items():
        if user_id in users:
            request_model.objects.filter(pk=request_id, submitted_by__isnull=True).update(
                submitted_by_id=user_id
            )


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0015_outbound_message_approval"),
        ("audit", "0005_keyed_hashes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="refundrequest",
            name="submitted_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="submitted_refund_requests",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(backfill_submitted_by, migrations.RunPython.noop),
    ]
