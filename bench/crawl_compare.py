"""Crawl + extract + tag + index against news-please and a bare Scrapy fetch, and crawl memory, in one run.

    .venv/bin/python -m bench.crawl_compare [--scale 52] [--memory-scale 10] [--skip-newsplease]

Issue 14, items 1 and 5. The generated test site (news and forum, ``tests.site.build_site(..., scale=N)``;
scale 52 is about 5,000 pages) is served on loopback by ``bench.site_server`` (one asyncio loop answering
from pre-rendered bytes); first the server alone is measured (``bench.site_server.load``: every page, 16
keep-alive connections). Then, one after another on the same site:

1. **mediawatch**: ``mediawatch crawl`` of the two local sources (sources.yaml of ``tests.site``: no delay,
   8 requests in flight per source) with the shipped models, into a throw-away index prefix on the node at
   ``MEDIAWATCH_ES_URL`` (started by ``python -m bench`` otherwise; deleted afterwards), run through
   ``bench.timed_crawl`` for each stage's time (fetch, extract, tag, index);
2. **news-please** (from PyPI, in its own virtualenv under ``.cache/bench/newsplease-venv``, created on the
   first run): its ``RecursiveSitemapCrawler`` (sitemap from robots.txt, then links) from the site's home,
   its default extractors (newspaper, readability, date, language), output to JSON files only, 16 requests
   in flight; timed by ``bench/newsplease_run.py`` in that environment;
3. **bare fetch**: ``bench.bare_fetch`` (Scrapy, no parsing) of exactly the URLs mediawatch requested
   (the server logs them), 16 in flight: the ceiling.

Rates use each tool's own crawl span (Scrapy's start to finish, process start-up and model loading
excluded; the command's wall time is shown too). Ratios: mediawatch articles/s over news-please's
(target >= 10), mediawatch pages/s over the bare fetch's (target >= 0.5).

Memory (item 5): the peak RSS of the full crawl above against a crawl of the site at ``--memory-scale``
(a fifth of the pages: about 1,000), both in fresh processes, and the RSS when the crawl starts (models
loaded).
Results also go to ``.cache/bench/crawl_compare.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "bench"
VENV = CACHE / "newsplease-venv"
NEWSPLEASE = "news-please"  # the requirement installed into VENV; an older pin can be passed with --newsplease
CONNECTIONS = 16
ALLOWED = "127.0.0.1"


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------------------------------- site


class Server:
    """``bench.site_server serve`` in a subprocess; stopped on exit."""

    def __init__(self, scale: int) -> None:
        self.scale = scale
        self.process = subprocess.Popen([sys.executable, "-m", "bench.site_server", "serve", "--scale", str(scale)],
                                        cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.stop()
            raise SystemExit(f"error: the site server did not start (scale {scale})")
        self.base = line

    def requests(self) -> list[str]:
        """The request targets served since the last call (the server forgets them)."""
        from urllib.request import urlopen

        with urlopen(f"{self.base}/__bench__/requests", timeout=30) as answer:
            return answer.read().decode().splitlines()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()


def server_alone(server: Server, rounds: int = 3) -> dict[str, Any]:
    from bench.site_server import load, site_targets

    targets = site_targets(server.base, server.scale)
    results = load(server.base, targets, CONNECTIONS, rounds)
    server.requests()  # forget the load's requests
    best = max(results, key=lambda r: r["pages_per_s"])
    return {"pages": len(targets), "pages_per_s": best["pages_per_s"], "mb_per_s": best["mb_per_s"],
            "rounds": [round(r["pages_per_s"]) for r in results]}


# ------------------------------------------------------------------------------------------- mediawatch


def mediawatch_crawl(server: Server, es_url: str, work: Path, label: str) -> dict[str, Any]:
    """One ``mediawatch crawl`` of the served site through bench.timed_crawl, in a fresh process and prefix."""
    from tests.site import sources_yaml

    sources = work / f"sources-{label}.yaml"
    sources.write_text(sources_yaml(server.base), encoding="utf-8")
    prefix = f"bench-cc-{label}-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env.update(MEDIAWATCH_ES_URL=es_url, MEDIAWATCH_INDEX__PREFIX=prefix,
               MEDIAWATCH_DATA_DIR=str(work / f"data-{label}"), MEDIAWATCH_CRAWL__ALLOW_PRIVATE_HOSTS=ALLOWED,
               MEDIAWATCH_CRAWL__LOG_LEVEL="ERROR")
    out = work / f"timed-{label}.json"
    server.requests()
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "bench.timed_crawl", str(out), "crawl", "--sources", str(sources),
                          "--json", "--no-alerts"], cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    try:
        reports = json.loads(run.stdout)
        timed = json.loads(out.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        raise SystemExit(f"error: mediawatch crawl failed ({run.returncode}): {run.stderr[-1500:]}") from None
    requested = server.requests()
    documents = drop_prefix(es_url, prefix)
    started = min(datetime.fromisoformat(str(r["started"])) for r in reports)
    finished = max(datetime.fromisoformat(str(r["finished"])) for r in reports)
    by_source = {r["source"]: r for r in reports}
    return {
        "scale": server.scale, "exit": run.returncode, "wall": wall, "span": (finished - started).total_seconds(),
        "pages": sum(r["pages"] for r in reports), "bytes": sum(r.get("bytes", 0) for r in reports),
        "articles": by_source.get("bacninh-news", {}).get("documents", 0),
        "posts": by_source.get("bacninh-forum", {}).get("documents", 0),
        "indexed": documents, "health": {r["source"]: r["health"] for r in reports},
        "problems": [p for r in reports for p in r["problems"]], "requested": requested, "timed": timed,
    }


def drop_prefix(es_url: str, prefix: str) -> int:
    """Documents indexed under ``prefix``, then every index and template of it deleted."""
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url, request_timeout=120)
    try:
        client.indices.refresh(index=f"{prefix}-docs")
        documents = int(client.count(index=f"{prefix}-docs")["count"])
    except Exception:  # noqa: BLE001 - reported as -1, the crawl's own counts still stand
        documents = -1
    for name in client.indices.get(index=f"{prefix}-*"):
        client.indices.delete(index=name)
    templates = client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for template in templates.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])
    return documents


def stage_shares(timed: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Where the crawl's time went (the crawl window: reactor running, models already loaded).

    ``cpu``: this process's CPU seconds per stage: extract (the extraction functions on the reactor thread),
    fetch (the rest of the reactor thread: Scrapy's downloading, scheduling, link and sitemap parsing, items
    through the pipelines), tag (tagging threads, torch's and the tokenizers' native threads), index (writer
    and page-state threads: building and sending bulk requests). ``busy``: wall seconds each stage's own
    thread spent in it (tag: ``tag_documents``; index: one bulk request and its answer, waiting on
    Elasticsearch included; these overlap the fetch)."""
    window = timed.get("crawl") or {}
    threads = window.get("thread_cpu", {})
    stages = timed["stages"]
    extract = stages["extract"]["cpu"]
    cpu = {
        "fetch": max(0.0, threads.get("reactor", 0.0) - extract),
        "extract": extract,
        "tag": threads.get("tag", 0.0) + threads.get("tag (native)", 0.0),
        "index": threads.get("index", 0.0),
    }
    busy = {"extract": stages["extract"]["wall"], "tag": stages["tag"]["wall"], "index": stages["index"]["wall"]}
    return {"cpu": cpu, "busy": busy, "window": {"wall": window.get("wall", 0.0), "cpu": window.get("cpu", 0.0)}}


# ------------------------------------------------------------------------------------------- news-please


def ensure_newsplease(requirement: str) -> dict[str, Any]:
    """The news-please virtualenv, created and installed from PyPI on the first run; its versions."""
    python = VENV / "bin" / "python"
    marker = VENV / "installed.txt"
    if not (python.exists() and marker.exists() and marker.read_text(encoding="utf-8").strip() == requirement):
        if VENV.exists():
            shutil.rmtree(VENV)
        CACHE.mkdir(parents=True, exist_ok=True)
        install_log = CACHE / "newsplease-install.log"
        log(f"creating {VENV.relative_to(REPO)} and installing {requirement} from PyPI (log: {install_log})")
        with install_log.open("w", encoding="utf-8") as out:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, stdout=out, stderr=out)
            done = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", requirement],
                                  stdout=out, stderr=out)
        if done.returncode != 0:
            tail = install_log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            raise SystemExit(f"error: could not install {requirement} into {VENV}: " + " | ".join(tail))
        marker.write_text(requirement + "\n", encoding="utf-8")
    versions = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(' '.join("
                               "f'{n}={m.version(n)}' for n in ('news-please', 'newspaper4k', 'Scrapy', 'lxml')))"],
                              capture_output=True, text=True, check=True).stdout.split()
    return dict(v.split("=", 1) for v in versions)


def newsplease_config(work: Path, base: str) -> tuple[Path, Path, Path]:
    """news-please's own config.cfg with: output to JSON files only (``JsonFileStorage``, no HTML copies),
    a working directory under ``work``, 16 requests in flight for the one domain, warnings only; and a
    sitelist naming the site's home with the RecursiveSitemapCrawler."""
    package = next((VENV / "lib").glob("python*/site-packages/newsplease"))
    text = (package / "config" / "config.cfg").read_text(encoding="utf-8")
    data = work / "newsplease-data"
    replacements = [
        (r"(?m)^working_path = .*$", f"working_path = {data}/"),
        (r"(?m)^LOG_LEVEL = .*$", "LOG_LEVEL = ERROR"),
        (r"(?m)^CONCURRENT_REQUESTS=.*$", f"CONCURRENT_REQUESTS={CONNECTIONS}"),
        (r"(?m)^CONCURRENT_REQUESTS_PER_DOMAIN=.*$", f"CONCURRENT_REQUESTS_PER_DOMAIN={CONNECTIONS}"),
        (r"(?ms)^ITEM_PIPELINES = \{.*?\}\n",
         "ITEM_PIPELINES = {'newsplease.pipeline.pipelines.ArticleMasterExtractor':100,\n"
         "                  'newsplease.pipeline.pipelines.JsonFileStorage':300}\n"),
    ]
    for pattern, value in replacements:
        text, count = re.subn(pattern, lambda _m, v=value: v, text)
        if count != 1:
            raise SystemExit(f"error: news-please's config.cfg changed ({pattern!r} matched {count} times); "
                             "update bench/crawl_compare.py")
    config = work / "newsplease.cfg"
    config.write_text(text, encoding="utf-8")
    sitelist = work / "newsplease-sitelist.hjson"
    sitelist.write_text(json.dumps({"base_urls": [{"url": f"{base}/", "crawler": "RecursiveSitemapCrawler"}]}),
                        encoding="utf-8")
    return config, sitelist, data


def newsplease_crawl(server: Server, work: Path) -> dict[str, Any]:
    config, sitelist, data = newsplease_config(work, server.base)
    out = work / "newsplease.json"
    server.requests()
    start = time.monotonic()
    run = subprocess.run([str(VENV / "bin" / "python"), str(REPO / "bench" / "newsplease_run.py"), str(config),
                          str(sitelist), str(out)], cwd=work, capture_output=True, text=True)
    wall = time.monotonic() - start
    if run.returncode != 0 or not out.exists():
        raise SystemExit(f"error: news-please failed ({run.returncode}): {run.stderr[-1500:]}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["wall_command"] = wall
    # JsonFileStorage writes one file per article; Scrapy's JOBDIR (under the same working path) has its own
    result["articles"] = sum(1 for path in data.rglob("*.json") if ".resume_jobdir" not in path.parts)
    result["requested"] = len(server.requests())
    return result


# ------------------------------------------------------------------------------------------- bare fetch


def bare_fetch(server: Server, targets: list[str], work: Path) -> dict[str, Any]:
    urls = work / "bare-urls.txt"
    urls.write_text("".join(f"{server.base}{t}\n" for t in targets), encoding="utf-8")
    out = work / "bare.json"
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "bench.bare_fetch", str(urls), str(out), "--concurrency",
                          str(CONNECTIONS)], cwd=REPO, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"error: bare fetch failed ({run.returncode}): {run.stderr[-1500:]}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["wall_command"] = time.monotonic() - start
    server.requests()
    return result


# ------------------------------------------------------------------------------------------- report


@dataclass
class Row:
    name: str
    pages: int
    articles: int
    span: float
    command: float
    peak_rss: float
    cpu: float

    def line(self) -> str:
        articles = f"{self.articles}" if self.articles >= 0 else "–"
        rate = f"{self.articles / self.span:.1f}" if self.articles >= 0 else "–"
        return (f"| {self.name} | {self.pages} | {articles} | {self.span:.1f} s | {self.pages / self.span:.1f} | "
                f"{rate} | {self.cpu:.1f} s | {self.pages / self.cpu:.1f} | {self.command:.1f} s | "
                f"{self.peak_rss:.0f} MB |")


def versions() -> dict[str, str]:
    import importlib.metadata as metadata

    names = ("scrapy", "twisted", "trafilatura", "torch", "transformers", "tokenizers", "elasticsearch", "lxml")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=52, help="site scale of the comparison (52: about 5,000 pages)")
    parser.add_argument("--memory-scale", type=int, default=None,
                        help="site scale of the smaller memory crawl (default: a fifth of --scale, 10 for about "
                             "1,000 pages; 0 skips it)")
    parser.add_argument("--skip-newsplease", action="store_true", help="no news-please run (no PyPI access)")
    parser.add_argument("--newsplease", default=NEWSPLEASE, help="the pip requirement installed into its virtualenv")
    args = parser.parse_args()
    if args.memory_scale is None:
        args.memory_scale = max(1, round(args.scale / 5))
    if args.scale < 1 or args.memory_scale < 0:
        parser.error("--scale must be at least 1 and --memory-scale at least 0")
    es_url = os.environ.get("MEDIAWATCH_ES_URL")
    if not es_url:
        sys.exit("error: set MEDIAWATCH_ES_URL (python -m bench starts a node and sets it)")
    memory_scale = args.memory_scale if args.memory_scale and args.memory_scale < args.scale else 0
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    result: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "scale": args.scale,
                              "machine": machine, "versions": versions(), "load_before": load_average()}
    np_versions: dict[str, str] = {}
    if not args.skip_newsplease:
        np_versions = ensure_newsplease(args.newsplease)
        result["newsplease_versions"] = np_versions
    log(f"load average {result['load_before']}; building and serving the site at scale {args.scale}")
    with tempfile.TemporaryDirectory(prefix="mw-crawl-compare-") as tmp:
        work = Path(tmp)
        with Server(args.scale) as server:
            result["server"] = server_alone(server)
            log(f"server alone: {result['server']['pages']} pages, {result['server']['pages_per_s']:.0f} pages/s "
                f"(rounds {result['server']['rounds']})")
            log("mediawatch crawl")
            mw = mediawatch_crawl(server, es_url, work, "full")
            log(f"mediawatch: {mw['pages']} pages, {mw['articles']} articles, {mw['posts']} posts in "
                f"{mw['span']:.1f} s (command {mw['wall']:.1f} s, exit {mw['exit']}); load {load_average()}")
            if not args.skip_newsplease:
                log("news-please crawl")
                npr = newsplease_crawl(server, work)
                result["newsplease"] = npr
                log(f"news-please: {npr['responses']} pages, {npr['articles']} articles in {npr['span']:.1f} s; "
                    f"load {load_average()}")
            log(f"bare fetch of the {len(mw['requested'])} URLs mediawatch requested")
            bare = bare_fetch(server, mw["requested"], work)
            result["bare"] = bare
            log(f"bare fetch: {bare['responses']} in {bare['span']:.1f} s; load {load_average()}")
        small = None
        if memory_scale:
            with Server(memory_scale) as server:
                log(f"memory: mediawatch crawl at scale {memory_scale}")
                small = mediawatch_crawl(server, es_url, work, "small")
                log(f"mediawatch small: {small['pages']} pages, peak RSS {small['timed']['peak_rss_mb']:.0f} MB")
    result["load_after"] = load_average()
    mw_record = {k: v for k, v in mw.items() if k != "requested"} | {"requested": len(mw["requested"])}
    mw_record["timed"] = mw["timed"]
    result["mediawatch"] = mw_record | {"stages": stage_shares(mw["timed"])}
    if small:
        result["mediawatch_small"] = {k: v for k, v in small.items() if k != "requested"} | {
            "requested": len(small["requested"])}
    report(result, mw, small)
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "crawl_compare.json").write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")


def report(result: dict[str, Any], mw: dict[str, Any], small: dict[str, Any] | None) -> None:
    server, bare, npr = result["server"], result["bare"], result.get("newsplease")
    mw_cpu = mw["timed"]["crawl"]["cpu"]
    rows = [Row("mediawatch (fetch, extract, tag, index)", mw["pages"], mw["articles"], mw["span"], mw["wall"],
                mw["timed"]["peak_rss_mb"], mw_cpu)]
    if npr:
        rows.append(Row(f"news-please {result['newsplease_versions'].get('news-please', '?')} (JSON files)",
                        npr["responses"], npr["articles"], npr["span"], npr["wall_command"], npr["peak_rss_mb"],
                        npr["crawl_cpu"]))
    rows.append(Row("bare Scrapy fetch (same URLs)", bare["responses"], -1, bare["span"], bare["wall_command"],
                    bare["peak_rss_mb"], bare["crawl_cpu"]))
    print(f"\nCrawl of the local site at scale {result['scale']} ({server['pages']} pages served; the server alone: "
          f"{server['pages_per_s']:.0f} pages/s, {server['mb_per_s']:.0f} MB/s over {CONNECTIONS} connections)")
    print(f"{result['machine']}; load average before {result['load_before']}, after {result['load_after']}")
    print("| crawler | pages | articles | crawl span | pages/s | articles/s | crawl CPU | pages per CPU s | command "
          "| peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row.line())
    mw_pages, mw_articles = mw["pages"] / mw["span"], mw["articles"] / mw["span"]
    if npr:
        ratio = mw_articles / (npr["articles"] / npr["span"])
        per_cpu = (mw["articles"] / mw_cpu) / (npr["articles"] / npr["crawl_cpu"])
        print(f"mediawatch articles/s / news-please articles/s: **{ratio:.2f}** (target >= 10); "
              f"per CPU second: {per_cpu:.2f}")
    per_cpu = (mw["pages"] / mw_cpu) / (bare["responses"] / bare["crawl_cpu"])
    print(f"mediawatch pages/s / bare fetch pages/s: **{mw_pages / (bare['responses'] / bare['span']):.2f}** "
          f"(target >= 0.5); per CPU second: {per_cpu:.2f}")
    print("(crawl CPU: the crawler process's CPU seconds from its crawl's start, start-up and model loading "
          "excluded; mediawatch's indexing work inside Elasticsearch is not counted)")
    shares = result["mediawatch"]["stages"]
    total = sum(shares["cpu"].values()) or 1.0
    window = shares["window"]
    print(f"\nmediawatch, where the crawl's time went (crawl window {window['wall']:.1f} s wall, "
          f"{window['cpu']:.1f} s CPU of the process)")
    print("| stage | CPU s | share of CPU | busy wall s (own thread) |")
    print("|---|---|---|---|")
    for stage in ("fetch", "extract", "tag", "index"):
        busy = shares["busy"].get(stage)
        print(f"| {stage} | {shares['cpu'][stage]:.1f} | {shares['cpu'][stage] / total:.0%} | "
              f"{'–' if busy is None else f'{busy:.1f}'} |")
    print("\nmediawatch memory:\n| crawl | pages | RSS at crawl start (models loaded) | peak RSS | growth |")
    print("|---|---|---|---|---|")
    for label, run in (("smaller", small), ("comparison", mw)):
        if run is None:
            continue
        t = run["timed"]
        print(f"| scale {run['scale']} ({label}) | {run['pages']} | "
              f"{t['crawl']['rss_before_mb']:.0f} MB | {t['peak_rss_mb']:.0f} MB | "
              f"{t['peak_rss_mb'] - t['crawl']['peak_rss_before_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
