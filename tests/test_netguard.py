"""SSRF guard: loopback, private, link-local and metadata addresses are refused after DNS resolution, for
sources, feed entries, redirects and `mediawatch extract URL`, unless allow-listed — and no traffic is
ever sent to a refused address (listeners on refused loopback addresses must see no connection; a
socket-level recorder in the crawl process must see no attempt)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from crawlers.netguard import Guard
from crawlers.sources import Source
from tests.conftest import REPO, Cluster, run_cli
from tests.netguard_helpers import SITECUSTOMIZE


def test_guard_refuses_private_ranges_unless_allowed() -> None:
    guard = Guard.from_list([])
    for address in ("127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "::1",
                    "fd00::1", "fe80::1", "::ffff:10.0.0.1", "0.0.0.0"):
        assert not guard.allows(address), address
    for address in ("8.8.8.8", "203.113.1.1", "2001:4860:4860::8888"):
        assert guard.allows(address), address
    allowed = Guard.from_list(["127.0.0.1", "10.1.0.0/16", "intranet.example"])
    assert allowed.allows("127.0.0.1") and not allowed.allows("127.0.0.2")
    assert allowed.allows("10.1.2.3") and not allowed.allows("10.2.0.1")
    assert allowed.allows("10.9.9.9", "intranet.example") and not allowed.allows("10.9.9.9", "other.example")


def test_an_ip_in_allowed_domains_matches_exactly_never_as_a_suffix() -> None:
    source = Source(id="x", name="x", kind="news", home="http://1/", allowed_domains=["1", "127.0.0.1"])
    assert source.allows("http://1/") and not source.allows("http://10.0.0.1/")
    assert source.allows("http://127.0.0.1:8765/a") and not source.allows("http://1127.0.0.1/")
    assert not source.allows("http://[::1")  # malformed: outside every domain, no exception


class _Listener:
    """A TCP listener on a refused loopback address: counts connections (there must be none)."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.address = address
        self.connections = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def world(tmp_path: Path):
    """A site on 127.0.0.1 whose feed points at refused addresses, and listeners on two refused ones."""
    listeners = [_Listener("127.0.0.2"), _Listener("127.0.0.3")]
    second, third = listeners
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            status, headers, body = pages.get(self.path.split("?")[0], (404, {}, b"not here"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    base = f"http://127.0.0.1:{port}"
    article = ("<html lang='vi'><head><title>Tin an toàn</title></head><body><article><h1>Tin an toàn</h1>"
               + "<p>Bài viết này được phép tải về và lưu lại để tìm kiếm sau này.</p>" * 6
               + "</article></body></html>").encode()
    links = [f"http://intranet.test:{port}/a.html", "http://metadata.test/latest.html",
             "http://169.254.169.254/latest/meta-data.html", f"http://[fd00::1]:{port}/x.html",
             f"http://127.0.0.2:{second.port}/y.html", f"http://site.test:{port}/ok.html",
             f"http://site.test:{port}/redirect.html"]
    items = "".join(f"<item><title>t{i}</title><link>{link}</link></item>" for i, link in enumerate(links))
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'.encode()
    pages.update({
        "/": (200, {"Content-Type": "text/html"}, b"<html><body>home</body></html>"),
        "/feed.xml": (200, {"Content-Type": "application/rss+xml"}, feed),
        "/ok.html": (200, {"Content-Type": "text/html; charset=utf-8"}, article),
        "/redirect.html": (302, {"Location": f"http://127.0.0.3:{third.port}/z.html"}, b""),
        "/to-loopback": (302, {"Location": f"http://127.0.0.2:{second.port}/secret"}, b""),
    })
    threading.Thread(target=server.serve_forever, daemon=True).start()
    domains = ["127.0.0.1", "intranet.test", "metadata.test", "169.254.169.254", "fd00::1", "127.0.0.2",
               "127.0.0.3", "site.test"]
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - id: ssrf\n    name: SSRF\n    kind: news\n"
        f"    home: \"{base}/\"\n    feeds: [\"{base}/feed.xml\"]\n    allowed_domains: {json.dumps(domains)}\n"
        "    article_patterns: ['\\.html$']\n    politeness: {delay: 0, concurrency: 4}\n",
        encoding="utf-8",
    )
    try:
        yield {"base": base, "sources": sources, "listeners": listeners, "tmp": tmp_path}
    finally:
        server.shutdown()
        server.server_close()
        for listener in listeners:
            listener.close()


def test_feed_entries_names_and_redirects_to_refused_addresses_are_never_contacted(
    world, cluster: Cluster, prefix: str
) -> None:
    hook = world["tmp"] / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = world["tmp"] / "connections.log"
    env = cluster.env(prefix, world["tmp"], MEDIAWATCH_CRAWL__ALLOW_PRIVATE_HOSTS="127.0.0.1",
                      MEDIAWATCH_ENRICH__ENABLED="false", MEDIAWATCH_TEST_CONNECT_LOG=str(log),
                      PYTHONPATH=f"{hook}:{REPO}")
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", "source=ssrf", "-a", f"sources_file={world['sources']}",
         "-s", "MEDIAWATCH_INNER_RESOLVER=tests.netguard_helpers.StaticResolver"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    attempted = set(log.read_text().split()) if log.exists() else set()
    assert attempted, "the recorder saw no connection at all: it is not in effect"
    assert not attempted & {"10.0.0.1", "169.254.169.254", "fd00::1", "127.0.0.2", "127.0.0.3"}, attempted
    assert [listener.connections for listener in world["listeners"]] == [0, 0]
    client = Elasticsearch(cluster.url)
    client.indices.refresh(index=f"{prefix}-*")
    run = client.search(index=f"{prefix}-runs", size=1, source=True)["hits"]["hits"][0]["_source"]
    assert run["failures"].get("private_address") == 6, (run["failures"], proc.stderr[-2000:])
    docs = client.search(index=f"{prefix}-docs", size=10)["hits"]["hits"]
    assert [d["_source"]["url"] for d in docs] == [f"http://site.test:{world['base'].rsplit(':', 1)[1]}/ok.html"]


def test_extract_refuses_a_redirect_to_loopback_without_contacting_it(world) -> None:
    second = world["listeners"][0]
    env = {"MEDIAWATCH_CRAWL__ALLOW_PRIVATE_HOSTS": "127.0.0.1"}
    result = run_cli("extract", f"{world['base']}/to-loopback", env={**_env(), **env})
    assert result.returncode != 0 and result.stderr.strip().count("\n") == 0
    assert "127.0.0.2" in result.stderr and "allow_private_hosts" in result.stderr
    assert second.connections == 0
    direct = run_cli("extract", f"{world['base']}/ok.html", env={**_env(), "MEDIAWATCH_CRAWL__ALLOW_PRIVATE_HOSTS": ""})
    assert direct.returncode != 0 and "refused" in direct.stderr  # loopback is refused unless allowed
    allowed = run_cli("extract", f"{world['base']}/ok.html", "--json", env={**_env(), **env})
    assert allowed.returncode == 0 and json.loads(allowed.stdout)["title"] == "Tin an toàn"


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
