"""The source registry every caller reads: sources.yaml with the sources stored in Elasticsearch (added or edited
in the web app) laid over it — exactly the file when nothing is stored, the stored entry winning for the same id
(and able to disable a file source), the file alone with a warning when the cluster cannot be reached and the
caller asks for it (``sources list``; ``load_registry(file_if_unreachable=True)`` for the web pages, the alert
form and backfill's home provinces); crawls, ``--due``, the scheduler, ``sources list`` and ``alerts add`` all
see the same sources."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from crawlers.sources import load_registry, load_sources
from index.sources import SourceStore, source_record
from mediawatch.config import Settings
from mediawatch.errors import ClusterUnavailable, ConfigError
from tests.conftest import Cluster, free_port, run_cli
from tests.site import serve, sources_yaml


def _settings(cluster: Cluster, prefix: str, tmp_path: Path, sources: Path) -> Settings:
    return Settings(es={"url": cluster.url}, index={"prefix": prefix}, data_dir=tmp_path / "data",
                    crawl={"sources_file": sources, "allow_private_hosts": ["127.0.0.1"]},
                    enrich={"enabled": False})


def _file(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(sources_yaml(base_url), encoding="utf-8")
    return path


def _store(client: Elasticsearch, settings: Settings) -> SourceStore:
    SourceStore.ensure(client, settings)
    return SourceStore.of(client, settings)


def _app_source(base: str, **extra: object) -> dict[str, object]:
    return {"id": "tin-moi", "name": "Tin mới (thêm trong ứng dụng)", "kind": "news", "home": f"{base}/",
            "feeds": [f"{base}/rss/tin-moi.rss"], "allowed_domains": ["127.0.0.1"],
            "article_patterns": [r"/tin-tuc/.+\.html$"], "politeness": {"delay": 0, "concurrency": 4},
            "max_pages": 12, "schedule": "every 1h", **extra}


def _stored_world(cluster: Cluster, prefix: str, tmp_path: Path, base: str
                  ) -> tuple[Settings, Elasticsearch, SourceStore]:
    """sources.yaml for ``base``, with the file's forum disabled in the store and ``tin-moi`` added there."""
    sources = _file(tmp_path, base)
    settings = _settings(cluster, prefix, tmp_path, sources)
    client = Elasticsearch(cluster.url)
    store = _store(client, settings)
    forum = next(s for s in load_sources(sources) if s.id == "bacninh-forum")
    disabled = {**forum.model_dump(mode="json", exclude_defaults=True), "id": forum.id, "enabled": False}
    assert store.create(source_record(disabled, origin="file", by="admin"))
    assert store.create(source_record(_app_source(base), origin="app", by="admin"))
    return settings, client, store


def test_nothing_stored_is_exactly_the_file(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    sources = _file(tmp_path, "http://127.0.0.1:9")
    settings = _settings(cluster, prefix, tmp_path, sources)
    registry = load_registry(settings)  # the index does not even exist yet
    assert [s.model_dump() for s in registry] == [s.model_dump() for s in load_sources(sources)]
    assert {registry.origin(s.id) for s in registry} == {"file"}
    with pytest.raises(ConfigError, match="does not exist"):
        load_registry(_settings(cluster, prefix, tmp_path, tmp_path / "missing.yaml"))


def test_stored_sources_are_laid_over_the_file(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    base = "http://127.0.0.1:9"
    settings, client, store = _stored_world(cluster, prefix, tmp_path, base)
    registry = load_registry(settings, client)
    assert [s.id for s in registry] == ["bacninh-news", "bacninh-forum", "tin-moi"]  # file order, then the app's
    assert registry.get("bacninh-forum").enabled is False
    assert registry.get("tin-moi").schedule == "every 1h"
    assert [registry.origin(i) for i in ("bacninh-news", "bacninh-forum", "tin-moi")] == ["file", "edited", "app"]
    with pytest.raises(Exception, match="unknown source 'nope'.*known: bacninh-forum, bacninh-news, tin-moi"):
        registry.get("nope")

    # A stored entry that no longer validates: one line naming it (strict), or left out and named (lenient).
    broken = source_record(_app_source(base, id="broken", schedule="every week"), origin="app", by="admin")
    assert store.create(broken)
    with pytest.raises(ConfigError, match=r"source broken stored in Elasticsearch .*field schedule"):
        load_registry(settings, client)
    lenient = load_registry(settings, client, strict=False)
    assert "broken" not in {s.id for s in lenient} and "schedule" in lenient.problems["broken"]
    assert store.delete("broken")

    # Sources stored, no file: the stored ones are the registry.
    only_stored = load_registry(_settings(cluster, prefix, tmp_path, tmp_path / "missing.yaml"), client)
    assert [s.id for s in only_stored] == ["bacninh-forum", "tin-moi"]


def test_an_unreachable_cluster_is_one_line_and_sources_list_falls_back_to_the_file(
    cluster: Cluster, prefix: str, tmp_path: Path
) -> None:
    sources = _file(tmp_path, "http://127.0.0.1:9")
    down = Settings(es={"url": f"http://127.0.0.1:{free_port()}"}, index={"prefix": prefix},
                    crawl={"sources_file": sources})
    with pytest.raises(ClusterUnavailable, match="unreachable"):
        load_registry(down)
    env = cluster.env(prefix, tmp_path) | {"MEDIAWATCH_ES_URL": down.es.effective_url}
    listed = run_cli("sources", "list", "--json", "--file", str(sources), env=env)
    assert listed.returncode == 0, listed.stderr
    assert [s["id"] for s in json.loads(listed.stdout)] == ["bacninh-news", "bacninh-forum"]
    warning = " ".join(listed.stderr.split())
    assert warning.startswith("warning: Elasticsearch at") and "sources.yaml only" in warning
    assert listed.stderr.strip().count("\n") == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: 3\n", encoding="utf-8")
    broken = run_cli("sources", "list", "--file", str(bad), env=env)  # a bad file is still its own one line
    assert broken.returncode == 2 and "expected a top-level 'sources:' list" in broken.stderr


def test_file_if_unreachable_reads_the_file_alone_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``load_registry(..., file_if_unreachable=True)``: with Elasticsearch away the file is the registry (all of
    it, origin ``file``) and one warning names the cluster's error; without the option it is ClusterUnavailable;
    a missing file is still its own ConfigError."""
    import logging

    sources = _file(tmp_path, "http://127.0.0.1:9")
    down = Settings(es={"url": "http://127.0.0.1:1", "request_timeout": 2}, crawl={"sources_file": sources})
    with pytest.raises(ClusterUnavailable, match="Elasticsearch at http://127.0.0.1:1 is unreachable"):
        load_registry(down)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        registry = load_registry(down, file_if_unreachable=True)
    assert [s.model_dump() for s in registry] == [s.model_dump() for s in load_sources(sources)]
    assert [s.id for s in registry] == ["bacninh-news", "bacninh-forum"]
    assert {registry.origin(s.id) for s in registry} == {"file"}
    # One line of its own (the transport's retry warnings, from elastic_transport, are not load_registry's).
    warnings = [r for r in caplog.records if r.name == "crawlers.sources" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "Elasticsearch at http://127.0.0.1:1 is unreachable" in message
    assert f"Using {sources} alone" in message and "\n" not in message

    missing = down.model_copy(update={"crawl": down.crawl.model_copy(update={"sources_file": tmp_path / "no.yaml"})})
    with pytest.raises(ConfigError, match="no.yaml does not exist"):
        load_registry(missing, file_if_unreachable=True)
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: 3\n", encoding="utf-8")
    broken = down.model_copy(update={"crawl": down.crawl.model_copy(update={"sources_file": bad})})
    with pytest.raises(ConfigError, match="expected a top-level 'sources:' list"):
        load_registry(broken, file_if_unreachable=True)


def test_every_caller_sees_the_same_registry_and_a_stored_source_is_crawled(
    cluster: Cluster, prefix: str, tmp_path: Path
) -> None:
    from crawlers.runner import select_sources
    from mediawatch.scheduler import Scheduler

    with serve(now=datetime.now(UTC)) as site:
        base = site.base_url.rstrip("/")
        settings, client, _ = _stored_world(cluster, prefix, tmp_path, base)
        sources = settings.crawl.sources_file

        assert [s.id for s in select_sources(settings, [])] == ["bacninh-news", "tin-moi"]  # the forum is off
        assert select_sources(settings, ["bacninh-forum"])[0].enabled is False  # named: still crawlable by hand
        assert [s.id for s in Scheduler(settings).sources()] == ["bacninh-news", "tin-moi"]
        env = cluster.env(prefix, tmp_path / "data", MEDIAWATCH_ENRICH__ENABLED="false",
                          MEDIAWATCH_CRAWL__SOURCES_FILE=str(sources))
        listed = json.loads(run_cli("sources", "list", "--json", env=env).stdout)
        assert [(s["id"], s["enabled"], s["origin"]) for s in listed] == [
            ("bacninh-news", True, "file"), ("bacninh-forum", False, "edited"), ("tin-moi", True, "app")]
        table = run_cli("sources", "list", env=env | {"COLUMNS": "250"})
        assert "tin-moi" in table.stdout and "web app" in table.stdout

        # --due claims it like any scheduled source; the spider loads it by id from the same registry.
        crawled = run_cli("crawl", "--due", "tin-moi", "--json", "--no-alerts", env=env)
        assert crawled.returncode == 0, crawled.stderr[-3000:]
        report = json.loads(crawled.stdout)
        assert [r["source"] for r in report] == ["tin-moi"] and report[0]["health"] == "ok"
        client.indices.refresh(index=f"{prefix}-docs")
        assert client.count(index=f"{prefix}-docs", query={"term": {"source": "tin-moi"}})["count"] >= 3

        accepted = run_cli("alerts", "add", "--name", "tin mới", "--query", "lũ", "--source", "tin-moi",
                           "--email", "an@example.vn", "--owner", "analyst1", env=env)
        assert accepted.returncode == 0, accepted.stderr
        refused = run_cli("alerts", "add", "--name", "x", "--query", "lũ", "--source", "nowhere",
                          "--email", "an@example.vn", env=env)
        assert refused.returncode == 2 and "unknown source 'nowhere'" in refused.stderr
        assert "tin-moi" in refused.stderr  # the valid ones listed include the stored source


def test_schedule_list_search_filters_reports_and_backfill_see_the_stored_sources(
    cluster: Cluster, prefix: str, tmp_path: Path
) -> None:
    """``schedule list``, the search page's source names and valid filter values, the report form's sources and
    the province a report is issued in, and backfill's home provinces read the merged registry (the file alone
    when the cluster is down)."""
    from mediawatch.backfill import source_provinces
    from web.context import WebContext, source_registry
    from web.report import province_of
    from web.routes.reports import _source_choices
    from web.routes.search import SearchForm, build_request, choices

    base = "http://127.0.0.1:9"
    settings, client, store = _stored_world(cluster, prefix, tmp_path, base)
    assert store.create(source_record(_app_source(base, id="ha-noi", name="Báo Hà Nội (ứng dụng)", province="01"),
                                      origin="app", by="admin"))
    env = cluster.env(prefix, tmp_path / "data", MEDIAWATCH_ENRICH__ENABLED="false",
                      MEDIAWATCH_CRAWL__SOURCES_FILE=str(settings.crawl.sources_file))
    listed = run_cli("schedule", "list", env=env | {"COLUMNS": "250"})
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines() if line.count("│") > 2}
    assert {"bacninh-news", "bacninh-forum", "tin-moi", "ha-noi"} <= set(rows)
    assert "every 1h" in rows["tin-moi"] and "disabled" in rows["bacninh-forum"]

    ctx = WebContext.build(settings)
    ch = choices(ctx)
    assert {"tin-moi", "ha-noi"} <= set(ch.sources)
    assert ch.source_names["tin-moi"] == "Tin mới (thêm trong ứng dụng)"
    req, errors = build_request(ctx, SearchForm(q="lũ", sources=["TIN-MOI"]), ch, "en")
    assert errors == {} and req.sources == ["tin-moi"]
    assert ("tin-moi", "Tin mới (thêm trong ứng dụng)") in _source_choices(ctx)
    assert source_provinces(settings, client) == {"bacninh-news": "24", "bacninh-forum": "24", "ha-noi": "01"}
    assert province_of(settings, client) == "Bắc Ninh"  # the file's two against one
    for extra in ("ha-noi-2", "ha-noi-3"):
        assert store.create(source_record(_app_source(base, id=extra, province="01"), origin="app", by="admin"))
    assert province_of(settings, client) == "Thành phố Hà Nội"  # three added in the web app outnumber the file's

    down = settings.model_copy(update={"es": settings.es.model_copy(update={"url": f"http://127.0.0.1:{free_port()}"})})
    assert source_provinces(down) == {"bacninh-news": "24", "bacninh-forum": "24"}
    assert [s.id for s in source_registry(down, Elasticsearch(down.es.effective_url))] == [
        "bacninh-news", "bacninh-forum"]
