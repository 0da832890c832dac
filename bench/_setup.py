"""What every benchmark does before timing: a real database of its own, and no test-only
instrumentation."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def use_bench_database() -> None:
    """Points Django's test-database machinery at a throw-away benchmark database (on
    PostgreSQL ``test_<NAME>_bench`` of ``DATABASE_URL``; else a temp SQLite file, as in
    production, not ``:memory:``), then sets Django up. The test client's host is allowed
    explicitly because ``setup_test_environment()`` (whose instrumented template rendering
    is not what a server runs) is deliberately not called."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitl_site.settings.test")
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    os.environ.setdefault("TEST_DATABASE_NAME", "")
    import django
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["TEST"] = {"NAME": f"test_{database['NAME']}_bench"}
    else:
        database["TEST"] = {"NAME": database["NAME"]}
    django.setup()
    settings.ALLOWED_HOSTS = ["testserver"]
