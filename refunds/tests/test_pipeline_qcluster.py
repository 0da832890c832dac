"""A real ``qcluster`` process: the ORM broker on the SQLite lane (a database file shared
with the cluster), Redis on the PostgreSQL lane (the test database, committed data).

The cluster drafts through the OpenAI-compatible provider against the fake server in this
process, so a test can hold a model call open and kill the cluster in the middle of it.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from refunds.tests import openai_server as answers
from refunds.tests.openai_server import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[2]


def _postgres_lane() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


pytestmark = [pytest.mark.slow, pytest.mark.broker]
if _postgres_lane():
    # Committed data the cluster can see (earlier transactional tests may have flushed
    # what migrations created: ``post_request`` puts the default gate policy back).
    pytestmark.append(pytest.mark.django_db(transaction=True))


@pytest.fixture
def cluster_env(request, tmp_path):
    """Environment for subprocesses that share one database with each other (and, on
    PostgreSQL, with this test)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="hitl_site.settings.test", HITL_VAR_DIR=str(tmp_path),
               Q_WORKERS="1", Q_POLL="0.1", Q_CLUSTER_NAME=f"agent-test-{os.getpid()}",
               PYTHONUNBUFFERED="1")
    if _postgres_lane():
        db = settings.DATABASES["default"]
        env["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or ''}:"
                               f"{db['PORT'] or 5432}/{db['NAME']}")
        env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3")
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cluster.sqlite3'}"
        _manage(env, "migrate", "--noinput", "-v0")
    return env


@pytest.fixture
def model_server(cluster_env):
    server = FakeOpenAIServer().start()
    cluster_env.update(HITL_DRAFTER_PROVIDER="openai", HITL_OPENAI_BASE_URL=server.base_url,
                       HITL_OPENAI_API_KEY="test-key", HITL_OPENAI_MODEL="test-model",
                       HITL_OPENAI_TIMEOUT="60", HITL_OPENAI_MAX_RETRIES="0")
    yield server
    server.stop()


def _manage(env, *args: str, timeout: float = 60) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _step(env, call: str, timeout: float = 60) -> dict:
    code = f"from refunds.tests import cluster_scenario as s; s.{call}"
    out = _manage(env, "shell", "-c", code, timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


class Cluster:
    """A ``manage.py qcluster`` in its own process group, so the whole cluster (sentinel,
    pusher, workers, monitor) can be stopped, or killed as a crash would."""

    def __init__(self, env, log: Path):
        self.log = log.open("w")
        self.process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT,
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def signal(self, sig: int) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        # SIGTERM to the cluster's main process only: it stops its own children in order.
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=5)
        self.log.close()


@pytest.fixture
def start_cluster(tmp_path):
    started: list[Cluster] = []

    def start(env) -> Cluster:
        cluster = Cluster(env, tmp_path / f"qcluster-{len(started)}.log")
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def _wait_for_model_call(server: FakeOpenAIServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.requests, "the cluster never called the model"


def test_a_posted_request_is_drafted_and_gated_by_the_cluster(cluster_env, model_server,
                                                              start_cluster):
    posted = _step(cluster_env, "post_request()")
    assert posted["status"] == "received"

    start_cluster(cluster_env)
    final = _step(cluster_env, f"wait_until_not({posted['id']}, ['received', 'drafting', "
                               "'gated'], timeout=40)", timeout=60)

    assert final["status"] in ("auto_approved", "in_review")
    assert final["proposals"] == [{"provider": "openai", "error_code": "", "attempts": 1}]
    assert len(model_server.requests) == 1


def test_a_cluster_killed_mid_draft_leaves_the_request_recoverable(cluster_env, model_server,
                                                                   start_cluster):
    model_server.queue(answers.sleep(30))  # the first model call hangs: kill during it
    posted = _step(cluster_env, "post_request()")
    cluster = start_cluster(cluster_env)
    _wait_for_model_call(model_server)

    cluster.signal(signal.SIGKILL)
    cluster.process.wait(timeout=10)
    stuck = _step(cluster_env, f"state({posted['id']})")
    assert (stuck["status"], stuck["proposals"]) == ("drafting", [])

    out = _manage(cluster_env, "reconcile_pipeline", "--stale-seconds", "0")
    assert "1 stuck in drafting" in out
    start_cluster(cluster_env)
    final = _step(cluster_env, f"wait_until_not({posted['id']}, ['received', 'drafting', "
                               "'gated'], timeout=40)", timeout=60)

    assert final["status"] in ("auto_approved", "in_review")
    assert len(final["proposals"]) == 1
    assert final["proposals"][0]["error_code"] == ""
