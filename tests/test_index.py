"""The index layer against a real node: templates and aliases, migration, bulk writes that
survive an outage, deep paging, and errors a person can act on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from index.client import make_client
from index.mappings import ALL_SPECS, DOCS, docs_alias, ensure_indices
from index.search import SearchRequest, iter_hits, search
from index.spool import Spool
from index.writer import BulkWriter
from mediawatch.errors import QuerySyntaxError
from tests.conftest import REPO, Cluster, free_port, run_cli


def _doc(i: int, **extra) -> dict:
    return {"id": f"d{i:06d}", "url": f"http://x.test/{i}", "source": "s", "kind": "news",
            "title": f"Tin {i}", "text": "Mưa lũ ở Bắc Ninh", "text_folded": "mua lu o bac ninh",
            "published": f"2026-11-{1 + i % 28:02d}T00:00:00+00:00", **extra}


def test_ensure_indices_is_idempotent_and_mappings_are_strict(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    settings = cluster.settings(prefix, tmp_path)
    client = make_client(settings)
    names = [spec.alias(prefix) for spec in ALL_SPECS]
    expected = {"docs", "pages", "runs", "locks", "subscriptions", "notifications", "schedule"}
    assert expected <= {spec.name for spec in ALL_SPECS}
    assert ensure_indices(client, settings) == dict.fromkeys(names, "created")
    assert ensure_indices(client, settings) == dict.fromkeys(names, "exists")
    assert list(client.indices.get_alias(name=f"{prefix}-docs")) == [f"{prefix}-docs-v{DOCS.version}"]
    with pytest.raises(Exception, match="strict_dynamic_mapping|not allowed"):
        client.index(index=docs_alias(settings), id="x", document={"surprise": 1})


def test_writes_are_spooled_while_the_cluster_is_down_and_replayed_later(
    cluster: Cluster, prefix: str, tmp_path: Path
) -> None:
    settings = cluster.settings(prefix, tmp_path)
    ensure_indices(make_client(settings), settings)
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000)
    down = Elasticsearch(f"http://127.0.0.1:{free_port()}", max_retries=0, request_timeout=2)
    writer = BulkWriter(down, batch_size=10, spool=spool)
    for i in range(25):
        writer.add(docs_alias(settings), f"d{i}", _doc(i))
    writer.flush()
    spool.close()
    assert writer.stats.spooled == 25 and spool.usage().bytes > 0
    up = BulkWriter(make_client(settings), batch_size=10, spool=Spool(tmp_path / "spool", max_bytes=10_000_000))
    assert up.replay_spool() == 25
    up.flush(refresh=True)
    assert spool.segments() == []
    assert make_client(settings).count(index=docs_alias(settings))["count"] == 25


def test_paging_goes_past_ten_thousand_hits(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    settings = cluster.settings(prefix, tmp_path)
    client = make_client(settings)
    ensure_indices(client, settings)
    writer = BulkWriter(client, batch_size=2000)
    total = 10_250
    for i in range(total):
        writer.add(docs_alias(settings), f"d{i:06d}", _doc(i))
    writer.flush(refresh=True)
    request = SearchRequest(query="lu", size=1000, sort="date")
    first = search(client, settings, request)
    assert first.total == total
    ids = [hit.id for hit in iter_hits(client, settings, request, limit=total + 10)]
    assert len(ids) == len(set(ids)) == total


def test_bad_syntax_raises_before_any_request(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    settings = cluster.settings(prefix, tmp_path)
    with pytest.raises(QuerySyntaxError, match="position"):
        search(make_client(settings), settings, SearchRequest(query='"unclosed'))


def test_unreachable_cluster_is_one_line_for_search_and_crawl(tmp_path: Path) -> None:
    env_url = f"http://127.0.0.1:{free_port()}"
    from os import environ

    env = {k: v for k, v in environ.items() if not k.startswith("MEDIAWATCH_")} | {"MEDIAWATCH_ES_URL": env_url}
    for args in (("search", "lũ lụt"), ("crawl", "--sources", str(REPO / "sources.yaml"))):
        result = run_cli(*args, env=env)
        assert result.returncode == 3, (args, result.stderr)
        assert result.stderr.strip().count("\n") == 0 and env_url in result.stderr
        assert "Traceback" not in result.stderr


def test_scrapy_commands_work_from_the_repository_root(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    from tests.site import serve, sources_yaml

    listed = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=REPO, capture_output=True, text=True)
    assert listed.returncode == 0 and listed.stdout.split() == ["forum", "news"]
    with serve() as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(server.base_url), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "forum", "-a", "source=bacninh-forum",
             "-a", f"sources_file={sources}"],
            cwd=REPO, env=cluster.env(prefix, tmp_path), capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        posts = len(server.site.catalog.posts)
    client = Elasticsearch(cluster.url)
    client.indices.refresh(index=f"{prefix}-docs")
    assert client.count(index=f"{prefix}-docs", query={"term": {"kind": "forum"}})["count"] == posts


def test_retention_deletes_old_documents_only(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    settings = cluster.settings(prefix, tmp_path)
    client = make_client(settings)
    ensure_indices(client, settings)
    now = datetime.now(UTC)
    writer = BulkWriter(client)
    ages = {"fresh": 3, "old": 40, "ancient": 400}
    for name, days in ages.items():
        writer.add(docs_alias(settings), name, {**_doc(1), "published": (now - timedelta(days=days)).isoformat()})
    undated = {**_doc(2), "crawled_at": (now - timedelta(days=90)).isoformat()}
    undated.pop("published")
    writer.add(docs_alias(settings), "undated-old", undated)
    writer.flush(refresh=True)
    env = cluster.env(prefix, tmp_path)
    dry = run_cli("prune", "--days", "30", "--dry-run", env=env)
    assert dry.returncode == 0 and "would delete 3 documents" in dry.stdout
    assert run_cli("prune", env=env).returncode == 2  # no period configured: one line, a usage mistake
    done = run_cli("prune", env={**env, "MEDIAWATCH_INDEX__RETENTION_DAYS": "30"})
    assert done.returncode == 0 and "deleted 3 documents" in done.stdout
    remaining = {h["_id"] for h in client.search(index=docs_alias(settings), query={"match_all": {}})["hits"]["hits"]}
    assert remaining == {"fresh"}
