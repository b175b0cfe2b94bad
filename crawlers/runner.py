"""Run crawls in-process (the CLI and the demo): one Scrapy crawler per source, all configured by the one
:class:`~mediawatch.config.Settings` given, progress reported live, one report per source at the end.

Exit codes of ``mediawatch crawl`` (:func:`exit_code`):

====  =======================================================================================
code  meaning
====  =======================================================================================
0     every source finished ok (a stop at ``max_pages`` is a normal end)
2     could not start: bad usage, configuration or sources file
3     could not start: Elasticsearch unreachable, its schema outdated, a migration running, or
      (every requested source) already being crawled by another process
4     could not start: a tagging model cannot load
5     finished with failures: a source failed or was degraded (site down, errors, rejected documents)
6     writes left in the spool: Elasticsearch went away and had not come back when the crawl ended (or
      the spool filled up); the next crawl replays them. An outage that ended before the crawl did is
      replayed at its end: that run is degraded (5), nothing left behind
130   interrupted (Ctrl-C or SIGTERM); what was fetched by then is saved
====  =======================================================================================
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawlers.items import PageItem
from crawlers.report import CrawlReport
from crawlers.settings import scrapy_settings
from crawlers.sources import Source, load_registry
from crawlers.spiders.forum import ForumSpider
from crawlers.spiders.news import NewsSpider
from crawlers.threads import limit_malloc_arenas
from enrich.tagger import get_tagger
from index.client import make_client, ping_or_raise
from index.mappings import ensure_indices
from index.migrate import migration_holder
from mediawatch.config import Settings
from mediawatch.errors import SchemaOutdated, UserError

SPIDERS = {"news": NewsSpider, "forum": ForumSpider}
EXIT_OK, EXIT_FAILURES, EXIT_SPOOLED, EXIT_INTERRUPTED = 0, 5, 6, 130

ProgressHook = Callable[[str, str, int], None]  # (source id, event: "page" | "document", count)
log = logging.getLogger(__name__)


@dataclass
class CrawlOutcome:
    reports: list[CrawlReport]
    interrupted: bool = False
    busy: dict[str, str] = field(default_factory=dict)  # sources skipped: another process crawls them

    @property
    def exit_code(self) -> int:
        return exit_code(self.reports, interrupted=self.interrupted)


def exit_code(reports: Sequence[CrawlReport], *, interrupted: bool = False) -> int:
    """The documented exit code for these reports (module docstring)."""
    if interrupted or any(r.health == "interrupted" for r in reports):
        return EXIT_INTERRUPTED
    if any(r.unreplayed for r in reports) or any("spool" in p and "full" in p for r in reports for p in r.problems):
        return EXIT_SPOOLED
    if any(r.health != "ok" for r in reports):
        return EXIT_FAILURES
    return EXIT_OK


def select_sources(settings: Settings, ids: Sequence[str]) -> list[Source]:
    """The sources ``ids`` name (any, enabled or not), or every enabled one, from the registry the web app edits
    too (``crawlers.sources.load_registry``: sources.yaml with the stored sources laid over it)."""
    registry = load_registry(settings)
    chosen = [registry.get(i) for i in ids] if ids else [s for s in registry if s.enabled]
    if not chosen:
        raise UserError(f"no enabled sources in {registry.path} or the sources added in the web app")
    return chosen


class CrawlLeases:
    """One lease per source (``crawl:<source>`` in ``<prefix>-locks``) held while it is crawled, renewed on a
    thread of its own: a source is never crawled by two processes at once, whoever started them."""

    def __init__(self, settings: Settings, owner: str | None = None) -> None:
        from index.locks import Lease
        from index.mappings import locks_alias

        self.settings = settings
        self.client = make_client(settings)
        self.ttl = settings.schedule.lease_seconds
        self._make = lambda sid: Lease(self.client, locks_alias(settings), f"crawl:{sid}", purpose="crawl",
                                       ttl=self.ttl, owner=owner)
        self.held: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, sources: Sequence[Source]) -> tuple[list[Source], dict[str, str]]:
        """The sources now leased to this process, and who holds the others."""
        free, busy = [], {}
        for source in sources:
            lease = self._make(source.id)
            holder = lease.try_acquire()
            if holder is None:
                self.held[source.id] = lease
                free.append(source)
            else:
                busy[source.id] = holder.describe()
        if self.held and self._thread is None:
            self._thread = threading.Thread(target=self._renew, name="mediawatch-crawl-leases", daemon=True)
            self._thread.start()
        return free, busy

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            for source_id, lease in list(self.held.items()):
                try:
                    lease.heartbeat()
                except Exception as exc:  # lost or unreachable: the crawl goes on, the next renewal retries
                    log.warning("could not renew the crawl lease of %s: %s", source_id, exc)

    def release(self) -> None:
        self._stop.set()
        for lease in self.held.values():
            try:
                lease.release()
            except Exception as exc:
                log.warning("could not release a crawl lease: %s", exc)
        self.held.clear()


def check_ready(settings: Settings) -> None:
    """Before the reactor starts: the cluster answers, its schema is current, the models load.
    Raises the one-line error that says what to do otherwise."""
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    try:
        ensure_indices(client, settings)
    except SchemaOutdated:
        holder = migration_holder(client, settings)
        if holder is not None and not holder.expired:
            raise SchemaOutdated(
                f"a schema migration is in progress ({holder.describe()}); crawl again when it ends"
            ) from None
        raise
    if settings.enrich.enabled:
        get_tagger(settings.enrich).load()  # a model that cannot load fails here, in one line


def run_crawl(settings: Settings, sources: Sequence[Source], *, on_event: ProgressHook | None = None,
              lease_owner: str | None = None) -> CrawlOutcome:
    """Crawl ``sources`` concurrently in this process, configured by ``settings`` alone (index prefix,
    data dir, models, sources file, politeness...), and return one report per source.

    The Twisted reactor cannot restart, so call this once per process. The first Ctrl-C (or SIGTERM)
    stops every crawl and saves what was fetched; a second one stops at once. ``lease_owner``: the name
    under which a scheduler already took the sources' crawl leases for this process (adopted here)."""
    limit_malloc_arenas()  # before the models load and the crawl's threads start
    check_ready(settings)
    leases = CrawlLeases(settings, owner=lease_owner)
    sources, busy = leases.acquire(sources)
    try:
        return _crawl(settings, sources, busy, on_event)
    finally:
        leases.release()


def _crawl(settings: Settings, sources: Sequence[Source], busy: dict[str, str],
           on_event: ProgressHook | None) -> CrawlOutcome:
    if not sources:
        who = "; ".join(f"{sid} by {holder}" for sid, holder in busy.items())
        raise UserError(f"already being crawled: {who}", exit_code=3)
    for source_id, holder in busy.items():
        log.warning("skipping %s: already being crawled by %s", source_id, holder)
    logging.getLogger("scrapy").setLevel(settings.crawl.log_level)
    process = CrawlerProcess(scrapy_settings(settings))
    crawlers = []
    for source in sources:
        crawler = process.create_crawler(SPIDERS[source.kind])
        if on_event is not None:
            crawler.signals.connect(_on_page(on_event, source.id), signal=signals.response_received, weak=False)
            crawler.signals.connect(_on_item(on_event, source.id), signal=signals.item_scraped, weak=False)
        process.crawl(crawler, source=source.id, sources_file=str(settings.crawl.sources_file))
        crawlers.append((source.id, crawler))
    interrupts = _Interrupts(process)
    try:
        process.start(install_signal_handlers=False)
    finally:
        interrupts.restore()
    for _, crawler in crawlers:
        _finish_after_stop(crawler)
    reports = [
        CrawlReport.from_stats(sid, crawler.stats.get_stats(), max_error_share=settings.crawl.max_error_share)
        for sid, crawler in crawlers
    ]
    return CrawlOutcome(reports, interrupted=interrupts.count > 0, busy=busy)


GRACE_SECONDS = 5.0


class _Interrupts:
    """SIGINT/SIGTERM: the first stops the crawls gracefully, giving in-flight requests
    :data:`GRACE_SECONDS` before the reactor is stopped regardless; a second stops it at once. Either
    way the writers then flush what they hold (:func:`_finish_after_stop`); pages still being fetched or
    tagged keep no state, so the next crawl fetches them again."""

    def __init__(self, process: CrawlerProcess) -> None:
        self.process = process
        self.count = 0
        self.previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        from twisted.internet import reactor

        self.count += 1
        reactor.callFromThread(self._graceful if self.count == 1 else self._force)

    def _graceful(self) -> None:
        from twisted.internet import reactor

        log.warning("interrupted: stopping the crawls and saving what was fetched (again to stop at once)")
        for crawler in list(self.process.crawlers):
            crawler.stats.set_value("mediawatch/interrupted", True)
        self.process.stop()
        reactor.callLater(GRACE_SECONDS, self._force)

    def _force(self) -> None:
        self.process._stop_reactor()


def _finish_after_stop(crawler: Any) -> None:
    """After the reactor stopped: make sure the index pipeline's writer flushed and the run is recorded
    (a forced stop skips the pipelines' and extensions' own closing)."""
    from crawlers.extensions import RunRecorder
    from crawlers.pipelines import IndexPipeline

    stats = crawler.stats
    if stats.get_value("mediawatch/interrupted"):
        stats.set_value("finish_reason", "interrupted")
    engine = getattr(crawler, "_engine", None)
    pipelines = getattr(getattr(getattr(engine, "scraper", None), "itemproc", None), "middlewares", ())
    for pipeline in pipelines:
        if isinstance(pipeline, IndexPipeline):
            pipeline.finish_now()
    extensions = getattr(getattr(crawler, "_extensions", None), "middlewares", ())
    for extension in extensions:
        if isinstance(extension, RunRecorder):
            extension.record_now()


def _on_page(on_event: ProgressHook, source_id: str) -> Callable[..., None]:
    def on_page(**_: Any) -> None:
        on_event(source_id, "page", 1)

    return on_page


def _on_item(on_event: ProgressHook, source_id: str) -> Callable[..., None]:
    def on_item(item: Any, **_: Any) -> None:
        if isinstance(item, PageItem) and item.documents:
            on_event(source_id, "document", len(item.documents))

    return on_item
