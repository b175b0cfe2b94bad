"""Indexing throughput: the crawl's writer (``index.writer.PageWriter``) against ``elasticsearch.helpers.bulk``
alone, same documents, same batch size, same node, one run.

    .venv/bin/python -m bench.index_bench [--docs 10000] [--rounds 4] [--batch 200]

Each document is written the way a crawl writes it (``crawlers.pipelines.IndexPipeline.unit``): an upsert of
the document (``first_seen`` set only when new) and then, once the document is acknowledged, an index of its
page's crawl state. Documents are generated (``bench.docgen``: real VNTC articles, varied metadata, 7 KB of
JSON each with the folded copies) before the clock starts.

* **ours**: a ``PageWriter`` (thread, bounded queue, spool on disk, batches of ``--batch`` actions counting
  both kinds) fed one ``WriteUnit`` per page, from the first submit to ``close()`` returning (its final
  refresh included);
* **bulk helper**: ``helpers.bulk(chunk_size=--batch)`` over the very same actions (document, state, document,
  state, ...), then one refresh.

Every round writes into fresh indices of a throw-away prefix (an upsert onto an existing document is a cheaper
noop), after an untimed warm-up of both; the two take turns within a round, each going first in every other
round (the first run of a round was often the slower one), and the ratio is the median of the per-round ratios
(wall time: the work is the node's, on the same machine). The bench checks that both wrote every document
and page state.
Uses ``MEDIAWATCH_ES_URL`` when set, else starts the local node; the throw-away indices are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

from bench.docgen import documents, load_pool
from index.mappings import DOCS, PAGES, docs_alias, ensure_indices, pages_alias
from index.pages import page_id
from index.spool import Spool
from index.writer import PageWriter, WriteUnit, index_action, upsert_action
from mediawatch.config import Settings


def units(settings: Settings, count: int) -> list[WriteUnit]:
    """What the crawl's IndexPipeline hands its writer for ``count`` one-document pages."""
    pool = load_pool(min(count, 33_759))
    docs_index, pages_index = docs_alias(settings), pages_alias(settings)
    out = []
    now = datetime.now(UTC).isoformat()
    for doc_id, doc in documents(0, count, pool):
        fields = {**doc, "changed_at": now, "alert_pending": True}
        fields.pop("first_seen", None)
        state = {"url": doc["url"], "source": doc["source"], "role": "article", "status": 200,
                 "etag": f'"{doc_id[:12]}"', "content_hash": doc["content_hash"], "doc_ids": [doc_id],
                 "fetched_at": now, "changed_at": now, "revisit_seconds": 86400.0}
        out.append(WriteUnit([upsert_action(docs_index, doc_id, fields, {"first_seen": now})],
                             [index_action(pages_index, page_id(doc["url"]), state)]))
    return out


def retarget(unit_list: list[WriteUnit], docs_index: str, pages_index: str) -> list[WriteUnit]:
    return [WriteUnit([{**a, "_index": docs_index} for a in u.actions], [{**a, "_index": pages_index} for a in u.then])
            for u in unit_list]


def run_ours(
    client: Elasticsearch, unit_list: list[WriteUnit], batch: int, spool_dir: Path
) -> tuple[float, dict[str, int]]:
    writer = PageWriter(client, batch_size=batch, queue_size=256, spool=Spool(spool_dir, max_bytes=1 << 30),
                        hold_off_seconds=600.0)
    start = time.monotonic()
    writer.start().result()
    for unit in unit_list:
        writer.submit(unit)
    stats = writer.close().result()
    seconds = time.monotonic() - start
    if writer.failure:
        raise SystemExit(f"the writer failed: {writer.failure}")
    return seconds, stats.as_dict()


def run_bulk(client: Elasticsearch, unit_list: list[WriteUnit], batch: int) -> tuple[float, int]:
    actions: list[dict[str, Any]] = [a for u in unit_list for a in (*u.actions, *u.then)]
    indices = sorted({a["_index"] for a in actions})
    start = time.monotonic()
    ok, errors = helpers.bulk(client, actions, chunk_size=batch, max_chunk_bytes=1 << 30, raise_on_error=False)
    client.indices.refresh(index=",".join(indices))
    seconds = time.monotonic() - start
    if errors:
        raise SystemExit(f"the bulk helper had {len(errors)} errors, first: {errors[0]}")
    return seconds, ok


def fresh(client: Elasticsearch, es_url: str, prefix: str) -> Settings:
    settings = Settings(es={"url": es_url, "request_timeout": 300}, index={"prefix": prefix})
    ensure_indices(client, settings, (DOCS, PAGES))
    return settings


def drop(client: Elasticsearch, prefix: str) -> None:
    for name in client.indices.get(index=f"{prefix}-*", allow_no_indices=True):
        client.indices.delete(index=name)
    found = client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for template in found.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])


def versions(client: Elasticsearch) -> str:
    import platform

    import elasticsearch

    try:
        server = str(client.cat.nodes(h="version")).split()[0]
    except Exception:  # noqa: BLE001 - decoration only
        server = "?"
    return (f"{os.cpu_count()} cores, CPython {platform.python_version()}, Elasticsearch {server} "
            f"(client {elasticsearch.__versionstr__}), load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents (pages) written per run")
    parser.add_argument("--rounds", type=int, default=4, help="an even number: each side goes first as often")
    parser.add_argument("--batch", type=int, default=Settings().index.bulk_batch_size,
                        help="actions per bulk request (the crawl's index.bulk_batch_size)")
    args = parser.parse_args()
    if args.docs < 1 or args.rounds < 1 or args.batch < 1:
        sys.exit("error: --docs, --rounds and --batch must be at least 1")

    es_url = os.environ.get("MEDIAWATCH_ES_URL")
    if not es_url:
        from index import node
        from mediawatch.config import load_settings

        es_url = node.ensure_started(load_settings(), log=lambda *a: None)
    client = Elasticsearch(es_url, request_timeout=300)
    base = f"bench-index-{uuid.uuid4().hex[:6]}"
    template = Settings(es={"url": es_url}, index={"prefix": base})
    started = time.monotonic()
    unit_list = units(template, args.docs)
    print(f"{args.docs:,} documents generated in {time.monotonic() - started:.1f}s; {versions(client)}", flush=True)
    seconds: dict[str, list[float]] = {"ours": [], "bulk": []}
    prefixes: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="mw-index-bench-") as tmp:
            warm = unit_list[: min(1000, len(unit_list))]
            for name in ("ours", "bulk"):  # untimed warm-up of both paths (client, node, analyzers)
                prefix = f"{base}-warm{name}"
                prefixes.append(prefix)
                settings = fresh(client, es_url, prefix)
                batch_units = retarget(warm, docs_alias(settings), pages_alias(settings))
                if name == "ours":
                    run_ours(client, batch_units, args.batch, Path(tmp) / prefix)
                else:
                    run_bulk(client, batch_units, args.batch)
                drop(client, prefix)
            for number in range(args.rounds):
                order = ("ours", "bulk") if number % 2 == 0 else ("bulk", "ours")
                for name in order:
                    prefix = f"{base}-{name}{number}"
                    prefixes.append(prefix)
                    settings = fresh(client, es_url, prefix)
                    batch_units = retarget(unit_list, docs_alias(settings), pages_alias(settings))
                    if name == "ours":
                        took, stats = run_ours(client, batch_units, args.batch, Path(tmp) / prefix)
                        if stats["created"] != args.docs or stats["recorded"] != args.docs or stats["spooled"]:
                            raise SystemExit(f"the writer did not write everything: {stats}")
                    else:
                        took, ok = run_bulk(client, batch_units, args.batch)
                        if ok != 2 * args.docs:
                            raise SystemExit(f"the bulk helper acknowledged {ok} of {2 * args.docs} actions")
                    counted = client.count(index=docs_alias(settings))["count"]
                    if counted != args.docs:
                        raise SystemExit(f"{name}: {counted} documents in the index, expected {args.docs}")
                    seconds[name].append(took)
                    print(f"round {number + 1} {name:5s}: {took:6.2f}s  {args.docs / took:8.0f} docs/s", flush=True)
                    drop(client, prefix)
    finally:
        for prefix in prefixes:
            drop(client, prefix)
    ratios = [b / o for o, b in zip(seconds["ours"], seconds["bulk"], strict=True)]
    ours = args.docs / statistics.median(seconds["ours"])
    bulk = args.docs / statistics.median(seconds["bulk"])
    print(f"\n{args.docs:,} documents (+ as many page states), batch {args.batch}, median of {args.rounds} rounds; "
          f"load average now {os.getloadavg()[0]:.2f}")
    print("| writer | docs/s |\n|---|---|")
    print(f"| helpers.bulk | {bulk:,.0f} |\n| PageWriter (ours) | {ours:,.0f} |")
    print(f"ratio ours / bulk helper: {statistics.median(ratios):.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f}; "
          "target >= 0.9)")


if __name__ == "__main__":
    main()
