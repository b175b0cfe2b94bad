"""``mediawatch extract`` on forum pages: the real CLI in a subprocess, on the fixture pages of every engine
and on a Discourse forum served over loopback (read through its JSON)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_forums import AUTHORS, FIXTURES, FORUMS, P2, P5, TIMES, TITLE, Forum

LOCAL = timedelta(hours=7)


def extract_json(*args: str) -> dict:
    result = run_cli("extract", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("forum", FORUMS, ids=lambda f: f.engine)
def test_thread_page_json(forum: Forum) -> None:
    """Engine detected, posts as the spider reads them; "Hôm nay, 16:21"/"Today, 04:21 PM" is read in the
    page's GMT +7 whatever day the test runs."""
    data = extract_json(str(FIXTURES / forum.engine / "thread-2.html"), "--url", forum.page_urls[1])
    assert data["kind"] == "forum" and data["engine"] == forum.engine
    assert data["thread_url"] == forum.thread and data["title"] == TITLE and data["next_url"] is None
    assert [set(p) for p in data["posts"]] == [{"id", "author", "published", "position", "text"}] * 2
    assert [p["id"] for p in data["posts"]] == list(forum.anchors[3:])
    assert [p["author"] for p in data["posts"]] == AUTHORS[3:]
    assert [p["position"] for p in data["posts"]] == [4, 5]
    assert [p["text"] for p in data["posts"]] == [forum.thanks, P5]
    today = datetime.fromisoformat(data["posts"][1]["published"]).astimezone(UTC) + LOCAL
    assert (today.hour, today.minute) == (16, 21)
    first = extract_json(str(FIXTURES / forum.engine / "thread-1.html"), "--url", forum.page_urls[0])
    assert [datetime.fromisoformat(p["published"]) for p in first["posts"][:2]] == TIMES[:2]
    assert first["posts"][1]["text"] == P2 and first["next_url"]


def test_section_page_json_lists_threads() -> None:
    forum = FORUMS[0]
    data = extract_json(str(FIXTURES / forum.engine / "section.html"), "--url", forum.section_urls[0])
    assert data == {
        "kind": "forum_section",
        "engine": forum.engine,
        "url": forum.section_urls[0],
        "thread_urls": list(forum.threads),
        "next_url": forum.section_urls[1],
    }


def test_news_article_is_still_an_article(tmp_path: Path) -> None:
    from tests.site import build_site

    site = build_site("http://127.0.0.1:8765")
    article = site.catalog.articles[0]
    page = tmp_path / "bai-viet.html"
    page.write_bytes(site.pages[article.path].body)
    data = extract_json(str(page), "--url", article.url)
    assert data["kind"] == "news" and data["title"] == article.title and "posts" not in data
    forced = run_cli("extract", str(page), "--forum")
    assert forced.returncode != 0 and forced.stdout == ""
    assert forced.stderr.strip().count("\n") == 0 and "no forum posts or thread links found" in forced.stderr


def test_panel_shows_a_table_of_posts() -> None:
    forum = FORUMS[2]
    result = run_cli("extract", str(FIXTURES / forum.engine / "thread-1.html"), "--url", forum.page_urls[0])
    assert result.returncode == 0, result.stderr
    shown = ("vbulletin3", "UTC+07:00", "author", "dinhbang_9x", "MeBongBin_TS", "2024-03-10 08:05", "post70003")
    for expected in shown:
        assert expected in result.stdout, expected


def test_engine_option() -> None:
    forum = FORUMS[1]
    page = str(FIXTURES / forum.engine / "thread-1.html")
    assert extract_json(page, "--url", forum.page_urls[0], "--engine", "xenforo2")["engine"] == "xenforo2"
    wrong = run_cli("extract", page, "--engine", "phpbb3", "--json")
    assert wrong.returncode != 0 and "no forum posts" in wrong.stderr and "phpbb3" in wrong.stderr
    unknown = run_cli("extract", page, "--engine", "mybb")
    assert unknown.returncode != 0 and unknown.stderr.strip().count("\n") == 0
    assert "unknown forum engine 'mybb'" in unknown.stderr


# --- a Discourse forum on loopback --------------------------------------------------------------------------

TOPIC_PATH = "/t/ngap-lut-o-tu-son-sau-mua-lon/789"


class _Discourse(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        _Discourse.seen.append((self.path, self.headers.get("Accept", "")))
        files = {TOPIC_PATH: ("topic.html", "text/html; charset=utf-8"),
                 f"{TOPIC_PATH}.json": ("topic-1.json", "application/json; charset=utf-8")}  # fmt: skip
        if self.path not in files:
            self.send_error(404, "Not Found")
            return
        name, content_type = files[self.path]
        body = (FIXTURES / "discourse" / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture()
def discourse() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discourse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Discourse.seen.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_discourse_thread_url_is_read_through_its_json(discourse: str) -> None:
    data = extract_json(f"{discourse}{TOPIC_PATH}")
    assert data["kind"] == "forum" and data["engine"] == "discourse"
    assert data["url"] == f"{discourse}{TOPIC_PATH}.json"
    assert data["thread_url"] == f"{discourse}{TOPIC_PATH}"
    assert data["next_url"] == f"{discourse}{TOPIC_PATH}.json?page=2"
    assert len(data["posts"]) == 20  # the JSON page, not the 3 posts of the HTML crawler view
    assert [p["author"] for p in data["posts"][:3]] == AUTHORS[:3]
    assert [p["id"] for p in data["posts"][:3]] == ["post_1", "post_2", "post_3"]
    assert [datetime.fromisoformat(p["published"]) for p in data["posts"][:3]] == TIMES[:3]
    assert [path for path, _ in _Discourse.seen] == [TOPIC_PATH, f"{TOPIC_PATH}.json"]
    assert _Discourse.seen[1][1] == "application/json"


def test_discourse_engine_option_fetches_the_json_only(discourse: str) -> None:
    data = extract_json(f"{discourse}{TOPIC_PATH}/3", "--engine", "discourse")
    assert data["engine"] == "discourse" and len(data["posts"]) == 20
    assert [path for path, _ in _Discourse.seen] == [f"{TOPIC_PATH}.json"]
