"""The real langchain-openai client over HTTP against the scriptable server on 127.0.0.1."""

import socket
import time

import pytest

from refunds.agent import chain
from refunds.agent.providers import build_provider
from refunds.tests import openai_server as answers
from refunds.tests.factories import draft_context

GOOD = {
    "action": "approve_refund",
    "amount": "12.50",
    "currency": "GBP",
    "rationale": "Damaged on arrival; section damaged-or-defective-items applies.",
    "cited_sections": ["damaged-or-defective-items"],
    "policy_match": "strong",
    "needs_human_review": False,
    "customer_sentiment": "calm",
    "risk_flags": [],
}


def draft(settings):
    return chain.draft_decision(
        context=draft_context(),
        provider=build_provider(),
        max_attempts=settings.HITL_DRAFT_MAX_ATTEMPTS,
        backoff_seconds=0,
    )


def test_well_formed_answer_is_parsed_into_a_decision(openai_settings, openai_server):
    openai_server.queue(answers.ok(GOOD))

    outcome = draft(openai_settings)

    assert outcome.error_code == ""
    assert outcome.decision.amount == pytest.approx(12.5)
    assert (outcome.attempts, outcome.token_usage["total_tokens"]) == (1, 160)


def test_request_uses_temperature_zero_the_model_and_the_decision_tool(
    openai_settings, openai_server
):
    openai_server.queue(answers.ok(GOOD))

    draft(openai_settings)

    sent = openai_server.requests[0]
    assert sent["temperature"] == 0
    assert sent["model"] == "test-model"
    assert sent["tools"][0]["function"]["name"] == "RefundDecision"


def test_server_error_then_success_is_retried(openai_settings, openai_server):
    openai_server.queue(answers.status(500), answers.ok(GOOD))

    outcome = draft(openai_settings)

    assert outcome.decision is not None
    assert outcome.attempts == 2


@pytest.mark.parametrize("code", [500, 502, 503])
def test_persistent_server_errors_end_as_model_unavailable(openai_settings, openai_server, code):
    openai_server.queue(*[answers.status(code)] * 4)

    outcome = draft(openai_settings)

    assert (outcome.decision, outcome.error_code, outcome.attempts) == (
        None,
        chain.MODEL_UNAVAILABLE,
        2,
    )


def test_rate_limit_honours_retry_after(openai_settings, openai_server):
    openai_settings.HITL_OPENAI_MAX_RETRIES = 1
    openai_server.queue(answers.status(429, {"Retry-After": "1"}), answers.ok(GOOD))

    outcome = draft(openai_settings)

    first, second = openai_server.request_times
    assert outcome.decision is not None
    assert second - first >= 0.9


def test_timeout_ends_as_model_unavailable(openai_settings, openai_server):
    openai_settings.HITL_OPENAI_TIMEOUT = 0.3
    openai_server.queue(answers.sleep(2), answers.sleep(2))

    started = time.monotonic()
    outcome = draft(openai_settings)

    assert outcome.error_code == chain.MODEL_UNAVAILABLE
    assert "Timeout" in outcome.error_message
    assert time.monotonic() - started < 3


def test_refused_connection_ends_as_model_unavailable(openai_settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    openai_settings.HITL_OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"

    outcome = draft(openai_settings)

    assert outcome.error_code == chain.MODEL_UNAVAILABLE


def test_malformed_json_body_is_model_output_invalid(openai_settings, openai_server):
    openai_server.queue(answers.malformed(), answers.malformed())

    outcome = draft(openai_settings)

    assert outcome.decision is None
    assert outcome.error_code == chain.MODEL_OUTPUT_INVALID
    assert "JSONDecodeError" in outcome.error_message


def test_malformed_tool_arguments_are_model_output_invalid(openai_settings, openai_server):
    openai_server.queue(answers.bad_arguments("{not json"), answers.bad_arguments("{"))

    outcome = draft(openai_settings)

    assert outcome.error_code == chain.MODEL_OUTPUT_INVALID


@pytest.mark.parametrize(
    "violation",
    [
        {"amount": "-5.00"},
        {"amount": "1.234"},
        {"action": "wire_money"},
        {"policy_match": "total"},
        {"surprise": "extra field"},
        {"currency": "pounds"},
    ],
)
def test_schema_violating_output_is_model_output_invalid(openai_settings, openai_server, violation):
    openai_server.queue(answers.ok({**GOOD, **violation}), answers.ok({**GOOD, **violation}))

    outcome = draft(openai_settings)

    assert outcome.decision is None
    assert outcome.error_code == chain.MODEL_OUTPUT_INVALID
    assert outcome.raw_output["tool_calls"] or outcome.raw_output["invalid_tool_calls"]


def test_schema_violation_then_valid_answer_succeeds_on_the_retry(openai_settings, openai_server):
    openai_server.queue(answers.ok({**GOOD, "amount": "-1"}), answers.ok(GOOD))

    outcome = draft(openai_settings)

    assert (outcome.decision is not None, outcome.attempts) == (True, 2)


def test_tokens_of_an_unusable_answer_count_in_the_usage(openai_settings, openai_server):
    openai_server.queue(answers.ok({**GOOD, "amount": "-1"}), answers.ok(GOOD))

    outcome = draft(openai_settings)

    assert outcome.token_usage["total_tokens"] == 2 * 160


def test_refusal_is_model_refused(openai_settings, openai_server):
    openai_server.queue(
        answers.refusal("I can't help with that."), answers.refusal("I can't help with that.")
    )

    outcome = draft(openai_settings)

    assert outcome.error_code == chain.MODEL_REFUSED
    assert "can't help" in outcome.error_message


def test_prose_instead_of_a_tool_call_is_model_refused(openai_settings, openai_server):
    openai_server.queue(answers.content("Sure! Refund them."), answers.content("Sure!"))

    assert draft(openai_settings).error_code == chain.MODEL_REFUSED


def test_empty_answer_is_model_empty(openai_settings, openai_server):
    openai_server.queue(answers.empty(), answers.empty())

    assert draft(openai_settings).error_code == chain.MODEL_EMPTY


def test_attempts_are_bounded(openai_settings, openai_server):
    openai_settings.HITL_DRAFT_MAX_ATTEMPTS = 3
    openai_server.queue(*[answers.status(500)] * 10)

    outcome = draft(openai_settings)

    assert outcome.attempts == 3
    assert len(openai_server.requests) == 3


def test_our_own_retry_waits_for_retry_after_when_the_client_does_not_retry(
    openai_settings, openai_server
):
    openai_settings.HITL_OPENAI_MAX_RETRIES = 0  # only our loop retries
    openai_server.queue(answers.status(429, {"Retry-After": "1"}), answers.ok(GOOD))

    outcome = draft(openai_settings)

    first, second = openai_server.request_times
    assert (outcome.decision is not None, outcome.attempts) == (True, 2)
    assert second - first >= 0.9


def test_an_absurd_retry_after_is_capped(openai_settings, openai_server, monkeypatch):
    waits = []
    openai_server.queue(answers.status(429, {"Retry-After": "86400"}), answers.ok(GOOD))

    outcome = chain.draft_decision(
        context=draft_context(),
        provider=build_provider(),
        max_attempts=2,
        backoff_seconds=0,
        sleep=waits.append,
    )

    assert outcome.decision is not None
    assert waits == [chain.MAX_RETRY_AFTER_SECONDS]


def test_no_attempt_starts_that_could_not_end_before_the_deadline(openai_settings, openai_server):
    openai_server.queue(*[answers.status(500)] * 5)

    outcome = chain.draft_decision(
        context=draft_context(),
        provider=build_provider(),
        max_attempts=5,
        backoff_seconds=0,
        sleep=lambda s: None,
        deadline=time.monotonic() + 5,
        attempt_seconds=10,
    )

    assert (outcome.error_code, outcome.attempts) == (chain.MODEL_UNAVAILABLE, 1)
    assert len(openai_server.requests) == 1
