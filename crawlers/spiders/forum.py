"""The ``forum`` spider: section -> thread listing (paginated) -> thread pages (paginated),
one document per post, keyed by a stable URL (thread URL + post anchor).

Thread pages are walked in order so each post knows its position in the thread; on a re-crawl a
page that is not due yet (see ``index.pages.RevisitPolicy``) or answers 304 costs nothing more, and the
walk continues at the next page we remembered.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from lxml import html as lxml_html
from scrapy.http import Response, TextResponse

from crawlers.dates import parse_date
from crawlers.identity import content_hash, doc_id
from crawlers.items import DocumentItem
from crawlers.spiders.base import SourceSpider
from enrich.language import detect_language
from index.pages import KnownPage

_PAGE_SUFFIX = re.compile(r"(/page-\d+/?|[?&]page=\d+)$")
_BLOCKS = {"p", "div", "li", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre"}


def post_text(fragment: str) -> str:
    """Readable text of a post body: quotes of earlier posts, scripts and styles removed;
    line breaks and blocks kept as newlines; NFC."""
    if not fragment.strip():
        return ""
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    for bad in root.xpath(".//blockquote|.//script|.//style|.//*[contains(@class,'bbCodeBlock--quote')]"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCKS:
            el.tail = "\n" + (el.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return unicodedata.normalize("NFC", "\n".join(line for line in lines if line))


class ForumSpider(SourceSpider):
    name = "forum"
    kind = "forum"

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.sections:
            yield self.entry_request(url, self.parse_section)

    def parse_section(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        sel = self.source.forum
        for href in response.css(_attr(sel.thread_link, "href")).getall():
            thread_url = self.canonical(_PAGE_SUFFIX.sub("/", response.urljoin(href)))
            if self.source.allows(thread_url):
                yield self.thread_page_request(thread_url, thread_url, offset=0)
        next_href = response.css(_attr(sel.next_page, "href")).get()
        if next_href:
            yield self.request(response.urljoin(next_href), self.parse_section)

    def thread_page_request(self, page_url: str, thread_url: str, offset: int) -> scrapy.Request:
        return self.page_request(page_url, self.parse_thread_page, "thread_page", mw_thread=thread_url,
                                 mw_offset=offset)

    def known_fresh(self, request: scrapy.Request, known: KnownPage) -> Iterator[Any]:
        """A thread page not due yet: the walk goes on at the next page we remembered."""
        if known.next_url:
            offset = request.meta["mw_offset"] + len(known.doc_ids)
            yield self.thread_page_request(known.next_url, request.meta["mw_thread"], offset)

    def parse_thread_page(self, response: Response) -> Iterator[Any]:
        thread_url: str = response.meta["mw_thread"]
        offset: int = response.meta["mw_offset"]
        if response.status == 304:
            page = self.not_modified(response, "thread_page")
            yield page
            if page.state.next_url:
                yield self.thread_page_request(page.state.next_url, thread_url, offset + len(page.state.doc_ids))
            return
        if not isinstance(response, TextResponse):
            return
        sel = self.source.forum
        title = " ".join(" ".join(response.css("h1 *::text, h1::text").getall()).split())
        posts = list(self.extract_posts(response, thread_url, title, offset))
        next_href = response.css(_attr(sel.next_page, "href")).get()
        next_url = self.canonical(response.urljoin(next_href)) if next_href else None
        fingerprint = hashlib.sha1("".join(p.content_hash for p in posts).encode()).hexdigest()
        known = response.meta.get("mw_known")
        state = self.page_state(
            response, "thread_page", next_url=next_url, content_hash=fingerprint, doc_ids=[p.id for p in posts]
        )
        if known is not None and known.content_hash == fingerprint:
            self.count("unchanged")
            yield self.page(state)
        else:
            yield self.page(state, posts)
        if next_url and self.source.allows(next_url):
            yield self.thread_page_request(next_url, thread_url, offset + len(posts))

    def extract_posts(self, response: TextResponse, thread_url: str, title: str, offset: int) -> Iterator[DocumentItem]:
        sel = self.source.forum
        timezone = self.timezone
        for index, post in enumerate(response.css(sel.post), start=1):
            text = post_text(post.css(sel.body).get() or "")
            if not text:
                self.count("empty_posts")
                continue
            anchor = post.attrib.get(sel.post_id) or "post-" + hashlib.sha1(text.encode()).hexdigest()[:12]
            author = post.attrib.get(sel.author) or (post.css(f"{sel.author}::text").get() or "").strip() or None
            time_el = post.css(sel.time)
            stamp = time_el.attrib.get("datetime") or time_el.attrib.get("data-time") or " ".join(
                time_el.css("::text").getall()
            )
            published = parse_date(stamp, timezone=timezone) if stamp else None
            url = f"{thread_url}#{anchor}"
            yield DocumentItem(
                id=doc_id(url),
                url=url,
                source=self.source.id,
                source_name=self.source.name,
                kind="forum",
                title=title,
                text=text,
                content_hash=content_hash(text),
                language=detect_language(text, hint=self.source.language),
                canonical_url=url,
                published=published,
                author=author,
                date_source="post" if published else None,
                encoding=response.encoding,
                thread={
                    "url": thread_url,
                    "title": title,
                    "post_id": anchor,
                    "position": offset + index,
                    "page_url": self.canonical(response.url),
                },
            )


def _attr(selectors: str, attr: str) -> str:
    """``"a.x, .y a"`` -> ``"a.x::attr(href), .y a::attr(href)"``: the pseudo-element on every alternative."""
    return ", ".join(f"{part.strip()}::attr({attr})" for part in selectors.split(",") if part.strip())
