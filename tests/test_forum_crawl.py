"""The forum spider against other engines' markup, end to end: a phpBB board (engine detected) and a
Discourse forum (its public JSON) served on loopback from the fixtures in tests/fixtures/forums/,
crawled by the real spider into the real node, then crawled again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from elasticsearch import Elasticsearch

from crawlers.forums import parse_thread_page
from tests.conftest import Cluster, run_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "forums"
HTML, JSON = "text/html; charset=utf-8", "application/json; charset=utf-8"
# (path, sorted query items) -> (fixture file, content type); anything else is a 404.
ROUTES = {
    ("/viewforum.php", (("f", "2"),)): ("phpbb3/section.html", HTML),
    ("/viewforum.php", (("f", "2"), ("start", "25"))): ("phpbb3/section-2.html", HTML),
    ("/viewtopic.php", (("t", "678"),)): ("phpbb3/thread-1.html", HTML),
    ("/viewtopic.php", (("start", "3"), ("t", "678"))): ("phpbb3/thread-2.html", HTML),
    ("/c/thoi-su/5.json", ()): ("discourse/category.json", JSON),
    ("/c/thoi-su/5.json", (("page", "1"),)): ("discourse/category-2.json", JSON),
    ("/t/ngap-lut-o-tu-son-sau-mua-lon/789.json", ()): ("discourse/topic-1.json", JSON),
    ("/t/ngap-lut-o-tu-son-sau-mua-lon/789.json", (("page", "2"),)): ("discourse/topic-2.json", JSON),
}


class _Forum(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        _Forum.seen.append(self.path)
        parts = urlsplit(self.path)
        query = tuple(sorted((k, v) for k, v in parse_qsl(parts.query) if k not in ("sid", "f") or parts.path
                             == "/viewforum.php"))
        route = ROUTES.get((parts.path, query))
        body = (FIXTURES / route[0]).read_bytes() if route else b"not here"
        self.send_response(200 if route else 404)
        self.send_header("Content-Type", route[1] if route else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


@pytest.fixture(scope="module")
def forum() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Forum)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _expected(base: str, files: list[str], url: str) -> list[str]:
    """Post URLs the fixtures hold (posts with text), as the module reads them page by page."""
    urls = []
    for name in files:
        page = parse_thread_page((FIXTURES / name).read_bytes(), url, content_type=JSON if name.endswith("json")
                                 else HTML)
        urls += [p.url.replace(page.thread_url, "") for p in page.posts if p.text]
    return urls


def _crawl_twice(cluster: Cluster, prefix: str, tmp_path: Path, source: str) -> tuple[list[dict], dict, list[str]]:
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n{source}", encoding="utf-8")
    env = cluster.env(prefix, tmp_path, MEDIAWATCH_ENRICH__ENABLED="false")
    first = run_cli("crawl", "--sources", str(sources), "--json", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    client = Elasticsearch(cluster.url)
    client.indices.refresh(index=f"{prefix}-docs")
    docs = [h["_source"] for h in client.search(index=f"{prefix}-docs", size=500)["hits"]["hits"]]
    _Forum.seen.clear()
    second = run_cli("crawl", "--sources", str(sources), "--json", env=env)
    assert second.returncode == 0, second.stderr[-2000:]
    return docs, json.loads(second.stdout)[0], list(_Forum.seen)


def test_a_phpbb_board_is_detected_walked_page_by_page_and_keeps_thread_identity(
    cluster: Cluster, prefix: str, tmp_path: Path, forum: str
) -> None:
    source = (f'  - {{id: phpbb, name: "phpBB", kind: forum, home: "{forum}/", '
              f'sections: ["{forum}/viewforum.php?f=2"], allowed_domains: ["127.0.0.1"], language: vi}}\n')
    docs, second, seen = _crawl_twice(cluster, prefix, tmp_path, source)
    thread = f"{forum}/viewtopic.php?t=678"
    expected = _expected(forum, ["phpbb3/thread-1.html", "phpbb3/thread-2.html"], thread)
    assert sorted(d["url"] for d in docs) == sorted(thread + u for u in expected) and len(expected) >= 4
    assert {d["thread"]["url"] for d in docs} == {thread}  # start=3 is the same thread
    positions = sorted(d["thread"]["position"] for d in docs)
    assert positions == list(range(1, len(docs) + 1))
    assert all(d["published"] and d["author"] for d in docs)
    assert not [p for p in seen if "t=678" in p]  # both pages known and not due (the 404s are asked again)
    assert second["skipped_known"] == 2 and second["documents"] == 0


def test_a_discourse_forum_is_read_through_its_public_json(
    cluster: Cluster, prefix: str, tmp_path: Path, forum: str
) -> None:
    source = (f'  - {{id: disc, name: "Discourse", kind: forum, home: "{forum}/", '
              f'sections: ["{forum}/c/thoi-su/5"], allowed_domains: ["127.0.0.1"], forum: {{engine: discourse}}}}\n')
    docs, second, seen = _crawl_twice(cluster, prefix, tmp_path, source)
    thread = f"{forum}/t/ngap-lut-o-tu-son-sau-mua-lon/789"
    expected = _expected(forum, ["discourse/topic-1.json", "discourse/topic-2.json"], thread + ".json")
    mine = [d for d in docs if d["thread"]["url"] == thread]
    assert sorted(d["url"] for d in mine) == sorted(thread + u for u in expected) and len(expected) > 20
    positions = sorted(d["thread"]["position"] for d in mine)  # Discourse's own post numbers (gaps for
    assert positions[0] == 1 and len(set(positions)) == len(mine)  # moderator notes, which are not posts)
    assert not [p for p in seen if p.startswith("/t/ngap-lut-o-tu-son-sau-mua-lon/789")]
    assert second["documents"] == 0
