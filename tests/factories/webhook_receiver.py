"""A local HTTP receiver for webhook tests: http.server on 127.0.0.1 in a thread."""

from __future__ import annotations

import dataclasses
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@dataclasses.dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass
class Receiver:
    url: str
    received: list[Received]
    # Status codes to answer, in order; 200 once they run out.
    statuses: list[int]


@contextmanager
def webhook_receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(url="", received=[], statuses=list(statuses or []))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.received.append(Received(dict(self.headers.items()), body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/testigo"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
