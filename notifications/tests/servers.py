"""Real servers on 127.0.0.1 for the delivery tests: an SMTP server (aiosmtpd) and a
Slack-compatible incoming-webhook receiver with fault injection.

Faults are queued with ``server.faults.append(...)`` and consumed one per POST:
``"error_500"`` answers 500; ``"timeout"`` sleeps past the client's timeout first.
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpRecorder:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def start_smtp() -> tuple[Controller, SmtpRecorder]:
    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, recorder


class _SlackHandler(BaseHTTPRequestHandler):
    server: "SlackServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        fault = self.server.faults.pop(0) if self.server.faults else ""
        if fault == "timeout":
            time.sleep(self.server.sleep_seconds)
        self.server.posts.append(json.loads(body or b"{}"))
        status, reply = (500, b"boom") if fault == "error_500" else (200, b"ok")
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        except OSError:  # the client gave up (the timeout fault)
            pass


class SlackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SlackHandler)
        self.faults: list[str] = []
        self.posts: list[dict] = []
        self.sleep_seconds = 1.0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/T000/B000"
