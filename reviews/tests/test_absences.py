"""Reviewers' absences: the rules of setting and cancelling one, the claimed tasks that
follow it (at set-time and through the SLA sweep), the refusals while away, and the
stand-in notifications route to."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from audit.models import AuditEvent
from hitl_site import roles
from hitl_site.errors import ApplicationError
from refunds.tests.factories import UserFactory
from reviews.models import ReviewDecision, ReviewerAbsence, ReviewTask, TaskStatus
from reviews.selectors import reviewer_stand_in
from reviews.services import (
    review_decide,
    review_sla_sweep,
    review_task_claim,
    review_task_reassign,
    reviewer_absence_cancel,
    reviewer_absence_set,
)
from reviews.tests.factories import task_with_proposal

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def events(kind: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=kind).order_by("sequence"))


def away(user, delegate=None, *, by=None, start=None, hours=8, now=None, note=""):
    """Marks ``user`` away for ``hours`` from ``start`` (default now) through the service."""
    now = now or timezone.now()
    start = start or now
    return reviewer_absence_set(
        user=user,
        delegate=delegate,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        note=note,
        by=by or user,
        now=now,
    )


def raw_absence(user, delegate, *, start=None, hours=8):
    """An absence written straight to the table (to build what the service refuses)."""
    start = start or timezone.now() - HOUR
    return ReviewerAbsence.objects.create(
        user=user,
        delegate=delegate,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        created_by=user,
    )


def claimed_by(user, **kwargs) -> ReviewTask:
    task = task_with_proposal(**kwargs)
    review_task_claim(task=task, user=user)
    task.refresh_from_db()
    return task


@pytest.fixture
def alice(reviewer_of):
    return reviewer_of("standard")


@pytest.fixture
def bob(reviewer_of):
    return reviewer_of("standard")


# --- setting ---------------------------------------------------------------------------------


def test_reviewer_sets_own_absence_with_a_colleague_as_delegate_and_it_is_audited(alice, bob):
    absence = away(alice, bob, note="Holiday")

    assert (absence.user, absence.delegate, absence.created_by) == (alice, bob, alice)
    event = events("reviewer_absence.set")[0]
    assert event.actor_id == str(alice.pk)
    assert event.subject_id == str(absence.pk)
    assert (event.payload["user"], event.payload["delegate"]) == (alice.username, bob.username)
    assert event.payload["note"] == "Holiday"


def test_an_absence_is_never_backdated(alice):
    now = timezone.now()

    absence = away(alice, start=now - timedelta(days=2), hours=72, now=now)

    assert absence.starts_at == now


def test_a_reviewer_may_not_set_an_absence_for_a_colleague(alice, bob):
    with pytest.raises(ApplicationError) as exc:
        away(bob, by=alice)

    assert exc.value.code == "forbidden" and exc.value.status_code == 403
    assert not ReviewerAbsence.objects.exists()


def test_a_senior_reviewer_sets_an_absence_for_a_sick_colleague(alice, bob, reviewer_of):
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)

    absence = away(alice, bob, by=senior)

    assert absence.created_by == senior
    assert events("reviewer_absence.set")[0].actor_id == str(senior.pk)


@pytest.mark.parametrize(
    ("start_in", "end_in", "message"),
    [
        (HOUR, HOUR / 2, "must end after it starts"),
        (-2 * HOUR, -HOUR, "must end in the future"),
    ],
)
def test_absence_dates_are_checked(alice, start_in, end_in, message):
    now = timezone.now()
    with pytest.raises(ApplicationError, match=message) as exc:
        reviewer_absence_set(
            user=alice,
            delegate=None,
            starts_at=now + start_in,
            ends_at=now + end_in,
            by=alice,
            now=now,
        )
    assert exc.value.code == "invalid_absence" and exc.value.status_code == 400


def test_the_delegate_must_work_a_queue_of_the_absentee(alice, reviewer_of):
    legal_only = reviewer_of("legal")

    with pytest.raises(ApplicationError, match="works none of"):
        away(alice, legal_only)


def test_a_machine_account_cannot_be_a_delegate(alice, reviewer_of):
    machine = reviewer_of(role=roles.INTEGRATION)

    with pytest.raises(ApplicationError, match="machine account"):
        away(alice, machine)


def test_an_inactive_account_cannot_be_a_delegate(alice, reviewer_of):
    gone = reviewer_of("standard", is_active=False)

    with pytest.raises(ApplicationError, match="inactive"):
        away(alice, gone)


def test_nobody_is_their_own_delegate(alice):
    with pytest.raises(ApplicationError, match="your own delegate"):
        away(alice, alice)


def test_an_overlapping_absence_is_refused_naming_the_one_in_place(alice):
    now = timezone.now()
    away(alice, start=now + HOUR, hours=4, now=now)

    with pytest.raises(ApplicationError, match="already away from") as exc:
        away(alice, start=now + 3 * HOUR, hours=4, now=now)

    assert exc.value.code == "absence_overlaps"
    assert ReviewerAbsence.objects.count() == 1


def test_a_cancelled_absence_does_not_block_a_new_one(alice):
    reviewer_absence_cancel(absence=away(alice), by=alice)

    away(alice)

    assert ReviewerAbsence.objects.filter(cancelled_at__isnull=True).count() == 1


def test_a_delegation_loop_of_two_is_refused(alice, bob):
    now = timezone.now()
    away(alice, bob, start=now + HOUR, hours=8, now=now)

    with pytest.raises(ApplicationError, match="delegation loop") as exc:
        away(bob, alice, start=now + 5 * HOUR, hours=8, now=now)

    assert f"{bob.username} → {alice.username} → {bob.username}" in exc.value.message


def test_a_delegation_loop_of_three_is_refused(alice, bob, reviewer_of):
    carol = reviewer_of("standard")
    away(alice, bob)
    away(bob, carol)

    with pytest.raises(ApplicationError, match="delegation loop"):
        away(carol, alice)


def test_opposite_delegations_at_different_times_are_allowed(alice, bob):
    now = timezone.now()
    away(alice, bob, start=now + HOUR, hours=2, now=now)

    away(bob, alice, start=now + 4 * HOUR, hours=2, now=now)

    assert ReviewerAbsence.objects.count() == 2


def test_a_loop_only_through_windows_that_never_meet_is_allowed(alice, bob, reviewer_of):
    carol = reviewer_of("standard")
    now = timezone.now()
    away(alice, bob, start=now + HOUR, hours=10, now=now)  # hours 1-11
    away(bob, carol, start=now + HOUR, hours=2, now=now)  # hours 1-3

    away(carol, alice, start=now + 5 * HOUR, hours=2, now=now)  # hours 5-7: bob is back

    assert ReviewerAbsence.objects.count() == 3


def test_the_database_refuses_an_absence_ending_before_it_starts(alice):
    now = timezone.now()
    with pytest.raises(IntegrityError):
        ReviewerAbsence.objects.create(user=alice, starts_at=now, ends_at=now, created_by=alice)


def test_the_database_refuses_a_reviewer_as_their_own_delegate(alice):
    with pytest.raises(IntegrityError):
        raw_absence(alice, alice)


# --- cancelling ------------------------------------------------------------------------------


def test_a_reviewer_cancels_their_absence_and_it_is_audited(alice):
    absence = away(alice)

    reviewer_absence_cancel(absence=absence, by=alice)

    absence.refresh_from_db()
    assert absence.cancelled_at is not None
    event = events("reviewer_absence.cancelled")[0]
    assert event.actor_id == str(alice.pk) and event.payload["was_in_force"] is True


def test_a_reviewer_may_not_cancel_a_colleagues_absence(alice, bob):
    absence = away(alice)

    with pytest.raises(ApplicationError) as exc:
        reviewer_absence_cancel(absence=absence, by=bob)

    assert exc.value.code == "forbidden"


def test_a_senior_reviewer_cancels_a_colleagues_absence(alice, reviewer_of):
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)

    reviewer_absence_cancel(absence=away(alice), by=senior)

    assert events("reviewer_absence.cancelled")[0].actor_id == str(senior.pk)


def test_cancelling_twice_is_refused(alice):
    absence = away(alice)
    reviewer_absence_cancel(absence=absence, by=alice)

    with pytest.raises(ApplicationError) as exc:
        reviewer_absence_cancel(absence=absence, by=alice)

    assert exc.value.code == "absence_cancelled"


def test_an_absence_that_is_over_cannot_be_cancelled(alice):
    absence = away(alice, hours=1)

    with pytest.raises(ApplicationError) as exc:
        reviewer_absence_cancel(absence=absence, by=alice, now=absence.ends_at)

    assert exc.value.code == "absence_over"


# --- claims follow ---------------------------------------------------------------------------


def test_an_absence_starting_now_hands_the_claimed_tasks_to_the_delegate(alice, bob):
    task = claimed_by(alice)

    absence = away(alice, bob)

    task.refresh_from_db()
    assert (task.status, task.assignee) == (TaskStatus.CLAIMED, bob)
    event = events("reviewer_absence.task_handed_over")[0]
    assert event.subject_id == str(task.pk)
    assert event.payload == {"absence": absence.pk, "from": alice.username, "to": bob.username}


def test_without_a_delegate_the_claimed_tasks_go_back_to_the_queue(alice):
    task = claimed_by(alice)

    away(alice)

    task.refresh_from_db()
    assert (task.status, task.assignee) == (TaskStatus.OPEN, None)
    assert events("reviewer_absence.task_released")[0].payload["from"] == alice.username


def test_a_task_of_a_queue_the_delegate_does_not_work_goes_back_to_the_queue(reviewer_of):
    alice, bob = reviewer_of("standard", "legal"), reviewer_of("standard")
    legal, standard = claimed_by(alice, queue_slug="legal"), claimed_by(alice)

    away(alice, bob)

    legal.refresh_from_db()
    standard.refresh_from_db()
    assert (legal.status, legal.assignee) == (TaskStatus.OPEN, None)
    assert standard.assignee == bob


def test_the_delegates_own_case_goes_back_to_the_queue(alice, bob):
    task = task_with_proposal()
    task.request.submitted_by = bob
    task.request.save(update_fields=["submitted_by"])
    review_task_claim(task=task, user=alice)

    away(alice, bob)

    task.refresh_from_db()
    assert (task.status, task.assignee) == (TaskStatus.OPEN, None)


def test_a_task_the_delegate_first_approved_goes_back_to_the_queue(alice, bob, settings):
    settings.REVIEW_FOUR_EYES_AMOUNT = 10
    task = task_with_proposal(amount="50.00")
    first = review_decide(task=task, user=bob, outcome="approve")
    assert first.pending
    review_task_claim(task=task, user=alice)

    away(alice, bob)

    task.refresh_from_db()
    assert (task.status, task.assignee) == (TaskStatus.OPEN, None)


def test_claims_follow_a_chain_of_absences_to_the_first_present_person(alice, bob, reviewer_of):
    carol = reviewer_of("standard")
    away(bob, carol)
    task = claimed_by(alice)

    away(alice, bob)

    task.refresh_from_db()
    assert task.assignee == carol


def test_a_planned_absence_leaves_the_claims_until_the_sweep_reaches_its_start(alice, bob):
    now = timezone.now()
    task = claimed_by(alice)
    absence = away(alice, bob, start=now + HOUR, now=now)
    task.refresh_from_db()
    assert task.assignee == alice

    counts = review_sla_sweep(now=absence.starts_at + timedelta(minutes=1))

    task.refresh_from_db()
    assert counts["followed_absence"] == 1
    assert task.assignee == bob
    assert events("reviewer_absence.task_handed_over")[0].actor_type == "system"


def test_the_sweep_moves_each_claim_only_once(alice, bob):
    now = timezone.now()
    claimed_by(alice)
    absence = away(alice, bob, start=now + HOUR, now=now)
    later = absence.starts_at + timedelta(minutes=1)
    review_sla_sweep(now=later)

    assert review_sla_sweep(now=later + timedelta(minutes=1))["followed_absence"] == 0
    assert len(events("reviewer_absence.task_handed_over")) == 1


def test_the_sweep_leaves_claims_of_a_cancelled_absence(alice, bob):
    now = timezone.now()
    task = claimed_by(alice)
    absence = away(alice, bob, start=now + timedelta(minutes=1), now=now)
    reviewer_absence_cancel(absence=absence, by=alice)

    review_sla_sweep(now=absence.starts_at + timedelta(minutes=1))

    task.refresh_from_db()
    assert task.assignee == alice
    assert not events("reviewer_absence.task_handed_over")


# --- while away ------------------------------------------------------------------------------


def test_an_absent_reviewer_cannot_claim(alice):
    task = task_with_proposal()
    absence = away(alice)

    with pytest.raises(ApplicationError, match="You are marked away until") as exc:
        review_task_claim(task=task, user=alice)

    assert exc.value.code == "reviewer_away"
    assert "cancel your absence to work again" in exc.value.message
    assert f"{timezone.localtime(absence.ends_at):%Y-%m-%d %H:%M}" in exc.value.message


def test_an_absent_reviewer_cannot_decide(alice):
    task = task_with_proposal()
    away(alice)

    with pytest.raises(ApplicationError) as exc:
        review_decide(task=task, user=alice, outcome="approve")

    assert exc.value.code == "reviewer_away"
    assert not ReviewDecision.objects.exists()


def test_after_cancelling_the_absence_the_reviewer_claims_again(alice):
    task = task_with_proposal()
    reviewer_absence_cancel(absence=away(alice), by=alice)

    review_task_claim(task=task, user=alice)

    task.refresh_from_db()
    assert task.assignee == alice


def test_reassigning_to_an_absent_reviewer_is_refused_naming_the_stand_in(alice, bob, reviewer_of):
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)
    task = task_with_proposal()
    away(alice, bob)

    with pytest.raises(ApplicationError, match=f"stand-in, {bob.username}") as exc:
        review_task_reassign(task=task, to_user=alice, by=senior)

    assert exc.value.code == "assignee_away" and exc.value.status_code == 400
    task.refresh_from_db()
    assert task.assignee is None


def test_reassigning_to_an_absent_reviewer_without_stand_in_says_choose_someone_else(
    alice, reviewer_of
):
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)
    away(alice)

    with pytest.raises(ApplicationError, match="reassign it to someone else"):
        review_task_reassign(task=task_with_proposal(), to_user=alice, by=senior)


def test_a_refused_reassignment_names_no_stand_in_when_there_is_none(alice, reviewer_of):
    senior = reviewer_of("standard", role=roles.SENIOR_REVIEWER)
    away(alice)

    with pytest.raises(ApplicationError) as exc:
        review_task_reassign(task=task_with_proposal(), to_user=alice, by=senior)

    assert exc.value.extra == {"stand_in": None}


# --- the stand-in ----------------------------------------------------------------------------


def test_stand_in_of_a_present_reviewer_is_themself(alice, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        assert reviewer_stand_in(alice) == alice


def test_stand_in_of_an_absent_reviewer_is_the_delegate(alice, bob):
    away(alice, bob)

    assert reviewer_stand_in(alice) == bob


def test_stand_in_without_a_delegate_is_the_absentee(alice):
    away(alice)

    assert reviewer_stand_in(alice) == alice


def test_stand_in_follows_a_chain_in_two_queries(
    alice, bob, reviewer_of, django_assert_max_num_queries
):
    carol, dave = reviewer_of("standard"), reviewer_of("standard")
    away(alice, bob)
    away(bob, carol)
    away(carol, dave)

    with django_assert_max_num_queries(2):
        assert reviewer_stand_in(alice) == dave


def test_stand_in_chain_ending_with_someone_away_without_delegate_is_the_absentee(alice, bob):
    away(bob)
    away(alice, bob)

    assert reviewer_stand_in(alice) == alice


def test_stand_in_never_loops(alice, bob, django_assert_max_num_queries):
    raw_absence(alice, bob)
    raw_absence(bob, alice)  # a loop the service refuses, written behind its back

    with django_assert_max_num_queries(2):
        assert reviewer_stand_in(alice) == alice


def test_stand_in_skips_an_inactive_delegate(alice, bob):
    away(alice, bob)
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    assert reviewer_stand_in(alice) == alice


def test_stand_in_is_taken_at_the_time_asked(alice, bob):
    now = timezone.now()
    absence = away(alice, bob, start=now + HOUR, now=now)

    assert reviewer_stand_in(alice, at=now) == alice
    assert reviewer_stand_in(alice, at=absence.starts_at) == bob
    assert reviewer_stand_in(alice, at=absence.ends_at) == alice


def test_stand_in_of_a_user_who_is_no_reviewer_is_themself():
    user = UserFactory()

    assert reviewer_stand_in(user) == user
