"""Test settings: SQLite (a file in var/) unless DATABASE_URL points at PostgreSQL (CI lane 2)."""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")
# Tests that start a real qcluster share the broker with it: one queue name per test run,
# inherited by the subprocesses, so concurrent runs never take each other's tasks.
os.environ.setdefault("Q_CLUSTER_NAME", f"hitl-test-{os.getpid()}")

from .base import *  # noqa: F403
from .base import (
    DATABASES,
    DEVELOPMENT_INTEGRITY_KEY,
    DEVELOPMENT_INTEGRITY_KEY_ID,
    Q_CLUSTER,
    REST_FRAMEWORK,
    VAR_DIR,
)

SECRET_KEY = "test-only-not-secret"
# The published development key, whatever the environment says: hashes in tests are stable.
HITL_INTEGRITY_KEY_ID = DEVELOPMENT_INTEGRITY_KEY_ID
HITL_INTEGRITY_KEY = DEVELOPMENT_INTEGRITY_KEY
HITL_INTEGRITY_KEYS_OLD = ""
HITL_AUDIT_ANCHOR_COMMAND = ""
HITL_AUDIT_ANCHOR_URL = ""
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"].pop("init_command", None)  # WAL is meaningless in memory
    # A file, not memory, so a qcluster subprocess in the broker tests can open it too.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"integration": "10000/min"}
Q_CLUSTER["sync"] = False
METRICS_DB_CACHE_SECONDS = 0  # each test reads its own rows (one test covers the snapshot)
Q_CLUSTER["poll"] = 0.1
LOGGING = {"version": 1, "disable_existing_loggers": False}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Never read or append to a developer's real anchor file from the tests.
HITL_AUDIT_ANCHOR_PATH = os.path.join(
    tempfile.mkdtemp(prefix="hitl-test-anchors-"), "audit-anchors.jsonl"
)
# Slack-compatible webhooks to the tests' local server on 127.0.0.1 over plain http.
HITL_NOTIFY_ALLOW_LOCAL_HTTP = True
