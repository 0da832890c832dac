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
    """The queues of the data migration (transactional tests restore them through
    ``serialized_rollback``; this keeps the non-transactional ones independent of order)."""
    from reviews.models import Queue

    migration = importlib.import_module("reviews.migrations.0002_default_queues")
    for slug, name, sla, deadline, description in migration.QUEUES:
        Queue.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "sla_minutes": sla,
                "hard_deadline_minutes": deadline,
                "description": description,
            },
        )
