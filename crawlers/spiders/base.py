"""What every mediawatch spider shares: its source, politeness, known pages and page bookkeeping."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawlers.identity import canonical_url
from crawlers.items import PageStateItem
from crawlers.sources import Source, load_sources
from crawlers.store import CrawlStore, KnownPage
from mediawatch.config import Settings, get_settings
from mediawatch.errors import UserError


class SourceSpider(scrapy.Spider):
    """Crawls exactly one registered source: ``scrapy crawl <kind> -a source=ID``."""

    kind: str = ""
    source: Source
    store: CrawlStore

    def __init__(self, source: str | None = None, sources_file: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mw_settings: Settings = get_settings()
        if not source:
            raise UserError(f"spider {self.name} needs a source: scrapy crawl {self.name} -a source=ID")
        registry = load_sources(sources_file or self.mw_settings.crawl.sources_file)
        self.source = registry.get(source)
        if self.source.kind != self.kind:
            kind = self.source.kind
            raise UserError(f"source {source!r} is a {kind} source; crawl it with the {kind} spider")
        self.allowed_domains = list(self.source.allowed_domains)
        self.known: dict[str, KnownPage] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        politeness = spider.source.politeness
        settings = crawler.settings
        settings.set("DOWNLOAD_DELAY", politeness.delay, priority="spider")
        settings.set("AUTOTHROTTLE_START_DELAY", politeness.delay, priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", politeness.concurrency, priority="spider")
        settings.set("AUTOTHROTTLE_TARGET_CONCURRENCY", float(politeness.concurrency), priority="spider")
        if spider.source.max_pages:
            settings.set("CLOSESPIDER_PAGECOUNT", spider.source.max_pages, priority="spider")
        spider.store = CrawlStore(spider.mw_settings)
        return spider

    def open_store(self) -> None:
        """Connect, load what this source already has (called at the start of the crawl)."""
        replayed = self.store.open()
        if replayed:
            self.crawler.stats.set_value("mediawatch/spool_replayed", replayed)
        self.known = self.store.known_pages(self.source.id)
        self.crawler.stats.set_value("mediawatch/known_pages", len(self.known))

    def count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"mediawatch/{key}", n)

    def canonical(self, url: str, *, keep_fragment: bool = False) -> str:
        return canonical_url(url, keep_fragment=keep_fragment)

    def requested_url(self, response: Response) -> str:
        """The URL as discovered (before redirects): the key of page state."""
        redirects = response.meta.get("redirect_urls") or []
        return self.canonical(redirects[0] if redirects else response.url)

    def page_state(self, response: Response, role: str, **fields: Any) -> PageStateItem:
        headers = response.headers
        etag = headers.get("ETag")
        last_modified = headers.get("Last-Modified")
        return PageStateItem(
            url=self.requested_url(response),
            source=self.source.id,
            role=role,
            status=response.status,
            etag=etag.decode("latin-1") if etag else None,
            last_modified=last_modified.decode("latin-1") if last_modified else None,
            **fields,
        )

    def not_modified(self, response: Response, role: str) -> PageStateItem:
        """A 304: keep what we knew, refresh the fetch time."""
        self.count("not_modified")
        known = response.meta["mw_known"]
        return PageStateItem(
            url=self.requested_url(response),
            source=self.source.id,
            role=role,
            status=304,
            etag=known.etag,
            last_modified=known.last_modified,
            next_url=known.next_url,
            content_hash=known.content_hash,
            doc_ids=list(known.doc_ids),
        )
