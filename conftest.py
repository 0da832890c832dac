"""Shared fixtures: API clients per integration, users per role, the database lanes."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from refunds.tests.factories import IntegrationFactory


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need real row locks and concurrent connections; on the
    SQLite lane they are skipped with a reason (they run in the PostgreSQL CI lane)."""
    from django.conf import settings

    # A transactional test's flush empties the tables the data migrations filled (the
    # default gate policy, queues, schedules). serialized_rollback puts them back; mixing
    # tests with and without it makes the restore collide with re-created content types.
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: use @pytest.mark.django_db(transaction=True, "
                "serialized_rollback=True) (see conftest.py)"
            )
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run `make test-postgres`)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    _let_test_flushes_past_the_audit_truncate_guard()


def _let_test_flushes_past_the_audit_truncate_guard() -> None:
    """A transactional test ends with ``flush``, which on PostgreSQL is one TRUNCATE of
    every table, and the audit tables refuse TRUNCATE (audit migration 0004). In the test
    database only, the flush switches those two triggers off for its own statement, in its
    own transaction; production code has no such path."""
    from importlib import import_module

    from django.db.backends.postgresql.operations import DatabaseOperations

    guard_tables = import_module("audit.migrations.0004_refuse_truncate").TABLES
    original = DatabaseOperations.sql_flush
    if getattr(original, "_audit_guard_aware", False):
        return

    def sql_flush(self, style, tables, *args, **kwargs):
        statements = original(self, style, tables, *args, **kwargs)
        guarded = [(t, trigger) for t, trigger in guard_tables.items() if t in tables]
        if not statements or not guarded:
            return statements
        off = [f"ALTER TABLE {t} DISABLE TRIGGER {trigger};" for t, trigger in guarded]
        on = [f"ALTER TABLE {t} ENABLE TRIGGER {trigger};" for t, trigger in guarded]
        return [*off, *statements, *on]

    sql_flush._audit_guard_aware = True  # type: ignore[attr-defined]
    DatabaseOperations.sql_flush = sql_flush


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def integration(db):
    return IntegrationFactory()


@pytest.fixture
def api_key_for(db):
    """Returns a function that creates an API key for an integration and gives the plain key."""
    from audit.services import Actor
    from refunds.services import integration_api_key_create

    def make(integration):
        _, plain = integration_api_key_create(
            integration=integration, name="test", actor=Actor.system("tests")
        )
        return plain

    return make


@pytest.fixture
def api_client(integration, api_key_for):
    """An API client authenticated as ``integration``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(integration)}")
    return client


@pytest.fixture
def role_user(db):
    """``role_user("reviewer")`` makes a staff user in that role's group."""
    from hitl_site import roles
    from refunds.tests.factories import UserFactory

    groups = None

    def make(role: str, **kwargs):
        nonlocal groups
        groups = groups or roles.roles_ensure()
        user = UserFactory(is_staff=True, **kwargs)
        user.groups.add(groups[role])
        return user

    return make
