"""What the generated site is made of: served pages, and the catalog of facts tests assert on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

HTML_UTF8 = "text/html; charset=utf-8"


@dataclass
class Page:
    """One served resource. 200 pages get ETag/Last-Modified from the server; `location` makes a redirect."""

    body: bytes = b""
    status: int = 200
    content_type: str = HTML_UTF8
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None  # None: the site's `now`
    location: str | None = None


@dataclass(frozen=True)
class Article:
    """An article page a news crawler should end up indexing (robots-blocked pages are not listed)."""

    path: str
    url: str
    title: str
    section: str  # thoi-su | kinh-te | xa-hoi | giao-duc | the-thao | english | ban-doc
    language: str  # "vi" | "en"
    published: datetime  # UTC; for date_source "url" local midnight of the URL date
    floods: bool
    author: str | None
    lead: str  # the bold sapo paragraph, part of the article text
    paragraphs: tuple[str, ...]  # body paragraphs in order (without the lead and the author line)
    date_source: str  # "meta" (meta tag + visible), "visible", "relative", "url"
    date_text: str | None  # the visible date string, e.g. "Thứ hai, 23/11/2026, 08:30 (GMT+7)"
    places: tuple[str, ...]  # district-level place names mentioned in lead/paragraphs
    comments: tuple[str, ...]  # reader comment texts on the page (boilerplate, not article text)
    via: tuple[str, ...]  # entry points: home, listing, feed, sitemap, news_sitemap, redirect
    role: str | None = None  # None for ordinary articles, else the special role (see Catalog)
    has_section_meta: bool = False

    @property
    def text(self) -> str:
        """Lead + body paragraphs joined by newlines: the text an extractor should recover."""
        return "\n".join((self.lead, *self.paragraphs))


@dataclass(frozen=True)
class Post:
    id: str  # value of the post element's id attribute, "post-120001"
    author: str  # public handle (data-author)
    time: datetime  # UTC
    text: str  # the post's own words (inside .message-body, outside the quote)
    page: int  # thread page number the post is on (1-based)
    # When set, .message-body starts with <blockquote data-quote="{handle}"> holding a title
    # "{handle} đã viết:" and the quoted post's text; the post's own text follows the blockquote.
    quote_of: str | None = None  # id of the quoted post
    quoted_text: str | None = None  # the quoted post's text


@dataclass(frozen=True)
class Thread:
    path: str  # first page, "/dien-dan/t/{slug}.{id}/"
    url: str
    title: str
    section: str  # "thoi-su" | "hoi-dap"
    section_path: str  # "/dien-dan/f/thoi-su.1/"
    pages: int
    page_paths: tuple[str, ...]  # path of each page, first is `path`, then ".../page-2", ...
    posts: tuple[Post, ...]
    floods: bool
    sticky: bool = False


@dataclass(frozen=True)
class Special:
    """A hard case. Only the fields that apply to its role are set."""

    role: str
    path: str
    sentence: str | None = None  # cp1258: distinctive sentence (compare after NFC-normalising)
    date: date | None = None  # date_in_url: the date in the URL (Vietnam local date)
    original: str | None = None  # syndicated: path of the original article
    final: str | None = None  # redirect_chain: path of the article the chain ends at
    hops: tuple[tuple[str, int], ...] = ()  # redirect_chain: (path, status) for each redirect
    size: int | None = None  # huge: body size in bytes
    token: str | None = None  # disallowed: unique token in its text


@dataclass
class Catalog:
    articles: list[Article]
    threads: list[Thread]
    disallowed: Special
    cp1258: Special
    date_in_url: Special
    syndicated: Special
    broken_html: Special
    huge: Special
    redirect_chain: Special
    not_found: Special
    server_error: Special
    # Strings present on every article page but only in boilerplate (menu, sidebar, comments, footer).
    boilerplate_markers: tuple[str, ...] = ()
    # Hand-written articles naming communes and wards (places.txt): key -> path; and the forum thread
    # about new addresses. Their expected units are in tests/fixtures/places/.
    place_articles: dict[str, str] = field(default_factory=dict)
    place_thread: str | None = None

    @property
    def specials(self) -> dict[str, Special]:
        names = ("disallowed", "cp1258", "date_in_url", "syndicated", "broken_html", "huge",
                 "redirect_chain", "not_found", "server_error")
        return {name: getattr(self, name) for name in names}

    def article(self, path: str) -> Article:
        for item in self.articles:
            if item.path == path:
                return item
        raise KeyError(path)

    def thread(self, path: str) -> Thread:
        for item in self.threads:
            if item.path == path:
                return item
        raise KeyError(path)

    @property
    def flood_articles(self) -> list[Article]:
        return [a for a in self.articles if a.floods]

    @property
    def posts(self) -> list[Post]:
        return [p for t in self.threads for p in t.posts]

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["specials"] = {k: dataclasses.asdict(v) for k, v in self.specials.items()}
        return data


@dataclass
class Site:
    base_url: str
    now: datetime
    pages: dict[str, Page]
    catalog: Catalog
    fallback: Page = field(default_factory=lambda: Page(b"Not Found", status=404))  # unknown paths

    def url(self, path: str) -> str:
        return self.base_url + path

    def lookup(self, target: str) -> Page | None:
        """Page for a request target: exact path+query first, then the path alone."""
        page = self.pages.get(target)
        if page is None and "?" in target:
            page = self.pages.get(target.split("?", 1)[0])
        return page

    def resolve(self, target: str) -> Page:
        """Like lookup, falling back to the site's 404 page."""
        return self.lookup(target) or self.fallback
