"""Which chat model drafts: the offline heuristic drafter or any OpenAI-compatible server."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from langchain_core.language_models import BaseChatModel

from .offline import DRAFTER_MODEL, DRAFTER_NAME, OfflineHeuristicDrafter

OFFLINE = "offline"
OPENAI = "openai"


@dataclass(frozen=True)
class Provider:
    name: str  # "offline" | "openai"
    model_name: str
    label: str  # what reviewers see
    llm: BaseChatModel
    structured_method: str | None  # None: the model's own default (offline: tool calling)


def drafter_name(provider: str) -> str:
    """What people are shown as the drafter of a stored proposal: the offline drafter by its
    own name (it is rules, never presented as an AI), other providers by theirs."""
    return DRAFTER_NAME if provider == OFFLINE else provider


def build_provider(name: str | None = None) -> Provider:
    """The configured provider (``HITL_DRAFTER_PROVIDER``), built fresh: cheap, thread-safe."""
    name = name or settings.HITL_DRAFTER_PROVIDER
    if name == OFFLINE:
        return Provider(OFFLINE, DRAFTER_MODEL, DRAFTER_NAME, OfflineHeuristicDrafter(), None)
    if name == OPENAI:
        return _openai_provider()
    raise ImproperlyConfigured(
        f"HITL_DRAFTER_PROVIDER={name!r}; expected {OFFLINE!r} or {OPENAI!r}."
    )


def _openai_provider() -> Provider:
    from langchain_openai import ChatOpenAI

    api_key = settings.HITL_OPENAI_API_KEY
    if not api_key:
        if not settings.HITL_OPENAI_BASE_URL:
            raise ImproperlyConfigured(
                "HITL_DRAFTER_PROVIDER=openai needs HITL_OPENAI_API_KEY (or OPENAI_API_KEY), "
                "or HITL_OPENAI_BASE_URL for a self-hosted server."
            )
        api_key = "not-needed"  # vLLM / Ollama / llama.cpp accept any key
    llm = ChatOpenAI(
        model=settings.HITL_OPENAI_MODEL,
        base_url=settings.HITL_OPENAI_BASE_URL,
        api_key=api_key,
        timeout=settings.HITL_OPENAI_TIMEOUT,
        max_retries=settings.HITL_OPENAI_MAX_RETRIES,
        temperature=0,
    )
    label = f"{settings.HITL_OPENAI_MODEL} via OpenAI-compatible API"
    return Provider(
        OPENAI, settings.HITL_OPENAI_MODEL, label, llm, settings.HITL_OPENAI_STRUCTURED_METHOD
    )
