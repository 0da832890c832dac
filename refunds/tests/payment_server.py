"""A fake payment service on 127.0.0.1 for the http backend's tests, with fault injection.

It behaves like a careful provider: refunds are idempotent by ``Idempotency-Key`` (a
replay returns the first refund with ``Idempotent-Replayed: true``), a key reused with a
different amount or currency is refused with 409, requests must carry a valid HMAC
signature, and ``GET /refunds?idempotency_key=`` looks a refund up.

Faults are queued with ``server.inject(...)`` and consumed one per POST:

- ``"timeout"``: sleeps past the client's timeout *before* doing anything;
- ``"slow_success"``: does the refund, then sleeps past the client's timeout;
- ``"error_500"``: answers 500 without doing anything;
- ``"drop_after_success"``: does the refund, then closes the connection without a reply;
- ``"drop_before"``: closes the connection without doing anything.
"""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class FakeRefund:
    id: str
    key: str
    amount: str
    currency: str
    order: str


@dataclass
class FakePaymentState:
    secret: str
    sleep_seconds: float = 1.0
    refunds: dict[str, FakeRefund] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    posts: list[tuple[str, dict]] = field(default_factory=list)  # (key, body) per POST seen
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: "FakePaymentServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    @property
    def state(self) -> FakePaymentState:
        return self.server.state

    def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(2)

    def _signature_ok(self, body: bytes) -> bool:
        header = self.headers.get("X-Signature", "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        expected = hmac.new(
            self.state.secret.encode(), f"{parts.get('t', '')}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(expected, parts.get("v1", ""))

    @staticmethod
    def _json(refund: FakeRefund) -> dict:
        return {
            "id": refund.id,
            "amount": refund.amount,
            "currency": refund.currency,
            "status": "succeeded",
        }

    def do_GET(self):
        url = urlparse(self.path)
        if not self._signature_ok(b""):
            return self._reply(401, {"error": "bad_signature"})
        key = parse_qs(url.query).get("idempotency_key", [""])[0]
        refund = self.state.refunds.get(key)
        if url.path != "/refunds" or refund is None:
            return self._reply(404, {"error": "not_found"})
        return self._reply(200, self._json(refund))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key = self.headers.get("Idempotency-Key", "")
        with self.state.lock:
            fault = self.state.faults.pop(0) if self.state.faults else None
            self.state.posts.append((key, json.loads(body or b"{}")))
        if fault == "timeout":
            time.sleep(self.state.sleep_seconds)
            return self._drop()
        if fault == "error_500":
            return self._reply(500, {"error": "internal"})
        if fault == "drop_before":
            return self._drop()
        if not self._signature_ok(body):
            return self._reply(401, {"error": "bad_signature"})
        if not key:
            return self._reply(400, {"error": "idempotency_key_required"})
        data = json.loads(body)
        with self.state.lock:
            existing = self.state.refunds.get(key)
            if existing is not None:
                if (Decimal(existing.amount), existing.currency) != (
                    Decimal(data["amount"]),
                    data["currency"],
                ):
                    return self._reply(409, {"error": "idempotency_key_mismatch"})
                return self._reply(200, self._json(existing), {"Idempotent-Replayed": "true"})
            refund = FakeRefund(
                id=f"re_{len(self.state.refunds) + 1:06d}",
                key=key,
                amount=data["amount"],
                currency=data["currency"],
                order=data["order"],
            )
            self.state.refunds[key] = refund
        if fault == "slow_success":
            time.sleep(self.state.sleep_seconds)
        if fault == "drop_after_success":
            return self._drop()
        return self._reply(201, self._json(refund))


class FakePaymentServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, secret: str, sleep_seconds: float = 1.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = FakePaymentState(secret=secret, sleep_seconds=sleep_seconds)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakePaymentServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def inject(self, *faults: str) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    @property
    def refund_count(self) -> int:
        return len(self.state.refunds)
