"""Reliability with real components, no proxies: the Elasticsearch node stopped mid-crawl and started
again, the crawler killed with SIGKILL and restarted. Each test counts what a person cares about:
documents lost (0), documents duplicated (0), pages fetched again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from mediawatch.config import Settings
from tests.conftest import REPO, Cluster, delete_prefix, free_port, run_cli
from tests.site import serve, sources_yaml

NO_TAGGING = {"MEDIAWATCH_ENRICH__ENABLED": "false"}
SLOW = ("politeness: {delay: 0, concurrency: 8}", "politeness: {delay: 0.2, concurrency: 1}")


@pytest.fixture(scope="module")
def site():
    with serve() as server:
        yield server


def _sources(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(sources_yaml(base_url).replace(*SLOW), encoding="utf-8")
    return path


def _crawl(env: dict[str, str], sources: Path, *ids: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mediawatch", "crawl", *ids, "--sources", str(sources), "--json"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _docs(client: Elasticsearch, prefix: str) -> int:
    if not client.indices.exists_alias(name=f"{prefix}-docs"):
        return 0
    client.indices.refresh(index=f"{prefix}-docs")
    return client.count(index=f"{prefix}-docs")["count"]


def _wait_for_docs(client: Elasticsearch, prefix: str, at_least: int, proc: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        found = _docs(client, prefix)
        if found >= at_least:
            return found
        time.sleep(0.3)
    raise AssertionError(f"the crawl did not index {at_least} documents in time (exit {proc.poll()})")


def _duplicates(client: Elasticsearch, prefix: str) -> list[Any]:
    """URLs stored more than once (a document id is derived from its URL: a duplicate would be a new id)."""
    aggs = client.search(index=f"{prefix}-docs", size=0,
                         aggs={"u": {"terms": {"field": "url", "min_doc_count": 2, "size": 10}}})
    return aggs["aggregations"]["u"]["buckets"]


def _spool_bytes(data_dir: Path, prefix: str) -> int:
    spool = data_dir / "spool" / prefix
    return sum(p.stat().st_size for p in spool.glob("*.jsonl")) if spool.is_dir() else 0


# -- Elasticsearch stops mid-crawl and comes back ----------------------------------------------------


@pytest.fixture(scope="module")
def own_node() -> Iterator[tuple[Settings, str]]:
    """A node of this module's own (the shared test node is never stopped): same distribution, own data."""
    import shutil

    from index import node

    home = REPO / ".mediawatch" / "test-es-outage"
    settings = Settings(es={"home": home, "port": free_port(), "heap": "512m"})
    shutil.rmtree(home / "data", ignore_errors=True)
    url = node.ensure_started(settings, log=lambda *a, **k: None)
    try:
        yield settings, url
    finally:
        node.stop(settings, log=lambda *a, **k: None)


def test_elasticsearch_stopped_mid_crawl_loses_and_duplicates_nothing(
    own_node: tuple[Settings, str], site, tmp_path: Path
) -> None:
    from index import node

    settings, url = own_node
    prefix = f"mwout-{uuid.uuid4().hex[:6]}"
    articles = len(site.site.catalog.articles)
    env = Cluster(url).env(prefix, tmp_path, MEDIAWATCH_INDEX__BULK_BATCH_SIZE="2", MEDIAWATCH_CRAWL__TIMEOUT="300",
                           MEDIAWATCH_CRAWL__AUTOTHROTTLE="false", **NO_TAGGING)
    client = Elasticsearch(url)
    proc = _crawl(env, _sources(tmp_path, site.base_url), "bacninh-news")
    try:
        before = _wait_for_docs(client, prefix, 5, proc)
        node.stop(settings, log=lambda *a, **k: None)  # the node goes away mid-crawl
        deadline = time.monotonic() + 120
        while _spool_bytes(tmp_path, prefix) == 0 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        site.gate.clear()  # hold the site while the node is down: the crawl waits, it does not end
        spooled_bytes = _spool_bytes(tmp_path, prefix)
        status = run_cli("status", "--json", env=env)  # what a person sees meanwhile
        node.ensure_started(settings, log=lambda *a, **k: None)
    finally:
        site.gate.set()
    out, err = proc.communicate(timeout=600)
    try:
        assert spooled_bytes > 0, "no write was spooled while the node was down"
        assert status.returncode != 0 and "Traceback" not in status.stderr
        assert json.loads(status.stdout)["spool"]["bytes"] > 0, status.stdout
        report = json.loads(out)[0]
        assert proc.returncode == 5, err[-3000:]  # degraded: the outage is reported, nothing left behind
        assert report["spooled"] > 0 and report["unreplayed"] == 0 and report["health"] == "degraded"
        assert any("all written before the crawl ended" in p for p in report["problems"]), report["problems"]
        assert _spool_bytes(tmp_path, prefix) == 0
        # Nothing lost, nothing duplicated.
        assert _docs(client, prefix) == articles
        assert not _duplicates(client, prefix)
        assert report["documents"] == articles and before < articles
        print(f"\nES stopped mid-crawl: {before} documents before, {report['spooled']} writes spooled "
              f"({spooled_bytes} bytes) and replayed; lost 0, duplicated 0 of {articles}")
    finally:
        delete_prefix(url, prefix)


# -- the crawler is killed and restarted ---------------------------------------------------------------


def test_a_crawl_killed_with_sigkill_resumes_from_its_page_state(
    cluster: Cluster, site, prefix: str, tmp_path: Path
) -> None:
    """Resuming uses the project's own page state (``<prefix>-pages``), not Scrapy's JOBDIR: a page whose
    documents were acknowledged is recorded and not fetched again by the next run; a page killed before its
    record is fetched again and written under the same ids."""
    articles = {a.path for a in site.site.catalog.articles}
    env = cluster.env(prefix, tmp_path, MEDIAWATCH_INDEX__BULK_BATCH_SIZE="2", MEDIAWATCH_CRAWL__AUTOTHROTTLE="false",
                      **NO_TAGGING)
    client = Elasticsearch(cluster.url)
    sources = _sources(tmp_path, site.base_url)
    site.requests.clear()
    proc = _crawl(env, sources, "bacninh-news")
    _wait_for_docs(client, prefix, 15, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    first_fetched = {p for p in site.requests.paths() if p in articles}
    client.indices.refresh(index=f"{prefix}-pages")
    recorded = {h["_source"]["url"].removeprefix(site.base_url) for h in
                client.search(index=f"{prefix}-pages", size=1000, query={"match_all": {}})["hits"]["hits"]}
    recorded &= articles
    assert len(recorded) >= 10

    site.requests.clear()
    again = run_cli("crawl", "bacninh-news", "--sources", str(sources), "--json", env=env)
    assert again.returncode == 0, again.stderr[-3000:]  # not refused: the killed process's lease is stale
    second_fetched = {p for p in site.requests.paths() if p in articles}
    report = json.loads(again.stdout)[0]
    assert not second_fetched & recorded, "pages recorded before the kill were fetched again"
    assert second_fetched == articles - recorded
    assert report["skipped_known"] >= len(recorded)
    assert _docs(client, prefix) == len(articles)
    assert not _duplicates(client, prefix)
    print(f"\nSIGKILL mid-crawl: {len(first_fetched)} articles fetched before the kill, {len(recorded)} recorded; "
          f"the restart fetched {len(second_fetched)} (the rest), lost 0, duplicated 0 of {len(articles)}")
