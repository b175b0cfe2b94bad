"""Forum pages as they are in the wild: engine presets, thread identity, posts and their own times.

Pure functions, no I/O and no Scrapy: a page's body (HTML, or Discourse's JSON) and its URL in,
frozen dataclasses out. Engines: XenForo 1 and 2, vBulletin 3, 4 and 5, phpBB 3, Discourse. Each has a
preset of selectors (post container, post id, public author handle, post time, body, title, links to
threads, next page); a source's ``forum:`` settings override the preset field by field.

How the forum spider uses it (``src`` is the Source, ``tz`` its timezone or the crawl's default)::

    engine = src.forum.engine_or_none            # None: detected on every page
    sel = src.forum.overrides()                  # {} when the preset is used as is
    # sections: fetch request_url(section, engine) (a Discourse category becomes its .json)
    page = parse_section_page(resp.body, resp.url, content_type=ctype, engine=engine, selectors=sel)
    for thread_url in page.thread_urls:          # canonical thread identities, page 1, deduplicated
        fetch request_url(thread_url, page.engine)   # Discourse: /t/slug/123.json; others: as is
    if page.next_url: fetch it as the next section page (already a .json URL for Discourse)

    tp = parse_thread_page(resp.body, resp.url, content_type=ctype, engine=engine, selectors=sel,
                           timezone=tz)
    for i, post in enumerate(tp.posts, start=1):
        if not post.text: continue                # images only, deleted: count it as an empty post
        DocumentItem(id=doc_id(post.url), url=post.url, canonical_url=post.url, title=tp.title,
                     text=post.text, content_hash=post.content_hash, author=post.author,
                     published=post.published, date_source="post" if post.published else None,
                     thread={"url": tp.thread_url, "title": tp.title, "post_id": post.id,
                             "position": post.position or offset + i, "page_url": tp.url})
    if tp.next_url: fetch it (same thread; Discourse: the next ?page=N of the topic JSON)

``tp.thread_url`` is the thread's identity whatever page or URL form was fetched, so it replaces the
``mw_thread`` the spider carries today; ``post.url`` (thread URL + ``#`` + the engine's post anchor) is
stable across re-crawls and page shifts. ``post.position`` is the number the forum prints on the post
(or phpBB's ``start`` + rank, Discourse's ``post_number``); None where the page shows none.

Times: a post's own stamp only (never a member's join date, an edit notice or the page footer's "Bây giờ
là 16:25"). Offsetless and relative stamps ("Hôm nay, 16:21", "Hôm qua", "Today", "Yesterday") are read
in the clock offset the forum states ("Múi giờ GMT +7", "All times are GMT +7", "UTC+07:00"), else in
``timezone``.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, get_args
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from cssselect import SelectorError
from lxml import html as lxml_html
from lxml.etree import ParserError
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawlers.dates import DEFAULT_TIMEZONE, parse_date, zone
from crawlers.encoding import decode_html
from crawlers.identity import canonical_url, content_hash

Engine = Literal["xenforo1", "xenforo2", "vbulletin3", "vbulletin4", "vbulletin5", "phpbb3", "discourse"]
#: The engines with presets, as ``forum: {engine: …}`` names them.
ENGINES: tuple[str, ...] = get_args(Engine)
#: The engine name used when none is given or detected: XenForo-like defaults with broad fallbacks.
GENERIC = "generic"
#: What ``selectors=`` may override (the ``forum:`` fields of sources.yaml other than ``engine``).
SELECTOR_FIELDS = ("thread_link", "next_page", "title", "post", "post_id", "author", "time", "body")
#: phpBB's default page sizes (``posts_per_page``, ``topics_per_page``): pages from ``start=`` in URLs.
PHPBB_POSTS_PER_PAGE = 10
PHPBB_TOPICS_PER_PAGE = 25
#: Discourse serves a topic's posts 20 at a time (``chunk_size``) when the JSON does not say.
DISCOURSE_CHUNK = 20


@dataclass(frozen=True)
class ForumPost:
    """One post. ``id`` is the engine's anchor (``post-1234``, ``post1234``, ``p1234``, ``post_5``), ``url``
    the thread URL + ``#`` + ``id``; ``published`` is tz-aware UTC; ``text`` has quotes of other posts
    removed ('' when the post has no text)."""

    id: str
    url: str
    author: str | None
    published: datetime | None
    position: int | None
    text: str

    @property
    def content_hash(self) -> str:
        """:func:`crawlers.identity.content_hash` keyed by this post, so short posts link to nothing."""
        return content_hash(self.text, document=self.url)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "author": self.author,
            "published": self.published.isoformat() if self.published else None,
            "position": self.position,
            "text": self.text,
        }


@dataclass(frozen=True)
class ThreadPage:
    """One page of a thread: ``thread_url`` is the thread's identity (no pagination), ``url`` this page's
    canonical URL, ``next_url`` the next page to fetch. ``utc_offset`` is the clock offset the page
    states (``+07:00``), if it states one."""

    engine: str
    url: str
    thread_url: str
    page: int
    title: str
    posts: list[ForumPost]
    next_url: str | None
    utc_offset: str | None = None


@dataclass(frozen=True)
class SectionPage:
    """One page of a section's thread listing: thread identities in page order, and the next page to fetch."""

    engine: str
    thread_urls: list[str]
    next_url: str | None


# --- presets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Preset:
    """Selectors of one engine. Each field lists alternatives tried in order (the first that matches wins).

    ``post_id`` names attributes of the post element whose digits make the anchor ``anchor.format(digits)``;
    ``author`` entries name an attribute of the post element or else a CSS selector of the handle inside it;
    ``post_filter`` is a regex the post element's ``id`` must match (drops look-alike containers).
    """

    post: tuple[str, ...]
    post_id: tuple[str, ...]
    anchor: str
    author: tuple[str, ...]
    time: tuple[str, ...]
    body: tuple[str, ...]
    quote: tuple[str, ...]
    title: tuple[str, ...]
    thread_link: tuple[str, ...]
    next_page: tuple[str, ...]
    position: tuple[str, ...] = ()
    post_filter: str | None = None
    raw_post_id: bool = False


_GENERIC_QUOTES = ("blockquote.bbCodeBlock--quote", ".bbCodeQuote", ".bbcode_quote", "aside.quote", "div.quote")
_NEXT_FALLBACK = ("link[rel=next]", "a[rel=next]")

PRESETS: dict[str, _Preset] = {
    "xenforo1": _Preset(
        post=("li.message[id^='post-']",),
        post_id=("id",),
        anchor="post-{}",
        author=("data-author", ".messageUserInfo .username"),
        time=(".messageMeta .DateTime", ".privateControls .DateTime"),
        body=(".messageContent .messageText", ".messageText"),
        quote=(".bbCodeQuote",),
        title=(".titleBar h1",),
        thread_link=(".discussionListItem h3.title a.PreviewTooltip", ".discussionListItem .title a[href*='threads/']"),
        next_page=(".PageNav nav a.text", *_NEXT_FALLBACK),
        position=(".messageMeta .postNumber",),
    ),
    "xenforo2": _Preset(
        post=("article.message--post", "article.message[data-content]"),
        post_id=("data-content", "id"),
        anchor="post-{}",
        author=("data-author", ".message-name .username"),
        time=(".message-attribution-main time", ".message-attribution time.u-dt"),
        body=(".message-body .bbWrapper", ".message-body"),
        quote=(".bbCodeBlock--quote",),
        title=("h1.p-title-value",),
        thread_link=(".structItem-title a[data-tp-primary]", "a.thread-title", ".structItem-title a:not(.labelLink)"),
        next_page=("a.pageNav-jump--next", *_NEXT_FALLBACK),
        position=(".message-attribution-opposite",),
    ),
    "vbulletin3": _Preset(
        post=("table[id^='post']",),
        post_filter=r"^post\d+$",
        post_id=("id",),
        anchor="post{}",
        author=("a.bigusername", ".bigusername"),
        time=("td.thead",),
        body=("div[id^='post_message_']",),
        quote=("div:has(> div.smallfont + table)",),
        title=("td.navbar strong",),
        thread_link=("a[id^='thread_title_']",),
        next_page=(".pagenav a[title^='Trang kế']", ".pagenav a[title^='Next Page']", *_NEXT_FALLBACK),
        position=("a[id^='postcount']",),
    ),
    "vbulletin4": _Preset(
        post=("#posts > li[id^='post_']",),
        post_filter=r"^post_\d+$",
        post_id=("id",),
        anchor="post{}",
        author=(".userinfo .username", ".username_container .username"),
        time=(".posthead .date", ".postdate .date"),
        body=("blockquote.postcontent", ".postcontent"),
        quote=(".bbcode_quote",),
        title=(".threadtitle a", ".threadtitle"),
        thread_link=("h3.threadtitle a.title", "a.title[id^='thread_title_']"),
        next_page=(".pagination a[rel=next]", *_NEXT_FALLBACK),
        position=("a.postcounter",),
    ),
    "vbulletin5": _Preset(
        post=("li.b-post[data-node-id]",),
        post_id=("data-node-id",),
        anchor="post{}",
        author=(".b-userinfo .author a", ".b-userinfo .author"),
        time=(".b-post__timestamp time", ".b-post__timestamp"),
        body=(".js-post__content-text", ".b-post__content"),
        quote=(".bbcode_quote",),
        title=("h1.main-title",),
        thread_link=("a.topic-title",),
        next_page=(".pagenav a[rel=next]", *_NEXT_FALLBACK),
        position=(".b-post__count",),
    ),
    "phpbb3": _Preset(
        post=("div.post[id^='p']",),
        post_filter=r"^p\d+$",
        post_id=("id",),
        anchor="p{}",
        author=(
            ".postprofile .username",
            ".postprofile .username-coloured",
            "p.author .username",
            "p.author .username-coloured",
            ".postprofile dt a",
            "p.author strong",
        ),
        time=("p.author time", "p.author"),
        body=("div.content",),
        quote=("blockquote",),
        title=("h2.topic-title a", "h2.topic-title", "#page-body h2 a"),
        thread_link=("a.topictitle",),
        next_page=(".pagination li.next a", ".pagination a[rel=next]", *_NEXT_FALLBACK),
    ),
    "discourse": _Preset(  # the HTML Discourse serves to crawlers; the spider reads the JSON instead
        post=("div.crawler-post[id^='post_']", "div[itemprop=comment]"),
        post_id=("id",),
        anchor="post_{}",
        author=(".creator [itemprop=name]", ".creator a"),
        time=("time.post-time", "[itemprop=datePublished]"),
        body=(".post[itemprop=text]", ".post"),
        quote=("aside.quote",),
        title=("#topic-title h1 a", "#topic-title h1"),
        thread_link=("a.raw-topic-link", "a.title.raw-link"),
        next_page=_NEXT_FALLBACK,
        position=("[itemprop=position]",),
    ),
    GENERIC: _Preset(  # the defaults forum sources had before presets (XenForo-like), with broad fallbacks
        post=("article.message",),
        post_id=("id",),
        anchor="{}",
        raw_post_id=True,
        author=("data-author", ".username"),
        time=("time",),
        body=(".message-body",),
        quote=("blockquote",),
        title=("h1",),
        thread_link=("a.thread-title", ".structItem-title a"),
        next_page=("a.pageNav-next", *_NEXT_FALLBACK),
    ),
}


def preset(engine: str, selectors: Mapping[str, str] | None = None) -> _Preset:
    """The preset of ``engine`` (one of :data:`ENGINES` or :data:`GENERIC`) with ``selectors`` overriding
    it field by field. ValueError for an unknown engine or field."""
    try:
        base = PRESETS[engine]
    except KeyError:
        raise ValueError(f"unknown forum engine {engine!r} (known: {', '.join(ENGINES)})") from None
    if not selectors:
        return base
    unknown = set(selectors) - set(SELECTOR_FIELDS)
    if unknown:
        raise ValueError(f"unknown forum selector field(s): {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {k: (v,) for k, v in selectors.items() if v}
    if "post" in changes:
        changes["post_filter"] = None
    if "post_id" in changes:
        changes["raw_post_id"] = True
        changes["anchor"] = "{}"
    return replace(base, **changes)


# --- engine detection ---------------------------------------------------------------------------------

_GENERATOR = re.compile(r"<meta[^>]+name=[\"']generator[\"'][^>]*content=[\"']([^\"']+)", re.I)
_GENERATOR_REVERSED = re.compile(r"<meta[^>]+content=[\"']([^\"']+)[\"'][^>]*name=[\"']generator[\"']", re.I)
_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("xenforo2", re.compile(r"<html[^>]+id=[\"']XF[\"']|data-xf-init=|\bXF\.config\b|\bXF\.ready\b", re.I)),
    ("xenforo1", re.compile(r"<html[^>]+id=[\"']XenForo[\"']|XenForo\.init|id=[\"']messageList[\"']", re.I)),
    ("discourse", re.compile(r"crawler-post|data-discourse-|<meta[^>]+discourse", re.I)),
    ("vbulletin5", re.compile(r"class=[\"'][^\"']*\bb-post\b|js-post__content-text|vBulletin\.options", re.I)),
    ("vbulletin4", re.compile(r"class=[\"'][^\"']*\b(?:postbitlegacy|postcontainer)\b|"
                              r"id=[\"']pagination_top[\"']|threadbit\b", re.I)),
    ("vbulletin3", re.compile(r"vbulletin_global\.js|vbmenu_register|id=[\"']post_message_\d+[\"']|"
                              r"id=[\"']threadbits_forum_\d+", re.I)),
    ("phpbb3", re.compile(r"<body[^>]+id=[\"']phpbb[\"']|class=[\"']postprofile[\"']|powered by <a[^>]*phpbb", re.I)),
)  # fmt: skip
_DISCOURSE_TOPIC = re.compile(r"^(?P<pre>.*?/t/)(?:(?P<slug>[^/.]+)/)?(?P<id>\d+)(?:\.json)?(?:/(?P<post>\d+))?/?$")
_DISCOURSE_URL = re.compile(r"/(?:t/[^/]+/\d+|c/.+/\d+|latest)(?:\.json)?/?$")


def detect_engine(body: bytes | str, url: str | None = None, content_type: str | None = None) -> str | None:
    """The engine that made this page (one of :data:`ENGINES`), or None when it is no known forum's.

    Reads Discourse's JSON keys, the generator meta tag, then markup that only that engine writes (the
    first 400 kB). ``url`` is accepted for callers that have it but never decides alone: a news page that
    links to ``viewtopic.php`` or ``/t/slug/123`` stays unknown."""
    text = _as_text(body, content_type)
    if _looks_json(text, content_type):
        data = _json(text)
        if isinstance(data, dict) and ("post_stream" in data or "topic_list" in data):
            return "discourse"
        return None
    head = text[:400_000]
    generator = _GENERATOR.search(head) or _GENERATOR_REVERSED.search(head)
    if generator:
        name = generator.group(1).lower()
        version = re.search(r"vbulletin\s*(\d)", name)
        if version and version.group(1) in "345":
            return f"vbulletin{version.group(1)}"
        if "discourse" in name:
            return "discourse"
    for engine, pattern in _MARKERS:
        if pattern.search(head):
            return engine
    return None


# --- URLs -----------------------------------------------------------------------------------------------

# Session ids, search highlights and redirects: never part of a page's identity.
_NOISE_PARAMS = {"s", "sid", "highlight", "hilit", "viewfull", "goto", "view", "pp", "postcount", "noquiz"}
_XF_THREAD = re.compile(r"^(?P<thread>(?:.*?/)?threads/[^/]+\.\d+/)(?:page-(?P<page>\d+)|post-\d+|unread|latest)?/?$")
_DASH_PAGE = re.compile(r"^(?P<base>.*?/)page-(?P<page>\d+)/?$")  # XenForo: /page-3
_PLAIN_PAGE = re.compile(r"^(?P<base>.*?)/page(?P<page>\d+)/?$")  # vBulletin 4/5 friendly URLs: /page4
_VBSEO_PAGE = re.compile(r"^(?P<base>.*/)index(?P<page>\d+)\.html$")  # vBSEO: /f12/slug-123/index4.html
_ROUTE = re.compile(r"^[^=&]*/[^=&]*$")  # a path in the query: index.php?threads/x.1/page-2


@dataclass(frozen=True)
class _Split:
    """A URL split into its identity (canonical, no pagination), its page number, and an order key
    (phpBB's ``start`` where it has one, else the page) for finding the next page."""

    identity: str
    page: int
    order: int


def _int(value: str | None, default: int = 0) -> int:
    try:
        return max(0, int(value or default))
    except ValueError:
        return default


def _strip_path_page(path: str) -> tuple[str, int | None]:
    """A path without its pagination suffix, and the page it named (None when it named none)."""
    for pattern in (_XF_THREAD, _DASH_PAGE, _VBSEO_PAGE, _PLAIN_PAGE):
        match = pattern.match(path)
        if match:
            groups = match.groupdict()
            base = groups.get("thread") or groups.get("base") or "/"
            page = groups.get("page")
            return base, int(page) if page else (1 if pattern is _XF_THREAD else None)
    return path, None


def _split(url: str, engine: str | None = None) -> _Split:
    parts = urlsplit(url.strip())
    path, query = parts.path or "/", parts.query
    origin = f"{parts.scheme}://{parts.netloc}"
    if engine in (None, "discourse", GENERIC):
        topic = _DISCOURSE_TOPIC.match(path)
        if topic and (engine == "discourse" or topic.group("slug")):
            page = _int(dict(parse_qsl(query)).get("page"), 1) or 1
            slug = f"{topic.group('slug')}/" if topic.group("slug") else ""
            return _Split(canonical_url(f"{origin}{topic.group('pre')}{slug}{topic.group('id')}"), page, page)
    if _ROUTE.match(query):  # XenForo without URL rewriting, vBulletin 4 "basic" friendly URLs
        route, page = _strip_path_page(query)
        return _Split(canonical_url(urlunsplit((parts.scheme, parts.netloc, path, route, ""))), page or 1, page or 1)
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() not in _NOISE_PARAMS]
    names = {k.lower() for k, _ in params}
    script = path.rsplit("/", 1)[-1].lower()
    page = _int(dict(params).get("page"), 1) or 1
    if engine == "discourse" and "page" in dict(params):  # topic lists count pages from 0 (topics from 1)
        page = _int(dict(params).get("page")) + 1
    order = page
    if script in ("viewtopic.php", "viewforum.php"):
        start = _int(dict(params).get("start"))
        keep = ("t",) if script == "viewtopic.php" and "t" in names else ("f",) if script == "viewforum.php" else ()
        if keep:
            params = [(k, v) for k, v in params if k.lower() in keep]
        else:  # viewtopic.php?p=1234: only the post is named, keep it
            params = [(k, v) for k, v in params if k.lower() != "start"]
        per_page = PHPBB_POSTS_PER_PAGE if script == "viewtopic.php" else PHPBB_TOPICS_PER_PAGE
        page, order = start // per_page + 1, start
    elif script in ("showthread.php", "forumdisplay.php", "printthread.php"):
        thread_key = next((k for k, _ in params if k.lower() in ("t", "threadid", "f", "forumid")), None)
        if thread_key:
            params = [(k, v) for k, v in params if k == thread_key]
        else:
            params = [(k, v) for k, v in params if k.lower() != "page"]
        path, path_page = _strip_path_page(path)  # showthread.php/123-slug/page2
        if path_page:
            page = order = path_page
    else:
        params = [(k, v) for k, v in params if k.lower() != "page"]
        path, path_page = _strip_path_page(path)
        if path_page:
            page = order = path_page
    identity = canonical_url(urlunsplit((parts.scheme, parts.netloc, path, urlencode(params), "")))
    return _Split(identity, page, order)


def thread_identity(url: str, engine: str | None = None) -> tuple[str, int]:
    """``(thread URL without pagination, page number)`` for any page of a thread.

    ``/threads/x.123/page-3`` -> ``/threads/x.123/``; ``?page=N``/``&page=N`` dropped;
    ``showthread.php?t=123&page=4`` -> ``showthread.php?t=123``; ``/threads/123-slug/page4`` and
    ``/forum/a/123-slug/page4`` lose ``/page4``; vBSEO ``index4.html`` goes; phpBB
    ``viewtopic.php?f=2&t=123&start=40`` -> ``viewtopic.php?t=123`` (page from ``start`` at phpBB's default
    10 posts a page); Discourse ``/t/slug/123/4`` and ``/t/slug/123.json?page=2`` -> ``/t/slug/123``.
    Session ids (``s``, ``sid``) and highlights go everywhere. The URL is canonical (crawlers.identity).
    """
    split = _split(url, engine)
    return split.identity, split.page


def discourse_json_url(url: str) -> str:
    """The public JSON for a Discourse page: ``/t/slug/123[/4]`` -> ``/t/slug/123.json`` (``?page=N`` kept),
    ``/c/slug/5`` -> ``/c/slug/5.json``, ``/latest`` or the site root -> ``/latest.json``. JSON URLs are
    returned as they are."""
    parts = urlsplit(url.strip())
    path = parts.path or "/"
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in _NOISE_PARAMS]
    topic = _DISCOURSE_TOPIC.match(path)
    if path.endswith(".json"):
        json_path = path
    elif topic:
        slug = f"{topic.group('slug')}/" if topic.group("slug") else ""
        json_path = f"{topic.group('pre')}{slug}{topic.group('id')}.json"
        params = [(k, v) for k, v in params if k == "page"]
    elif path in ("", "/"):
        json_path = "/latest.json"
    else:
        json_path = path.rstrip("/") + ".json"
    return canonical_url(urlunsplit((parts.scheme, parts.netloc, json_path, urlencode(params), "")))


def request_url(url: str, engine: str | None) -> str:
    """What to fetch for a section or thread URL: the Discourse JSON for Discourse, else ``url``."""
    return discourse_json_url(url) if engine == "discourse" else url


# --- times ------------------------------------------------------------------------------------------------

_STATED_OFFSET = re.compile(
    r"(?:múi giờ|mui gio|all times are|time ?zone|giờ chuẩn|tất cả (?:các )?(?:mốc )?thời gian)"
    r"[\s:]*(?:là\s*|theo\s*)?\(?\s*(?:gmt|utc)(?:\s*([+\-−–])\s*(\d{1,2})(?:\s*[:h.]?\s*(\d{2}))?)?",
    re.IGNORECASE,
)
_EPOCH = re.compile(r"^\d{9,11}$")
# Texts that are not a post's own time: join dates, the server clock in the footer, edit notices.
_NOT_POST_TIME = re.compile(
    r"tham gia|gia nhập|ngày đăng ký|join|registered|bây giờ là|time now|thời gian hiện tại|it is currently|"
    r"hiện tại là|múi giờ|all times are|sửa lần cuối|last edited|chỉnh sửa lần",
    re.IGNORECASE,
)
# Blocks inside a post that hold other times: member info, edit notices, signatures, footers.
_NOT_POST_TIME_BLOCK = re.compile(
    r"^(?:message-user|message-userdetails|message-userextras|message-cell--user|messageuserinfo|"
    r"messageuserblock|extrauserinfo|userinfo|userinfo_extra|user-info|userdetails|postprofile|b-userinfo|"
    r"b-userinfo__details|memberinfo|message-lastedit|lastedited|lastedit|editedby|message-signature|"
    r"signature|signaturecontainer|footer|p-footer|footer_time|copyright)$",
    re.IGNORECASE,
)
_POSITION = re.compile(r"#\s*(\d+)|^\s*(\d+)\s*$")


def stated_offset(text: str) -> timedelta | None:
    """The clock offset a forum states in its header or footer ("Múi giờ GMT +7", "All times are GMT +7",
    "Múi giờ UTC+07:00", "All times are GMT"), or None."""
    match = _STATED_OFFSET.search(text)
    if not match:
        return None
    sign, hours, minutes = match.groups()
    if not sign:
        return timedelta(0)
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta > timedelta(hours=14):
        return None
    return delta if sign == "+" else -delta


def _offset_label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _zone_for(offset: timedelta | None, fallback: str) -> str:
    """An IANA zone name for a whole-hour offset (``+7`` -> ``Etc/GMT-7``: the Etc sign is inverted),
    else ``fallback``. crawlers.dates.parse_date takes names, not offsets."""
    if offset is None:
        return fallback
    minutes = int(offset.total_seconds() // 60)
    if minutes % 60 or not -12 <= minutes // 60 <= 14:
        return fallback
    hours = minutes // 60
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def parse_post_time(values: Iterable[str | None], *, timezone: str, now: datetime) -> datetime | None:
    """The first of ``values`` that reads as a time (UTC): a Unix time (XenForo's ``data-time``), ISO 8601,
    or a stamp such as "12-03-2024, 08:05", "Hôm nay, 16:21", "Yesterday, 04:21 PM" read in ``timezone``.
    Join dates and server clocks are refused; so are times more than a day after ``now``."""
    limit = now.astimezone(UTC) + timedelta(days=1)
    for value in values:
        text = " ".join((value or "").split())
        if not text or _NOT_POST_TIME.search(text):
            continue
        if "»" in text:  # phpBB 3.0: "bởi abc » Hôm nay, 16:21"
            text = text.rsplit("»", 1)[1].strip()
        if _EPOCH.match(text):
            found: datetime | None = datetime.fromtimestamp(int(text), UTC)
        else:
            found = parse_date(text, timezone=timezone, now=now)
        if found is not None and found <= limit:
            return found
    return None


# --- HTML pages -----------------------------------------------------------------------------------------

_TRANSLATOR = HTMLTranslator()
_BLOCKS = {"p", "div", "li", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "ul", "ol",
           "table", "dd", "dt", "section", "article", "aside"}  # fmt: skip


@lru_cache(maxsize=256)
def _descendant_xpath(css: str) -> str:
    return _TRANSLATOR.css_to_xpath(css, prefix="descendant::")


def _as_text(body: bytes | str, content_type: str | None) -> str:
    if isinstance(body, str):
        return unicodedata.normalize("NFC", body)
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"expected str or bytes, not {type(body).__name__}")
    data = bytes(body)
    if _looks_json(data[:64].decode("latin-1"), content_type):
        return unicodedata.normalize("NFC", data.decode("utf-8", errors="replace"))
    return decode_html(data, content_type)[0]


def _looks_json(text: str, content_type: str | None) -> bool:
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return mime.endswith("json") or text.lstrip("\ufeff \t\r\n").startswith("{")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _resolve_engine(engine: str | None, text: str, url: str, content_type: str | None) -> str:
    if engine in (None, "", "auto"):
        return detect_engine(text, url, content_type) or GENERIC
    if engine not in PRESETS:
        raise ValueError(f"unknown forum engine {engine!r} (known: {', '.join(ENGINES)})")
    return engine


def _selector(text: str, url: str) -> tuple[Selector, str]:
    """The parsed page and the URL its links are relative to (``<base href>`` where the page has one)."""
    sel = Selector(text=text or "<html></html>", type="html", base_url=url)
    base = sel.css("base::attr(href)").get()
    return sel, urljoin(url, base.strip()) if base else url


def _first(scope: Selector, alternatives: Iterable[str]) -> list[Selector]:
    for css in alternatives:
        found = scope.css(css)
        if found:
            return list(found)
    return []


def _clean(value: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", value or "").split())


def _strings(node: Selector) -> str:
    """All text of a node (or the string a ``::attr``/``::text`` selector gave)."""
    if isinstance(node.root, str):
        return _clean(node.root)
    return _clean(" ".join(node.root.itertext()))


def _hrefs(scope: Selector, alternatives: Iterable[str], base: str) -> list[str]:
    urls: list[str] = []
    for css in alternatives:
        for node in scope.css(css):
            href = node.root if isinstance(node.root, str) else node.root.get("href")
            if href and not href.strip().lower().startswith(("javascript:", "#", "mailto:")):
                urls.append(urljoin(base, href.strip()))
        if urls:
            break
    return urls


def _choose_next(candidates: list[str], all_links: list[str], current: str, engine: str) -> str | None:
    """The next page: the selector's link to a later page of the same thread or section (the nearest), else
    a selector link in a URL form we cannot place, else the nearest later page among all the page's links."""
    here = _split(current, engine)
    placed = [(s.order, c) for c in candidates if (s := _split(c, engine)).identity == here.identity]
    later = [(order, c) for order, c in placed if order > here.order]
    if later:
        return canonical_url(min(later)[1])
    if candidates and not placed:
        other = [c for c in candidates if canonical_url(c) != canonical_url(current)]
        return canonical_url(other[0]) if other else None
    if candidates:
        return None  # the selector found only earlier pages: this is the last one
    scan = [(s.order, c) for c in all_links if (s := _split(c, engine)).identity == here.identity]
    later = [(order, c) for order, c in scan if order > here.order]
    return canonical_url(min(later)[1]) if later else None


def _body_text(node: Selector, quotes: Iterable[str]) -> str:
    """Readable text of a post body: quotes of other posts, scripts and styles removed; blocks and line
    breaks become newlines; NFC. (The spider's ``post_text`` drops every ``<blockquote>``, which is the
    body itself on vBulletin 4 and XenForo 1; here only what is inside the body goes.)"""
    if isinstance(node.root, str):
        return unicodedata.normalize("NFC", node.root.strip())
    root = deepcopy(node.root)
    root.tail = None
    doomed: list[Any] = []
    for css in quotes:
        doomed.extend(root.xpath(_descendant_xpath(css)))
    doomed.extend(root.xpath(".//script|.//style|.//noscript|.//comment()"))
    for element in doomed:
        if element is not root and element.getparent() is not None:
            element.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return unicodedata.normalize("NFC", "\n".join(line for line in lines if line))


def _outside_post_time(node: Any, post: Any) -> bool:
    """True when ``node`` sits in member info, an edit notice, a signature or a footer inside ``post``."""
    current = node
    while current is not None and current is not post:
        marker = f"{current.get('class', '')} {current.get('id', '')}"
        if current.tag == "footer" and "message-footer" not in marker:
            return True
        if any(_NOT_POST_TIME_BLOCK.match(token) for token in marker.split()):
            return True
        current = current.getparent()
    return False


def _time_values(node: Selector) -> list[str | None]:
    if isinstance(node.root, str):
        return [node.root]
    el = node.root
    values = [el.get("data-time"), el.get("datetime")]
    if el.get("data-datestring") and el.get("data-timestring"):
        values.append(f"{el.get('data-datestring')} {el.get('data-timestring')}")
    values += [el.get("title"), _strings(node)]
    return values


def _post_time(post: Selector, pre: _Preset, zone_name: str, now: datetime) -> datetime | None:
    for alternatives in (pre.time, ("time[datetime]", "[data-time]", ".DateTime", ".date", ".postdate")):
        for node in _first(post, alternatives):
            if not isinstance(node.root, str) and _outside_post_time(node.root, post.root):
                continue
            found = parse_post_time(_time_values(node), timezone=zone_name, now=now)
            if found is not None:
                return found
    return None


def _attribute_or_css(post: Selector, alternatives: Iterable[str]) -> str | None:
    for spec in alternatives:
        value = post.root.get(spec) if re.match(r"^[a-zA-Z_][\w.:-]*$", spec) else None
        if value and value.strip():
            return _clean(value)
        try:
            nodes = post.css(spec)
        except (SelectorError, ValueError):  # an attribute name that is no CSS ("data:x"): nothing to select
            continue
        for node in nodes:
            text = _strings(node)
            if text:
                return text
    return None


def _post_anchor(post: Selector, pre: _Preset, text: str) -> str:
    if pre.raw_post_id:
        value = _attribute_or_css(post, pre.post_id)
        if value:
            return value
    else:
        for attr in pre.post_id:
            digits = re.search(r"\d+", post.root.get(attr) or "")
            if digits:
                return pre.anchor.format(digits.group(0))
    return "post-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _position(post: Selector, pre: _Preset) -> int | None:
    for node in _first(post, pre.position):
        match = _POSITION.search(_strings(node))
        if match:
            return int(match.group(1) or match.group(2))
        number = node.root.get("name") if not isinstance(node.root, str) else None
        if number and number.isdigit():
            return int(number)
    return None


def _title(sel: Selector, pre: _Preset) -> str:
    for node in _first(sel, (*pre.title, "h1")):
        text = _strings(node)
        if text:
            return text
    title = _clean(sel.css("title::text").get())
    return re.split(r"\s+[|–-]\s+", title, maxsplit=1)[0] if title else ""


def _page_clock(sel: Selector, posts: list[Selector]) -> timedelta | None:
    """The offset the page states, read outside the posts (a post may mention any time zone)."""
    root = deepcopy(sel.root)
    inside = {id(p.root) for p in posts}
    doomed = [copy for original, copy in zip(sel.root.iter(), root.iter(), strict=True) if id(original) in inside]
    doomed += root.xpath("//script|//style")
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()
    return stated_offset(" ".join(" ".join(root.itertext()).split()))


def _thread_identity_from_page(sel: Selector, split: _Split, base: str, pre: _Preset, engine: str) -> str:
    """The thread URL, from the page itself when the URL names a post but no thread (``viewtopic.php?p=1``)."""
    query = dict(parse_qsl(urlsplit(split.identity).query))
    if "p" not in query or "t" in query:
        return split.identity
    for href in _hrefs(sel, ("link[rel=canonical]", *pre.title), base):
        found = _split(href, engine)
        if "t" in dict(parse_qsl(urlsplit(found.identity).query)):
            return found.identity
    return split.identity


def _phpbb_page(sel: Selector) -> int | None:
    for css in (".pagination li.active span::text", ".pagination strong::text"):
        value = (sel.css(css).get() or "").strip()
        if value.isdigit():
            return int(value)
    return None


def _timezone_and_now(timezone: str, now: datetime | None) -> datetime:
    tz = zone(timezone)  # ValueError for an unknown zone, before any work
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=tz)


def parse_thread_page(
    body: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    engine: str | None = None,
    selectors: Mapping[str, str] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> ThreadPage:
    """Posts of one thread page (HTML, or Discourse's topic JSON).

    ``engine`` None or "auto" detects it (:data:`GENERIC` when nothing matches); ``selectors`` override
    the preset field by field (:data:`SELECTOR_FIELDS`); ``timezone`` (IANA) reads stamps when the page
    states no clock offset; relative stamps count from ``now`` (default: the current time). ValueError
    for an unknown engine, selector field or time zone."""
    text = _as_text(body, content_type)
    current = _timezone_and_now(timezone, now)
    name = _resolve_engine(engine, text, url, content_type)
    if name == "discourse" and _looks_json(text, content_type):
        return _discourse_thread(_json(text), url)
    pre = preset(name, selectors)
    sel, base = _selector(text, url)
    wanted = re.compile(pre.post_filter or "")
    posts = [p for p in sel.css(",".join(pre.post)) if wanted.match(p.root.get("id") or "")]
    offset = _page_clock(sel, posts)
    zone_name = _zone_for(offset, timezone)
    split = _split(url, name)
    thread_url = _thread_identity_from_page(sel, split, base, pre, name)
    page = split.page
    start = 0
    if name == "phpbb3":
        start = split.order
        page = _phpbb_page(sel) or page
    found: list[ForumPost] = []
    for index, post in enumerate(posts, start=1):
        bodies = _first(post, pre.body)
        post_text = _body_text(bodies[0], (*pre.quote,)) if bodies else ""
        anchor = _post_anchor(post, pre, post_text)
        position = _position(post, pre)
        if position is None and name == "phpbb3":
            position = start + index
        found.append(
            ForumPost(
                id=anchor,
                url=canonical_url(f"{thread_url}#{anchor}", keep_fragment=True),
                author=_attribute_or_css(post, pre.author),
                published=_post_time(post, pre, zone_name, current),
                position=position,
                text=post_text,
            )
        )
    candidates = _hrefs(sel, pre.next_page, base)
    all_links = [urljoin(base, h) for h in sel.css("a::attr(href)").getall()]
    next_url = _choose_next(candidates, all_links, url, name)
    if name == "discourse" and next_url:
        next_url = discourse_json_url(next_url)
    return ThreadPage(
        engine=name,
        url=canonical_url(url),
        thread_url=thread_url,
        page=page,
        title=_title(sel, pre),
        posts=found,
        next_url=next_url,
        utc_offset=_offset_label(offset) if offset is not None else None,
    )


def parse_section_page(
    body: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    engine: str | None = None,
    selectors: Mapping[str, str] | None = None,
) -> SectionPage:
    """Threads listed on one section page (HTML, or a Discourse category/latest JSON): their identities
    (canonical, deduplicated, in page order) and the next listing page to fetch."""
    text = _as_text(body, content_type)
    name = _resolve_engine(engine, text, url, content_type)
    if name == "discourse" and _looks_json(text, content_type):
        return _discourse_section(_json(text), url)
    pre = preset(name, selectors)
    sel, base = _selector(text, url)
    threads: list[str] = []
    for href in _hrefs(sel, pre.thread_link, base):
        identity = _split(href, name).identity
        if identity not in threads:
            threads.append(identity)
    candidates = _hrefs(sel, pre.next_page, base)
    all_links = [urljoin(base, h) for h in sel.css("a::attr(href)").getall()]
    next_url = _choose_next(candidates, all_links, url, name)
    if name == "discourse" and next_url:
        next_url = discourse_json_url(next_url)
    return SectionPage(engine=name, thread_urls=threads, next_url=next_url)


# --- Discourse JSON --------------------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _discourse_thread(data: Any, url: str) -> ThreadPage:
    """A page of ``/t/<slug>/<id>.json[?page=N]``: ``post_stream.posts`` (regular posts only; whispers,
    moderator actions and deleted posts skipped), the public ``username`` (never the ``name``), ``cooked``
    HTML without quotes and oneboxes. The next page exists while ``page * chunk_size`` is below the
    topic's post count."""
    if not isinstance(data, dict) or not isinstance(data.get("post_stream"), dict):
        raise ValueError(f"{url}: not a Discourse topic JSON (no post_stream)")
    split = _split(url, "discourse")
    topic_id, slug = data.get("id"), data.get("slug")
    thread_url = canonical_url(f"{_origin(url)}/t/{slug}/{topic_id}") if topic_id and slug else split.identity
    posts: list[ForumPost] = []
    for item in data["post_stream"].get("posts") or []:
        if not isinstance(item, dict) or item.get("post_type", 1) != 1 or item.get("deleted_at") or item.get("hidden"):
            continue
        number = item.get("post_number")
        anchor = f"post_{number}" if number else f"post-{item.get('id')}"
        published = _iso(item.get("created_at"))
        posts.append(
            ForumPost(
                id=anchor,
                url=canonical_url(f"{thread_url}#{anchor}", keep_fragment=True),
                author=_clean(item.get("username")) or None,
                published=published,
                position=number if isinstance(number, int) else None,
                text=_cooked_text(item.get("cooked") or ""),
            )
        )
    chunk = data.get("chunk_size") or DISCOURSE_CHUNK
    stream = data["post_stream"].get("stream")
    total = len(stream) if isinstance(stream, list) and stream else data.get("posts_count") or 0
    page = split.page
    next_url = discourse_json_url(f"{thread_url}?page={page + 1}") if page * chunk < total else None
    return ThreadPage(
        engine="discourse",
        url=canonical_url(url),
        thread_url=thread_url,
        page=page,
        title=_clean(data.get("title")),
        posts=posts,
        next_url=next_url,
    )


def _discourse_section(data: Any, url: str) -> SectionPage:
    """``/c/<slug>/<id>.json`` or ``/latest.json``: ``topic_list.topics[]`` -> ``/t/<slug>/<id>``;
    ``topic_list.more_topics_url`` (an HTML path) -> the next page's JSON URL."""
    if not isinstance(data, dict) or not isinstance(data.get("topic_list"), dict):
        raise ValueError(f"{url}: not a Discourse topic list JSON (no topic_list)")
    origin = _origin(url)
    threads: list[str] = []
    for topic in data["topic_list"].get("topics") or []:
        if isinstance(topic, dict) and topic.get("id") and topic.get("slug"):
            thread = canonical_url(f"{origin}/t/{topic['slug']}/{topic['id']}")
            if thread not in threads:
                threads.append(thread)
    more = data["topic_list"].get("more_topics_url")
    next_url = discourse_json_url(urljoin(url, more)) if isinstance(more, str) and more else None
    return SectionPage(engine="discourse", thread_urls=threads, next_url=next_url)


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _cooked_text(cooked: str) -> str:
    if not cooked.strip():
        return ""
    try:
        root = lxml_html.fragment_fromstring(cooked, create_parent="div")
    except ParserError:
        return ""
    return _body_text(Selector(root=root), ("aside.quote", "aside.onebox", ".lightbox-wrapper .meta"))


__all__ = [
    "DISCOURSE_CHUNK",
    "ENGINES",
    "GENERIC",
    "PRESETS",
    "SELECTOR_FIELDS",
    "Engine",
    "ForumPost",
    "SectionPage",
    "ThreadPage",
    "detect_engine",
    "discourse_json_url",
    "parse_post_time",
    "parse_section_page",
    "parse_thread_page",
    "preset",
    "request_url",
    "stated_offset",
    "thread_identity",
]
