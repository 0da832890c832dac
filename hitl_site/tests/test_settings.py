"""Settings load once per process, so each case runs Django in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'], "
    "'q': sorted(k for k in ('orm', 'redis') if k in s.Q_CLUSTER), "
    "'broker_class': s.Q_CLUSTER.get('broker_class'), 'secret': s.SECRET_KEY}))"
)


def run_django(code_or_args, *, settings: str, env: dict[str, str], tmp_path: Path):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}
        and not k.startswith("HITL_INTEGRITY_KEY")
    }
    full_env = {**clean, "DJANGO_SETTINGS_MODULE": settings, "HITL_VAR_DIR": str(tmp_path), **env}
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = run_django(
        PRINT_SETTINGS, settings="hitl_site.settings.production", env={}, tmp_path=tmp_path
    )

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


PRODUCTION_INTEGRITY = {
    "HITL_INTEGRITY_KEY_ID": "2026-11",
    "HITL_INTEGRITY_KEY": "i" * 40 + "-production-integrity-key",
}


@pytest.mark.parametrize(
    ("integrity", "message"),
    [
        ({}, "HITL_INTEGRITY_KEY is not set"),
        (
            {"HITL_INTEGRITY_KEY": "hitl-development-integrity-key-not-a-secret"},
            "published development key",
        ),
        ({"HITL_INTEGRITY_KEY": "x" * 60}, "must differ from SECRET_KEY"),
    ],
    ids=["missing", "development-key", "same-as-secret-key"],
)
def test_production_refuses_to_start_without_its_own_integrity_key(tmp_path, integrity, message):
    result = run_django(
        PRINT_SETTINGS,
        settings="hitl_site.settings.production",
        env={"SECRET_KEY": "x" * 60, **integrity},
        tmp_path=tmp_path,
    )

    assert result.returncode != 0
    assert message in result.stderr


def test_check_refuses_a_malformed_integrity_key_ring(tmp_path):
    env = {
        "SECRET_KEY": "x" * 60,
        **PRODUCTION_INTEGRITY,
        "HITL_INTEGRITY_KEYS_OLD": f"2026-11:{'o' * 40}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    result = run_django(
        ["manage.py", "check"], settings="hitl_site.settings.production", env=env, tmp_path=tmp_path
    )

    assert result.returncode != 0
    assert "audit.E001" in result.stderr and "used twice" in result.stderr


def test_local_settings_fall_back_to_the_development_integrity_key(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.HITL_INTEGRITY_KEY_ID, s.HITL_INTEGRITY_KEY)"
    )
    result = run_django(code, settings="hitl_site.settings.local", env={}, tmp_path=tmp_path)

    assert result.stdout.split() == ["dev", "hitl-development-integrity-key-not-a-secret"]


def test_check_deploy_passes_with_production_variables(tmp_path):
    env = {
        "SECRET_KEY": "x" * 60 + "-production-secret-value-0123456789",
        **PRODUCTION_INTEGRITY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_HOSTS": "hitl.example.com",
    }

    result = run_django(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        settings="hitl_site.settings.production",
        env=env,
        tmp_path=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_embedded_default_is_sqlite_orm_broker_and_debug_off(tmp_path):
    result = run_django(
        PRINT_SETTINGS, settings="hitl_site.settings.local", env={}, tmp_path=tmp_path
    )

    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["q"] == ["orm"]
    assert loaded["debug"] is False


def test_redis_url_switches_the_broker_to_redis(tmp_path):
    result = run_django(
        PRINT_SETTINGS,
        settings="hitl_site.settings.local",
        env={
            "REDIS_URL": "redis://127.0.0.1:6379/5",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hitl",
        },
        tmp_path=tmp_path,
    )

    loaded = json.loads(result.stdout)
    assert loaded["q"] == ["redis"]
    assert loaded["broker_class"] == "hitl_site.broker.PooledRedis"
    assert loaded["engine"] == "django.db.backends.postgresql"


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_development_secret_key_is_generated_once_into_var(tmp_path):
    first = json.loads(
        run_django(
            PRINT_SETTINGS, settings="hitl_site.settings.local", env={}, tmp_path=tmp_path
        ).stdout
    )
    second = json.loads(
        run_django(
            PRINT_SETTINGS, settings="hitl_site.settings.local", env={}, tmp_path=tmp_path
        ).stdout
    )

    key_file = tmp_path / "secret_key"
    assert first["secret"] == second["secret"] == key_file.read_text().strip()
    assert key_file.stat().st_mode & 0o777 == 0o600
