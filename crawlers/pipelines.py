"""Item pipelines: documents are tagged in batches on a worker thread (the crawl keeps fetching
meanwhile), then documents and page state go to Elasticsearch in bulk batches."""

from __future__ import annotations

import logging
import threading
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer, reactor, threads

from crawlers.items import DocumentItem, PageStateItem
from enrich.tagger import enrich_documents, get_tagger
from mediawatch.config import get_settings

log = logging.getLogger(__name__)
FLUSH_AFTER_SECONDS = 0.5


class EnrichPipeline:
    """Collects documents into batches of ``enrich.batch_size`` (or whatever arrived within half a
    second) and tags each batch on a thread; every item waits only for its own batch. A failure
    tags the batch ``unknown`` and is counted, never dropping the documents."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.settings = get_settings()
        self.pending: list[tuple[DocumentItem, defer.Deferred]] = []
        self.timer: Any = None
        self.running: set[defer.Deferred] = set()
        self.lock = threading.Lock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EnrichPipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, DocumentItem) or not self.settings.enrich.enabled:
            return item
        done: defer.Deferred = defer.Deferred()
        self.pending.append((item, done))
        if len(self.pending) >= self.settings.enrich.batch_size:
            self._flush()
        elif self.timer is None:
            self.timer = reactor.callLater(FLUSH_AFTER_SECONDS, self._flush)
        await maybe_deferred_to_future(done)
        return item

    def _flush(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        work = threads.deferToThread(self._tag, [item for item, _ in batch])
        self.running.add(work)

        def finish(result: Any) -> None:
            self.running.discard(work)
            for _, done in batch:
                done.callback(None)

        work.addBoth(finish)

    def _tag(self, items: list[DocumentItem]) -> None:
        """Worker thread: tag and group ``items`` in place."""
        stats = self.crawler.stats
        try:
            with self.lock:  # one batch at a time: models and the story index are shared
                updates = enrich_documents(
                    [item.enrich_input() for item in items],
                    get_tagger(self.settings.enrich),
                    self.crawler.spider.store.stories,
                    story_threshold=self.settings.enrich.story_threshold,
                )
        except Exception:
            log.exception("tagging a batch of %d documents failed; they are indexed untagged", len(items))
            stats.inc_value("mediawatch/enrich_errors", len(items))
            return
        for item, update in zip(items, updates, strict=True):
            item.apply(update)
        stats.inc_value("mediawatch/enriched", len(items))
        stats.inc_value("mediawatch/enrich_batches")

    async def close_spider(self) -> None:
        self._flush()
        if self.running:
            await maybe_deferred_to_future(defer.DeferredList(list(self.running)))


class ElasticsearchPipeline:
    """Buffers items in the spider's CrawlStore; flushes a batch when full and at close."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ElasticsearchPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        store = self.crawler.spider.store
        if isinstance(item, DocumentItem):
            store.write_document(item)
            self.crawler.stats.inc_value("mediawatch/documents")
        elif isinstance(item, PageStateItem):
            store.write_page(item)
        return item

    def close_spider(self) -> None:
        store = self.crawler.spider.store
        store.close()
        for key, value in store.writer.stats.as_dict().items():
            self.crawler.stats.set_value(f"mediawatch/es_{key}", value)
