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
