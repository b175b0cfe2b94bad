"""A loopback HTTP server with misbehaving routes, stopped by the ``with`` block that started it.

    with HostileServer() as bad:
        bad.url("/slow")   # answers after ``slow_seconds``
        bad.url("/loop")   # redirects to itself forever
        bad.url("/big")    # a body of ``big_bytes``
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HostileServer:
    def __init__(self, *, slow_seconds: float = 5.0, big_bytes: int = 2_000_000) -> None:
        self.slow_seconds = slow_seconds
        self.big_bytes = big_bytes
        self.requests: list[str] = []
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                owner.requests.append(self.path)
                path = self.path.split("?")[0]
                if path == "/robots.txt":
                    return self._send(404, b"")
                if path == "/slow":
                    owner._stop.wait(owner.slow_seconds)
                    return self._send(200, b"<html><body><p>late</p></body></html>")
                if path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if path == "/big":
                    return self._send(200, b"<html><body>" + b"<p>x</p>" * (owner.big_bytes // 8) + b"</body></html>")
                if path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(1000):
                        if owner._stop.wait(0.5):
                            return None
                        self.wfile.write(b"<p>drip</p>")
                        self.wfile.flush()
                    return None
                return self._send(404, b"not here")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base_url + path

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        time.sleep(0.05)
        self.server.shutdown()
        self.server.server_close()
