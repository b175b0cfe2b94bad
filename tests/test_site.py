"""The generated local news site and forum (tests/site): content facts, server behaviour, CLI."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import unicodedata
import urllib.error
import urllib.request
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
import yaml

from tests.site import DEFAULT_NOW, SiteServer, build_site, serve, sources_yaml
from tests.site.text import WEEKDAYS_VI, to_local

REPO = Path(__file__).resolve().parent.parent
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def srv() -> Iterator[SiteServer]:
    with serve() as server:
        yield server


def fetch(srv: SiteServer, path: str,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET without following redirects; returns (status, headers, body)."""
    parts = urlsplit(srv.base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def get(srv: SiteServer, path: str) -> bytes:
    status, _, body = fetch(srv, path)
    assert status == 200, path
    return body


def doc(srv: SiteServer, path: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(get(srv, path))


def article_text(page: lxml.html.HtmlElement) -> tuple[str, list[str]]:
    """(lead, body paragraphs) from the main article block only."""
    detail = page.cssselect("article.detail")[0]
    lead = detail.cssselect("p.sapo")[0].text_content().strip()
    paras = [p.text_content().strip() for p in detail.cssselect("div.detail-content > p:not([class])")]
    return lead, paras


def local_links(page: lxml.html.HtmlElement, base_path: str, selector: str = "a[href]") -> list[str]:
    out = []
    for a in page.cssselect(selector):
        href = urljoin("http://x" + base_path, a.get("href"))
        if href.startswith("http://x/"):
            out.append(href[len("http://x"):].split("#")[0])
    return out


# --- catalog facts ---------------------------------------------------------------------------------------

def test_catalog_counts(srv: SiteServer) -> None:
    cat = srv.site.catalog
    assert len(cat.articles) >= 60
    assert len({a.path for a in cat.articles}) == len(cat.articles)
    assert len({a.title for a in cat.articles if a.role != "syndicated"}) == len(cat.articles) - 1
    english = [a for a in cat.articles if a.language == "en"]
    assert len(english) >= 8 and all(a.section == "english" for a in english)
    vi_floods = [a for a in cat.flood_articles if a.language == "vi"]
    assert len(vi_floods) >= 5
    for a in vi_floods:
        assert "Bắc Ninh" in a.text and ("lũ lụt" in a.text or "ngập lụt" in a.text)
    assert sum("Từ Sơn" in a.text for a in vi_floods) >= 2
    assert any("flooding in Bac Ninh" in a.text for a in cat.flood_articles if a.language == "en")
    for a in cat.articles:
        if not a.floods:
            assert not re.search("lụt|ngập|flood", f"{a.title}\n{a.text}", re.I), a.path
        assert unicodedata.is_normalized("NFC", a.text)
        assert 3 <= len(a.paragraphs) <= 8
        assert a.published <= srv.site.now
        assert srv.site.now - a.published <= timedelta(days=61)
    assert {a.date_source for a in cat.articles} == {"meta", "visible", "relative", "url"}
    metas = sum(a.date_source == "meta" for a in cat.articles)
    assert 0.3 < metas / len(cat.articles) < 0.6
    assert len(cat.threads) >= 6
    assert sum(t.pages >= 3 for t in cat.threads) >= 2
    assert sum(t.floods for t in cat.threads) == 1


def test_build_is_deterministic_and_follows_now() -> None:
    a = build_site("http://127.0.0.1:1")
    b = build_site("http://127.0.0.1:1/")
    assert a.pages.keys() == b.pages.keys()
    assert all(a.pages[k].body == b.pages[k].body for k in a.pages)
    later = build_site("http://127.0.0.1:1", now=DEFAULT_NOW + timedelta(days=10))
    shifted = {(x.title, x.role): x.published for x in later.catalog.articles}
    for art in a.catalog.articles:
        if art.date_source != "url":
            assert shifted[art.title, art.role] - art.published == timedelta(days=10)


def test_near_duplicates_only_where_intended(srv: SiteServer) -> None:
    def shingles(text: str) -> set[tuple[str, ...]]:
        words = text.lower().split()
        return {tuple(words[i:i + 5]) for i in range(len(words) - 4)}

    cat = srv.site.catalog
    ordinary = [a for a in cat.articles if a.role != "syndicated"]
    sets = [shingles(a.text) for a in ordinary]
    worst = max(len(x & y) / len(x | y) for i, x in enumerate(sets) for y in sets[i + 1:])
    assert worst < 0.5
    copy = cat.article(cat.syndicated.path)
    assert copy.text == cat.article(cat.syndicated.original).text


# --- server behaviour ------------------------------------------------------------------------------------

def test_robots_txt(srv: SiteServer) -> None:
    status, headers, body = fetch(srv, "/robots.txt")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert "User-agent: *\nDisallow: /noi-bo/\n" in text
    assert f"Sitemap: {srv.base_url}/sitemap.xml" in text
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(text.splitlines())
    assert not robots.can_fetch("mediawatch", srv.url(srv.site.catalog.disallowed.path))
    assert robots.can_fetch("mediawatch", srv.url(srv.site.catalog.articles[0].path))


def test_conditional_requests(srv: SiteServer) -> None:
    path = srv.site.catalog.articles[5].path
    status, headers, body = fetch(srv, path)
    assert status == 200 and body
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert parsedate_to_datetime(last_modified) == srv.site.catalog.articles[5].published
    status, headers, body = fetch(srv, path, {"If-None-Match": etag})
    assert (status, body) == (304, b"") and headers["ETag"] == etag
    assert fetch(srv, path, {"If-Modified-Since": last_modified})[0] == 304
    assert fetch(srv, path, {"If-None-Match": '"stale"', "If-Modified-Since": last_modified})[0] == 200
    older = (parsedate_to_datetime(last_modified) - timedelta(seconds=1)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT")
    assert fetch(srv, path, {"If-Modified-Since": older})[0] == 200
    logged = [r for r in srv.requests.for_path(path) if r.status == 304]
    assert logged and logged[0].headers["if-none-match"] == etag
    for other in ("/", "/rss/tin-moi.rss", "/sitemap.xml", "/dien-dan/"):
        _, h, _ = fetch(srv, other)
        assert "ETag" in h and "Last-Modified" in h and "charset=utf-8" in h["Content-Type"]


def test_cp1258_page_with_wrong_declaration(srv: SiteServer) -> None:
    special = srv.site.catalog.cp1258
    status, headers, body = fetch(srv, special.path)
    assert status == 200
    assert headers["Content-Type"] == "text/html"  # no charset in HTTP
    assert b'<meta charset="utf-8">' in body  # ... and a wrong one in the markup
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = unicodedata.normalize("NFC", body.decode("cp1258"))
    assert special.sentence == "Người dân xã Phù Chẩn khắc phục hậu quả ngập lụt"
    assert special.sentence in text
    page = lxml.html.fromstring(text)
    lead, paras = article_text(page)
    art = srv.site.catalog.article(special.path)
    assert (lead, paras) == (art.lead, list(art.paragraphs)) and art.floods


def test_huge_page(srv: SiteServer) -> None:
    special = srv.site.catalog.huge
    status, headers, body = fetch(srv, special.path)
    assert status == 200 and len(body) == special.size == int(headers["Content-Length"])
    assert 5_000_000 <= len(body) < 6_000_000
    lead, _ = article_text(lxml.html.fromstring(body))
    assert lead == srv.site.catalog.article(special.path).lead


def test_redirect_chain(srv: SiteServer) -> None:
    chain = srv.site.catalog.redirect_chain
    path, seen = chain.path, []
    for _ in range(5):
        status, headers, _ = fetch(srv, path)
        seen.append((path, status))
        if status not in (301, 302):
            break
        path = urlsplit(urljoin(srv.url(path), headers["Location"])).path
    assert tuple(seen[:-1]) == chain.hops == ((chain.path, 301), ("/r/2", 302))
    assert seen[-1] == (chain.final, 200)
    with urllib.request.urlopen(srv.url(chain.path), timeout=10) as resp:
        assert resp.url == srv.url(chain.final)
    assert "redirect" in srv.site.catalog.article(chain.final).via


def test_error_pages(srv: SiteServer) -> None:
    cat = srv.site.catalog
    for special, code in ((cat.not_found, 404), (cat.server_error, 500)):
        assert re.search(r"/tin-tuc/.+\.html$", special.path)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(srv.url(special.path), timeout=10)
        assert err.value.code == code
    assert fetch(srv, "/khong-ton-tai.html")[0] == 404
    assert "ETag" not in fetch(srv, cat.not_found.path)[1]


# --- discovery: feed, sitemaps, listings, home -----------------------------------------------------------

def test_feed_and_sitemaps(srv: SiteServer) -> None:
    cat = srv.site.catalog
    by_url = {a.url: a for a in cat.articles}
    rss = ET.fromstring(get(srv, "/rss/tin-moi.rss"))
    items = rss.findall("./channel/item")
    assert len(items) == 20
    newest = sorted((a for a in cat.articles if a.role is None), key=lambda a: a.published, reverse=True)
    assert [i.findtext("link") for i in items] == [a.url for a in newest[:20]]
    for item in items:
        assert parsedate_to_datetime(item.findtext("pubDate")) == by_url[item.findtext("link")].published

    index = ET.fromstring(get(srv, "/sitemap.xml"))
    assert index.tag == f"{SM}sitemapindex"
    children = [urlsplit(loc.text).path for loc in index.iter(f"{SM}loc")]
    assert children == ["/sitemaps/articles-1.xml", "/sitemaps/news.xml"]
    plain = ET.fromstring(get(srv, children[0]))
    news = ET.fromstring(get(srv, children[1]))
    plain_urls = [u.findtext(f"{SM}loc") for u in plain.iter(f"{SM}url")]
    news_urls = [u.findtext(f"{SM}loc") for u in news.iter(f"{SM}url")]
    assert all(u.find(f"{SM}lastmod") is not None for u in plain.iter(f"{SM}url"))
    assert len(list(news.iter("{http://www.google.com/schemas/sitemap-news/0.9}publication_date"))) == 30
    assert srv.url(cat.disallowed.path) in plain_urls
    for article in cat.articles:
        assert ("sitemap" in article.via) == (article.url in plain_urls), article.path
        assert ("news_sitemap" in article.via) == (article.url in news_urls), article.path
    listing_only = [a for a in cat.articles if set(a.via) == {"listing"}]
    assert len(listing_only) >= 5


def test_listings_reach_every_article(srv: SiteServer) -> None:
    cat = srv.site.catalog
    found: set[str] = set()
    for section in ("thoi-su", "kinh-te", "xa-hoi", "giao-duc", "the-thao", "english"):
        path: str | None = f"/chuyen-muc/{section}/"
        pages = 0
        while path:
            page = doc(srv, path)
            pages += 1
            stories = local_links(page, path, "h3.story-title a")
            assert 0 < len(stories) <= 10
            found.update(stories)
            nxt = page.xpath("//a[normalize-space()='Trang sau']/@href")
            path = urljoin(path, nxt[0]) if nxt else None
        assert pages >= 2, section
    for article in cat.articles:
        assert ("listing" in article.via) == (article.path in found), article.path
    for special in (cat.redirect_chain, cat.not_found, cat.server_error, cat.cp1258, cat.huge,
                    cat.broken_html, cat.date_in_url):
        assert special.path in found
    home = set(local_links(doc(srv, "/"), "/"))
    assert cat.disallowed.path in home and cat.syndicated.path in home
    assert {a.path for a in cat.articles if "home" in a.via} <= home


# --- article pages ---------------------------------------------------------------------------------------

def test_article_pages(srv: SiteServer) -> None:
    cat = srv.site.catalog
    for art in cat.articles:
        if art.role in ("broken_html", "cp1258"):
            continue
        raw = get(srv, art.path)
        page = lxml.html.fromstring(raw)
        assert page.cssselect("h1.title")[0].text_content() == art.title
        assert page.xpath("//link[@rel='canonical']/@href") == [art.url]
        lead, paras = article_text(page)
        assert (lead, paras) == (art.lead, list(art.paragraphs)), art.path
        meta = page.xpath("//meta[@property='article:published_time']/@content")
        assert bool(meta) == (art.date_source == "meta")
        if meta:
            assert datetime.fromisoformat(meta[0]) == art.published and meta[0].endswith("+07:00")
        dates = [d.text_content() for d in page.cssselect("article.detail span.date")]
        assert dates == ([art.date_text] if art.date_text else [])
        if art.date_source in ("meta", "visible") and art.language == "vi":
            local = to_local(art.published)
            assert art.date_text == f"{WEEKDAYS_VI[local.weekday()]}, {local:%d/%m/%Y, %H:%M} (GMT+7)"
        if art.date_source == "relative":
            assert re.fullmatch(r"\d+ (phút|giờ) trước", art.date_text or "")
        if art.role is None:
            body = raw.decode()
            assert all(marker in body for marker in cat.boilerplate_markers)
        assert page.xpath("boolean(//section[@class='comments'])")
        assert [c.text_content() for c in page.cssselect(".comments p.comment-text")] == list(art.comments)
    traps = [a for a in cat.articles if not a.floods and any("ngập lụt" in c for c in a.comments)]
    assert traps, "some non-flood pages mention floods in reader comments only"


def test_date_only_in_url(srv: SiteServer) -> None:
    special = srv.site.catalog.date_in_url
    assert f"/{special.date:%Y/%m/%d}/" in special.path
    body = get(srv, special.path).decode()
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}|published_time|GMT\+7", body)
    art = srv.site.catalog.article(special.path)
    assert art.date_source == "url" and art.date_text is None
    assert to_local(art.published).date() == special.date


def test_syndicated_copy(srv: SiteServer) -> None:
    cat = srv.site.catalog
    copy_page = doc(srv, cat.syndicated.path)
    orig_page = doc(srv, cat.syndicated.original)
    assert article_text(copy_page) == article_text(orig_page)
    titles = [p.cssselect("h1.title")[0].text_content() for p in (copy_page, orig_page)]
    assert titles[0] == titles[1]
    assert copy_page.cssselect("p.source")[0].text_content() == "Theo Báo Bắc Ninh"
    assert copy_page.xpath("//link[@rel='canonical']/@href") == [srv.url(cat.syndicated.path)]


def test_broken_html_is_still_readable(srv: SiteServer) -> None:
    special = srv.site.catalog.broken_html
    body = get(srv, special.path).decode()
    assert "</body>" not in body and "</html>" not in body and "</h3>" in body
    art = srv.site.catalog.article(special.path)
    text = lxml.html.fromstring(body).text_content()
    assert art.title in text and all(p in text for p in art.paragraphs)


def test_disallowed_page_exists_but_is_blocked(srv: SiteServer) -> None:
    special = srv.site.catalog.disallowed
    assert re.search(r"/tin-tuc/.+\.html$", special.path) and special.path.startswith("/noi-bo/")
    assert special.token == "NOIBOSECRET" and special.token.encode() in get(srv, special.path)
    assert all(special.path != a.path for a in srv.site.catalog.articles)


# --- forum -----------------------------------------------------------------------------------------------

def test_forum_pagination_and_posts(srv: SiteServer) -> None:
    cat = srv.site.catalog
    thread_paths: list[str] = []
    listing_pages = {}
    for section in ("/dien-dan/f/thoi-su.1/", "/dien-dan/f/hoi-dap.2/"):
        path: str | None = section
        count = 0
        while path:
            page = doc(srv, path)
            count += 1
            thread_paths += local_links(page, path, "a.thread-title")
            nxt = local_links(page, path, "a.pageNav-next")
            path = nxt[0] if nxt else None
        listing_pages[section] = count
    assert listing_pages["/dien-dan/f/thoi-su.1/"] >= 2
    assert sorted(thread_paths) == sorted(t.path for t in cat.threads)

    for thread in cat.threads:
        path, pages, posts = thread.path, 0, []
        while path:
            page = doc(srv, path)
            pages += 1
            for el in page.cssselect("article.message"):
                body = el.cssselect(".message-body")[0]
                quote = body.cssselect("blockquote")
                posts.append((el.get("id"), el.get("data-author"), el.cssselect("time")[0].get("datetime"),
                              quote[0].get("data-quote") if quote else None, body.text_content()))
            nxt = local_links(page, path, "a.pageNav-next")
            path = nxt[0] if nxt else None
        assert pages == thread.pages and len(posts) == len(thread.posts)
        for (pid, author, when, quoted_author, body_text), post in zip(posts, thread.posts, strict=True):
            assert (pid, author) == (post.id, post.author)
            assert datetime.fromisoformat(when) == post.time and when.endswith("+07:00")
            if post.quote_of:
                quoted = next(p for p in thread.posts if p.id == post.quote_of)
                assert quoted_author == quoted.author and post.quoted_text == quoted.text
                assert body_text == f"{quoted.author} đã viết:{quoted.text}{post.text}"
            else:
                assert body_text == post.text
    flood = next(t for t in cat.threads if t.floods)
    assert "Ngập lụt ở Từ Sơn" in flood.title and flood.pages >= 3
    assert any("nuoc ngap qua, duong Tu Son ko di duoc" in p.text for p in flood.posts)
    assert all(p.time <= srv.site.now for p in cat.posts)
    assert len({p.id for p in cat.posts}) == len(cat.posts)


# --- sources.yaml and CLI --------------------------------------------------------------------------------

def test_sources_yaml(srv: SiteServer) -> None:
    data = yaml.safe_load(sources_yaml(srv.base_url + "/"))
    news, forum = data["sources"]
    assert (news["id"], news["kind"], forum["id"], forum["kind"]) == ("bacninh-news", "news", "bacninh-forum",
                                                                     "forum")
    assert news["home"] == srv.base_url + "/" and news["feeds"] == [srv.url("/rss/tin-moi.rss")]
    assert news["allowed_domains"] == ["127.0.0.1"] and news["politeness"] == {"delay": 0, "concurrency": 8}
    pattern = re.compile(news["article_patterns"][0])
    cat = srv.site.catalog
    assert all(pattern.search(a.path) for a in cat.articles)
    assert pattern.search(cat.disallowed.path) and pattern.search(cat.redirect_chain.path)
    assert not pattern.search("/chuyen-muc/thoi-su/?page=2")
    assert forum["sections"] == [srv.url("/dien-dan/f/thoi-su.1/"), srv.url("/dien-dan/f/hoi-dap.2/")]
    assert forum["forum"]["post"] == "article.message" and forum["forum"]["body"] == ".message-body"


def test_cli_sources_and_serve(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "tests.site", "sources", "--base", "http://127.0.0.1:8765"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout == sources_yaml("http://127.0.0.1:8765")

    proc = subprocess.Popen([sys.executable, "-m", "tests.site", "serve", "--port", "0"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        base = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
        with urllib.request.urlopen(base + "/robots.txt", timeout=10) as resp:
            assert b"Disallow: /noi-bo/" in resp.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_server_stops_and_frees_port() -> None:
    with serve(now=datetime(2026, 1, 5, 12, 0, tzinfo=UTC)) as server:
        port = server.port
        assert server.site.now.year == 2026
        assert fetch(server, "/")[0] == 200
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
