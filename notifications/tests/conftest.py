import pytest

from audit.services import Actor
from reviews.services import queue_access_grant
from reviews.tests.conftest import default_queues, reviewer_of  # noqa: F401 - fixtures
from reviews.tests.factories import queue

from .servers import SlackServer, start_smtp


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend is pointed at it."""
    controller, recorder = start_smtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 5
    yield recorder
    controller.stop()


@pytest.fixture
def slack_server(settings):
    server = SlackServer()
    server.thread.start()
    settings.HITL_NOTIFY_TIMEOUT = 0.5
    server.sleep_seconds = 1.0
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def grant():
    def make(user, slug: str):
        queue_access_grant(queue=queue(slug), user=user, actor=Actor.system("tests"))
        return user

    return make
