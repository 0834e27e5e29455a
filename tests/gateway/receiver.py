"""A real HTTP server on 127.0.0.1 that plays a department system (or the SMS platform) in tests.

It answers from a script (one answer per request, the last one repeated), can stop answering altogether, and
keeps every request it saw so a test can check signatures and idempotency keys afterwards.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


# Holds the request until the test ends: the client sees a department that accepted the call and went silent.
SILENCE = Answer(status=0)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


# Inspects a request before the script answers; returning an Answer (e.g. 401 for a bad signature) overrides it.
Gate = Callable[[dict[str, str], bytes], Answer | None]


class Receiver:
    """Listens on 127.0.0.1; `tls` serves https, and `host` is the name its URL gives (e.g. localhost)."""

    def __init__(
        self,
        script: list[Answer],
        gate: Gate | None = None,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self._script = list(script)
        self._gate = gate
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.requests: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host}:{self._server.server_address[1]}/push"

    def answer_everything(self, answer: Answer) -> None:
        """From now on every request gets `answer` (the gate still first), and a request held in silence goes."""
        with self._lock:
            self._script = [answer]
        self._released.set()

    def answered(self, status: int) -> list[Request]:
        return [r for r in self.requests if r.status == status]

    def _next_answer(self, headers: dict[str, str], body: bytes) -> Answer:
        gated = self._gate(headers, body) if self._gate else None
        with self._lock:
            answer = gated or (self._script.pop(0) if len(self._script) > 1 else self._script[0])
        return answer

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                answer = receiver._next_answer(headers, body)
                with receiver._lock:
                    receiver.requests.append(Request(self.path, headers, body, answer.status))
                if answer is SILENCE:
                    receiver._released.wait()
                    self.close_connection = True
                    return
                payload = answer.body.encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # a caller that reads only part of a long reply
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._released.set()
            self._server.shutdown()
            self._server.server_close()
            thread.join()
