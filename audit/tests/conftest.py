from importlib import import_module

import pytest
from django.db import connection

from audit.services import Actor, record_event

_keyed = import_module("audit.migrations.0005_keyed_hashes")
ADD_CONSTRAINT, DROP_CONSTRAINT = _keyed.ADD_CONSTRAINT, _keyed.DROP_CONSTRAINT


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

    On PostgreSQL the append-only triggers and the keyed-hash CHECK constraint must be
    lifted first (that takes the table owner's privileges, which is exactly the attack the
    chain detects); they are put back afterwards."""

    def run(sql: str, params=()):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
                cursor.execute(DROP_CONSTRAINT)
            try:
                cursor.execute(sql, params)
            finally:
                if connection.vendor == "postgresql":
                    cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
                    cursor.execute(ADD_CONSTRAINT)

    return run
