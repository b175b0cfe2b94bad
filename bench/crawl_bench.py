"""Crawl throughput before and after: the current tree against an earlier commit, same site, same node,
same machine, in one run.

    .venv/bin/python -m bench.crawl_bench [--baseline 341c929] [--rounds 3]

The generated local site (news and forum, 115 pages, 194 documents) is served on loopback and crawled
in full by ``mediawatch crawl`` (fetch, extract, tag with the shipped models, index), from the current
tree and from a ``git worktree`` of ``--baseline`` (default: the last commit before the crawl-to-index
rework), taking turns, each crawl into a fresh index prefix. Reported per side: the median of the crawl's
own span (first source started to last finished, from its report: process start-up and model loading
excluded) and of the whole command, as pages/second; and the ratio current / baseline. Uses
``MEDIAWATCH_ES_URL`` when set, else starts the local node.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from elasticsearch import Elasticsearch

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "341c929"


def crawl(tree: Path, es_url: str, sources: Path, data_dir: Path) -> dict:
    prefix = f"bench-crawl-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env.update(MEDIAWATCH_ES_URL=es_url, MEDIAWATCH_INDEX__PREFIX=prefix, MEDIAWATCH_DATA_DIR=str(data_dir),
               PYTHONPATH=str(tree))
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "mediawatch", "crawl", "--sources", str(sources), "--json"],
                         cwd=tree, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    try:
        reports = json.loads(out.stdout)
    except ValueError:
        raise SystemExit(f"crawl from {tree} failed ({out.returncode}): {out.stderr[-1500:]}") from None
    started = min(datetime.fromisoformat(str(r["started"])) for r in reports)
    finished = max(datetime.fromisoformat(str(r["finished"])) for r in reports)
    client = Elasticsearch(es_url)
    client.indices.refresh(index=f"{prefix}-docs")
    documents = client.count(index=f"{prefix}-docs")["count"]
    for name in client.indices.get(index=f"{prefix}-*"):
        client.indices.delete(index=name)
    templates = client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for template in templates.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])
    return {"pages": sum(r["pages"] for r in reports), "documents": documents, "wall": wall,
            "span": (finished - started).total_seconds()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref of the earlier version")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    es_url = os.environ.get("MEDIAWATCH_ES_URL")
    if not es_url:
        from index import node
        from mediawatch.config import load_settings

        es_url = node.ensure_started(load_settings(), log=lambda *a: None)
    from tests.site import serve, sources_yaml

    with tempfile.TemporaryDirectory(prefix="mw-crawl-bench-") as tmp:
        base_tree = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(base_tree), args.baseline], cwd=REPO,
                       check=True, capture_output=True)
        try:
            with serve() as site:
                sources = Path(tmp) / "sources.yaml"
                sources.write_text(sources_yaml(site.base_url), encoding="utf-8")
                runs: dict[str, list[dict]] = {"baseline": [], "current": []}
                for round_ in range(args.rounds):
                    for side, tree in (("baseline", base_tree), ("current", REPO)):
                        result = crawl(tree, es_url, sources, Path(tmp) / f"data-{side}-{round_}")
                        runs[side].append(result)
                        print(f"round {round_ + 1} {side}: {result['pages']} pages, {result['documents']} documents,"
                              f" crawl {result['span']:.1f} s, command {result['wall']:.1f} s", file=sys.stderr)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=REPO, capture_output=True)
    print(f"Crawl of the local site, {args.rounds} rounds each, taking turns (baseline: {args.baseline})")
    print("| version | pages | documents | crawl pages/s (median) | command pages/s (median) |")
    print("|---|---|---|---|---|")
    rates = {}
    for side, results in runs.items():
        span = statistics.median(r["pages"] / r["span"] for r in results)
        wall = statistics.median(r["pages"] / r["wall"] for r in results)
        rates[side] = (span, wall)
        print(f"| {side} | {results[0]['pages']} | {results[0]['documents']} | {span:.1f} | {wall:.1f} |")
    ratio_span = rates["current"][0] / rates["baseline"][0]
    ratio_wall = rates["current"][1] / rates["baseline"][1]
    print(f"ratio current / baseline: crawl {ratio_span:.2f}, command {ratio_wall:.2f}")


if __name__ == "__main__":
    main()
