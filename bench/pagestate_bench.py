"""Page-state memory: peak RSS of a crawl's known-page lookups with 10,000 and 1,000,000 known pages.

    .venv/bin/python -m bench.pagestate_bench [--sizes 10000 1000000] [--discovered 20000]

For each size, the pages index of a throw-away prefix is filled with that many page states of one
source (bulk, minimal documents), then two fresh processes each look up the same ``--discovered`` URLs
of that source (half known, half new), as a crawl discovers them:

* **batched** (what the crawl does now, ``index.pages.PageStateReader``): one ``mget`` per 200 URLs,
  keeping nothing once a batch is answered;
* **load all** (the baseline, what the crawl did before): scan every stored page of the source into a
  dict, then look the URLs up in it.

Each process reports its peak RSS (``VmHWM``, its own high-water mark), what it grew by during the
lookups, and how long they took. Uses ``MEDIAWATCH_ES_URL`` when set, else starts the local node.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from elasticsearch import Elasticsearch, helpers

from index.pages import page_id

REPO = Path(__file__).resolve().parent.parent
SOURCE = "bench-source"
BATCH = 200


def url(i: int) -> str:
    return f"https://bao.example.vn/tin-tuc/bai-viet-{i:08d}.html"


def fill(client: Elasticsearch, index: str, count: int) -> float:
    """Index ``count`` page states; returns seconds taken."""
    start = time.monotonic()
    now = "2026-11-30T00:00:00+00:00"

    def actions():
        for i in range(count):
            u = url(i)
            yield {"_index": index, "_id": page_id(u), "_source": {
                "url": u, "source": SOURCE, "role": "article", "status": 200, "etag": f'"{i:x}"',
                "content_hash": f"{i:040x}", "doc_ids": [page_id(u)], "fetched_at": now, "revisit_seconds": 86400.0}}

    for _ in helpers.parallel_bulk(client, actions(), thread_count=2, chunk_size=5000, queue_size=4):
        pass
    client.indices.refresh(index=index)
    return time.monotonic() - start


CHILD = """
import json, sys, time
from datetime import datetime
from elasticsearch import Elasticsearch, helpers
from index.pages import KnownPage, PageStateReader
es_url, index, mode, known, discovered = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
client = Elasticsearch(es_url, request_timeout=120)
urls = [f"https://bao.example.vn/tin-tuc/bai-viet-{i:08d}.html" for i in range(known - discovered // 2, known)]
urls += [f"https://bao.example.vn/tin-tuc/moi-{i:08d}.html" for i in range(discovered - len(urls))]
def peak_mb():  # VmHWM: this process's own peak (ru_maxrss would include the parent's at fork time)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
client.cluster.health()
before = peak_mb()
start = time.monotonic()
found = 0
if mode == "batched":
    reader = PageStateReader(client, index)
    for i in range(0, len(urls), 200):
        found += len(reader.lookup(urls[i:i + 200]))
else:
    everything = {}
    for hit in helpers.scan(client, index=index, query={"query": {"term": {"source": "bench-source"}}}, size=1000):
        src = hit["_source"]
        everything[src["url"]] = KnownPage.from_source(src)
    found = sum(1 for u in urls if u in everything)
seconds = time.monotonic() - start
print(json.dumps({"rss_mb": peak_mb(), "seconds": seconds,
                  "found": found, "before_mb": before}))
"""


def measure(es_url: str, index: str, mode: str, known: int, discovered: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, es_url, index, mode, str(known), str(discovered)],
                         cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--discovered", type=int, default=20_000)
    args = parser.parse_args()
    es_url = os.environ.get("MEDIAWATCH_ES_URL")
    if not es_url:
        from index import node
        from mediawatch.config import load_settings

        es_url = node.ensure_started(load_settings(), log=lambda *a: None)
    client = Elasticsearch(es_url, request_timeout=300)
    rows = []
    for size in args.sizes:
        index = f"bench-pages-{uuid.uuid4().hex[:6]}"
        from index.mappings import PAGE_PROPERTIES

        client.indices.create(index=index, mappings={"dynamic": "strict", "properties": PAGE_PROPERTIES},
                              settings={"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"})
        try:
            took = fill(client, index, size)
            print(f"{size:,} page states indexed in {took:.0f} s", file=sys.stderr)
            batched = measure(es_url, index, "batched", size, args.discovered)
            loaded = measure(es_url, index, "load-all", size, args.discovered)
            assert batched["found"] == loaded["found"], (batched, loaded)
            rows.append((size, batched, loaded))
        finally:
            client.indices.delete(index=index)
    print(f"{args.discovered:,} URLs discovered (half of them known), peak RSS of the process looking them up")
    print("(growth: peak RSS minus the RSS of the same process once connected, before any lookup)")
    print("| known pages | batched mget: peak RSS | growth | time | load all (before): peak RSS | growth | time |")
    print("|---|---|---|---|---|---|---|")
    for size, batched, loaded in rows:
        grown = {name: run["rss_mb"] - run["before_mb"] for name, run in (("batched", batched), ("loaded", loaded))}
        print(f"| {size:,} | {batched['rss_mb']:.0f} MB | {grown['batched']:.0f} MB | {batched['seconds']:.1f} s "
              f"| {loaded['rss_mb']:.0f} MB | {grown['loaded']:.0f} MB | {loaded['seconds']:.1f} s |")


if __name__ == "__main__":
    main()
