"""Beyond one machine: a real three-node local cluster started by the same code as
``mediawatch es start --nodes 3``, one node SIGKILLed in the middle of a crawl. Search keeps answering,
no document is lost or duplicated (compared with what the site serves), and the cluster is green again
once the node is started again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch, NotFoundError

from index import node
from index.client import make_client
from index.mappings import DOCS, replica_settings
from mediawatch.config import Settings
from mediawatch.errors import UserError
from tests.conftest import REPO, Cluster, run_cli
from tests.site import serve, sources_yaml

NO_TAGGING = {"MEDIAWATCH_ENRICH__ENABLED": "false"}
# Slow enough that the crawl is still running while a node is killed and comes back.
SLOW = ("politeness: {delay: 0, concurrency: 8}", "politeness: {delay: 0.2, concurrency: 1}")
SIZE = 3


def _free_base_port(count: int) -> int:
    """A port p such that p .. p+count-1 are free on loopback."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = sock.getsockname()[1]
        if base + count > 65000:
            continue
        if all(not node.port_in_use("127.0.0.1", base + i, timeout=0.2) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports on loopback")


def _quiet(_message: str) -> None:
    pass


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[tuple[Settings, list[str]]]:
    """Three nodes under .mediawatch/test-cluster (the distribution is kept between runs, the cluster is new)."""
    home = Path(os.environ.get("MEDIAWATCH_TEST_CLUSTER_HOME", REPO / ".mediawatch" / "test-cluster"))
    settings = Settings(es={"home": home, "port": _free_base_port(SIZE), "nodes": SIZE, "heap": "512m",
                            "start_timeout": 300})
    node.stop(settings, log=_quiet)  # a cluster left by an interrupted run
    shutil.rmtree(home / node.CLUSTER_DIR, ignore_errors=True)
    started = time.monotonic()
    try:
        urls = node.ensure_started(settings, log=_quiet).split(",")
        print(f"\n{SIZE}-node cluster started in {time.monotonic() - started:.0f} s")
        yield settings, urls
    finally:
        node.stop(settings, log=_quiet)


@pytest.fixture(scope="module")
def site():
    with serve() as server:
        yield server


def test_replicas_follow_the_node_count_unless_set() -> None:
    assert replica_settings(Settings()) == {"auto_expand_replicas": "0-1"}
    assert replica_settings(Settings(index={"replicas": 2})) == {"number_of_replicas": 2}
    assert replica_settings(Settings(index={"replicas": 0})) == {"number_of_replicas": 0}
    body = DOCS.template_body(Settings())["template"]["settings"]
    assert body == {"number_of_shards": 1, "auto_expand_replicas": "0-1"}


@pytest.mark.slow
def test_status_stop_and_a_single_node_start_see_the_cluster(local_cluster: tuple[Settings, list[str]]) -> None:
    settings, urls = local_cluster
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env.update(MEDIAWATCH_ES__HOME=str(settings.es.home), MEDIAWATCH_ES__PORT=str(settings.es.port), COLUMNS="200")
    status = run_cli("es", "status", env=env)  # es.nodes not set: the running cluster is found all the same
    assert status.returncode == 0, status.stderr
    assert "local cluster of 3 nodes" in status.stdout and status.stdout.count(" up ") == SIZE, status.stdout
    assert all(url in status.stdout for url in urls)
    with pytest.raises(UserError, match="a local cluster of 3 nodes runs from .*mediawatch-1, mediawatch-2"):
        node.ensure_started(settings.model_copy(update={"es": settings.es.model_copy(update={"nodes": 1})}))
    with pytest.raises(UserError, match="was made with 3 nodes: start it with --nodes 3"):
        node.ensure_started(settings.model_copy(update={"es": settings.es.model_copy(update={"nodes": 2})}))
    assert node.ensure_started(settings, log=_quiet) == ",".join(urls)  # idempotent: all three run


def _url_counts(client: Elasticsearch, prefix: str) -> dict[str, int]:
    """How many documents carry each URL (a document id derives from its URL: a duplicate is a second id)."""
    client.indices.refresh(index=f"{prefix}-docs")
    hits = client.search(index=f"{prefix}-docs", size=10_000, source=["url"], query={"match_all": {}})["hits"]["hits"]
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit["_source"]["url"]] = counts.get(hit["_source"]["url"], 0) + 1
    return counts


def _docs(client: Elasticsearch, prefix: str) -> int:
    """Documents indexed so far (0 before the crawl has made its index: the node asked may not know it yet)."""
    try:
        client.indices.refresh(index=f"{prefix}-docs")
        return int(client.count(index=f"{prefix}-docs")["count"])
    except NotFoundError:
        return 0


def _wait_for_docs(client: Elasticsearch, prefix: str, at_least: int, proc: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        found = _docs(client, prefix)
        if found >= at_least:
            return found
        time.sleep(0.3)
    raise AssertionError(f"the crawl did not index {at_least} documents in time (exit {proc.poll()})")


@pytest.mark.slow
def test_a_node_killed_mid_crawl_loses_and_duplicates_nothing(
    local_cluster: tuple[Settings, list[str]], site, tmp_path: Path
) -> None:
    settings, urls = local_cluster
    assert len(urls) == SIZE
    joined = ",".join(urls)
    prefix = f"mwcl-{uuid.uuid4().hex[:6]}"
    base = site.base_url
    articles = {base + a.path for a in site.site.catalog.articles}
    env = Cluster(joined).env(prefix, tmp_path, MEDIAWATCH_INDEX__BULK_BATCH_SIZE="2",
                              MEDIAWATCH_CRAWL__TIMEOUT="300", MEDIAWATCH_CRAWL__AUTOTHROTTLE="false", **NO_TAGGING)
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources_yaml(base).replace(*SLOW), encoding="utf-8")
    client = make_client(settings, url=joined)  # the crawler's own client: every node's URL

    victim = node.status(settings).members[0]  # the node whose URL every client tries first
    assert victim.running and victim.pid and victim.url == urls[0]
    master = client.cat.master(format="json")[0]["node"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediawatch", "crawl", "bacninh-news", "--sources", str(sources), "--json"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        before = _wait_for_docs(client, prefix, 5, proc)
        docs_settings = client.indices.get_settings(index=f"{prefix}-docs")
        index_settings = next(iter(docs_settings.body.values()))["settings"]["index"]
        assert index_settings["auto_expand_replicas"] == "0-1" and index_settings["number_of_replicas"] == "1"

        os.kill(victim.pid, signal.SIGKILL)  # no goodbye: the node is gone mid-crawl
        killed_at = time.monotonic()
        during = _wait_for_docs(client, prefix, before + 10, proc)  # the crawl keeps writing to the other two
        site.gate.clear()  # hold the site: the crawl waits (it does not end) while we look around
        down = node.status(settings)
        health = client.cluster.health()
        search = run_cli("search", "", "--json", "--size", "1", env=env)
        found = json.loads(search.stdout)["total"] if search.returncode == 0 else None

        node.ensure_started(settings, log=_quiet)  # the same code as `mediawatch es start --nodes 3`
        returned_after = time.monotonic() - killed_at
    finally:
        site.gate.set()
    out, err = proc.communicate(timeout=600)
    green = client.cluster.health(wait_for_status="green", timeout="120s")

    assert [m.running for m in down.members] == [False, True, True]
    assert down.running and down.reason and "1 of 3 nodes down" in down.reason
    assert health["number_of_nodes"] == SIZE - 1 and health["status"] in ("yellow", "green")
    assert search.returncode == 0, search.stderr[-2000:]
    assert found is not None and found >= during  # search answers through the nodes left
    assert proc.returncode in (0, 5), err[-3000:]  # 5: degraded (a write spooled and replayed), still complete
    report = json.loads(out)[0]
    assert report["unreplayed"] == 0 and report["documents"] == len(articles)

    counts = _url_counts(client, prefix)
    assert set(counts) == articles, (
        f"lost {sorted(articles - set(counts))[:5]}, unexpected {sorted(set(counts) - articles)[:5]}"
    )
    assert [u for u, n in counts.items() if n > 1] == []
    assert green["status"] == "green" and not green["timed_out"] and green["number_of_nodes"] == SIZE
    # The returned node holds copies again: every docs shard has a started primary and replica.
    shards = client.cat.shards(index=f"{prefix}-docs", format="json")
    assert sorted(s["prirep"] for s in shards if s["state"] == "STARTED") == ["p", "r"]
    print(f"\n{SIZE}-node cluster, {victim.name} (master before: {master}) SIGKILLed after {before} documents; "
          f"{during - before} more indexed with it down, search answered ({found} hits); "
          f"back after {returned_after:.0f} s, green; "
          f"crawl exit {proc.returncode}, spooled {report.get('spooled')}; lost 0, duplicated 0 of {len(articles)}")
