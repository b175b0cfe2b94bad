"""Extensions: every crawl run recorded in ``<prefix>-runs`` (for ``mediawatch status`` and ``runs``)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future

from crawlers.report import CrawlReport
from crawlers.settings import mediawatch_settings
from crawlers.threads import deferred_from_future, executor
from index.client import describe_error, make_client
from index.mappings import runs_alias
from index.runs import record_run
from mediawatch.config import Settings

log = logging.getLogger(__name__)


class RunRecorder:
    """Gives each run an id when the spider opens; stores its report when it closes (on a thread)."""

    def __init__(self, crawler: Crawler, settings: Settings) -> None:
        self.crawler = crawler
        self.settings = settings
        self.pool = executor("runs")
        self.recorded = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        recorder = cls(crawler, mediawatch_settings(crawler.settings))
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    def spider_opened(self, spider: Spider) -> None:
        self.crawler.stats.set_value("mediawatch/run_id", uuid.uuid4().hex)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        run = self._run(reason)
        try:
            await maybe_deferred_to_future(deferred_from_future(self.pool.submit(self._record, run)))
        except Exception as exc:  # the cluster is gone: the CLI still prints the report
            log.warning("could not record the run of %s: %s", run["source"], describe_error(exc))
        finally:
            self.pool.shutdown(wait=False)

    def record_now(self) -> None:
        """After a forced stop (the reactor is gone, spider_closed never ran): record the run here."""
        if self.recorded:
            return
        run = self._run(str(self.crawler.stats.get_value("finish_reason") or "interrupted"))
        try:
            self._record(run)
        except Exception as exc:
            log.warning("could not record the run of %s: %s", run["source"], describe_error(exc))

    def _run(self, reason: str) -> dict[str, Any]:
        self.recorded = True
        peak = peak_rss_mb()
        if peak is not None:
            self.crawler.stats.set_value("mediawatch/peak_rss_mb", peak)
        stats = dict(self.crawler.stats.get_stats())
        stats.setdefault("finish_reason", reason)
        stats.setdefault("finish_time", datetime.now(UTC))
        spider = self.crawler.spider
        source = getattr(spider, "source", None)
        report = CrawlReport.from_stats(getattr(source, "id", getattr(spider, "name", "?")), stats,
                                        max_error_share=self.settings.crawl.max_error_share)
        return report.to_run(source_name=getattr(source, "name", ""), kind=getattr(source, "kind", ""))

    def _record(self, run: dict[str, Any]) -> None:
        client = make_client(self.settings).options(max_retries=0, request_timeout=10)
        record_run(client, runs_alias(self.settings), _jsonable(run))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def peak_rss_mb() -> float | None:
    """This process's peak resident memory in MB (``VmHWM``; ``ru_maxrss`` would count the parent's at fork)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
