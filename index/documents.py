"""Stored documents: finding those to re-tag, and writing field updates back (for backfill)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from elasticsearch import Elasticsearch, helpers


def stale_query(versions: dict[str, str], *, force: bool = False) -> dict[str, Any]:
    """Documents whose tags are missing or were produced by other model versions (``force``: all)."""
    if force:
        return {"match_all": {}}
    return {
        "bool": {
            "should": [
                {"bool": {"must_not": {"term": {f"models.{task}": version}}}} for task, version in versions.items()
            ],
            "minimum_should_match": 1,
        }
    }


def count(client: Elasticsearch, index: str, query: dict[str, Any]) -> int:
    return int(client.count(index=index, query=query)["count"])


def scan(client: Elasticsearch, index: str, query: dict[str, Any], fields: list[str], *, size: int = 500
         ) -> Iterator[dict[str, Any]]:
    """Every matching document's ``fields`` plus ``id`` and ``_index``, in no particular order."""
    for hit in helpers.scan(client, index=index, query={"query": query, "_source": fields}, size=size):
        yield {**hit["_source"], "id": hit["_id"], "_index": hit["_index"]}


def update_fields(client: Elasticsearch, updates: list[tuple[str, str, dict[str, Any]]], *, refresh_index: str) -> int:
    """Apply ``(index, id, fields)`` partial updates; refresh so the next batch sees them. Returns how many took."""
    actions = ({"_op_type": "update", "_index": idx, "_id": doc_id, "doc": fields} for idx, doc_id, fields in updates)
    ok, _ = helpers.bulk(client, actions, raise_on_error=False)
    client.indices.refresh(index=refresh_index)
    return ok
