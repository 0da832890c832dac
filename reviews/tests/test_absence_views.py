"""The absence page (``/review/absence/``), its cancel button and the queue page's banner:
who may use them, per role, and what they do."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from hitl_site import roles
from reviews.models import ReviewerAbsence, TaskStatus
from reviews.services import review_task_claim, reviewer_absence_set
from reviews.tests.factories import task_with_proposal

pytestmark = pytest.mark.django_db

PAGE = "/review/absence/"
FORMAT = "%Y-%m-%dT%H:%M"


def away(user, delegate=None, *, start=None, hours=8):
    start = start or timezone.now()
    return reviewer_absence_set(
        user=user,
        delegate=delegate,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        by=user,
    )


def back_in(hours: int) -> str:
    return (timezone.localtime() + timedelta(hours=hours)).strftime(FORMAT)


@pytest.fixture
def user_in(reviewer_of, role_user):
    """A user of ``role`` with the queues ``ensure_roles`` gives its group."""

    def make(role: str):
        if role == roles.REVIEWER:
            return reviewer_of("standard")
        if role == roles.SENIOR_REVIEWER:
            return reviewer_of("standard", "senior", "legal", role=roles.SENIOR_REVIEWER)
        return role_user(role)

    return make


def test_the_page_is_at_review_absence():
    assert reverse("reviews:absence") == PAGE


# --- who may ---------------------------------------------------------------------------------

MAY_USE = [
    (roles.REVIEWER, 200),
    (roles.SENIOR_REVIEWER, 200),
    (roles.POLICY_ADMIN, 403),
    (roles.AUDITOR, 403),
    (roles.INTEGRATION, 403),
]


@pytest.mark.parametrize(("role", "status"), MAY_USE)
def test_who_may_open_the_absence_page(client, user_in, role, status):
    client.force_login(user_in(role))

    assert client.get(PAGE).status_code == status


@pytest.mark.parametrize(("role", "status"), MAY_USE)
def test_who_may_set_an_absence_on_the_page(client, user_in, role, status):
    user = user_in(role)
    client.force_login(user)

    response = client.post(PAGE, {"ends_at": back_in(8)})

    assert response.status_code == (302 if status == 200 else status)
    assert ReviewerAbsence.objects.filter(user=user).exists() == (status == 200)


@pytest.mark.parametrize(("role", "status"), MAY_USE)
def test_who_may_cancel_their_absence(client, user_in, role, status):
    user = user_in(role)
    absence = ReviewerAbsence.objects.create(
        user=user,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=1),
        created_by=user,
    )
    client.force_login(user)

    response = client.post(reverse("reviews:absence_cancel", args=[absence.pk]))

    absence.refresh_from_db()
    assert response.status_code == (302 if status == 200 else status)
    assert (absence.cancelled_at is not None) == (status == 200)


def test_anonymous_users_are_sent_to_login(client, reviewer_of):
    absence = away(reviewer_of("standard"))
    for response in (
        client.get(PAGE),
        client.post(PAGE, {"ends_at": back_in(8)}),
        client.post(reverse("reviews:absence_cancel", args=[absence.pk])),
    ):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_cancel_needs_post(client, reviewer_of):
    user = reviewer_of("standard")
    client.force_login(user)

    assert client.get(reverse("reviews:absence_cancel", args=[away(user).pk])).status_code == 405


def test_someone_elses_absence_is_404_on_the_cancel_button(client, reviewer_of):
    theirs = away(reviewer_of("standard"))
    client.force_login(reviewer_of("standard"))

    response = client.post(reverse("reviews:absence_cancel", args=[theirs.pk]))

    theirs.refresh_from_db()
    assert response.status_code == 404 and theirs.cancelled_at is None


# --- what it does ----------------------------------------------------------------------------


def test_the_page_lists_current_and_planned_absences_in_fixed_queries(
    client, reviewer_of, django_assert_max_num_queries
):
    user, bob = reviewer_of("standard"), reviewer_of("standard")
    away(user, bob, hours=2)
    away(user, start=timezone.now() + timedelta(days=3))
    client.force_login(user)

    with django_assert_max_num_queries(12):
        response = client.get(PAGE)

    assert response.text.count('<button type="submit" class="button">Cancel</button>') == 2
    assert "away now" in response.text and bob.username in response.text


def test_the_stand_in_choices_are_the_colleagues_of_my_queues(client, reviewer_of):
    user, colleague, legal = (
        reviewer_of("standard"),
        reviewer_of("standard"),
        reviewer_of("legal"),
    )
    client.force_login(user)

    form = client.get(PAGE).context["form"]

    assert list(form.fields["delegate"].queryset) == [colleague]
    assert legal not in form.fields["delegate"].queryset


def test_setting_an_absence_with_a_stand_in_hands_over_my_claims(client, reviewer_of):
    user, bob = reviewer_of("standard"), reviewer_of("standard")
    task = task_with_proposal()
    review_task_claim(task=task, user=user)
    client.force_login(user)

    response = client.post(PAGE, {"ends_at": back_in(8), "delegate": bob.pk, "note": "Flu"})

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.assignee) == (TaskStatus.CLAIMED, bob)
    assert ReviewerAbsence.objects.get(user=user).note == "Flu"


def test_a_refused_absence_shows_the_reason_on_the_form_and_saves_nothing(client, reviewer_of):
    user = reviewer_of("standard")
    away(user)
    client.force_login(user)

    response = client.post(PAGE, {"ends_at": back_in(4)})

    assert response.status_code == 409
    assert "is already away from" in response.text
    assert ReviewerAbsence.objects.count() == 1


def test_a_missing_return_time_is_a_form_error(client, reviewer_of):
    client.force_login(reviewer_of("standard"))

    response = client.post(PAGE, {"ends_at": ""})

    assert response.status_code == 400
    assert response.context["form"].has_error("ends_at")
    assert not ReviewerAbsence.objects.exists()


def test_a_stand_in_from_outside_my_queues_is_a_form_error(client, reviewer_of):
    user, legal = reviewer_of("standard"), reviewer_of("legal")
    client.force_login(user)

    response = client.post(PAGE, {"ends_at": back_in(4), "delegate": legal.pk})

    assert response.status_code == 400
    assert response.context["form"].has_error("delegate")


# --- the queue page --------------------------------------------------------------------------


def test_the_queue_page_shows_my_absence_with_a_cancel_button(client, reviewer_of):
    user, bob = reviewer_of("standard"), reviewer_of("standard")
    absence = away(user, bob)
    client.force_login(user)

    response = client.get(reverse("reviews:queue"))

    assert 'id="absence-banner"' in response.text
    assert "You are marked away until" in response.text
    assert reverse("reviews:absence_cancel", args=[absence.pk]) in response.text


def test_cancelling_from_the_queue_banner_returns_to_the_queue(client, reviewer_of):
    user = reviewer_of("standard")
    absence = away(user)
    client.force_login(user)

    response = client.post(
        reverse("reviews:absence_cancel", args=[absence.pk]), {"back": "queue"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("reviews:queue")
    assert 'id="absence-banner"' not in response.text
    assert "you can claim and decide again" in response.text


def test_the_queue_page_links_the_absence_page_without_a_banner_when_present(client, reviewer_of):
    client.force_login(reviewer_of("standard"))

    response = client.get(reverse("reviews:queue"))

    assert f'href="{PAGE}"' in response.text
    assert 'id="absence-banner"' not in response.text


def test_claiming_on_the_task_page_while_away_says_so(client, reviewer_of):
    user = reviewer_of("standard")
    task = task_with_proposal()
    away(user)
    client.force_login(user)

    response = client.post(reverse("reviews:claim", args=[task.pk]), follow=True)

    assert "You are marked away until" in response.text
    task.refresh_from_db()
    assert task.assignee is None
