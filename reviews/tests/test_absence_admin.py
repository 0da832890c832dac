"""The absences' admin, per role: who sees the list, who adds one for a colleague (through
the service, its rules on the form), who cancels."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from hitl_site import roles
from reviews.models import ReviewerAbsence, TaskStatus
from reviews.services import review_task_claim, reviewer_absence_set
from reviews.tests.factories import task_with_proposal

pytestmark = pytest.mark.django_db

LIST = reverse("admin:reviews_reviewerabsence_changelist")
ADD = reverse("admin:reviews_reviewerabsence_add")
FORMAT = "%Y-%m-%d %H:%M:%S"


def when(hours: float) -> dict:
    at = timezone.localtime() + timedelta(hours=hours)
    return {"date": at.strftime("%Y-%m-%d"), "time": at.strftime("%H:%M:%S")}


def add_data(user, delegate=None, *, start=0.0, end=8.0) -> dict:
    s, e = when(start), when(end)
    return {
        "user": user.pk,
        "delegate": delegate.pk if delegate else "",
        "starts_at_0": s["date"],
        "starts_at_1": s["time"],
        "ends_at_0": e["date"],
        "ends_at_1": e["time"],
        "note": "",
    }


def away(user, delegate=None):
    now = timezone.now()
    return reviewer_absence_set(
        user=user, delegate=delegate, starts_at=now, ends_at=now + timedelta(hours=8), by=user
    )


@pytest.fixture
def user_in(reviewer_of, role_user, django_user_model):
    def make(role: str):
        if role == "superuser":
            return django_user_model.objects.create_superuser("root", password="pass")
        if role == roles.REVIEWER:
            return reviewer_of("standard")
        if role == roles.SENIOR_REVIEWER:
            return reviewer_of("standard", "senior", "legal", role=roles.SENIOR_REVIEWER)
        return role_user(role)

    return make


# role: (list, add form, cancel action offered)
ACCESS = [
    (roles.REVIEWER, 403, 403, False),
    (roles.SENIOR_REVIEWER, 200, 200, True),
    (roles.POLICY_ADMIN, 403, 403, False),
    (roles.AUDITOR, 200, 403, False),
    (roles.INTEGRATION, 403, 403, False),
    ("superuser", 200, 200, True),
]


@pytest.mark.parametrize(("role", "listing", "adding", "cancels"), ACCESS)
def test_who_may_see_add_and_cancel_absences_in_the_admin(
    client, user_in, reviewer_of, role, listing, adding, cancels
):
    away(reviewer_of("standard"))
    client.force_login(user_in(role))

    response = client.get(LIST)

    assert response.status_code == listing
    assert client.get(ADD).status_code == adding
    if listing == 200:
        assert ('value="cancel_absences"' in response.text) == cancels


def test_anonymous_users_are_sent_to_the_admin_login(client):
    for url in (LIST, ADD):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_an_auditor_cannot_cancel_by_posting_the_action(client, user_in, reviewer_of):
    absence = away(reviewer_of("standard"))
    client.force_login(user_in(roles.AUDITOR))

    client.post(LIST, {"action": "cancel_absences", ACTION_CHECKBOX_NAME: [absence.pk]})

    absence.refresh_from_db()
    assert absence.cancelled_at is None


def test_a_senior_sets_an_absence_for_a_sick_colleague_through_the_service(
    client, user_in, reviewer_of
):
    senior = user_in(roles.SENIOR_REVIEWER)
    sick, bob = reviewer_of("standard"), reviewer_of("standard")
    task = task_with_proposal()
    review_task_claim(task=task, user=sick)
    client.force_login(senior)

    response = client.post(ADD, add_data(sick, bob))

    assert response.status_code == 302
    absence = ReviewerAbsence.objects.get(user=sick)
    assert (absence.delegate, absence.created_by) == (bob, senior)
    task.refresh_from_db()
    assert (task.status, task.assignee) == (TaskStatus.CLAIMED, bob)
    assert AuditEvent.objects.filter(event_type="reviewer_absence.set").count() == 1


def test_the_services_rules_show_on_the_admin_form(client, user_in, reviewer_of):
    sick, legal = reviewer_of("standard"), reviewer_of("legal")
    client.force_login(user_in(roles.SENIOR_REVIEWER))

    response = client.post(ADD, add_data(sick, legal))

    assert response.status_code == 200
    assert "works none of" in response.text
    assert not ReviewerAbsence.objects.exists()


@pytest.mark.parametrize(
    ("own_delegate", "start", "end", "message"),
    [(True, 0.0, 8.0, "own delegate"), (False, -3.0, -1.0, "must end in the future")],
)
def test_a_refusal_on_the_admin_form_is_said_once(
    client, user_in, reviewer_of, own_delegate, start, end, message
):
    sick = reviewer_of("standard")
    client.force_login(user_in(roles.SENIOR_REVIEWER))

    response = client.post(
        ADD, add_data(sick, sick if own_delegate else None, start=start, end=end)
    )

    errors = response.context["adminform"].form.non_field_errors()
    assert [e for e in errors if message in e] and len(errors) == 1


def test_an_absence_cannot_be_edited_or_deleted_in_the_admin(client, user_in, reviewer_of):
    absence = away(reviewer_of("standard"))
    client.force_login(user_in("superuser"))
    change = reverse("admin:reviews_reviewerabsence_change", args=[absence.pk])

    client.post(change, {"note": "changed"})

    absence.refresh_from_db()
    assert absence.note == ""
    delete = reverse("admin:reviews_reviewerabsence_delete", args=[absence.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ReviewerAbsence.objects.filter(pk=absence.pk).exists()


def test_a_senior_cancels_absences_with_the_action(client, user_in, reviewer_of):
    absences = [away(reviewer_of("standard")), away(reviewer_of("standard"))]
    client.force_login(user_in(roles.SENIOR_REVIEWER))

    response = client.post(
        LIST,
        {"action": "cancel_absences", ACTION_CHECKBOX_NAME: [a.pk for a in absences]},
        follow=True,
    )

    assert "2 absence(s) cancelled." in response.text
    assert not ReviewerAbsence.objects.filter(cancelled_at__isnull=True).exists()
    assert AuditEvent.objects.filter(event_type="reviewer_absence.cancelled").count() == 2


def test_cancelling_an_absence_already_cancelled_says_so(client, user_in, reviewer_of):
    absence = away(reviewer_of("standard"))
    client.force_login(user_in(roles.SENIOR_REVIEWER))
    data = {"action": "cancel_absences", ACTION_CHECKBOX_NAME: [absence.pk]}
    client.post(LIST, data)

    response = client.post(LIST, data, follow=True)

    assert "already cancelled" in response.text


@pytest.mark.parametrize(("state", "shown"), [("in_force", "here"), ("cancelled", "gone")])
def test_the_state_filter_lists_absences_in_that_state(client, user_in, reviewer_of, state, shown):
    away(reviewer_of("standard", username="here"))
    gone = away(reviewer_of("standard", username="gone"))
    gone.cancelled_at = timezone.now()
    gone.save(update_fields=["cancelled_at"])
    client.force_login(user_in(roles.SENIOR_REVIEWER))

    listed = client.get(LIST, {"state": state}).context["cl"].result_list

    assert [a.user.username for a in listed] == [shown]
