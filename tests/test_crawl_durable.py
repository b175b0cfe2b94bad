"""The crawl-to-index path under faults, through real components: the generated site served on loopback,
real Scrapy crawls (the CLI in a subprocess), the real Elasticsearch node — and, for faults a healthy node
cannot show on demand, a loopback proxy in front of it (tests/esproxy.py) or a misbehaving site
(tests/hostile.py)."""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from index.client import make_client
from index.mappings import ALL_SPECS, DOCS, PAGES, docs_alias, ensure_indices
from index.pages import page_id
from tests.conftest import REPO, CliResult, Cluster, delete_prefix, free_port, run_cli
from tests.esproxy import EsProxy
from tests.hostile import HostileServer
from tests.site import serve, sources_yaml

NO_TAGGING = {"MEDIAWATCH_ENRICH__ENABLED": "false"}


@pytest.fixture(scope="module")
def site():
    with serve() as server:
        yield server


def _sources(tmp_path: Path, base_url: str, **changes: str) -> Path:
    text = sources_yaml(base_url)
    for old, new in changes.items():
        text = text.replace(old, new)
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _crawl(env: dict[str, str], sources: Path, *ids: str) -> tuple[CliResult, dict[str, dict[str, Any]]]:
    result = run_cli("crawl", *ids, "--sources", str(sources), "--json", env=env)
    reports = {r["source"]: r for r in json.loads(result.stdout)} if result.stdout.strip() else {}
    return result, reports


def _count(es_url: str, index: str, **term: str) -> int:
    client = Elasticsearch(es_url)
    client.indices.refresh(index=index)
    query = {"term": term} if term else {"match_all": {}}
    return client.count(index=index, query=query)["count"]


# -- 1. one owner per resource ----------------------------------------------------------------------


def test_crawler_modules_read_no_settings_when_imported(tmp_path: Path) -> None:
    """Importing the Scrapy project reads no configuration: a broken config file does not matter until
    something is built from it."""
    broken = tmp_path / "broken.toml"
    broken.write_text("[[[ not toml", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")} | {"MEDIAWATCH_CONFIG": str(broken)}
    modules = ("crawlers.settings", "crawlers.pipelines", "crawlers.middlewares", "crawlers.extensions",
               "crawlers.spiders.news", "crawlers.spiders.forum", "crawlers.runner")
    proc = subprocess.run([sys.executable, "-c", "import " + ", ".join(modules)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_run_crawl_honours_the_settings_object_it_is_given(
    cluster: Cluster, site, tmp_path: Path
) -> None:
    """Every setting comes from the object passed to run_crawl — prefix, data dir, sources file, models —
    even when the environment says otherwise."""
    from tests.tiny_models import build_tiny_classifier

    topic = build_tiny_classifier(tmp_path / "topic", ["politics_society", "sports"], name="tiny-topic")
    feeling = build_tiny_classifier(tmp_path / "sentiment", ["negative", "neutral", "positive"], name="tiny-feel")
    sources = _sources(tmp_path, site.base_url)
    prefix = f"mwobj-{uuid.uuid4().hex[:6]}"
    script = textwrap.dedent(f"""
        from mediawatch.config import Settings
        from crawlers.runner import run_crawl, select_sources
        s = Settings(es={{"url": {cluster.url!r}}}, index={{"prefix": {prefix!r}}}, data_dir={str(tmp_path / "data")!r},
                     crawl={{"sources_file": {str(sources)!r}, "allow_private_hosts": ["127.0.0.1"]}},
                     enrich={{"topic_model": {str(topic)!r}, "sentiment_model": {str(feeling)!r}}})
        outcome = run_crawl(s, select_sources(s, ["bacninh-forum"]))
        raise SystemExit(outcome.exit_code)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")} | {
        "MEDIAWATCH_INDEX__PREFIX": "wrong-prefix", "MEDIAWATCH_DATA_DIR": str(tmp_path / "wrong"),
        "MEDIAWATCH_CRAWL__SOURCES_FILE": str(tmp_path / "missing.yaml"),
    }
    try:
        proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        client = Elasticsearch(cluster.url)
        client.indices.refresh(index=f"{prefix}-docs")
        posts = len(site.site.catalog.posts)
        assert client.count(index=f"{prefix}-docs")["count"] == posts
        hit = client.search(index=f"{prefix}-docs", size=1)["hits"]["hits"][0]["_source"]
        assert hit["models"]["topic"].startswith("tiny-topic@") and hit["models"]["sentiment"].startswith("tiny-feel@")
        assert not client.indices.exists_alias(name="wrong-prefix-docs")
        assert not (tmp_path / "wrong").exists()
    finally:
        delete_prefix(cluster.url, prefix)


def test_tagger_cache_is_keyed_by_every_setting_that_changes_its_result() -> None:
    from enrich.tagger import get_tagger
    from mediawatch.config import EnrichSettings

    base = EnrichSettings()
    assert get_tagger(base) is get_tagger(EnrichSettings())
    for change in ({"max_length": 128}, {"model_languages": ["vi", "en"]}, {"batch_size": 8}, {"workers": 1},
                   {"topic_chunks": 2}, {"device": "cpu"}):
        assert get_tagger(base.model_copy(update=change)) is not get_tagger(base), change
    assert get_tagger(base.model_copy(update={"story_threshold": 0.9})) is get_tagger(base)


def test_enrich_package_does_no_io() -> None:
    """enrich/ is pure: no Elasticsearch, network or index/ imports (index/ is the one door to the store)."""
    banned = ("elasticsearch", "elastic_transport", "urllib", "requests", "httpx", "socket", "http", "index")
    offenders = []
    for path in sorted((REPO / "enrich").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in banned]
    assert not offenders


# -- 2 and 3. a stalled source does not stop the other; page state is looked up, never loaded ---------


@pytest.fixture(scope="module")
def stalled(cluster: Cluster, site, tmp_path_factory: pytest.TempPathFactory):
    """Crawl news and forum while the forum's bulk writes are held by the proxy; release them once the
    news crawl has finished (or after two minutes)."""
    tmp_path = tmp_path_factory.mktemp("stalled")
    prefix = f"mwstall-{uuid.uuid4().hex[:6]}"
    sources = _sources(tmp_path, site.base_url)
    articles = len(site.site.catalog.articles)
    with EsProxy(cluster.url) as proxy:
        proxy.hold(lambda r: r.is_bulk and b'"source":"bacninh-forum"' in r.body)
        env = cluster.env(prefix, tmp_path, MEDIAWATCH_ES_URL=proxy.url, **NO_TAGGING)
        proc = subprocess.Popen([sys.executable, "-m", "mediawatch", "crawl", "--sources", str(sources), "--json"],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        client = Elasticsearch(cluster.url)
        news_done = news_run = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(1)
            if not client.indices.exists_alias(name=f"{prefix}-docs"):
                continue
            client.indices.refresh(index=f"{prefix}-*")
            news = client.count(index=f"{prefix}-docs", query={"term": {"source": "bacninh-news"}})["count"]
            runs = client.options(ignore_status=404).search(index=f"{prefix}-runs", query={"match_all": {}})
            sources_done = {h["_source"]["source"] for h in runs.body.get("hits", {}).get("hits", [])}
            if news == articles and "bacninh-news" in sources_done:
                news_done, news_run = time.monotonic(), True
                break
        held = proxy.holding.is_set()
        forum_while_held = client.count(index=f"{prefix}-docs", query={"term": {"source": "bacninh-forum"}})["count"]
        proxy.release()
        released = time.monotonic()
        out, err = proc.communicate(timeout=300)
        log = list(proxy.log)
    try:
        yield {"proc": proc, "out": out, "err": err, "news_done": news_done, "news_run": news_run,
               "released": released, "held": held, "forum_while_held": forum_while_held, "log": log,
               "prefix": prefix, "client": client}
    finally:
        delete_prefix(cluster.url, prefix)


def test_a_stalled_source_does_not_stop_the_others(stalled, site) -> None:
    assert stalled["held"], "the forum's writes were never held: the test proved nothing"
    assert stalled["news_done"] is not None and stalled["news_done"] < stalled["released"], (
        "the news crawl could not finish while the forum's writes were stalled", stalled["err"][-2000:])
    assert stalled["forum_while_held"] == 0
    assert stalled["proc"].returncode == 0, stalled["err"][-2000:]
    client, prefix = stalled["client"], stalled["prefix"]
    client.indices.refresh(index=f"{prefix}-docs")
    assert client.count(index=f"{prefix}-docs", query={"term": {"source": "bacninh-forum"}})["count"] == len(
        site.site.catalog.posts)


def test_page_state_is_looked_up_in_batches_never_scanned(stalled) -> None:
    """Known pages are asked for with mget, a batch at a time; the crawl never scrolls through the
    pages index (memory for page state does not grow with the number of known pages)."""
    pages = [r for r in stalled["log"] if f"{stalled['prefix']}-pages" in r.path]
    assert any("_mget" in r.path for r in pages)
    assert not [r.path for r in pages if "scroll" in r.path or "_search" in r.path]


# -- 3. revisit policy ---------------------------------------------------------------------------


def test_revisit_interval_adapts_to_change_within_bounds() -> None:
    from datetime import UTC, datetime, timedelta

    from index.pages import HOUR, KnownPage, RevisitPolicy

    policy = RevisitPolicy(initial_hours=24, min_hours=1, max_hours=24 * 14)
    now = datetime.now(UTC)

    def page(hours: float | None, age: float) -> KnownPage:
        return KnownPage("u", None, None, None, "h", (), now - timedelta(hours=age), None,
                         None if hours is None else hours * HOUR)

    assert policy.next_interval(None, changed=True) == 24 * HOUR
    assert policy.next_interval(page(24, 30), changed=True) == 12 * HOUR
    assert policy.next_interval(page(24, 30), changed=False) == 48 * HOUR
    assert policy.next_interval(page(1, 2), changed=True) == 1 * HOUR  # never below the minimum
    assert policy.next_interval(page(300, 400), changed=False) == 24 * 14 * HOUR  # nor above the maximum
    assert policy.is_fresh(page(48, 30)) and not policy.is_fresh(page(12, 30))
    assert policy.is_fresh(page(None, 23)) and not policy.is_fresh(page(None, 25))  # stored before v2: initial
    forced = RevisitPolicy(24, 0, 0)
    assert not forced.is_fresh(page(48, 0.01))


# -- 4. the spool ----------------------------------------------------------------------------------


def _actions(index: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"_op_type": "index", "_index": index, "_id": f"s{i}",
             "_source": {"id": f"s{i}", "url": f"http://x.test/{i}", "source": "s", "kind": "news",
                         "title": f"Tin {i}", "text": "Mưa lũ", "published": "2026-11-01T00:00:00+00:00"}}
            for i in range(start, start + n)]


def test_a_torn_last_line_costs_only_that_line(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    from index.spool import Spool
    from index.writer import BulkWriter

    settings = cluster.settings(prefix, tmp_path)
    client = make_client(settings)
    ensure_indices(client, settings)
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000)
    spool.append(_actions(docs_alias(settings), 3))
    segment = spool.segments()[0]
    spool.close()
    with segment.open("ab") as fh:  # a crash in the middle of appending the fourth line
        fh.write(json.dumps(_actions(docs_alias(settings), 1, start=3)[0]).encode()[:40])
    writer = BulkWriter(client, spool=Spool(tmp_path / "spool", max_bytes=10_000_000))
    assert writer.replay_spool() == 3
    assert writer.stats.torn == 1 and "torn" in writer.stats.errors[0]
    writer.flush(refresh=True)
    assert client.count(index=docs_alias(settings))["count"] == 3
    assert not segment.exists()


def test_a_replay_killed_half_way_resumes_where_it_stopped(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    from index.spool import OFFSET_SUFFIX, Spool
    from index.writer import BulkWriter

    settings = cluster.settings(prefix, tmp_path)
    client = make_client(settings)
    ensure_indices(client, settings)
    total = 3000
    spool = Spool(tmp_path / "spool", max_bytes=50_000_000)
    spool.append(_actions(docs_alias(settings), total))
    segment = spool.segments()[0]
    spool.close()
    script = textwrap.dedent(f"""
        import time
        from elasticsearch import Elasticsearch
        from index.spool import Spool
        from index.writer import replay_spool, WriteStats
        import index.writer as w
        send = w.send_actions
        def slow(*a, **k):
            time.sleep(0.05)
            return send(*a, **k)
        w.send_actions = slow
        replay_spool(Elasticsearch({cluster.url!r}), Spool({str(tmp_path / "spool")!r}, max_bytes=50_000_000),
                     WriteStats(), batch_size=20)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    offset_file = segment.with_name(segment.name + OFFSET_SUFFIX)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (offset_file.exists() and int(offset_file.read_text() or 0) > 0):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    offset = int(offset_file.read_text())
    done_before = segment.read_bytes()[:offset].count(b"\n")
    assert 0 < done_before < total, done_before
    writer = BulkWriter(client, spool=Spool(tmp_path / "spool", max_bytes=50_000_000))
    assert writer.replay_spool() == total - done_before  # the rest, not everything again
    writer.flush(refresh=True)
    assert client.count(index=docs_alias(settings))["count"] == total
    assert not segment.exists() and not offset_file.exists()


def test_a_full_spool_stops_the_crawl_and_loses_nothing(cluster: Cluster, site, prefix: str, tmp_path: Path) -> None:
    sources = _sources(tmp_path, site.base_url)
    posts = len(site.site.catalog.posts)
    with EsProxy(cluster.url) as proxy:
        proxy.fail(lambda r: r.is_bulk, status=503)
        env = cluster.env(prefix, tmp_path, MEDIAWATCH_ES_URL=proxy.url, MEDIAWATCH_INDEX__SPOOL_MAX_BYTES="40000",
                          MEDIAWATCH_INDEX__BULK_BATCH_SIZE="5",
                          **NO_TAGGING)
        result, reports = _crawl(env, sources, "bacninh-forum")
        status = run_cli("status", "--json", env=env)
    assert result.returncode == 6, result.stderr[-2000:]
    forum = reports["bacninh-forum"]
    assert forum["health"] == "failed" and any("spool" in p and "full" in p for p in forum["problems"])
    assert "spool" in result.stderr and "Traceback" not in result.stderr
    spool = json.loads(status.stdout)["spool"]
    assert 0 < spool["bytes"] <= 40000 and spool["max_bytes"] == 40000
    again, reports = _crawl(cluster.env(prefix, tmp_path, **NO_TAGGING), sources, "bacninh-forum")
    assert again.returncode == 0, again.stderr[-2000:]
    assert reports["bacninh-forum"]["replayed"] > 0
    assert _count(cluster.url, f"{prefix}-docs") == posts  # replayed and refetched, each post once
    assert json.loads(run_cli("status", "--json", env=cluster.env(prefix, tmp_path)).stdout)["spool"]["bytes"] == 0


def test_losing_elasticsearch_mid_crawl_spools_reports_and_replays(
    cluster: Cluster, site, prefix: str, tmp_path: Path
) -> None:
    sources = _sources(tmp_path, site.base_url)
    posts = len(site.site.catalog.posts)
    bulks = {"n": 0}

    def after_the_first_bulk(request) -> bool:
        if not request.is_bulk:
            return False
        bulks["n"] += 1
        return bulks["n"] > 1

    with EsProxy(cluster.url) as proxy:
        proxy.fail(after_the_first_bulk, status=0)  # the connection drops, as when the node dies
        env = cluster.env(prefix, tmp_path, MEDIAWATCH_ES_URL=proxy.url, MEDIAWATCH_INDEX__BULK_BATCH_SIZE="20",
                          **NO_TAGGING)
        result, reports = _crawl(env, sources, "bacninh-forum")
    forum = reports["bacninh-forum"]
    assert result.returncode == 6, result.stderr[-2000:]
    assert forum["spooled"] > 0 and forum["health"] == "degraded"
    assert f"{forum['spooled']} writes spooled" in result.stderr
    before = _count(cluster.url, f"{prefix}-docs")
    assert 0 < before < posts
    again, reports = _crawl(cluster.env(prefix, tmp_path, **NO_TAGGING), sources, "bacninh-forum")
    assert again.returncode == 0, again.stderr[-2000:]
    assert _count(cluster.url, f"{prefix}-docs") == posts


# -- 5. a rejected document is retried -------------------------------------------------------------


def test_a_rejected_document_leaves_its_page_unrecorded_and_is_fetched_again(
    cluster: Cluster, site, prefix: str, tmp_path: Path
) -> None:
    sources = _sources(tmp_path, site.base_url)
    article = site.site.catalog.articles[3]
    target = json.dumps(article.url)[1:-1].encode()

    def poison(body: bytes) -> bytes:  # the cluster refuses this one document (a field the mapping forbids)
        return body.replace(b'"url":"' + target + b'"', b'"surprise":1,"url":"' + target + b'"')

    with EsProxy(cluster.url) as proxy:
        proxy.rewrite(lambda r: r.is_bulk and target in r.body, poison)
        env = cluster.env(prefix, tmp_path, MEDIAWATCH_ES_URL=proxy.url, **NO_TAGGING)
        result, reports = _crawl(env, sources, "bacninh-news")
    assert result.returncode == 5, result.stderr[-2000:]
    assert reports["bacninh-news"]["rejected"] == 1
    assert "rejected 1 documents" in result.stderr
    client = Elasticsearch(cluster.url)
    assert not client.exists(index=f"{prefix}-pages", id=page_id(article.url))
    site.requests.clear()
    again, reports = _crawl(cluster.env(prefix, tmp_path, **NO_TAGGING), sources, "bacninh-news")
    assert again.returncode == 0, again.stderr[-2000:]
    fetched = [r.path for r in site.requests if r.path in {a.path for a in site.site.catalog.articles}]
    assert fetched == [article.path]  # only the rejected one; the others are known
    assert client.exists(index=f"{prefix}-pages", id=page_id(article.url))
    assert _count(cluster.url, f"{prefix}-docs", url=article.url) == 1


# -- 6. schema changes are explicit ----------------------------------------------------------------

V2_DOCS = replace(
    DOCS, version=2, upgrade=None,
    properties={k: v for k, v in DOCS.properties.items() if k not in ("author_folded", "section_folded")}
    | {"author": {"type": "keyword"}, "section": {"type": "keyword"}},
)


def _old_index(cluster: Cluster, prefix: str, tmp_path: Path, n: int) -> None:
    from index.writer import BulkWriter

    settings = cluster.settings(prefix, tmp_path)
    client = make_client(settings)
    ensure_indices(client, settings, specs=(V2_DOCS, PAGES))
    writer = BulkWriter(client, batch_size=1000)
    for i in range(n):
        writer.add(docs_alias(settings), f"d{i}", {"id": f"d{i}", "url": f"http://x.test/{i}", "source": "s",
                                                   "kind": "news", "title": f"Tin {i}", "text": "Mưa lũ ở Từ Sơn",
                                                   "author": "Nguyễn Văn Ánh", "section": "Thời sự"})
    writer.flush(refresh=True)


def test_a_crawl_against_an_outdated_schema_stops_and_names_the_command(
    cluster: Cluster, site, prefix: str, tmp_path: Path
) -> None:
    _old_index(cluster, prefix, tmp_path, 5)
    result, _ = _crawl(cluster.env(prefix, tmp_path, **NO_TAGGING), _sources(tmp_path, site.base_url), "bacninh-forum")
    assert result.returncode == 3
    assert "mediawatch index migrate" in result.stderr and result.stderr.strip().count("\n") == 0
    client = Elasticsearch(cluster.url)
    assert list(client.indices.get_alias(name=f"{prefix}-docs")) == [f"{prefix}-docs-v2"]
    assert client.count(index=f"{prefix}-docs")["count"] == 5


def test_migrate_moves_documents_to_the_new_schema(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    _old_index(cluster, prefix, tmp_path, 120)
    env = cluster.env(prefix, tmp_path)
    result = run_cli("index", "migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert f"{prefix}-docs: migrated 120 documents" in result.stdout
    client = Elasticsearch(cluster.url)
    assert list(client.indices.get_alias(name=f"{prefix}-docs")) == [f"{prefix}-docs-v{DOCS.version}"]
    assert client.count(index=f"{prefix}-docs", query={"match": {"author_folded": "nguyen anh"}})["count"] == 120
    assert run_cli("index", "migrate", env=env).stdout.count("up to date") == len(ALL_SPECS)  # idempotent
    assert client.indices.get_settings(index=f"{prefix}-docs-v2")[f"{prefix}-docs-v2"]["settings"]["index"][
        "blocks"]["write"] == "true"  # the old index is kept, read-only


def _start_migration(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mediawatch", "index", "migrate", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if needle in line:
            return
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"never saw {needle!r}")


def test_writes_during_a_migration_are_held_off_and_not_lost(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    """Writes sent while the migration copies (its copy held by a proxy until they have been held off) wait
    and land in the new index once the alias moves."""
    import threading

    from index.writer import BulkWriter

    _old_index(cluster, prefix, tmp_path, 3000)
    settings = cluster.settings(prefix, tmp_path)
    with EsProxy(cluster.url) as proxy, EsProxy(cluster.url) as watch:
        proxy.hold(lambda r: r.is_bulk)
        migration = _start_migration({**cluster.env(prefix, tmp_path), "MEDIAWATCH_ES_URL": proxy.url},
                                     "--batch-size", "250")
        _wait_for_line(migration, "writers held off")
        writer = BulkWriter(make_client(settings.model_copy(update={"es": settings.es.model_copy(
            update={"url": watch.url})})), batch_size=20, hold_off_seconds=120)

        def write() -> None:
            for i in range(3000, 3200):
                writer.add(docs_alias(settings), f"d{i}", {"id": f"d{i}", "url": f"http://x.test/{i}", "source": "s",
                                                           "kind": "news", "title": f"Tin {i}", "text": "mới"})
            writer.flush(refresh=True)

        thread = threading.Thread(target=write)
        thread.start()
        deadline = time.monotonic() + 60  # a second bulk attempt: the first was held off by the write block
        while sum(1 for r in list(watch.log) if r.is_bulk) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        proxy.release()
        thread.join(timeout=300)
        assert migration.wait(timeout=300) == 0
    assert writer.stats.held_off > 0 and writer.stats.rejected == 0 and writer.stats.spooled == 0
    client = Elasticsearch(cluster.url)
    client.indices.refresh(index=f"{prefix}-docs")
    assert list(client.indices.get_alias(name=f"{prefix}-docs")) == [f"{prefix}-docs-v{DOCS.version}"]
    assert client.count(index=f"{prefix}-docs")["count"] == 3200


def test_two_migrations_at_once_one_waits_or_fails_cleanly(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    """The first migration's copy is held (a proxy holds its bulk writes) while two more start: one without
    --wait fails in one line naming the holder, one with --wait waits and then finds nothing to do."""
    _old_index(cluster, prefix, tmp_path, 300)
    env = cluster.env(prefix, tmp_path)
    with EsProxy(cluster.url) as proxy:
        proxy.hold(lambda r: r.is_bulk)
        first = _start_migration({**env, "MEDIAWATCH_ES_URL": proxy.url}, "--batch-size", "25")
        _wait_for_line(first, "writers held off")
        assert proxy.holding.wait(60)
        impatient = run_cli("index", "migrate", env=env)
        patient = _start_migration(env, "--wait", "120")
        _wait_for_line(patient, "waiting for another migration")
        proxy.release()
        assert first.wait(timeout=300) == 0
        out, err = patient.communicate(timeout=300)
    assert impatient.returncode == 3 and "another migration is in progress" in impatient.stderr
    assert impatient.stderr.strip().count("\n") == 0 and "Traceback" not in impatient.stderr
    assert patient.returncode == 0, err
    assert f"{prefix}-docs: up to date" in out
    assert Elasticsearch(cluster.url).count(index=f"{prefix}-docs")["count"] == 300


# -- 10. honest outcomes ---------------------------------------------------------------------------


def test_a_site_that_is_down_is_a_failed_run(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    sources = tmp_path / "sources.yaml"
    sources.write_text(f'sources:\n  - {{id: down, name: Down, kind: news, home: "{down}/", '
                       f'feeds: ["{down}/rss"], allowed_domains: ["127.0.0.1"]}}\n', encoding="utf-8")
    result, reports = _crawl(cluster.env(prefix, tmp_path, **NO_TAGGING), sources)
    assert result.returncode == 5, result.stderr[-2000:]
    assert reports["down"]["health"] == "failed"
    assert reports["down"]["failures"] == {"refused": 2}
    assert any("could not be fetched" in p for p in reports["down"]["problems"])


def test_timeouts_redirect_loops_and_oversized_pages_are_counted_by_reason(
    cluster: Cluster, prefix: str, tmp_path: Path
) -> None:
    with HostileServer(slow_seconds=5) as bad:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f'sources:\n  - {{id: bad, name: Bad, kind: news, home: "{bad.url("/slow")}", '
            f'feeds: ["{bad.url("/loop")}"], sitemaps: ["{bad.url("/big")}"], allowed_domains: ["127.0.0.1"]}}\n',
            encoding="utf-8",
        )
        env = cluster.env(prefix, tmp_path, MEDIAWATCH_CRAWL__TIMEOUT="1", MEDIAWATCH_CRAWL__MAX_PAGE_BYTES="100000",
                          **NO_TAGGING)
        result, reports = _crawl(env, sources)
    assert result.returncode == 5, result.stderr[-2000:]
    bad_run = reports["bad"]
    assert bad_run["health"] == "failed"
    assert set(bad_run["failures"]) == {"timeout", "redirect_refused", "too_large"}


def test_reaching_max_pages_is_a_normal_end(cluster: Cluster, site, prefix: str, tmp_path: Path) -> None:
    sources = _sources(tmp_path, site.base_url, **{"    timezone: Asia": "    max_pages: 5\n    timezone: Asia"})
    result, reports = _crawl(cluster.env(prefix, tmp_path, **NO_TAGGING), sources, "bacninh-news")
    news = reports["bacninh-news"]
    assert news["finish_reason"] == "closespider_pagecount" and news["pages"] < 40  # 5, plus those in flight
    assert news["health"] == "ok" and result.returncode == 0, result.stderr[-2000:]


def test_ctrl_c_stops_within_seconds_and_says_what_was_saved(
    cluster: Cluster, site, prefix: str, tmp_path: Path
) -> None:
    sources = _sources(tmp_path, site.base_url, **{"politeness: {delay: 0, concurrency: 8}":
                                                   "politeness: {delay: 1, concurrency: 1}"})
    env = cluster.env(prefix, tmp_path, MEDIAWATCH_INDEX__BULK_BATCH_SIZE="1", MEDIAWATCH_CRAWL__AUTOTHROTTLE="false",
                      **NO_TAGGING)
    proc = subprocess.Popen([sys.executable, "-m", "mediawatch", "crawl", "bacninh-news", "--sources", str(sources)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = Elasticsearch(cluster.url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if client.indices.exists_alias(name=f"{prefix}-docs"):
            client.indices.refresh(index=f"{prefix}-docs")
            if client.count(index=f"{prefix}-docs")["count"] >= 3:
                break
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == 130, err[-2000:]
    assert took < 20, took
    saved = int(re.search(r"interrupted: (\d+) documents saved", err).group(1))
    client.indices.refresh(index=f"{prefix}-docs")
    assert 3 <= saved <= client.count(index=f"{prefix}-docs")["count"] < len(site.site.catalog.articles)
    assert "Traceback" not in err


def test_status_shows_the_node_counts_spool_and_last_runs(cluster: Cluster, site, prefix: str, tmp_path: Path) -> None:
    env = cluster.env(prefix, tmp_path, **NO_TAGGING)
    result, _ = _crawl(env, _sources(tmp_path, site.base_url), "bacninh-forum")
    assert result.returncode == 0, result.stderr[-2000:]
    status = run_cli("status", env=env)
    assert status.returncode == 0, status.stderr
    for needle in ("Elasticsearch", cluster.url, f"{prefix}-docs", "Spool", "bacninh-forum", "ok"):
        assert needle in status.stdout, needle
    data = json.loads(run_cli("status", "--json", env=env).stdout)
    docs = next(i for i in data["indices"] if i["alias"] == f"{prefix}-docs")
    assert docs["documents"] == len(site.site.catalog.posts) and docs["current"]
    assert data["runs"][0]["source"] == "bacninh-forum" and data["runs"][0]["health"] == "ok"
    down = run_cli("status", env={**env, "MEDIAWATCH_ES_URL": f"http://127.0.0.1:{free_port()}"})
    assert down.returncode == 3 and "Spool" in down.stdout and "unreachable" in down.stderr
