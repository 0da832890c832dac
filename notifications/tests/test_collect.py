"""The collector: audit events in, one notification per recipient out, exactly once."""

import importlib
import threading
from datetime import date, timedelta

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone

from analytics.drift import DriftAlert, drift_alert_record
from audit.models import AuditEvent
from audit.services import Actor
from notifications import collect, recipients
from notifications.collect import notifications_collect
from notifications.models import Kind, Notification, NotificationCursor, NotificationPreference
from refunds.tests.factories import UserFactory
from reviews.services import queue_owners_set, review_decide, review_sla_sweep, review_task_claim
from reviews.services.absences import reviewer_absence_set
from reviews.tests.factories import queue, task_with_proposal


def _recipients(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def _escalated_by(user, task):
    review_decide(task=task, user=user, outcome="escalate", comment="Chargeback threatened.")


def test_escalation_notifies_the_queue_it_went_to_but_not_the_escalator(reviewer_of):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    other_senior = reviewer_of("standard", "senior", role="senior_reviewer")
    standard_only = reviewer_of("standard")

    _escalated_by(escalator, task)
    created = notifications_collect()

    assert created == 1
    assert _recipients(Kind.ESCALATED) == {other_senior.username}
    assert standard_only.username not in _recipients(Kind.ESCALATED)


def _owned_by(slug: str, *owners):
    queue_owners_set(queue=queue(slug), owners=owners, actor=Actor.system("tests"))


def test_escalation_also_notifies_the_owners_of_the_queue_it_went_to(reviewer_of):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    lead = UserFactory(is_staff=True)
    standard_lead = UserFactory(is_staff=True)
    _owned_by("senior", lead)
    _owned_by("standard", standard_lead)

    _escalated_by(escalator, task)
    notifications_collect()

    assert _recipients(Kind.ESCALATED) == {lead.username}


def test_an_owner_who_escalated_is_not_told_of_their_own_escalation(reviewer_of):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    _owned_by("senior", escalator)

    _escalated_by(escalator, task)
    notifications_collect()

    assert escalator.username not in _recipients(Kind.ESCALATED)


def test_owners_are_not_asked_for_a_second_approval(reviewer_of, settings):
    settings.REVIEW_FOUR_EYES_AMOUNT = "10.00"
    task = task_with_proposal(amount="50.00")
    first, second = reviewer_of("standard"), reviewer_of("standard")
    _owned_by("standard", UserFactory(is_staff=True))

    review_decide(task=task, user=first, outcome="approve")
    notifications_collect()

    assert _recipients(Kind.FOUR_EYES) == {second.username}


def test_first_approval_notifies_other_approvers_not_the_approver_nor_the_case_creator(
    reviewer_of,
):
    task = task_with_proposal(amount="400.00")
    first, second = reviewer_of("standard"), reviewer_of("standard")
    customer_colleague = reviewer_of("standard", email=task.request.customer.email)
    creator = reviewer_of("standard")
    task.request.submitted_by = creator
    task.request.save(update_fields=["submitted_by"])
    review_task_claim(task=task, user=first)

    review_decide(task=task, user=first, outcome="approve")
    notifications_collect()

    assert _recipients(Kind.FOUR_EYES) == {second.username}
    assert customer_colleague.username not in _recipients(Kind.FOUR_EYES)


def test_collect_twice_creates_each_notification_once(reviewer_of):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    reviewer_of("standard", "senior", role="senior_reviewer")
    _escalated_by(escalator, task)

    assert notifications_collect() == 1
    assert notifications_collect() == 0
    assert Notification.objects.count() == 1


def test_collect_moves_the_cursor_past_events_it_does_not_watch(reviewer_of):
    reviewer_of("standard")  # a queue grant: an audit event nobody is told about
    notifications_collect()

    assert NotificationCursor.objects.get().last_event_id == AuditEvent.objects.last().pk


def test_a_case_decided_before_the_collector_ran_notifies_nobody(reviewer_of, settings):
    settings.REVIEW_FOUR_EYES_AMOUNT = "100.00"
    task = task_with_proposal(amount="150.00")
    first, second = reviewer_of("standard"), reviewer_of("standard")
    review_decide(task=task, user=first, outcome="approve")
    task.refresh_from_db()
    review_decide(task=task, user=second, outcome="approve")

    notifications_collect()

    assert not Notification.objects.exists()


def test_a_kind_switched_off_in_the_preferences_is_not_created(reviewer_of):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    muted = reviewer_of("standard", "senior", role="senior_reviewer")
    NotificationPreference.objects.create(user=muted, escalated=False)
    _escalated_by(escalator, task)

    notifications_collect()

    assert not Notification.objects.exists()


def test_mode_off_creates_nothing(reviewer_of):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    muted = reviewer_of("standard", "senior", role="senior_reviewer")
    NotificationPreference.objects.create(user=muted, mode="off")
    _escalated_by(escalator, task)

    notifications_collect()

    assert not Notification.objects.exists()


def test_every_created_notification_is_audited(reviewer_of):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    reviewer_of("standard", "senior", role="senior_reviewer")
    _escalated_by(escalator, task)

    notifications_collect()

    notification = Notification.objects.get()
    event = AuditEvent.objects.get(event_type="notification.created")
    assert event.subject_id == str(notification.pk)
    assert event.payload["recipient"] == notification.recipient_id
    assert event.payload["kind"] == "escalated"


def test_drift_alert_notifies_the_holders_of_the_dashboard_permission(role_user):
    senior, auditor = role_user("senior_reviewer"), role_user("auditor")
    reviewer = role_user("reviewer")
    drift_alert_record(
        alert=DriftAlert(
            metric="review_rate",
            day=date(2026, 12, 5),
            today=0.6,
            baseline=0.3,
            margin=0.1,
            today_cases=40,
            baseline_cases=400,
        )
    )

    notifications_collect()

    assert {senior.username, auditor.username} <= _recipients(Kind.DRIFT)
    assert reviewer.username not in _recipients(Kind.DRIFT)


def test_a_drift_alert_stays_with_an_absent_holder_whose_stand_in_may_not_see_it(
    reviewer_of,
):
    senior = reviewer_of("standard", "senior", role="senior_reviewer")
    stand_in = reviewer_of("standard")
    now = timezone.now()
    reviewer_absence_set(
        user=senior, delegate=stand_in, starts_at=now, ends_at=now + timedelta(hours=8), by=senior
    )
    drift_alert_record(
        alert=DriftAlert(
            metric="review_rate",
            day=date(2026, 12, 5),
            today=0.6,
            baseline=0.3,
            margin=0.1,
            today_cases=40,
            baseline_cases=400,
        )
    )

    notifications_collect()

    assert senior.username in _recipients(Kind.DRIFT)
    assert stand_in.username not in _recipients(Kind.DRIFT)


def test_every_recipient_goes_through_notification_recipient(reviewer_of, monkeypatch):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    away = reviewer_of("standard", "senior", role="senior_reviewer")
    delegate = UserFactory(is_staff=True)
    monkeypatch.setattr(
        recipients, "notification_recipient", lambda u, **_: delegate if u.pk == away.pk else u
    )
    _escalated_by(escalator, task)

    notifications_collect()

    assert _recipients(Kind.ESCALATED) == {delegate.username}


def test_an_escalation_for_a_reviewer_who_is_away_goes_to_their_stand_in(reviewer_of):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    away = reviewer_of("standard", "senior", role="senior_reviewer")
    stand_in = reviewer_of("standard", "senior", role="senior_reviewer")
    reviewer_absence_set(
        user=away,
        delegate=stand_in,
        starts_at=None,
        ends_at=timezone.now() + timedelta(days=3),
        by=away,
    )
    _escalated_by(escalator, task)

    notifications_collect()

    assert _recipients(Kind.ESCALATED) == {stand_in.username}


def test_a_stand_in_who_cannot_work_the_queue_leaves_the_notice_with_the_absentee(
    reviewer_of,
):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    away = reviewer_of("standard", "senior", role="senior_reviewer")
    standard_only = reviewer_of("standard")
    reviewer_absence_set(
        user=away,
        delegate=standard_only,
        starts_at=None,
        ends_at=timezone.now() + timedelta(days=3),
        by=away,
    )
    _escalated_by(escalator, task)

    notifications_collect()

    assert _recipients(Kind.ESCALATED) == {away.username}


def test_a_collector_that_loses_the_cursor_race_creates_nothing(reviewer_of, monkeypatch):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    reviewer_of("standard", "senior", role="senior_reviewer")
    _escalated_by(escalator, task)
    real = collect._notify_for

    def another_collector_commits_first(event):
        NotificationCursor.objects.filter(pk=1).update(last_event_id=event.pk)
        return real(event)

    monkeypatch.setattr(collect, "_notify_for", another_collector_commits_first)

    assert notifications_collect() == 0
    assert not Notification.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_collectors_at_once_create_each_notification_once(reviewer_of):
    task = task_with_proposal()
    escalator = reviewer_of("standard", "senior", role="senior_reviewer")
    reviewer_of("standard", "senior", role="senior_reviewer")
    _escalated_by(escalator, task)
    barrier, results = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            results.append(notifications_collect())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == [0, 1]
    assert Notification.objects.count() == 1


def test_an_sla_escalation_notifies_every_worker_of_the_senior_queue(reviewer_of):
    task = task_with_proposal(due_at=timezone.now() - timedelta(minutes=1))
    seniors = {reviewer_of("standard", "senior", role="senior_reviewer") for _ in range(2)}
    review_sla_sweep()

    notifications_collect()

    assert task.notifications.count() == 2
    assert _recipients(Kind.ESCALATED) == {u.username for u in seniors}


def test_the_data_migration_starts_the_cursor_after_the_recorded_history(reviewer_of):
    reviewer_of("standard")  # history recorded before the app was installed
    NotificationCursor.objects.all().delete()
    migration = importlib.import_module("notifications.migrations.0002_schedules")

    migration.forwards(django_apps, None)

    assert NotificationCursor.objects.get().last_event_id == AuditEvent.objects.last().pk


def test_routing_recipients_costs_the_same_queries_whatever_their_number(reviewer_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    task = task_with_proposal()

    def queries_for_workers(n):
        for _ in range(n):
            reviewer_of("standard")
        with CaptureQueriesContext(connection) as captured:
            recipients.escalation_recipients(task, escalator_id=None)
        return len(captured)

    assert queries_for_workers(2) == queries_for_workers(6)
