"""Test settings: SQLite in memory unless DATABASE_URL points at PostgreSQL (the CI lane)."""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

from .base import *  # noqa: F403
from .base import DATABASES, Q_CLUSTER, REST_FRAMEWORK

SECRET_KEY = "test-only-not-secret"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"].pop("init_command", None)  # WAL is meaningless in memory
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"integration": "10000/min"}
Q_CLUSTER["sync"] = False
LOGGING = {"version": 1, "disable_existing_loggers": False}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Never read or append to a developer's real anchor file from the tests.
HITL_AUDIT_ANCHOR_PATH = os.path.join(tempfile.mkdtemp(prefix="hitl-test-anchors-"),
                                      "audit-anchors.jsonl")
