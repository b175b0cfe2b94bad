"""Crawl runs: one document per source per crawl in ``<prefix>-runs`` (what it did, and how healthy it was)."""

from __future__ import annotations

import statistics
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError


def record_run(client: Elasticsearch, runs_index: str, run: dict[str, Any]) -> None:
    """Store one run (``run["run_id"]`` is its id: recording it again replaces it)."""
    client.index(index=runs_index, id=run["run_id"], document=run, refresh=True)


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


#: Flags of a run against its source's history (:func:`history_flags`).
YIELD_DROP = 0.25  # new documents below this share of the recent median
MIN_HISTORY = 3  # runs needed before a source's history says anything
QUALITY_JUMP = 0.2  # rise in the share of pages with no text or no date


def history_flags(run: dict[str, Any], previous: list[dict[str, Any]]) -> list[str]:
    """What looks broken about ``run`` next to the same source's ``previous`` runs (newest first): far
    fewer new documents than its recent median, failing fetches rising, or extraction quality dropping
    (more pages with an empty body or without a date) — how a changed site layout shows up."""
    history = [r for r in previous if r.get("health") in ("ok", "degraded")][:10]
    if len(history) < MIN_HISTORY or run.get("health") == "interrupted":
        return []
    flags = []
    usual = statistics.median(int(r.get("created", 0)) for r in history)
    if usual >= 5 and int(run.get("created", 0)) < YIELD_DROP * usual:
        flags.append(f"{run.get('created', 0)} new documents against a usual {usual:g}")

    def failed_share(r: dict[str, Any]) -> float:
        # A site's 4xx answers (gone or missing pages) are its own business, not a crawl failure.
        failed = sum(v for k, v in (r.get("failures") or {}).items() if not k.startswith("http_4"))
        return failed / max(int(r.get("pages", 0)) + failed, 1)

    usual_failed = statistics.median(failed_share(r) for r in history)
    if failed_share(run) > max(2 * usual_failed, 0.05) + 1e-9:
        flags.append(f"failed fetches up: {failed_share(run):.0%} against a usual {usual_failed:.0%}")
    for counted, label in (("empty_text", "pages without text"), ("no_date", "documents without a date")):
        usual_share = statistics.median(_share(r, counted) for r in history)
        enough = int(run.get("documents", 0)) + int(run.get("empty_text", 0)) >= 5
        if enough and _share(run, counted) > usual_share + QUALITY_JUMP:
            flags.append(f"{label}: {_share(run, counted):.0%} against a usual {usual_share:.0%}")
    return flags


def _share(run: dict[str, Any], counted: str) -> float:
    """``counted`` (empty_text, no_date) as a share of the pages that gave or should have given a document."""
    base = int(run.get("documents", 0)) + int(run.get("empty_text", 0))
    return int(run.get(counted, 0)) / base if base else 0.0
