import pytest
from django.db import connection

from audit.services import Actor, record_event


@pytest.fixture
def chain(db):
    """Five events, appended the normal way."""
    return [
        record_event(
            event_type="test.event",
            actor=Actor.system("tests"),
            subject=("tests.thing", str(i)),
            payload={"n": i, "amount": "1.50"},
        )
        for i in range(1, 6)
    ]


@pytest.fixture
def tamper():
    """Runs raw SQL against the audit table as an attacker with database access would.

    On PostgreSQL the append-only trigger must be disabled first (that takes the table
    owner's privileges, which is exactly the attack the chain detects)."""

    def run(sql: str, params=()):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            try:
                cursor.execute(sql, params)
            finally:
                if connection.vendor == "postgresql":
                    cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")

    return run
