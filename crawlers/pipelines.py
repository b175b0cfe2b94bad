"""Item pipelines. Each owns what it opens and does its slow work on threads of its own, so the reactor
(and with it every other source's crawl) never waits on a model or on Elasticsearch.

* :class:`EnrichPipeline` tags documents in batches of ``enrich.batch_size`` (or whatever arrived within
  half a second) on its own single thread, at most :data:`QUEUED_BATCHES` batches queued; every page
  waits only for its own documents. A failure tags the batch ``unknown`` and is counted, never dropping
  documents.
* :class:`IndexPipeline` hands each page to an :class:`index.writer.PageWriter` thread (bounded queue:
  a full queue makes the crawl wait). Documents are written first, the page's state after them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet import defer

from crawlers.items import DocumentItem, PageItem
from crawlers.settings import mediawatch_settings
from crawlers.threads import TRIM_EVERY_BATCHES, deferred_from_future, executor, run_in, trim_malloc
from enrich.places import find_places, places_version
from enrich.stories import RecentStories, member_from_stored
from enrich.tagger import get_tagger, story_bands, story_fields, story_members, tag_documents
from index.client import make_client, ping_or_raise
from index.corrections import StoredCorrections, apply_corrections
from index.mappings import docs_alias, ensure_indices, pages_alias
from index.pages import page_id
from index.spool import Spool
from index.stories import StoredStories
from index.writer import PageWriter, WriterStopped, WriteStats, WriteUnit, index_action, upsert_action
from mediawatch.config import Settings

log = logging.getLogger(__name__)
FLUSH_AFTER_SECONDS = 0.5
QUEUED_BATCHES = 2


class EnrichPipeline:
    """See the module docstring."""

    def __init__(self, crawler: Crawler, settings: Settings, stored: StoredStories | None,
                 corrections: StoredCorrections | None = None) -> None:
        self.crawler = crawler
        self.settings = settings.enrich
        self.stored = stored
        self.corrections = corrections
        self.recent = RecentStories()
        self.pool = executor("tagging")
        self.beside = executor("tagging-beside")  # places and story signatures, while the models run
        self.slots = defer.DeferredSemaphore(QUEUED_BATCHES)
        self.pending: list[tuple[DocumentItem, defer.Deferred]] = []
        self.timer: Any = None
        self.running: set[defer.Deferred] = set()
        self.batches = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EnrichPipeline:
        mw = mediawatch_settings(crawler.settings)
        stored = StoredStories(make_client(mw), docs_alias(mw)) if mw.enrich.enabled else None
        return cls(crawler, mw, stored, StoredCorrections(stored.client, mw) if stored else None)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem) or not item.documents or not self.settings.enabled:
            return item
        waiting = []
        for document in item.documents:
            done: defer.Deferred = defer.Deferred()
            self.pending.append((document, done))
            waiting.append(done)
            if len(self.pending) >= self.settings.batch_size:
                self._flush()
        if self.pending and self.timer is None:
            from twisted.internet import reactor

            self.timer = reactor.callLater(FLUSH_AFTER_SECONDS, self._flush)
        await maybe_deferred_to_future(defer.DeferredList(waiting))
        return item

    def _flush(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        documents = [document for document, _ in batch]
        work = self.slots.run(lambda: deferred_from_future(self.pool.submit(self._tag, documents)))
        self.running.add(work)

        def finish(result: Any) -> None:
            self.running.discard(work)
            for _, done in batch:
                done.callback(None)

        work.addBoth(finish)

    def _tag(self, items: list[DocumentItem]) -> None:
        """Tagging thread: tag and group ``items`` in place."""
        stats = self.crawler.stats
        inputs = [item.enrich_input() for item in items]
        # Places and story signatures are pure Python: found on a thread beside this one while the models
        # run (their forward passes release the GIL), they overlap the tagging instead of following it.
        home = getattr(getattr(self.crawler.spider, "source", None), "province", None)
        found_places = self.beside.submit(lambda: [find_places(d["title"], d["text"], home=home) for d in inputs])
        found_members = self.beside.submit(story_members, inputs)
        try:
            updates = tag_documents(inputs, get_tagger(self.settings))
        except Exception:
            log.exception("tagging a batch of %d documents failed; they are indexed untagged", len(items))
            stats.inc_value("mediawatch/enrich_errors", len(items))
            return
        finally:
            self.batches += 1
            if self.batches % TRIM_EVERY_BATCHES == 0:
                trim_malloc()  # the tensors of a batch are freed by now (crawlers.threads.TRIM_EVERY_BATCHES)
        try:  # people's corrections win over the models (whose tags go to model_tags)
            if self.corrections is not None:
                ids = [item.id for item in items]
                apply_corrections(updates, ids, self.corrections.latest(ids))
        except Exception as exc:  # never overwrite a stored correction: the batch keeps its stored tags
            log.warning("reading corrections for a batch failed (%s); its documents keep their stored tags", exc)
            stats.inc_value("mediawatch/correction_errors", len(items))
            return
        try:
            members = found_members.result()
            stored = self.stored.candidates(story_bands(members)) if self.stored else []
            stories = story_fields(members, [member_from_stored(s) for s in stored],
                                   threshold=self.settings.story_threshold, recent=self.recent)
        except Exception as exc:  # the cluster went away: tags are kept, stories are left for backfill
            log.warning("story grouping of a batch failed (%s); documents are indexed without a story", exc)
            stats.inc_value("mediawatch/story_errors", len(items))
            stories = [{} for _ in items]
        try:
            places = [{"places": found} for found in found_places.result()]
            for update in updates:
                update["models"] = {**update["models"], "places": places_version()}
        except Exception:  # places are left for backfill; the tags are kept
            log.exception("finding places in a batch of %d documents failed", len(items))
            stats.inc_value("mediawatch/places_errors", len(items))
            places = [{} for _ in items]
        for item, update, story, found in zip(items, updates, stories, places, strict=True):
            item.apply(update)
            item.apply(story)
            item.apply(found)
        stats.inc_value("mediawatch/enriched", len(items))
        stats.inc_value("mediawatch/enrich_batches")

    async def close_spider(self) -> None:
        self._flush()
        if self.running:
            await maybe_deferred_to_future(defer.DeferredList(list(self.running)))
        self.pool.shutdown(wait=False)
        self.beside.shutdown(wait=False)


class IndexPipeline:
    """See the module docstring. The spool lives under ``data_dir/spool/<prefix>/``."""

    def __init__(self, crawler: Crawler, settings: Settings) -> None:
        self.crawler = crawler
        self.settings = settings
        self.docs_index = docs_alias(settings)
        self.pages_index = pages_alias(settings)
        client = make_client(settings)
        spool = Spool(settings.data_dir / "spool" / settings.index.prefix, max_bytes=settings.index.spool_max_bytes)
        self.stories = StoredStories(client, self.docs_index)
        self.writer = PageWriter(
            client,
            batch_size=settings.index.bulk_batch_size,
            queue_size=settings.index.writer_queue,
            spool=spool,
            hold_off_seconds=settings.index.migration_wait_seconds,
            open=self._open,
            finish=self._finish,
            name=f"mediawatch-writer-{getattr(crawler.spider, 'name', 'crawl')}",
        )
        self.waiting = executor("writer-wait")
        self.stopping = False
        self.closed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IndexPipeline:
        return cls(crawler, mediawatch_settings(crawler.settings))

    # -- on the writer thread --------------------------------------------------------------------
    def _open(self, writer: PageWriter) -> int:
        """Check the cluster and the schema, then replay what earlier crawls spooled."""
        ping_or_raise(writer.client, self.settings.es.effective_url)
        ensure_indices(writer.client, self.settings)
        from index.writer import replay_spool

        assert writer.spool is not None
        report = replay_spool(writer.client, writer.spool, writer.stats, batch_size=self.settings.index.bulk_batch_size,
                              hold_off_seconds=self.settings.index.migration_wait_seconds, indices=writer.indices)
        if report.stopped:
            log.warning("replaying the spool stopped (%s); the rest is kept for next time", report.stopped)
        return report.replayed

    def _finish(self, writer: PageWriter, stories: set[str]) -> None:
        if stories:
            self.stories.reconcile_origins(stories)

    # -- on the reactor --------------------------------------------------------------------------
    async def open_spider(self) -> None:
        replayed = await maybe_deferred_to_future(deferred_from_future(self.writer.start()))
        if replayed:
            self.crawler.stats.set_value("mediawatch/spool_replayed", replayed)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        unit = self.unit(item)
        self.crawler.stats.inc_value("mediawatch/documents", len(item.documents))
        try:
            if not self.writer.submit(unit, block=False):
                self.crawler.stats.inc_value("mediawatch/writer_waits")
                await run_in(self.waiting, self.writer.submit, unit)
        except WriterStopped as exc:
            self.crawler.stats.inc_value("mediawatch/unsaved_pages")
            self._stop(str(exc))
        return item

    def unit(self, item: PageItem) -> WriteUnit:
        """The page's documents, then its state (written once they are acknowledged)."""
        actions = []
        stories = set()
        for document in item.documents:
            source = document.to_source()
            now = source["crawled_at"]
            fields = {**source, "changed_at": now, "alert_pending": True}  # alert matching clears the flag
            actions.append(upsert_action(self.docs_index, document.id, fields, {"first_seen": now}))
            if document.story and document.story_joined:
                stories.add(document.story)
        state = index_action(self.pages_index, page_id(item.state.url), item.state.to_source())
        return WriteUnit(actions, [state], stories)

    def _stop(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.crawler.stats.set_value("mediawatch/writer_failure", reason)
        log.error("stopping the crawl: %s", reason)
        engine = self.crawler.engine
        _later(lambda: deferred_from_coro(engine.close_spider_async(reason="writer_failed")))

    async def close_spider(self) -> None:
        stats = await maybe_deferred_to_future(deferred_from_future(self.writer.close()))
        self._record(stats)
        self.waiting.shutdown(wait=False)

    def finish_now(self, timeout: float = 120.0) -> None:
        """After a forced stop (the reactor is gone): flush what the writer holds and record its counts."""
        if self.closed:
            return
        try:
            self._record(self.writer.close().result(timeout=timeout))
        except TimeoutError:
            log.error("the writer did not finish within %gs; unwritten pages will be fetched again", timeout)

    def _record(self, stats: WriteStats) -> None:
        self.closed = True
        for key, value in stats.as_dict().items():
            self.crawler.stats.set_value(f"mediawatch/es_{key}", value)
        if stats.errors:
            self.crawler.stats.set_value("mediawatch/es_errors_sample", stats.errors[:10])
        if self.writer.failure:
            self.crawler.stats.set_value("mediawatch/writer_failure", self.writer.failure)


def _later(call: Callable[[], Any]) -> None:
    from twisted.internet import reactor

    reactor.callLater(0, call)
