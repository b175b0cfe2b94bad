"""Retention: delete documents older than the configured number of days, and a removed source's data.

**Documents**: age is the publish time, or the first crawl when a document has no publish time
(:func:`expired_query`). Deletion is scan + bulk delete (the local node has no delete-by-query module).

**Page state is kept longer than documents**, so a re-crawl does not bring a deleted article back: its page
is known and unchanged (same fingerprint, or 304), so nothing is extracted again. It is not kept forever
either: a page whose state was last written (``fetched_at``) more than ``retention_days`` plus the revisit
horizon (``crawl.revisit_max_hours``) ago is one no crawl has asked for since — a page still linked is asked
for again at least that often, and every answer, a 304 too, refreshes its state — so its state is deleted
with the documents (:func:`expired_pages_query`). Should such a page be linked again later, it is fetched as
new; an article older than retention that comes back that way is deleted again by the next prune.

**Removing a source** (:func:`delete_source_data`) deletes its documents and its page state, by the
``source`` field both carry; other sources' data is untouched.

Each prune is recorded in the audit log (``retention.prune``, with the counts and cutoffs) by whoever ran it:
``scheduler`` for the scheduled job, ``cli:<user>`` for ``mediawatch prune``. One prune runs at a time per
index prefix: it holds the lease ``retention`` (``index.locks``) while it deletes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from index.locks import Lease
from index.mappings import docs_alias, locks_alias, pages_alias
from index.users import AuditLog
from mediawatch.config import Settings
from mediawatch.errors import UserError

LEASE_NAME = "retention"
CHUNK = 1000


def expired_query(cutoff: datetime) -> dict:
    """Documents published before ``cutoff``, or first crawled before it when they have no publish time."""
    iso = cutoff.astimezone(UTC).isoformat()
    return {
        "bool": {
            "should": [
                {"range": {"published": {"lt": iso}}},
                {
                    "bool": {
                        "must_not": {"exists": {"field": "published"}},
                        "filter": {"range": {"crawled_at": {"lt": iso}}},
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }


def expired_pages_query(cutoff: datetime) -> dict:
    """Page state last written before ``cutoff``."""
    return {"range": {"fetched_at": {"lt": cutoff.astimezone(UTC).isoformat()}}}


def source_query(source_id: str) -> dict:
    return {"term": {"source": source_id}}


def page_state_cutoff(settings: Settings, days: int, now: datetime) -> datetime:
    """Page state older than this goes: ``days`` plus the revisit horizon (``crawl.revisit_max_hours``)."""
    return now - timedelta(days=days, hours=settings.crawl.revisit_max_hours)


@dataclass(frozen=True)
class PruneResult:
    """What one prune deleted (or, dry, would delete)."""

    days: int
    documents: int
    pages: int
    cutoff: datetime
    pages_cutoff: datetime
    dry_run: bool = False

    def details(self) -> dict[str, Any]:
        out = asdict(self)
        out["cutoff"] = self.cutoff.astimezone(UTC).isoformat()
        out["pages_cutoff"] = self.pages_cutoff.astimezone(UTC).isoformat()
        return out


def _count(client: Elasticsearch, index: str, query: dict) -> int:
    try:
        return int(client.count(index=index, query=query)["count"])
    except NotFoundError:
        return 0


def delete_matching(client: Elasticsearch, index: str, query: dict, *,
                    progress: Callable[[int], None] | None = None) -> int:
    """Delete every document of ``index`` matching ``query`` (scan + bulk); returns how many went. ``progress``
    is called with the running count after each chunk (a long prune renews its lease there)."""
    try:
        client.indices.refresh(index=index)
    except NotFoundError:
        return 0

    def actions() -> Iterator[dict[str, Any]]:
        for hit in helpers.scan(client, index=index, query={"query": query, "_source": False}, size=CHUNK):
            yield {"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]}

    deleted = 0
    for ok, _ in helpers.streaming_bulk(client, actions(), chunk_size=CHUNK, raise_on_error=False):
        if ok:
            deleted += 1
            if progress is not None and deleted % CHUNK == 0:
                progress(deleted)
    client.indices.refresh(index=index)
    return deleted


def prune(client: Elasticsearch, settings: Settings, days: int, *, dry_run: bool = False,
          now: datetime | None = None, progress: Callable[[int], None] | None = None) -> PruneResult:
    """Delete (with ``dry_run`` only count) documents older than ``days`` and page state older than ``days``
    plus the revisit horizon (see the module docstring)."""
    if days < 1:
        raise ValueError("retention must be at least 1 day")
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=days)
    pages_cutoff = page_state_cutoff(settings, days, now)
    docs, pages = docs_alias(settings), pages_alias(settings)
    if dry_run:
        return PruneResult(days, _count(client, docs, expired_query(cutoff)),
                           _count(client, pages, expired_pages_query(pages_cutoff)), cutoff, pages_cutoff, True)
    documents = delete_matching(client, docs, expired_query(cutoff), progress=progress)
    page_count = delete_matching(client, pages, expired_pages_query(pages_cutoff), progress=progress)
    return PruneResult(days, documents, page_count, cutoff, pages_cutoff)


def retention_lease(client: Elasticsearch, settings: Settings, owner: str | None = None) -> Lease:
    return Lease(client, locks_alias(settings), LEASE_NAME, purpose="prune", owner=owner,
                 ttl=settings.schedule.lease_seconds)


def prune_audited(client: Elasticsearch, settings: Settings, days: int, *, actor: str, dry_run: bool = False,
                  now: datetime | None = None, owner: str | None = None,
                  details: dict[str, Any] | None = None) -> PruneResult:
    """:func:`prune` under the ``retention`` lease, recorded in the audit log as ``retention.prune`` by ``actor``
    (a failure too, as outcome ``failed``). UserError naming the holder when another prune runs now; a dry run
    takes no lease and records nothing."""
    if dry_run:
        return prune(client, settings, days, dry_run=True, now=now)
    audit = AuditLog.of(client, settings)
    lease = retention_lease(client, settings, owner)
    holder = lease.try_acquire()
    if holder is not None:
        raise UserError(f"a prune is running already ({holder.describe()}); try again when it ends")
    try:
        result = prune(client, settings, days, now=now, progress=lambda _: lease.heartbeat())
    except Exception as exc:
        audit.record(actor=actor, action="retention.prune", target=settings.index.prefix, outcome="failed",
                     details={"days": days, "error": str(exc)[:500], **(details or {})}, refresh=True)
        raise
    finally:
        lease.release()
    audit.record(actor=actor, action="retention.prune", target=settings.index.prefix,
                 details={**result.details(), **(details or {})}, refresh=True)
    return result


@dataclass(frozen=True)
class SourceData:
    """A source's documents and page state (counted, or deleted)."""

    documents: int
    pages: int


def count_source_data(client: Elasticsearch, settings: Settings, source_id: str) -> SourceData:
    return SourceData(_count(client, docs_alias(settings), source_query(source_id)),
                      _count(client, pages_alias(settings), source_query(source_id)))


def delete_source_data(client: Elasticsearch, settings: Settings, source_id: str) -> SourceData:
    """Delete every document and every page state of ``source_id`` (nothing of any other source)."""
    if not source_id:
        raise ValueError("a source id is needed")
    return SourceData(delete_matching(client, docs_alias(settings), source_query(source_id)),
                      delete_matching(client, pages_alias(settings), source_query(source_id)))
