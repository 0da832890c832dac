"""``prompt | llm.with_structured_output(RefundDecision, include_raw=True)``, with bounded
retries and every failure classified. No ORM here: context in, outcome out."""

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import openai
from langchain_core.exceptions import ModelRefusalError
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable

from .context import DraftContext
from .prompts import PROMPT, prompt_inputs
from .providers import Provider
from .schemas import RefundDecision

logger = logging.getLogger(__name__)

MODEL_UNAVAILABLE = "model_unavailable"
MODEL_OUTPUT_INVALID = "model_output_invalid"
MODEL_REFUSED = "model_refused"
MODEL_EMPTY = "model_empty"

# The client already retries these with backoff (honouring Retry-After); our loop adds a
# bounded number of whole attempts on top, so a flapping server still gets a fair chance.
UNAVAILABLE_ERRORS = (
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APIStatusError,
    TimeoutError,
    ConnectionError,
)
# A 200 whose body is not JSON, or JSON of the wrong shape.
INVALID_RESPONSE_ERRORS = (
    openai.APIResponseValidationError,
    json.JSONDecodeError,
    ValueError,
    KeyError,
    TypeError,
)


@dataclass(frozen=True)
class DraftOutcome:
    decision: RefundDecision | None
    prompt_messages: list[dict[str, Any]]
    raw_output: dict[str, Any] | None = None
    error_code: str = ""
    error_message: str = ""
    attempts: int = 1
    latency_ms: int = 0
    token_usage: dict[str, int] = field(default_factory=dict)


# A server's Retry-After is honoured between our attempts up to this long; beyond it the
# case goes to review rather than holding a worker thread.
MAX_RETRY_AFTER_SECONDS = 60.0


class _AttemptFailed(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        raw: dict[str, Any] | None = None,
        retry_after: float | None = None,
        usage: dict[str, int] | None = None,
    ):
        super().__init__(message)
        self.code, self.message, self.raw = code, message, raw
        self.retry_after = retry_after
        self.usage = usage or {}  # an answer we could not use was still paid for


def _retry_after(exc: BaseException) -> float | None:
    """Seconds from a 429/503's ``Retry-After`` (delta-seconds or an HTTP date), if any."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def build_chain(provider: Provider) -> Runnable:
    kwargs = {"include_raw": True}
    if provider.structured_method:
        kwargs["method"] = provider.structured_method
    return PROMPT | provider.llm.with_structured_output(RefundDecision, **kwargs)


def _raw_to_json(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, AIMessage):
        return None
    return {
        "content": raw.content,
        "tool_calls": raw.tool_calls,
        "invalid_tool_calls": raw.invalid_tool_calls,
        "refusal": raw.additional_kwargs.get("refusal"),
        "response_metadata": json.loads(json.dumps(raw.response_metadata, default=str)),
    }


def _usage(raw: Any) -> dict[str, int]:
    usage = getattr(raw, "usage_metadata", None) or {}
    return {k: int(usage.get(k, 0)) for k in ("input_tokens", "output_tokens", "total_tokens")}


def _attempt(chain: Runnable, inputs: dict[str, str]) -> tuple[RefundDecision, dict, dict]:
    try:
        result = chain.invoke(inputs)
    except ModelRefusalError as exc:
        raise _AttemptFailed(MODEL_REFUSED, str(exc)[:2000]) from exc
    except UNAVAILABLE_ERRORS as exc:
        raise _AttemptFailed(
            MODEL_UNAVAILABLE, f"{type(exc).__name__}: {exc}", retry_after=_retry_after(exc)
        ) from exc
    except INVALID_RESPONSE_ERRORS as exc:
        raise _AttemptFailed(MODEL_OUTPUT_INVALID, f"{type(exc).__name__}: {exc}") from exc
    raw, parsed, error = result["raw"], result["parsed"], result["parsing_error"]
    raw_json, usage = _raw_to_json(raw), _usage(raw)
    if isinstance(error, ModelRefusalError):
        raise _AttemptFailed(MODEL_REFUSED, str(error)[:2000], raw_json, usage=usage)
    if error is None and parsed is None and getattr(raw, "invalid_tool_calls", None):
        error = ValueError(f"unparseable tool call: {raw.invalid_tool_calls[0].get('error')}")
    if error is not None:
        raise _AttemptFailed(
            MODEL_OUTPUT_INVALID, f"{type(error).__name__}: {error}"[:2000], raw_json, usage=usage
        )
    if parsed is None:
        refusal = raw.additional_kwargs.get("refusal") if isinstance(raw, AIMessage) else None
        content = raw.content if isinstance(raw, AIMessage) else ""
        if refusal or (isinstance(content, str) and content.strip()):
            raise _AttemptFailed(
                MODEL_REFUSED, str(refusal or content)[:2000], raw_json, usage=usage
            )
        raise _AttemptFailed(MODEL_EMPTY, "The model returned no decision.", raw_json, usage=usage)
    return parsed, raw_json or {}, usage


def draft_decision(
    *,
    context: DraftContext,
    provider: Provider,
    max_attempts: int = 3,
    backoff_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    chain: Runnable | None = None,
    deadline: float | None = None,
    attempt_seconds: float = 0.0,
) -> DraftOutcome:
    """Runs the chain up to ``max_attempts`` times with exponential backoff. Never raises
    for model trouble: a failed outcome carries the last error code for the gate.

    ``chain``: a chain already built for ``provider`` (``build_chain``), to share between
    calls; building one renders the JSON schema of ``RefundDecision`` (milliseconds of CPU).
    ``deadline`` (a ``time.monotonic()`` value) with ``attempt_seconds`` (the longest one
    attempt can take): no new attempt starts unless it would end by the deadline, so the
    task finishes, with a failure to route, before the worker's own timeout kills it.
    """
    inputs = prompt_inputs(context)
    messages = [{"role": m.type, "content": m.content} for m in PROMPT.format_messages(**inputs)]
    chain = chain or build_chain(provider)
    started = time.monotonic()
    usage_total = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    failure: _AttemptFailed | None = None
    for attempt in range(1, max_attempts + 1):
        try:
            decision, raw, usage = _attempt(chain, inputs)
        except _AttemptFailed as exc:
            failure = exc
            _add_usage(usage_total, exc.usage)
            logger.warning(
                "draft attempt failed",
                extra={
                    "request": context.request_public_id,
                    "attempt": attempt,
                    "code": exc.code,
                    "error": exc.message[:300],
                },
            )
            if attempt == max_attempts:
                break
            delay = backoff_seconds * 2 ** (attempt - 1)
            if exc.retry_after is not None:  # the server knows best, within reason
                delay = max(delay, min(exc.retry_after, MAX_RETRY_AFTER_SECONDS))
            if deadline is not None and time.monotonic() + delay + attempt_seconds > deadline:
                break  # out of time: route the failure now rather than be killed mid-call
            sleep(delay)
            continue
        _add_usage(usage_total, usage)
        return DraftOutcome(
            decision=decision,
            prompt_messages=messages,
            raw_output=raw,
            attempts=attempt,
            token_usage=usage_total,
            latency_ms=int((time.monotonic() - started) * 1000),
        )
    assert failure is not None
    return DraftOutcome(
        decision=None,
        prompt_messages=messages,
        raw_output=failure.raw,
        error_code=failure.code,
        error_message=failure.message,
        attempts=attempt,
        token_usage=usage_total,
        latency_ms=int((time.monotonic() - started) * 1000),
    )


def _add_usage(total: dict[str, int], usage: dict[str, int]) -> None:
    for key, value in usage.items():
        total[key] += value


def draft_decisions(
    *, contexts: list[DraftContext], provider: Provider, max_concurrency: int, **kwargs: Any
) -> list[DraftOutcome]:
    """Drafts many cases with up to ``max_concurrency`` model calls in flight (threads: the
    calls wait on the network, so threads are cheap and the GIL is no bottleneck)."""
    kwargs.setdefault("chain", build_chain(provider))  # one chain (and client) for all
    if len(contexts) <= 1:
        return [draft_decision(context=c, provider=provider, **kwargs) for c in contexts]
    with ThreadPoolExecutor(max_workers=min(max_concurrency, len(contexts))) as pool:
        return list(
            pool.map(lambda c: draft_decision(context=c, provider=provider, **kwargs), contexts)
        )
