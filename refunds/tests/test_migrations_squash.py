"""The squash of refunds 0001-0007 stays a faithful stand-in for the chain it replaces.

``0001_squashed_initial_to_0007`` replaces the ten migrations of the parallel branches of
November 2026; those files stay on disk until every deployment has applied the squash
(see the migration's docstring and docs/operations.md). The schema equality itself was
proved by dumping fresh databases (SQLite and PostgreSQL); the whole suite, whose test
database pytest-django builds through the migrations, exercises the squash on every run.
"""

import importlib
import inspect

import pytest
from django.db import connection
from django.db.migrations import RunPython
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

SQUASH = ("refunds", "0001_squashed_initial_to_0007")
REPLACED = [
    ("refunds", "0001_initial"),
    ("refunds", "0002_final_payload_hash"),
    ("refunds", "0002_gate_policy"),
    ("refunds", "0003_execution_models"),
    ("refunds", "0003_execution_schedules"),
    ("refunds", "0003_integration_throttle_rate_validator"),
    ("refunds", "0004_merge_20261125_0201"),
    ("refunds", "0005_agent_policies_proposals"),
    ("refunds", "0006_pipeline_schedule"),
    ("refunds", "0007_merge_0003_execution_schedules_0006_pipeline_schedule"),
]


@pytest.fixture(scope="module")
def loader():
    return MigrationLoader(None, ignore_no_migrations=True)


def test_the_squash_replaces_exactly_the_tangled_chain(loader):
    squash = loader.disk_migrations[SQUASH]
    assert sorted(squash.replaces) == sorted(REPLACED)
    assert len(set(squash.replaces)) == len(squash.replaces)


def test_the_replaced_files_stay_until_every_database_has_the_squash(loader):
    # A database part-way through the old chain can only finish it with these files.
    missing = [key for key in REPLACED if key not in loader.disk_migrations]
    assert missing == []


def test_the_replaced_chain_ends_where_the_squash_does(loader):
    # Everything from 0001 to the 0007 merge, and nothing after it, is replaced: the old
    # graph's ancestors of 0007 (within refunds) are exactly the replaced migrations.
    replaced_keys = set(REPLACED)
    for key in REPLACED:
        migration = loader.disk_migrations[key]
        for dep in migration.dependencies:
            if dep[0] == "refunds":
                assert dep in replaced_keys, f"{key} depends on {dep}, outside the squash"
    after = [
        key
        for key, migration in loader.disk_migrations.items()
        if key[0] == "refunds" and key not in replaced_keys and key != SQUASH
        for dep in migration.dependencies
        if dep in replaced_keys
    ]
    assert after == [("refunds", "0008_outbound_message_case_open")]


def test_the_squash_imports_no_old_migration_module():
    module = importlib.import_module(f"refunds.migrations.{SQUASH[1]}")
    assert "refunds.migrations." not in inspect.getsource(module)
    run_pythons = [op for op in module.Migration.operations if isinstance(op, RunPython)]
    assert len(run_pythons) == 3  # the default gate policy and the two schedule migrations
    for op in run_pythons:
        assert not op.elidable  # a fresh database needs the rows they write
        for func in (op.code, op.reverse_code):
            assert func.__module__ == module.__name__


@pytest.mark.django_db
def test_the_test_database_was_built_through_the_squash():
    applied = MigrationRecorder(connection).applied_migrations()
    assert SQUASH in applied
    # Applying a squash records the replaced names too (so a later deletion of the old
    # files leaves the history consistent); the graph shows the old files were not used.
    assert set(REPLACED) <= set(applied)

    graph = MigrationLoader(connection).graph
    assert SQUASH in graph.nodes
    assert not set(REPLACED) & set(graph.nodes)
    # Dependencies on replaced migrations resolve to the squash.
    assert SQUASH in graph.node_map[("refunds", "0008_outbound_message_case_open")].parents
    assert SQUASH in graph.node_map[("reviews", "0001_review_models")].parents
