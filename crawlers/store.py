"""The crawler's view of Elasticsearch: what it already has, and a batched writer for what's new."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch, helpers

from crawlers.identity import doc_id
from crawlers.items import DocumentItem, PageStateItem
from enrich.tagger import StoryIndex
from index.client import make_client, ping_or_raise
from index.mappings import docs_alias, ensure_indices, pages_alias
from index.writer import BulkWriter
from mediawatch.config import Settings


@dataclass(frozen=True)
class KnownPage:
    etag: str | None
    last_modified: str | None
    next_url: str | None
    content_hash: str | None
    doc_ids: tuple[str, ...]
    fetched_at: datetime

    def conditional_headers(self) -> dict[str, str]:
        """Validators for a conditional GET (304 when unchanged)."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class CrawlStore:
    """Connects once per crawl; loads page state per source and writes documents in batches."""

    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)
        spool = settings.data_dir / "spool" / f"{settings.index.prefix}.jsonl"
        self.writer = BulkWriter(self.client, batch_size=settings.index.bulk_batch_size, spool_path=spool)
        self.docs_index = docs_alias(settings)
        self.pages_index = pages_alias(settings)
        self.stories = StoryIndex(self.client, self.docs_index)
        self._ready = False

    def open(self) -> int:
        """Check the cluster, create/migrate indices, replay spooled writes. Returns replayed count."""
        if self._ready:
            return 0
        ping_or_raise(self.client, self.settings.es.effective_url)
        ensure_indices(self.client, self.settings)
        self._ready = True
        return self.writer.replay_spool()

    def known_pages(self, source_id: str) -> dict[str, KnownPage]:
        """Every page this source has fetched before, by URL."""
        known: dict[str, KnownPage] = {}
        for hit in helpers.scan(
            self.client, index=self.pages_index, query={"query": {"term": {"source": source_id}}}, size=1000
        ):
            src = hit["_source"]
            known[src["url"]] = KnownPage(
                etag=src.get("etag"),
                last_modified=src.get("last_modified"),
                next_url=src.get("next_url"),
                content_hash=src.get("content_hash"),
                doc_ids=tuple(src.get("doc_ids") or ()),
                fetched_at=datetime.fromisoformat(src["fetched_at"]),
            )
        return known

    def is_fresh(self, page: KnownPage | None) -> bool:
        """True when ``page`` was fetched recently enough to skip without asking the server."""
        if page is None:
            return False
        age = datetime.now(UTC) - page.fetched_at
        return age < timedelta(hours=self.settings.crawl.revisit_after_hours)

    def write_document(self, item: DocumentItem) -> None:
        doc = item.to_source()
        now = doc["crawled_at"]
        self.writer.add(self.docs_index, item.id, {**doc, "changed_at": now}, upsert_extra={"first_seen": now})

    def write_page(self, item: PageStateItem) -> None:
        self.writer.add(self.pages_index, doc_id(item.url), item.to_source())

    def close(self) -> None:
        """Write what is buffered, then record each touched story's earliest publisher."""
        self.writer.flush(refresh=True)
        if self.writer.stats.spooled == 0:
            self.stories.reconcile_origins()
