import pytest

from refunds.tests.openai_server import FakeOpenAIServer


@pytest.fixture
def openai_server():
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def openai_settings(settings, openai_server):
    """Points the drafter at the fake server through the real langchain-openai client,
    with short timeouts and no sleeping between our own attempts."""
    settings.HITL_DRAFTER_PROVIDER = "openai"
    settings.HITL_OPENAI_BASE_URL = openai_server.base_url
    settings.HITL_OPENAI_API_KEY = "test-key"
    settings.HITL_OPENAI_MODEL = "test-model"
    settings.HITL_OPENAI_TIMEOUT = 2.0
    settings.HITL_OPENAI_MAX_RETRIES = 0
    settings.HITL_DRAFT_MAX_ATTEMPTS = 2
    settings.HITL_DRAFT_BACKOFF_SECONDS = 0
    return settings
