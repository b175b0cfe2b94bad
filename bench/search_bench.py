"""Search latency at scale: ``index.search.search`` (what the CLI and the web app call) against the same query
body sent raw to Elasticsearch, over generated indices of growing size, one run.

    .venv/bin/python -m bench.search_bench [--sizes 100000 [1000000]] [--rounds 5] [--keep | --prefix P]

One throw-away index is filled in steps up to each size in ``--sizes`` (ascending; 1,000,000 takes long on a
small machine, so the default is 100,000 and the 1M point is asked for explicitly). Documents come from
``bench.docgen`` (real VNTC articles, 3,000 characters on average, with their folded copies; varied sources,
kinds, topics, sentiment, places, authors, two years of dates; stories of 5 and syndicated copies in threes),
loaded with ``helpers.parallel_bulk`` while the index's refresh is switched off.

At each size, eight typical staff queries (boolean syntax with phrases, OR groups, exclusions, a field scope, a
word typed without diacritics; filters on dates, sources, kind, topic, sentiment and place; facets; story
collapse; 20 hits) run ``--rounds`` times each, two ways taking turns:

* **ours**: ``search(client, settings, SearchRequest(...))``: schema check, the search, snippets (the
  highlight is built in Python from ``_source``), copies ("also at") and story sizes, hits as objects;
* **raw**: the body that ``search`` sent for its main request (captured on the first call), sent once with
  ``client.search`` — what a bare Elasticsearch client pays for the same hits and facets, without snippets;
* **raw + highlight**: the same body with Elasticsearch's own highlighter asked for two 160-character
  fragments of the fields the query searches (``title``, ``text`` and their folded copies) — what a bare
  client sends for the page the issue describes (boolean + filters + *highlight* + facets + collapse), since
  ``search`` builds its snippets in Python instead of asking the cluster.

Prints p50 and p95 latency (wall, milliseconds) of each over all queries and rounds, the ratios (the project's
overhead; target <= 1.2) against both baselines, where our time goes (each request ``search`` makes, timed at
the transport),
and the growth from the first size to the last. The throw-away indices are deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from bench.docgen import documents, load_pool
from index.mappings import DOCS, docs_alias, ensure_indices
from index.search import SearchRequest, search
from mediawatch.config import Settings

BYTES_PER_DOC = 6_000  # on disk, measured: 10,000 VNTC documents take about 50 MB


@dataclass
class Query:
    label: str
    request: SearchRequest
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def highlighted(self) -> dict[str, Any]:
        """``body`` with Elasticsearch's highlighter asked for what ``search`` shows: two fragments of about
        160 characters, from the fields the query searches."""
        fields = {name: {} for name in ("title", "title_folded", "text", "text_folded")}
        return {**self.body, "highlight": {"fields": fields, "fragment_size": 160, "number_of_fragments": 2,
                                           "require_field_match": False}}


def queries() -> list[Query]:
    def day(y: int, m: int, d: int) -> datetime:
        return datetime(y, m, d, tzinfo=UTC)

    common = {"collapse_stories": True, "facets": True, "size": 20}
    return [
        Query("phrases OR, business, 6 months", SearchRequest(
            query='"giá vàng" OR "giá xăng" OR "lãi suất"', topics=["business"],
            date_from=day(2026, 5, 1), date_to=day(2026, 11, 1), **common)),
        Query("AND of OR group, news only", SearchRequest(
            query='bóng đá AND ("World Cup" OR Euro OR "V-League")', kinds=["news"], **common)),
        Query("exclusion, 5 sources, by date", SearchRequest(
            query='tai nạn giao thông -"nước ngoài"', sources=[f"bao{i:02d}" for i in range(5)], sort="date",
            **common)),
        Query("title scope, negative", SearchRequest(
            query="title:(bệnh viện OR bác sĩ)", sentiments=["negative"], **common)),
        Query("phrase AND word, place", SearchRequest(
            query='"Hà Nội" AND học sinh', places=["01"], **common)),
        Query("words, 30 days, by date", SearchRequest(
            query="chứng khoán cổ phiếu", date_from=day(2026, 10, 1), date_to=day(2026, 10, 31), sort="date",
            **common)),
        Query("no diacritics, year", SearchRequest(
            query="cong an dieu tra", date_from=day(2025, 1, 1), date_to=day(2025, 12, 31), **common)),
        Query("OR with prefix, health + places", SearchRequest(
            query='cúm OR "H5N1" OR dịch*', topics=["health"], places=["79", "48"], **common)),
    ]


class Transport:
    """Times every request the client sends (path -> list of seconds) while ``on``."""

    def __init__(self, client: Elasticsearch) -> None:
        self.client = client
        self.on = False
        self.calls: list[tuple[str, float]] = []
        self.bodies: list[dict[str, Any]] = []
        self._perform = client.perform_request
        client.perform_request = self._timed  # type: ignore[method-assign]

    def _timed(self, method: str, path: str, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._perform(method, path, **kwargs)
        finally:
            if self.on:
                self.calls.append((f"{method} {_kind(path)}", time.perf_counter() - start))
                if path.endswith("/_search") and isinstance(kwargs.get("body"), dict):
                    self.bodies.append(kwargs["body"])


def _kind(path: str) -> str:
    if "/_alias" in path:
        return "alias (schema check)"
    return "_search"


def fill(client: Elasticsearch, index: str, start: int, stop: int, pool: list[Any]) -> float:
    """Add documents ``start`` to ``stop``; seconds taken (refresh off while loading, then one refresh)."""
    began = time.monotonic()
    client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})
    actions = ({"_index": index, "_id": doc_id, "_source": doc} for doc_id, doc in documents(start, stop, pool))
    failed = 0
    for ok, _ in helpers.parallel_bulk(client, actions, thread_count=2, chunk_size=500, queue_size=4,
                                       raise_on_error=False):
        failed += not ok
    client.indices.put_settings(index=index, settings={"index": {"refresh_interval": None}})
    client.indices.refresh(index=index)
    if failed:
        raise SystemExit(f"{failed} documents were refused while loading")
    return time.monotonic() - began


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


WAYS = ("ours", "raw", "raw_hl")


def measure(client: Elasticsearch, transport: Transport, settings: Settings, qs: list[Query], rounds: int
            ) -> dict[str, Any]:
    alias = docs_alias(settings)
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    by_call: dict[str, list[float]] = defaultdict(list)
    per_query: dict[str, dict[str, list[float]]] = {q.label: {way: [] for way in WAYS} for q in qs}
    totals: dict[str, int] = {}
    for q in qs:  # warm-up, and the body ``search`` sends for its main request
        transport.calls.clear()
        transport.bodies.clear()
        transport.on = True
        result = search(client, settings, q.request)
        transport.on = False
        q.body = next(b for b in transport.bodies if "sort" in b)
        client.search(index=alias, body=q.body)
        client.search(index=alias, body=q.highlighted)
        totals[q.label] = result.total
    for number in range(rounds):
        for q in qs:
            shift = number % len(WAYS)
            for way in WAYS[shift:] + WAYS[:shift]:  # each way goes first, second and last in turn
                if way == "ours":
                    transport.calls.clear()
                    transport.on = True
                    start = time.perf_counter()
                    search(client, settings, q.request)
                    took = time.perf_counter() - start
                    transport.on = False
                    seen: dict[str, float] = defaultdict(float)
                    searches = 0
                    for call, seconds in transport.calls:
                        if call.endswith("_search"):
                            searches += 1
                            call = ("main search", "look-ups (_msearch)")[min(searches, 2) - 1]
                        seen[call] += seconds
                    seen["python (parse, snippets, hits)"] = took - sum(s for _, s in transport.calls)
                    seen["whole search"] = took
                    for call, seconds in seen.items():
                        by_call[call].append(seconds)
                else:
                    body = q.body if way == "raw" else q.highlighted
                    start = time.perf_counter()
                    client.search(index=alias, body=body)
                    took = time.perf_counter() - start
                times[way].append(took)
                per_query[q.label][way].append(took)
    return {"times": times, "by_call": by_call, "per_query": per_query, "totals": totals}


def report(size: int, result: dict[str, Any], samples: int) -> dict[str, float]:
    times = result["times"]
    row = {f"{way}_{q}": percentile(times[way], p) * 1000 for way in WAYS for q, p in (("p50", 0.5), ("p95", 0.95))}
    print(f"\n{size:,} documents, {samples} searches each way (load average {os.getloadavg()[0]:.2f})")
    print("| query | hits | ours p50 | raw p50 | raw + highlight p50 | ratio to raw | ratio to raw + highlight |")
    print("|---|---|---|---|---|---|---|")
    for label, ways in result["per_query"].items():
        a, b, c = (statistics.median(ways[way]) * 1000 for way in WAYS)
        print(f"| {label} | {result['totals'][label]:,} | {a:.0f} ms | {b:.0f} ms | {c:.0f} ms | {a / b:.2f} "
              f"| {a / c:.2f} |")
    print(f"| **all** (p50 / p95) | | {row['ours_p50']:.0f} / {row['ours_p95']:.0f} ms "
          f"| {row['raw_p50']:.0f} / {row['raw_p95']:.0f} ms | {row['raw_hl_p50']:.0f} / {row['raw_hl_p95']:.0f} ms "
          f"| {row['ours_p50'] / row['raw_p50']:.2f} / {row['ours_p95'] / row['raw_p95']:.2f} "
          f"| {row['ours_p50'] / row['raw_hl_p50']:.2f} / {row['ours_p95'] / row['raw_hl_p95']:.2f} |")
    print("where one search of ours spends its time (median per search):")
    for call, values in result["by_call"].items():
        print(f"  {call:34s} {statistics.median(values) * 1000:7.1f} ms")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000], metavar="N",
                        help="index sizes to measure at, ascending (e.g. 100000 1000000)")
    parser.add_argument("--rounds", type=int, default=5, help="times each query runs each way at each size")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away index (prints its prefix)")
    parser.add_argument("--prefix", help="reuse the index a --keep run left under this prefix (loads only what "
                        "is missing up to each size; kept afterwards)")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes))
    if sizes[0] < 1 or args.rounds < 1:
        sys.exit("error: --sizes and --rounds must be at least 1")

    es_url = os.environ.get("MEDIAWATCH_ES_URL")
    if not es_url:
        from index import node
        from mediawatch.config import load_settings

        es_url = node.ensure_started(load_settings(), log=lambda *a: None)
    client = Elasticsearch(es_url, request_timeout=600)
    prefix = args.prefix or f"bench-search-{uuid.uuid4().hex[:6]}"
    keep = args.keep or bool(args.prefix)
    settings = Settings(es={"url": es_url, "request_timeout": 600}, index={"prefix": prefix})
    transport = Transport(client)
    import elasticsearch

    server = str(client.cat.nodes(h="version")).split()[0]
    print(f"{os.cpu_count()} cores, CPython {platform.python_version()}, Elasticsearch {server} "
          f"(client {elasticsearch.__versionstr__}), load average {os.getloadavg()[0]:.2f}", flush=True)
    fs = next(iter(client.nodes.stats(metric="fs")["nodes"].values()))["fs"]["total"]
    free = fs["available_in_bytes"]
    if sizes[-1] * BYTES_PER_DOC * 2 > free:
        sys.exit(f"error: {sizes[-1]:,} documents need about {sizes[-1] * BYTES_PER_DOC / 1e9:.0f} GB; "
                 f"{free / 1e9:.0f} GB free")
    rows: dict[int, dict[str, float]] = {}
    try:
        ensure_indices(client, settings, (DOCS,))
        index = next(iter(client.indices.get_alias(name=docs_alias(settings))))
        pool = load_pool()
        loaded = client.count(index=index)["count"]
        for size in sizes:
            if size > loaded:
                seconds = fill(client, index, loaded, size, pool)
                print(f"loaded {size - loaded:,} documents in {seconds:.0f}s ({(size - loaded) / seconds:,.0f} "
                      f"docs/s); index {client.count(index=index)['count']:,} documents", flush=True)
                loaded = size
            elif size < loaded:
                sys.exit(f"error: the kept index already holds {loaded:,} documents, more than {size:,}")
            qs = queries()
            result = measure(client, transport, settings, qs, args.rounds)
            rows[size] = report(size, result, args.rounds * len(qs))
    finally:
        if keep:
            print(f"kept: prefix {prefix}")
        else:
            for name in client.indices.get(index=f"{prefix}-*", allow_no_indices=True):
                client.indices.delete(index=name)
            found = client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
            for template in found.get("index_templates", []):
                client.indices.delete_index_template(name=template["name"])
    print("\n| documents | ours p50 / p95 | raw p50 / p95 | raw + highlight p50 / p95 | ratio to raw p50 / p95 "
          "| ratio to raw + highlight p50 / p95 |")
    print("|---|---|---|---|---|---|")
    for size, row in rows.items():
        print(f"| {size:,} | {row['ours_p50']:.0f} / {row['ours_p95']:.0f} ms | {row['raw_p50']:.0f} / "
              f"{row['raw_p95']:.0f} ms | {row['raw_hl_p50']:.0f} / {row['raw_hl_p95']:.0f} ms "
              f"| {row['ours_p50'] / row['raw_p50']:.2f} / {row['ours_p95'] / row['raw_p95']:.2f} "
              f"| {row['ours_p50'] / row['raw_hl_p50']:.2f} / {row['ours_p95'] / row['raw_hl_p95']:.2f} |")
    if len(rows) > 1:
        first, last = rows[sizes[0]], rows[sizes[-1]]
        print(f"growth {sizes[0]:,} -> {sizes[-1]:,} documents ({sizes[-1] / sizes[0]:.0f}x): ours p50 "
              f"x{last['ours_p50'] / first['ours_p50']:.2f}, p95 x{last['ours_p95'] / first['ours_p95']:.2f}; "
              f"raw p50 x{last['raw_p50'] / first['raw_p50']:.2f}, p95 x{last['raw_p95'] / first['raw_p95']:.2f}")


if __name__ == "__main__":
    main()
