"""One source's crawl run, read from Scrapy's statistics: counts, fetch outcomes and health."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawlers.health import assess, failures


@dataclass
class CrawlReport:
    """What one source's crawl did (see :mod:`crawlers.health` for how ``health`` is derived)."""

    source: str
    finish_reason: str
    started: datetime | None
    finished: datetime | None
    health: str
    problems: list[str]
    pages: int
    documents: int
    created: int
    updated: int
    unchanged: int
    not_modified: int
    skipped_known: int
    rejected: int
    spooled: int
    replayed: int
    unreplayed: int  # spooled writes still waiting in the spool when the crawl ended
    robots_refused: int
    failures: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    empty_text: int = 0  # pages whose main text could not be found
    no_date: int = 0  # documents without a publication date
    failed_urls: list[dict[str, str]] = field(default_factory=list)  # the first URLs that failed, and why
    peak_rss_mb: float | None = None  # the crawl process's peak memory (VmHWM)
    run_id: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stats(cls, source: str, stats: dict[str, Any], *, max_error_share: float,
                   run_id: str | None = None) -> CrawlReport:
        assessment = assess(stats, max_error_share=max_error_share)
        outcomes = failures(stats)
        return cls(
            source=source,
            finish_reason=str(stats.get("finish_reason", "unknown")),
            started=_utc(stats.get("start_time")),
            finished=_utc(stats.get("finish_time")),
            health=assessment.health,
            problems=assessment.problems,
            pages=int(stats.get("response_received_count", 0)),
            documents=int(stats.get("mediawatch/documents", 0)),
            created=int(stats.get("mediawatch/es_created", 0)),
            updated=int(stats.get("mediawatch/es_updated", 0)),
            unchanged=int(stats.get("mediawatch/unchanged", 0)),
            not_modified=int(stats.get("mediawatch/not_modified", 0)),
            skipped_known=outcomes.get("known", 0),
            rejected=int(stats.get("mediawatch/es_rejected", 0)),
            spooled=int(stats.get("mediawatch/es_spooled", 0)),
            replayed=int(stats.get("mediawatch/es_replayed", 0)),
            unreplayed=int(stats.get("mediawatch/es_unreplayed", stats.get("mediawatch/es_spooled", 0))),
            robots_refused=outcomes.get("robots", 0),
            failures={k: v for k, v in outcomes.items() if k not in ("known", "robots", "offsite")},
            bytes=int(stats.get("downloader/response_bytes", 0)),
            empty_text=int(stats.get("mediawatch/empty_text", 0)) + int(stats.get("mediawatch/empty_posts", 0)),
            no_date=int(stats.get("mediawatch/no_date", 0)),
            failed_urls=list(stats.get("mediawatch/failed_urls") or []),
            peak_rss_mb=stats.get("mediawatch/peak_rss_mb"),
            run_id=run_id or str(stats.get("mediawatch/run_id") or uuid.uuid4().hex),
            stats={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in stats.items()},
        )

    @property
    def healthy(self) -> bool:
        return self.health == "ok"

    def to_json(self) -> dict[str, Any]:
        """The report as the CLI prints it (``--json``)."""
        out = {k: v for k, v in self.__dict__.items() if k != "stats"}
        for key in ("started", "finished"):
            out[key] = out[key].isoformat() if out[key] else None
        return out | {"healthy": self.healthy}

    def to_run(self, *, source_name: str = "", kind: str = "") -> dict[str, Any]:
        """The run document stored in ``<prefix>-runs``."""
        keep = ("run_id", "source", "finish_reason", "health", "problems", "pages", "bytes", "documents", "created",
                "updated", "unchanged", "not_modified", "skipped_known", "rejected", "spooled", "unreplayed",
                "robots_refused",
                "failures", "empty_text", "no_date", "failed_urls", "peak_rss_mb")
        run = {k: getattr(self, k) for k in keep}
        run.update(
            source_name=source_name, kind=kind, host=socket.gethostname(), pid=os.getpid(),
            started=self.started.isoformat() if self.started else None,
            finished=(self.finished or datetime.now(UTC)).isoformat(),
            stats=self.stats,
        )
        return run


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
