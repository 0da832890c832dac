"""A scriptable OpenAI-compatible chat-completions server on 127.0.0.1 for tests and benches.

Each request takes the next scripted answer (or the default: a well-formed tool call with
the offline heuristics' decision for the prompt it was sent, after ``delay`` seconds).
Answers: ``ok(args)``, ``status(code, headers)``, ``sleep(seconds)`` (then the default),
``malformed()``, ``bad_arguments(text)``, ``refusal(text)``, ``content(text)``, ``empty()``.
"""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from refunds.agent.offline import draft_from_prompt


@dataclass
class Answer:
    kind: str
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def ok(args: dict) -> Answer:
    return Answer("ok", args)


def status(code: int, headers: dict[str, str] | None = None) -> Answer:
    return Answer("status", code, headers or {})


def sleep(seconds: float) -> Answer:
    return Answer("sleep", seconds)


def malformed() -> Answer:
    return Answer("malformed")


def bad_arguments(text: str) -> Answer:
    return Answer("bad_arguments", text)


def refusal(text: str) -> Answer:
    return Answer("refusal", text)


def content(text: str) -> Answer:
    return Answer("content", text)


def empty() -> Answer:
    return Answer("empty")


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default listen backlog (5) refuses bursts of clients


class FakeOpenAIServer:
    def __init__(self, *, delay: float = 0.0):
        self.delay = delay
        self.script: deque[Answer] = deque()
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server._answer(self, body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def start(self) -> "FakeOpenAIServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def queue(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def _next(self) -> Answer | None:
        with self._lock:
            return self.script.popleft() if self.script else None

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(body)
            self.request_times.append(time.monotonic())
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            answer = self._next()
            if answer is not None and answer.kind == "sleep":
                time.sleep(answer.payload)
                answer = None
            elif self.delay:
                time.sleep(self.delay)
            self._respond(handler, body, answer)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer
        finally:
            with self._lock:
                self.in_flight -= 1

    def _respond(self, handler, body: dict[str, Any], answer: Answer | None) -> None:
        if answer is not None and answer.kind == "status":
            return _send(
                handler,
                answer.payload,
                {"error": {"message": "injected fault", "type": "server_error"}},
                answer.headers,
            )
        if answer is not None and answer.kind == "malformed":
            return _send_raw(handler, 200, b'{"id": "x", "choices": [ {not json')
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if answer is None or answer.kind in ("ok", "bad_arguments"):
            if answer is None:
                prompt = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
                arguments = json.dumps(draft_from_prompt(prompt))
            elif answer.kind == "ok":
                arguments = json.dumps(answer.payload)
            else:
                arguments = answer.payload
            tool = body.get("tools", [{"function": {"name": "RefundDecision"}}])[0]
            message["tool_calls"] = [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": tool["function"]["name"], "arguments": arguments},
                }
            ]
        elif answer.kind == "refusal":
            message["refusal"] = answer.payload
        elif answer.kind == "content":
            message["content"] = answer.payload
        elif answer.kind == "empty":
            message["content"] = ""
        _send(
            handler,
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "test-model"),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if "tool_calls" in message else "stop",
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
            },
        )


def _send(handler, code: int, payload: dict, headers: dict[str, str] | None = None) -> None:
    _send_raw(handler, code, json.dumps(payload).encode(), headers)


def _send_raw(handler, code: int, raw: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(raw)
