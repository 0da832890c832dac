"""``/healthz``: 200 when the database and the broker answer, 503 (JSON) when one fails."""

import pytest

from hitl_site import health

pytestmark = pytest.mark.django_db


def fail(*args, **kwargs):
    raise RuntimeError("down")


def test_healthz_is_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_needs_no_credentials_and_is_never_cached(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_when_the_database_check_fails(client, monkeypatch):
    monkeypatch.setattr(health, "_database", fail)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "error: RuntimeError"
    assert body["checks"]["broker"] == "ok"


def test_healthz_is_503_when_the_broker_does_not_answer(client, monkeypatch):
    monkeypatch.setattr(health, "_broker", fail)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "error: RuntimeError"}


def test_healthz_is_503_when_the_broker_ping_is_false(client, monkeypatch):
    class SilentBroker:
        def ping(self):
            return False

    monkeypatch.setattr("django_q.brokers.get_broker", lambda: SilentBroker())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error: RuntimeError"


def test_healthz_does_not_leak_the_error_message(client, monkeypatch):
    def leak():
        raise RuntimeError("password=hunter2 host=db.internal")

    monkeypatch.setattr(health, "_database", leak)

    response = client.get("/healthz")

    assert "hunter2" not in response.content.decode()
    assert "db.internal" not in response.content.decode()


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_healthz_accepts_only_get(client, method):
    assert getattr(client, method)("/healthz").status_code == 405
