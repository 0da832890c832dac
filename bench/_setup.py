"""What every benchmark does before timing: a real database of its own, and no test-only
instrumentation."""


def use_bench_database() -> None:
    """Points Django's test-database machinery at a throw-away benchmark database (on
    PostgreSQL ``test_<NAME>_bench``; on SQLite the configured file, as in production, not
    ``:memory:``), then sets Django up. The test client's host is allowed explicitly because
    ``setup_test_environment()`` (whose instrumented template rendering is not what a
    server runs) is deliberately not called."""
    import django
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["TEST"] = {"NAME": f"test_{database['NAME']}_bench"}
    else:
        database["TEST"] = {"NAME": database["NAME"]}
    django.setup()
    settings.ALLOWED_HOSTS = ["testserver"]
