"""Run crawls in-process (the CLI and the demo): one Scrapy crawler per source, progress shown live,
a health report per source at the end."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from crawlers.sources import Source, load_sources
from crawlers.spiders.forum import ForumSpider
from crawlers.spiders.news import NewsSpider
from enrich.tagger import get_tagger
from index.client import make_client, ping_or_raise
from mediawatch.config import Settings
from mediawatch.errors import UserError

SPIDERS = {"news": NewsSpider, "forum": ForumSpider}
# Stats that count our own failures (the site's 404/500s are reported apart, as http_errors).
OWN_FAILURES = ("spider_exceptions/count", "mediawatch/es_failed", "mediawatch/enrich_errors")


@dataclass
class CrawlReport:
    """What one source's crawl did, read from Scrapy's stats."""

    source: str
    finish_reason: str
    started: datetime | None
    finished: datetime | None
    pages: int
    documents: int
    not_modified: int
    skipped_known: int
    unchanged: int
    robots_blocked: int
    http_errors: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    spooled: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stats(cls, source: str, stats: dict[str, Any]) -> CrawlReport:
        prefix = "httperror/response_ignored_status_count/"
        http_errors = {k.removeprefix(prefix): v for k, v in stats.items() if k.startswith(prefix)}
        return cls(
            source=source,
            finish_reason=str(stats.get("finish_reason", "unknown")),
            started=stats.get("start_time"),
            finished=stats.get("finish_time"),
            pages=int(stats.get("response_received_count", 0)),
            documents=int(stats.get("mediawatch/documents", 0)),
            not_modified=int(stats.get("mediawatch/not_modified", 0)),
            skipped_known=int(stats.get("mediawatch/skipped_known", 0)),
            unchanged=int(stats.get("mediawatch/unchanged", 0)),
            robots_blocked=int(stats.get("robotstxt/forbidden", 0)),
            http_errors=http_errors,
            # Our failures (spider exceptions, rejected writes); the site's own 404/500s are http_errors.
            errors=sum(int(stats.get(k, 0)) for k in OWN_FAILURES),
            spooled=int(stats.get("mediawatch/es_spooled", 0)),
            stats={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in stats.items()},
        )

    @property
    def healthy(self) -> bool:
        return self.finish_reason == "finished" and self.errors == 0 and self.spooled == 0


ProgressHook = Callable[[str, str], None]  # (source id, event: "page" | "document")


def scrapy_settings() -> ScrapySettings:
    settings = ScrapySettings()
    settings.setmodule("crawlers.settings", priority="project")
    return settings


def select_sources(settings: Settings, ids: Sequence[str], *, sources_file: Path | None = None) -> list[Source]:
    registry = load_sources(sources_file or settings.crawl.sources_file)
    chosen = [registry.get(i) for i in ids] if ids else [s for s in registry if s.enabled]
    if not chosen:
        raise UserError(f"no enabled sources in {registry.path}")
    return chosen


def run_crawl(
    settings: Settings,
    sources: Sequence[Source],
    *,
    sources_file: Path | None = None,
    on_event: ProgressHook | None = None,
) -> list[CrawlReport]:
    """Crawl ``sources`` concurrently in this process and return one report per source.

    The Twisted reactor cannot restart, so call this once per process.
    """
    ping_or_raise(make_client(settings), settings.es.effective_url)
    if settings.enrich.enabled:
        get_tagger(settings.enrich).load()  # a model that cannot load fails here, in one line
    logging.getLogger("scrapy").setLevel(settings.crawl.log_level)
    process = CrawlerProcess(scrapy_settings())
    crawlers = []
    for source in sources:
        crawler = process.create_crawler(SPIDERS[source.kind])
        if on_event is not None:
            crawler.signals.connect(_hook(on_event, source.id, "page"), signal=signals.response_received, weak=False)
            crawler.signals.connect(_hook(on_event, source.id, "document"), signal=signals.item_scraped, weak=False)
        process.crawl(crawler, source=source.id, sources_file=str(sources_file or settings.crawl.sources_file))
        crawlers.append((source.id, crawler))
    process.start()
    return [CrawlReport.from_stats(sid, crawler.stats.get_stats()) for sid, crawler in crawlers]


def _hook(on_event: ProgressHook, source_id: str, event: str) -> Callable[..., None]:
    if event == "document":
        from crawlers.items import DocumentItem

        def on_item(item: Any, **_: Any) -> None:
            if isinstance(item, DocumentItem):
                on_event(source_id, event)

        return on_item

    def on_page(**_: Any) -> None:
        on_event(source_id, event)

    return on_page
