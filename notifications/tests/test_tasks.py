"""The scheduled entry points, end to end: an escalation becomes an e-mail."""

import pytest
from django.core import mail
from django_q.models import Schedule

from notifications import dispatch
from notifications.models import NotificationDelivery
from notifications.tasks import (
    notification_deliveries_due,
    notification_delivery_send,
    notifications_tick,
)
from reviews.services import review_decide
from reviews.tests.factories import task_with_proposal


@pytest.mark.parametrize(
    "func",
    ["notifications.tasks.notifications_tick", "notifications.tasks.notification_deliveries_due"],
)
def test_the_data_migration_schedules_the_jobs_every_minute(func):
    schedule = Schedule.objects.get(func=func)
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)


def test_an_escalation_reaches_the_other_senior_by_email(
    reviewer_of, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []
    monkeypatch.setattr(dispatch, "enqueue_delivery", queued.append)
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    senior = reviewer_of("standard", "senior", role="senior_reviewer", email="senior@example.org")
    review_decide(
        task=task_with_proposal(), user=escalator, outcome="escalate", comment="Legal threat."
    )

    with django_capture_on_commit_callbacks(execute=True):
        counts = notifications_tick()
    for delivery_id in queued:
        notification_delivery_send(delivery_id)

    assert counts == {"collected": 1, "sla_warned": 0, "messages": 1}
    [email] = mail.outbox
    assert email.to == [senior.email]
    assert email.subject == "[hitl] Case escalated to your queue"
    assert "/review/confirm/" in email.body
    assert NotificationDelivery.objects.get().status == "sent"
    assert notification_deliveries_due() == 0
