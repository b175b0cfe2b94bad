"""What every mediawatch spider shares: its source, politeness, page requests and page bookkeeping.

A spider only builds requests and items. Known pages are looked up by
:class:`crawlers.middlewares.PageStateMiddleware`, documents are tagged and written by the pipelines,
runs are recorded by :class:`crawlers.extensions.RunRecorder`; all of them take their settings from the
crawler, as this spider does (:func:`crawlers.settings.mediawatch_settings`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.health import FETCH, classify
from crawlers.identity import canonical_url
from crawlers.items import DocumentItem, PageItem, PageStateItem
from crawlers.middlewares import KnownFresh
from crawlers.settings import mediawatch_settings
from crawlers.sources import Source, load_registry
from index.pages import KnownPage, RevisitPolicy
from mediawatch.config import Settings
from mediawatch.errors import UserError

MAX_NOTED_URLS = 200


class SourceSpider(scrapy.Spider):
    """Crawls exactly one registered source: ``scrapy crawl <kind> -a source=ID``."""

    kind: str = ""
    source: Source
    mw_settings: Settings
    policy: RevisitPolicy

    def __init__(self, source: str | None = None, sources_file: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not source:
            raise UserError(f"spider {self.name} needs a source: scrapy crawl {self.name} -a source=ID")
        self.source_id = source
        self.sources_file = sources_file

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.mw_settings = mediawatch_settings(crawler.settings)
        spider.policy = RevisitPolicy.from_settings(spider.mw_settings.crawl)
        settings = spider.mw_settings
        if spider.sources_file:  # the file the runner names (its stored sources are laid over it, as everywhere)
            settings = settings.model_copy(update={"crawl": settings.crawl.model_copy(
                update={"sources_file": Path(spider.sources_file)})})
        spider.source = load_registry(settings).get(spider.source_id)
        if spider.source.kind != spider.kind:
            kind = spider.source.kind
            raise UserError(f"source {spider.source_id!r} is a {kind} source; crawl it with the {kind} spider")
        # No spider.allowed_domains: Scrapy's offsite check matches IP entries as suffixes ("1" would allow
        # 10.0.0.1); crawlers.netguard.NetGuardMiddleware applies Source.allows instead.
        politeness = spider.source.politeness
        settings = crawler.settings
        settings.set("DOWNLOAD_DELAY", politeness.delay, priority="spider")
        settings.set("AUTOTHROTTLE_START_DELAY", politeness.delay, priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", politeness.concurrency, priority="spider")
        settings.set("AUTOTHROTTLE_TARGET_CONCURRENCY", float(politeness.concurrency), priority="spider")
        if spider.source.max_pages:
            settings.set("CLOSESPIDER_PAGECOUNT", spider.source.max_pages, priority="spider")
        crawler.signals.connect(spider._response_received, signal=signals.response_received)
        return spider

    @property
    def timezone(self) -> str:
        return self.source.timezone or self.mw_settings.crawl.timezone

    def count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"mediawatch/{key}", n)

    def canonical(self, url: str, *, keep_fragment: bool = False) -> str:
        return canonical_url(url, keep_fragment=keep_fragment)

    # -- requests ----------------------------------------------------------------------------------
    def entry_request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        """A request for one of the source's entry points (home, feeds, sitemaps, sections): if none of
        them can be fetched, the run failed (the site is down or unreachable)."""
        meta = {"mw_entry": True, **kwargs.pop("meta", {})}
        return scrapy.Request(url, callback=callback, errback=self.fetch_failed, meta=meta, dont_filter=True,
                              **kwargs)

    def _response_received(self, response: Response, request: scrapy.Request, **_: Any) -> None:
        if request.meta.get("mw_entry") and response.status < 400:
            self.count("entry_ok")

    def request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        """Any other request (its failures are counted by reason)."""
        return scrapy.Request(url, callback=callback, errback=self.fetch_failed, **kwargs)

    def page_request(self, url: str, callback: Any, role: str, **meta: Any) -> scrapy.Request | None:
        """A request for a page with crawl state ("article", "thread_page"): the page-state middleware
        skips it when known and not due, or makes it conditional. None (counted as ``bad_url``) for a link
        that is not a usable URL, so one broken link never stops the page that holds it."""
        try:
            url = self.canonical(url)
        except ValueError:
            self.count("bad_url")
            self.logger.info("skipped a link that is not a usable URL: %r", url[:200])
            return None
        return scrapy.Request(
            url, callback=callback, errback=self.fetch_failed,
            meta={"mw_page": role, "mw_page_url": url, "handle_httpstatus_list": [304], **meta},
        )

    def fetch_failed(self, failure: Failure) -> Iterator[Any]:
        """Errback of every request: count the reason; a known page not due yet goes to :meth:`known_fresh`."""
        reason = classify(failure)
        self.crawler.stats.inc_value(FETCH + reason)
        request = getattr(failure, "request", None)
        if reason not in ("known", "robots", "offsite") and request is not None:
            self.note_url(request.url, reason)
        if request is not None and request.meta.get("mw_entry"):
            self.count("entry_failed")
        if failure.check(KnownFresh):
            yield from self.known_fresh(request, failure.value.known)
        elif reason not in ("robots", "offsite"):
            self.logger.info("fetch failed (%s): %s", reason, getattr(request, "url", "?"))

    def note_url(self, url: str, reason: str) -> None:
        """Keep the first URLs that failed or gave nothing, with why, for the run's record (bounded)."""
        noted = self.crawler.stats.get_value("mediawatch/failed_urls") or []
        if len(noted) < MAX_NOTED_URLS:
            noted.append({"url": url[:500], "reason": reason})
            self.crawler.stats.set_value("mediawatch/failed_urls", noted)

    def capped(self, items: list[Any], what: str, url: str) -> list[Any]:
        """At most ``crawl.max_links_per_page`` of ``items`` (links, entries); the rest counted and noted."""
        limit = self.mw_settings.crawl.max_links_per_page
        if len(items) > limit:
            self.count(f"{what}_capped", len(items) - limit)
            self.note_url(url, f"{what}_capped")
        return items[:limit]

    def known_fresh(self, request: scrapy.Request, known: KnownPage) -> Iterator[Any]:
        """A known page was not requested (not due yet). Nothing to do by default."""
        return iter(())

    # -- page state --------------------------------------------------------------------------------
    def requested_url(self, response: Response) -> str:
        """The URL as discovered (before redirects): the key of page state."""
        explicit = response.meta.get("mw_page_url")
        if explicit:
            return explicit
        redirects = response.meta.get("redirect_urls") or []
        return self.canonical(redirects[0] if redirects else response.url)

    def page_state(self, response: Response, role: str, *, content_hash: str | None, **fields: Any) -> PageStateItem:
        """The state to store after fetching ``response``: validators, fingerprint, the revisit interval
        (shorter when the content changed since the last fetch, longer when it did not)."""
        known: KnownPage | None = response.meta.get("mw_known")
        changed = known is None or known.content_hash != content_hash
        now = datetime.now(UTC)
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
            content_hash=content_hash,
            fetched_at=now,
            changed_at=now if changed else (known.changed_at if known else None),
            revisit_seconds=self.policy.next_interval(known, changed),
            **fields,
        )

    def not_modified(self, response: Response, role: str) -> PageItem:
        """A 304: keep what we knew, refresh the fetch time, lengthen the revisit interval."""
        self.count("not_modified")
        known: KnownPage = response.meta["mw_known"]
        state = PageStateItem(
            url=self.requested_url(response),
            source=self.source.id,
            role=role,
            status=304,
            etag=known.etag,
            last_modified=known.last_modified,
            next_url=known.next_url,
            content_hash=known.content_hash,
            doc_ids=list(known.doc_ids),
            changed_at=known.changed_at,
            revisit_seconds=self.policy.next_interval(known, changed=False),
        )
        return PageItem(state)

    @staticmethod
    def page(state: PageStateItem, documents: list[DocumentItem] | None = None) -> PageItem:
        return PageItem(state, documents or [])
