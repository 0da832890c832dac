"""The review task state table: every allowed move succeeds, every other one is refused."""

import itertools

import pytest

from audit.models import AuditEvent
from audit.services import Actor
from reviews.models import ReviewTask
from reviews.states import ALLOWED_TRANSITIONS, TaskStatus
from reviews.tests.factories import ReviewTaskFactory
from reviews.transitions import IllegalTaskTransition, review_task_transition

pytestmark = pytest.mark.django_db

PAIRS = list(itertools.product(TaskStatus.values, repeat=2))
ALLOWED = [(a, b) for a, b in PAIRS if b in ALLOWED_TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in PAIRS if b not in ALLOWED_TRANSITIONS[a]]


def task_in(status: str) -> ReviewTask:
    # At most one active task per request: each task gets its own request (the factory's).
    task = ReviewTaskFactory()
    ReviewTask.objects.filter(pk=task.pk).update(status=status)
    return ReviewTask.objects.get(pk=task.pk)


def test_table_covers_every_status_and_only_decided_and_expired_are_final():
    assert set(ALLOWED_TRANSITIONS) == set(TaskStatus.values)
    final = {s for s, moves in ALLOWED_TRANSITIONS.items() if not moves}
    assert final == {TaskStatus.DECIDED, TaskStatus.EXPIRED}


@pytest.mark.parametrize(("from_status", "to_status"), ALLOWED)
def test_allowed_move_succeeds_and_bumps_the_version(from_status, to_status):
    task = task_in(from_status)
    version = task.version
    review_task_transition(task=task, to_status=to_status)
    stored = ReviewTask.objects.get(pk=task.pk)
    assert (stored.status, stored.version) == (to_status, version + 1)
    assert (task.status, task.version) == (to_status, version + 1)


@pytest.mark.parametrize(("from_status", "to_status"), REFUSED)
def test_other_move_is_refused_and_writes_nothing(from_status, to_status):
    task = task_in(from_status)
    with pytest.raises(IllegalTaskTransition) as exc:
        review_task_transition(task=task, to_status=to_status)
    assert exc.value.code == "illegal_transition" and exc.value.status_code == 409
    stored = ReviewTask.objects.get(pk=task.pk)
    assert (stored.status, stored.version) == (from_status, task.version)


def test_stale_task_object_is_refused():
    task = task_in(TaskStatus.OPEN)
    ReviewTask.objects.filter(pk=task.pk).update(version=task.version + 1)
    with pytest.raises(IllegalTaskTransition):
        review_task_transition(task=task, to_status=TaskStatus.CLAIMED)
    assert ReviewTask.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_move_records_the_event_given_on_the_task():
    task = task_in(TaskStatus.CLAIMED)
    review_task_transition(
        task=task,
        to_status=TaskStatus.OPEN,
        actor=Actor.system("test"),
        event_type="review_task.released",
        payload={"previous_assignee": "x"},
    )
    event = AuditEvent.objects.get(event_type="review_task.released")
    assert event.subject_id == str(task.pk) and event.payload["previous_assignee"] == "x"
