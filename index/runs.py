"""Crawl runs: one document per source per crawl in ``<prefix>-runs`` (what it did, and how healthy it was)."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch, NotFoundError


def record_run(client: Elasticsearch, runs_index: str, run: dict[str, Any]) -> None:
    """Store one run (``run["run_id"]`` is its id: recording it again replaces it)."""
    client.index(index=runs_index, id=run["run_id"], document=run, refresh="wait_for")


def recent_runs(client: Elasticsearch, runs_index: str, *, source: str | None = None, size: int = 10) -> list[dict]:
    """The latest runs, newest first (of one source, or all)."""
    query: dict[str, Any] = {"term": {"source": source}} if source else {"match_all": {}}
    try:
        resp = client.search(
            index=runs_index, query=query, size=size, sort=[{"started": {"order": "desc"}}],
            source={"excludes": ["stats"]},
        )
    except NotFoundError:
        return []
    return [hit["_source"] for hit in resp["hits"]["hits"]]


def last_run_per_source(client: Elasticsearch, runs_index: str, *, size: int = 100) -> list[dict]:
    """Each source's latest run."""
    try:
        resp = client.search(
            index=runs_index, size=0,
            aggs={"by_source": {"terms": {"field": "source", "size": size},
                                "aggs": {"last": {"top_hits": {"size": 1, "sort": [{"started": {"order": "desc"}}],
                                                               "_source": {"excludes": ["stats"]}}}}}},
        )
    except NotFoundError:
        return []
    runs = [b["last"]["hits"]["hits"][0]["_source"] for b in resp["aggregations"]["by_source"]["buckets"]]
    return sorted(runs, key=lambda r: r.get("started") or "", reverse=True)
