import importlib

import pytest

from audit.services import Actor
from reviews.services import queue_access_grant
from reviews.tests.factories import queue


@pytest.fixture
def reviewer_of(role_user):
    """``reviewer_of("standard")`` makes a reviewer granted that queue (role optional)."""

    def make(*slugs: str, role: str = "reviewer", **kwargs):
        user = role_user(role, **kwargs)
        for slug in slugs:
            queue_access_grant(queue=queue(slug), user=user, actor=Actor.system("tests"))
        return user

    return make


@pytest.fixture(autouse=True)
def default_queues(db):
    """The queues of the data migration, re-made if a transactional test's flush (which
    empties every table of the reused test database) removed them."""
    from reviews.models import Queue

    migration = importlib.import_module("reviews.migrations.0002_default_queues")
    for slug, name, sla, deadline, description in migration.QUEUES:
        Queue.objects.get_or_create(slug=slug, defaults={
            "name": name, "sla_minutes": sla, "hard_deadline_minutes": deadline,
            "description": description})


_SNAPSHOT = pytest.StashKey[str]()


@pytest.fixture(scope="session", autouse=True)
def _migration_data_snapshot(request, django_db_setup, django_db_blocker):
    """The rows the data migrations created (gate policy, refund policy, queues, schedules),
    as they are when the first review test runs."""
    from django.db import connection

    with django_db_blocker.unblock():
        request.config.stash[_SNAPSHOT] = connection.creation.serialize_db_to_string()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test's flush empties every table, data-migration rows included, and
    with ``--reuse-db`` (on by default) the next run's tests would find no gate policy and no
    queue. After each transactional test here, the snapshot is put back — all but content
    types and permissions, which the flush re-creates itself."""
    yield
    marker = item.get_closest_marker("django_db")
    snapshot = item.config.stash.get(_SNAPSHOT, "")
    if (marker is None or not marker.kwargs.get("transaction") or not snapshot
            or item.get_closest_marker("skip")):  # (a skipped test flushed nothing)
        return
    from django.core import serializers
    from django.db import transaction
    from pytest_django.plugin import blocking_manager_key

    skip = {"contenttypes.contenttype", "auth.permission"}
    with item.config.stash[blocking_manager_key].unblock(), transaction.atomic():
        for obj in serializers.deserialize("json", snapshot):
            if obj.object._meta.label_lower not in skip:
                obj.save()
