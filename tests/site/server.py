"""Loopback HTTP server for a generated Site (standard library only), with a log of what was served."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from .build import build_site
from .model import Page, Site

# Request headers kept in the log (lower-case names).
LOGGED_HEADERS = ("user-agent", "if-none-match", "if-modified-since", "accept-encoding", "referer")


class RequestRecord(NamedTuple):
    method: str
    path: str  # the request target as sent: path plus "?query"
    status: int
    headers: dict[str, str]  # LOGGED_HEADERS that were present, lower-case names


class RequestLog:
    """Thread-safe, append-only list of RequestRecord; iterate or index it like a list (snapshot)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._items.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._items[index]

    def paths(self) -> list[str]:
        return [r.path for r in self.snapshot()]

    def for_path(self, path: str) -> list[RequestRecord]:
        """Records whose target is `path` (ignoring any query string unless `path` has one)."""
        return [r for r in self.snapshot()
                if r.path == path or ("?" not in path and r.path.split("?")[0] == path)]


def etag_of(page: Page) -> str:
    return '"' + hashlib.sha1(page.body).hexdigest()[:20] + '"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _not_modified(headers: Message, etag: str, last_modified: datetime) -> bool:
    inm = headers.get("If-None-Match")
    if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    ims = headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


class _Handler(BaseHTTPRequestHandler):
    server_version = "nginx/1.24.0"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle keep-alive connection is kept

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._respond(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head=True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by default
        pass

    def _respond(self, head: bool) -> None:
        app: SiteServer = self.server.app  # type: ignore[attr-defined]
        app.gate.wait(timeout=300)
        site = app.site
        page = site.resolve(self.path)
        status = page.status
        headers = {"Content-Type": page.content_type, **page.headers}
        body = page.body
        if page.location:
            headers["Location"] = page.location
        if status == 200:
            etag = etag_of(page)
            last_modified = page.last_modified or site.now
            headers["ETag"] = etag
            headers["Last-Modified"] = http_date(last_modified)
            if _not_modified(self.headers, etag, last_modified):
                status, body = 304, b""
                headers.pop("Content-Type", None)
        logged = {k: v for k in LOGGED_HEADERS if (v := self.headers.get(k)) is not None}
        app.requests.append(RequestRecord(self.command, self.path, status, logged))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and status != 304:
            self.wfile.write(body)


class SiteServer:
    """A running server: `.base_url`, `.site`, `.requests`; `.stop()` (or use it as a context manager).
    `.gate` is open (set); a test clears it to hold every response until it is set again."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, now: datetime | None = None) -> None:
        self.requests = RequestLog()
        self.gate = threading.Event()
        self.gate.set()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.app = self  # type: ignore[attr-defined]
        bound_host, bound_port = self._httpd.server_address[:2]
        if bound_host in ("0.0.0.0", "::", ""):
            bound_host = "127.0.0.1"
        if ":" in str(bound_host):
            bound_host = f"[{bound_host}]"
        self.host, self.port = str(bound_host), int(bound_port)
        self.base_url = f"http://{self.host}:{self.port}"
        self.site: Site = build_site(self.base_url, now)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"test-site-{self.port}", daemon=True)
        self._stopped = False

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def url(self, path: str) -> str:
        return self.base_url + path

    def stop(self) -> None:
        """Stop serving and close the listening socket; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.gate.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> SiteServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(host: str = "127.0.0.1", port: int = 0, now: datetime | None = None) -> SiteServer:
    """Build the site for the bound address and serve it from a background thread."""
    return SiteServer(host, port, now).start()


@contextmanager
def serve(host: str = "127.0.0.1", port: int = 0, now: datetime | None = None) -> Iterator[SiteServer]:
    """`with serve() as srv:` — srv.base_url, srv.site, srv.requests; stopped on exit."""
    server = start_server(host, port, now)
    try:
        yield server
    finally:
        server.stop()
