"""A loopback HTTP proxy in front of the real Elasticsearch node, for faults a real cluster cannot be made
to show on demand: a write that stalls for one source, a bulk rejected for one document, a cluster that
goes away mid-crawl. Everything else is forwarded unchanged to the real node.

    with EsProxy(cluster.url) as proxy:
        proxy.hold(lambda r: r.is_bulk and b'"source":"slow"' in r.body)
        ... crawl with MEDIAWATCH_ES_URL=proxy.url ...
        proxy.release()
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_HEADERS = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


@dataclass
class ProxiedRequest:
    method: str
    path: str
    body: bytes

    @property
    def is_bulk(self) -> bool:
        return self.path.split("?")[0].endswith("/_bulk")


Rule = Callable[[ProxiedRequest], bool]


class EsProxy:
    """See the module docstring. Stops (and releases anything held) when its ``with`` block ends."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 9200)
        self.log: list[ProxiedRequest] = []
        self._lock = threading.Lock()
        self._held: list[Rule] = []
        self._released = threading.Event()
        self.holding = threading.Event()  # set once a request is being held
        self._failing: list[tuple[Rule, int]] = []
        self._rewrites: list[tuple[Rule, Callable[[bytes], bytes]]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy._serve(self, ProxiedRequest(self.command, self.path, body))

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- rules -----------------------------------------------------------------------------------
    def hold(self, rule: Rule) -> None:
        """Requests matching ``rule`` wait (unanswered) until :meth:`release`."""
        self._held.append(rule)

    def release(self) -> None:
        self._released.set()

    def fail(self, rule: Rule, status: int = 503) -> None:
        """Requests matching ``rule`` get ``status`` (0: the connection is dropped) instead of the node."""
        self._failing.append((rule, status))

    def rewrite(self, rule: Rule, change: Callable[[bytes], bytes]) -> None:
        """Requests matching ``rule`` are forwarded with ``change(body)``."""
        self._rewrites.append((rule, change))

    def clear(self) -> None:
        self._failing.clear()
        self._rewrites.clear()

    # -- serving ---------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler, request: ProxiedRequest) -> None:
        with self._lock:
            self.log.append(request)
        if any(rule(request) for rule in self._held):
            self.holding.set()
            self._released.wait(timeout=300)
        for rule, status in list(self._failing):
            if rule(request):
                if status == 0:
                    handler.close_connection = True
                    handler.connection.close()
                    return
                body = b'{"error":{"type":"unavailable","reason":"injected by the test proxy"},"status":%d}' % status
                handler.send_response(status)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("X-Elastic-Product", "Elasticsearch")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
                return
        body = request.body
        for rule, change in list(self._rewrites):
            if rule(request):
                body = change(body)
        connection = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_HEADERS}
            connection.request(request.method, request.path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        finally:
            connection.close()
        handler.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in HOP_HEADERS:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if request.method != "HEAD":
            handler.wfile.write(payload)

    def __enter__(self) -> EsProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()
