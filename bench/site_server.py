"""The generated test site at a benchmark's scale, served fast enough not to be what a crawl waits on.

    python -m bench.site_server serve --scale 55 [--port 0] [--server fast|stdlib]
    python -m bench.site_server load URL [--connections 16] [--rounds 3]

``serve`` builds the site (``tests.site.build_site(..., scale=N)``) for the port it bound, prints its base URL
and serves until SIGTERM. ``fast`` (default) answers from responses rendered once into bytes, on one asyncio
event loop (standard library only): keep-alive, ``HEAD``, ``If-None-Match``/``If-Modified-Since`` as the test
server answers them, the same status, headers and bodies. ``stdlib`` is ``tests.site.SiteServer``
(``http.server``, a thread per connection), for comparison.

``GET /__bench__/requests`` answers (and forgets) the request targets served so far, one per line, so a
benchmark can fetch exactly the URLs a crawl fetched.

``load`` fetches every 200 page of the site (built here for the same URL and scale) over ``--connections``
keep-alive connections from one asyncio client and prints pages/second and MB/second (the server alone).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import threading
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

from tests.site import build_site
from tests.site.model import Page, Site
from tests.site.server import SiteServer, etag_of, http_date

CONTROL = "/__bench__/"
MAX_HEAD = 64 * 1024


class Rendered:
    """One page as bytes: the full 200 response (headers + body), its HEAD form, and its validators."""

    __slots__ = ("full", "head", "etag", "last_modified", "not_modified")

    def __init__(self, site: Site, page: Page) -> None:
        headers = {"Content-Type": page.content_type, **page.headers}
        if page.location:
            headers["Location"] = page.location
        self.etag = self.last_modified = None
        self.not_modified = b""
        if page.status == 200:
            self.etag = etag_of(page)
            self.last_modified = page.last_modified or site.now
            headers["ETag"] = self.etag
            headers["Last-Modified"] = http_date(self.last_modified)
            lines = [f"{k}: {v}" for k, v in headers.items() if k != "Content-Type"]
            self.not_modified = _head(304, lines)
        lines = [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {len(page.body)}"]
        self.head = _head(page.status, lines)
        self.full = self.head + page.body


REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 404: "Not Found",
           500: "Internal Server Error"}


def _head(status: int, lines: list[str]) -> bytes:
    return (f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nServer: nginx/1.24.0\r\n"
            + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode("latin-1")


def _fresh(page: Rendered, headers: dict[bytes, bytes]) -> bool:
    """The test server's conditional-request rule (tests.site.server._not_modified)."""
    if page.etag is None:
        return False
    inm = headers.get(b"if-none-match")
    if inm is not None:
        tags = [t.strip() for t in inm.decode("latin-1").split(",")]
        return "*" in tags or page.etag in tags or f"W/{page.etag}" in tags
    ims = headers.get(b"if-modified-since")
    if ims and page.last_modified is not None:
        try:
            since = parsedate_to_datetime(ims.decode("latin-1"))
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return page.last_modified.replace(microsecond=0) <= since
    return False


class FastSite:
    """Pre-rendered responses of a Site, looked up as the test server does (exact target, then the path)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.pages = {target: Rendered(site, page) for target, page in site.pages.items()}
        self.fallback = Rendered(site, site.fallback)
        self.served: list[str] = []

    def lookup(self, target: str) -> Rendered:
        page = self.pages.get(target)
        if page is None and "?" in target:
            page = self.pages.get(target.split("?", 1)[0])
        return page or self.fallback

    def control(self, target: str) -> bytes:
        name = target[len(CONTROL):]
        if name == "requests":
            served, self.served = self.served, []
            body = "".join(f"{t}\n" for t in served).encode()
        else:
            return _head(404, ["Content-Length: 0"])
        return _head(200, ["Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}"]) + body


class _Protocol(asyncio.Protocol):
    def __init__(self, app: FastSite) -> None:
        self.app = app
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._close()
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            if not self._answer(head):
                return

    def _answer(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        try:
            method, target_bytes, version = lines[0].split(b" ", 2)
        except ValueError:
            self._close()
            return False
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        target = target_bytes.decode("latin-1")
        assert self.transport is not None
        if target.startswith(CONTROL):
            self.transport.write(self.app.control(target))
        else:
            self.app.served.append(target)
            page = self.app.lookup(target)
            if _fresh(page, headers):
                self.transport.write(page.not_modified)
            else:
                self.transport.write(page.head if method == b"HEAD" else page.full)
        if headers.get(b"connection", b"").lower() == b"close" or version == b"HTTP/1.0":
            self._close()
            return False
        return True

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def serve_fast(scale: int, host: str, port: int) -> None:
    """Bind, build the site for the bound address, print its URL, serve until SIGTERM/SIGINT."""
    sock = socket.create_server((host, port), backlog=1024, reuse_port=False)
    bound_port = sock.getsockname()[1]
    base = f"http://{host}" if bound_port == 80 else f"http://{host}:{bound_port}"
    app = FastSite(build_site(base, scale=scale))
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    async def main() -> None:
        server = await loop.create_server(lambda: _Protocol(app), sock=sock)
        print(base, flush=True)
        async with server:
            await stop

    loop.run_until_complete(main())


def serve_stdlib(scale: int, host: str, port: int) -> None:
    server = SiteServer(host, port)
    if scale != 1:
        server.site = build_site(server.base_url, scale=scale)
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    print(server.base_url, flush=True)
    while not stopped.wait(0.5):
        pass
    server.stop()


# ------------------------------------------------------------------------------------------- load


async def _fetch_all(host: str, port: int, targets: list[str], connections: int) -> tuple[int, int]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for target in targets:
        queue.put_nowait(target)
    totals = [0, 0]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                try:
                    target = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Encoding: identity\r\n\r\n"
                             .encode("latin-1"))
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                totals[0] += 1
                totals[1] += length
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return totals[0], totals[1]


def site_targets(base: str, scale: int) -> list[str]:
    """The request targets of every 200 page of the site served at ``base`` at ``scale``."""
    return [t for t, page in build_site(base, scale=scale).pages.items() if page.status == 200]


def load(base: str, targets: list[str], connections: int, rounds: int) -> list[dict[str, float]]:
    """Fetch ``targets`` ``rounds`` times from one asyncio client; pages/s, MB/s and client CPU per round."""
    host, _, port = base.split("://", 1)[1].partition(":")
    results = []
    for _ in range(rounds):
        start, cpu = time.perf_counter(), time.process_time()
        pages, size = asyncio.run(_fetch_all(host, int(port or 80), targets, connections))
        wall = time.perf_counter() - start
        results.append({"pages": pages, "seconds": wall, "pages_per_s": pages / wall, "mb_per_s": size / 1e6 / wall,
                        "client_cpu": time.process_time() - cpu})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.site_server", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve")
    serve_p.add_argument("--scale", type=int, default=1)
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, default=0)
    serve_p.add_argument("--server", choices=("fast", "stdlib"), default="fast")
    load_p = sub.add_parser("load")
    load_p.add_argument("url")
    load_p.add_argument("--connections", type=int, default=16)
    load_p.add_argument("--rounds", type=int, default=3)
    load_p.add_argument("--scale", type=int, default=1, help="the scale the site was served at")
    args = parser.parse_args(argv)
    if args.command == "serve":
        (serve_fast if args.server == "fast" else serve_stdlib)(args.scale, args.host, args.port)
        return 0
    for result in load(args.url, site_targets(args.url, args.scale), args.connections, args.rounds):
        print(f"{result['pages']} pages in {result['seconds']:.2f} s: {result['pages_per_s']:.0f} pages/s, "
              f"{result['mb_per_s']:.0f} MB/s (client CPU {result['client_cpu']:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
