"""The ``forum`` spider: section -> thread listing (paginated) -> thread pages (paginated), one document
per post, keyed by a stable URL (thread URL + the engine's post anchor).

Parsing is :mod:`crawlers.forums` (XenForo 1/2, vBulletin 3-5, phpBB 3, Discourse's public JSON;
detected, or forced with ``forum: {engine: …}``; a source's selectors override the preset field by
field). Thread pages are walked in order so each post knows its position in the thread; on a re-crawl
a page that is not due yet (see ``index.pages.RevisitPolicy``) or answers 304 costs nothing more, and
the walk continues at the next page we remembered.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.forums import parse_section_page, parse_thread_page, request_url
from crawlers.identity import doc_id
from crawlers.items import DocumentItem
from crawlers.spiders.base import SourceSpider
from enrich.language import detect_language
from index.pages import KnownPage


class ForumSpider(SourceSpider):
    name = "forum"
    kind = "forum"

    async def start(self) -> AsyncIterator[Any]:
        engine = self.source.forum.engine_or_none
        for url in self.source.sections:
            yield self.entry_request(request_url(url, engine), self.parse_section)

    def _content_type(self, response: Response) -> str | None:
        return (response.headers.get("Content-Type") or b"").decode("latin-1") or None

    def parse_section(self, response: Response) -> Iterator[Any]:
        forum = self.source.forum
        page = parse_section_page(response.body, response.url, content_type=self._content_type(response),
                                  engine=forum.engine_or_none, selectors=forum.overrides())
        self.count(f"engine/{page.engine}")
        for thread_url in page.thread_urls:
            if self.source.allows(thread_url):
                yield from self.thread_page_request(request_url(thread_url, page.engine), thread_url, offset=0)
        if page.next_url and self.source.allows(page.next_url):
            yield self.request(page.next_url, self.parse_section)

    def thread_page_request(self, page_url: str, thread_url: str, offset: int) -> Iterator[scrapy.Request]:
        request = self.page_request(page_url, self.parse_thread_page, "thread_page", mw_thread=thread_url,
                                    mw_offset=offset)
        if request is not None:
            yield request

    def known_fresh(self, request: scrapy.Request, known: KnownPage) -> Iterator[Any]:
        """A thread page not due yet: the walk goes on at the next page we remembered."""
        if known.next_url:
            offset = request.meta["mw_offset"] + len(known.doc_ids)
            yield from self.thread_page_request(known.next_url, request.meta["mw_thread"], offset)

    def parse_thread_page(self, response: Response) -> Iterator[Any]:
        thread_url: str = response.meta["mw_thread"]
        offset: int = response.meta["mw_offset"]
        if response.status == 304:
            page = self.not_modified(response, "thread_page")
            yield page
            if page.state.next_url:
                yield from self.thread_page_request(page.state.next_url, thread_url,
                                                    offset + len(page.state.doc_ids))
            return
        forum = self.source.forum
        tp = parse_thread_page(response.body, response.url, content_type=self._content_type(response),
                               engine=forum.engine_or_none, selectors=forum.overrides(), timezone=self.timezone)
        posts = list(self.documents(tp, response, offset))
        next_url = tp.next_url if tp.next_url and self.source.allows(tp.next_url) else None
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
        if next_url:
            yield from self.thread_page_request(next_url, tp.thread_url or thread_url, offset + len(tp.posts))

    def documents(self, tp: Any, response: Response, offset: int) -> Iterator[DocumentItem]:
        """One document per post with text (posts without any are counted, not indexed)."""
        for index, post in enumerate(tp.posts, start=1):
            if not post.text:
                self.count("empty_posts")
                continue
            if post.published is None:
                self.count("no_date")
            yield DocumentItem(
                id=doc_id(post.url),
                url=post.url,
                source=self.source.id,
                source_name=self.source.name,
                kind="forum",
                title=tp.title,
                text=post.text,
                content_hash=post.content_hash,
                language=detect_language(post.text, hint=self.source.language),
                canonical_url=post.url,
                published=post.published,
                author=post.author,
                date_source="post" if post.published else None,
                encoding=getattr(response, "encoding", None),
                thread={
                    "url": tp.thread_url,
                    "title": tp.title,
                    "post_id": post.id,
                    "position": post.position or offset + index,
                    "page_url": tp.url,
                },
            )
