"""Retention: delete documents older than the configured number of days.

Age is the publish time, or the first crawl when a document has no publish time. Deletion is
scan + bulk delete (the local node has no delete-by-query module). Crawl state is kept, so a
re-crawl does not bring deleted articles back (their pages are known and unchanged).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch, helpers

from index.mappings import docs_alias
from mediawatch.config import Settings


def expired_query(cutoff: datetime) -> dict:
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


def prune(client: Elasticsearch, settings: Settings, days: int, *, dry_run: bool = False) -> int:
    """Delete (or with ``dry_run`` only count) documents older than ``days``. Returns the count."""
    if days < 1:
        raise ValueError("retention must be at least 1 day")
    index = docs_alias(settings)
    query = expired_query(datetime.now(UTC) - timedelta(days=days))
    if dry_run:
        return client.count(index=index, query=query)["count"]
    actions = (
        {"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]}
        for hit in helpers.scan(client, index=index, query={"query": query, "_source": False}, size=1000)
    )
    deleted, _ = helpers.bulk(client, actions, chunk_size=1000, raise_on_error=False)
    client.indices.refresh(index=index)
    return deleted
