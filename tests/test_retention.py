"""Retention (issue 14: 12) against the real node: the scheduler's daily prune deletes old documents and stale page
state exactly once per slot however many schedulers share the cluster, each prune audited (``scheduler`` or
``cli:<user>``); removing a source with its documents — from the CLI and from the web app's source admin —
deletes its documents and page state and leaves every other source's alone, audited with the counts."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

import getpass
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from index.client import make_client
from index.mappings import docs_alias, ensure_indices, pages_alias
from index.pages import page_id
from index.retention import page_state_cutoff, retention_lease
from index.sources import SourceStore, source_record
from index.users import AuditLog
from index.writer import BulkWriter
from mediawatch.config import Settings
from mediawatch.scheduler import RETENTION_JOB, Scheduler
from tests.conftest import Cluster, run_cli
from tests.webapp import LiveApp, browser, login, page, pages, run_app  # noqa: F401  (fixtures)

QUIET_SOURCES = """sources:
  - id: quiet-news
    name: "Quiet (never scheduled)"
    kind: news
    home: "http://127.0.0.1:9/"
"""
DAYS = 30


def _settings(cluster: Cluster, prefix: str, tmp_path: Path, **index: object) -> Settings:
    sources = tmp_path / "sources.yaml"
    sources.write_text(QUIET_SOURCES, encoding="utf-8")
    return Settings(es={"url": cluster.url}, index={"prefix": prefix, **index}, data_dir=tmp_path,
                    crawl={"sources_file": sources, "timezone": "Asia/Ho_Chi_Minh"})


def _doc(source: str, name: str, *, age_days: float | None, crawled_days: float = 1.0) -> dict:
    now = datetime.now(UTC)
    doc = {"id": name, "url": f"http://{source}.test/{name}", "source": source, "kind": "news", "title": name,
           "text": "Mưa lũ ở Bắc Ninh", "text_folded": "mua lu o bac ninh",
           "crawled_at": (now - timedelta(days=crawled_days)).isoformat()}
    if age_days is not None:
        doc["published"] = (now - timedelta(days=age_days)).isoformat()
    return doc


def _page(source: str, url: str, *, fetched_days: float) -> dict:
    return {"url": url, "source": source, "role": "article", "status": 200, "content_hash": "h", "doc_ids": [],
            "fetched_at": (datetime.now(UTC) - timedelta(days=fetched_days)).isoformat()}


def _seed(client: Elasticsearch, settings: Settings, docs: list[dict], pages_: list[dict]) -> None:
    writer = BulkWriter(client)
    for doc in docs:
        writer.add(docs_alias(settings), doc["id"], doc)
    for state in pages_:
        writer.add(pages_alias(settings), page_id(state["url"]), state)
    writer.flush(refresh=True)


def _ids(client: Elasticsearch, index: str, query: dict | None = None) -> set[str]:
    client.indices.refresh(index=index)
    hits = client.search(index=index, query=query or {"match_all": {}}, size=1000, source=["url", "id"])
    return {h["_source"].get("id") or h["_source"]["url"] for h in hits["hits"]["hits"]}


def _audit(client: Elasticsearch, settings: Settings, action: str) -> list[dict]:
    return AuditLog.of(client, settings).search(action=action, size=100).entries


@pytest.fixture
def aged(cluster: Cluster, prefix: str, tmp_path: Path) -> Iterator[tuple[Settings, Elasticsearch]]:
    """A prefix holding documents and page states of several ages (retention 30 days, revisit max 14 days)."""
    settings = _settings(cluster, prefix, tmp_path, retention_days=DAYS)
    client = make_client(settings)
    ensure_indices(client, settings)
    docs = [_doc("s", "fresh", age_days=3), _doc("s", "edge-kept", age_days=DAYS - 1),
            _doc("s", "old", age_days=40), _doc("s", "ancient", age_days=400),
            _doc("s", "undated-old", age_days=None, crawled_days=90),
            _doc("s", "undated-fresh", age_days=None, crawled_days=2)]
    horizon = DAYS + settings.crawl.revisit_max_hours / 24  # 44 days
    pages_ = [_page("s", "http://s.test/fetched-yesterday", fetched_days=1),
              _page("s", "http://s.test/past-retention", fetched_days=DAYS + 5),  # kept: within the horizon
              _page("s", "http://s.test/past-horizon", fetched_days=horizon + 1),
              _page("s", "http://s.test/long-gone", fetched_days=500)]
    _seed(client, settings, docs, pages_)
    yield settings, client


KEPT_DOCS = {"fresh", "edge-kept", "undated-fresh"}
KEPT_PAGES = {"http://s.test/fetched-yesterday", "http://s.test/past-retention"}


def test_page_state_outlives_documents_by_the_revisit_horizon(tmp_path: Path) -> None:
    settings = Settings(crawl={"revisit_max_hours": 48})
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert page_state_cutoff(settings, 30, now) == now - timedelta(days=32)


def test_retention_schedule_is_checked_as_a_cron_expression() -> None:
    from pydantic import ValidationError

    assert Settings().index.retention_schedule == "30 2 * * *"
    for bad in ("every 1d", "61 2 * * *", "2:30"):
        with pytest.raises(ValidationError, match="cron"):
            Settings(index={"retention_schedule": bad})


def test_two_schedulers_racing_for_the_daily_slot_prune_once(aged: tuple[Settings, Elasticsearch]) -> None:
    settings, client = aged
    t0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 17:00 in Vietnam
    seed = Scheduler(settings, owner="seed")
    assert seed.claim_retention(t0) is False  # first seen: due at the next slot, 02:30 local time
    state = seed.states.get(RETENTION_JOB)[0]
    assert datetime.fromisoformat(state["next_due"]) == datetime(2026, 12, 1, 19, 30, tzinfo=UTC)
    assert seed.claim_retention(datetime(2026, 12, 1, 19, 29, tzinfo=UTC)) is False  # a minute early

    at = datetime(2026, 12, 1, 19, 31, tzinfo=UTC)
    schedulers = [Scheduler(settings, owner=f"scheduler-{i}", clock=lambda: at) for i in range(4)]
    barrier = threading.Barrier(len(schedulers))
    ran: list[str] = []

    def race(scheduler: Scheduler) -> None:
        barrier.wait()
        if scheduler.claim_retention(at):
            result = scheduler.run_retention(at)
            assert result is not None
            ran.append(scheduler.owner)

    threads = [threading.Thread(target=race, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(ran) == 1, ran
    assert _ids(client, docs_alias(settings)) == KEPT_DOCS
    assert _ids(client, pages_alias(settings)) == KEPT_PAGES
    entries = _audit(client, settings, "retention.prune")
    assert len(entries) == 1, entries
    entry = entries[0]
    assert entry["actor"] == "scheduler" and entry["outcome"] == "ok" and entry["target"] == settings.index.prefix
    assert entry["details"]["documents"] == 3 and entry["details"]["pages"] == 2
    assert entry["details"]["days"] == DAYS and entry["details"]["scheduler"] == ran[0]
    state = seed.states.get(RETENTION_JOB)[0]
    assert state["last_status"] == "ok" and state["started_by"] == ran[0]
    assert datetime.fromisoformat(state["next_due"]) == datetime(2026, 12, 2, 19, 30, tzinfo=UTC)  # tomorrow
    assert not any(s.claim_retention(at + timedelta(hours=3)) for s in schedulers)  # same day: not again


def test_the_tick_runs_the_prune_on_a_thread_once_per_day(aged: tuple[Settings, Elasticsearch]) -> None:
    settings, client = aged
    clock = {"now": datetime(2026, 12, 1, 10, 0, tzinfo=UTC)}
    a = Scheduler(settings, owner="a", clock=lambda: clock["now"])
    b = Scheduler(settings, owner="b", clock=lambda: clock["now"])

    def both_tick() -> None:
        for scheduler in (a, b):
            scheduler.tick()
        for scheduler in (a, b):
            if scheduler.retention_thread is not None:
                scheduler.retention_thread.join(60)

    both_tick()
    assert _audit(client, settings, "retention.prune") == []  # not due before 02:30 local
    clock["now"] = datetime(2026, 12, 1, 19, 30, 5, tzinfo=UTC)
    both_tick()
    both_tick()
    entries = _audit(client, settings, "retention.prune")
    assert [e["actor"] for e in entries] == ["scheduler"]
    assert _ids(client, docs_alias(settings)) == KEPT_DOCS
    _seed(client, settings, [_doc("s", "old-again", age_days=50)], [])
    clock["now"] = datetime(2026, 12, 2, 19, 31, tzinfo=UTC)  # the next day's slot
    both_tick()
    entries = _audit(client, settings, "retention.prune")
    assert len(entries) == 2 and entries[0]["details"]["documents"] == 1
    assert _ids(client, docs_alias(settings)) == KEPT_DOCS


def test_no_retention_setting_means_no_scheduled_prune(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    settings = _settings(cluster, prefix, tmp_path)
    client = make_client(settings)
    ensure_indices(client, settings)
    scheduler = Scheduler(settings, owner="a")
    assert scheduler.claim_retention(datetime(2026, 12, 1, 19, 31, tzinfo=UTC)) is False
    assert scheduler.states.get(RETENTION_JOB) is None


def test_cli_prune_is_audited_with_the_os_user_and_waits_for_a_running_prune(
    aged: tuple[Settings, Elasticsearch], cluster: Cluster, tmp_path: Path
) -> None:
    settings, client = aged
    env = cluster.env(settings.index.prefix, tmp_path,
                      MEDIAWATCH_CRAWL__SOURCES_FILE=str(settings.crawl.sources_file))
    dry = run_cli("prune", "--dry-run", env={**env, "MEDIAWATCH_INDEX__RETENTION_DAYS": str(DAYS)})
    assert dry.returncode == 0, dry.stderr
    assert "would delete 3 documents" in dry.stdout and "state of 2 pages" in dry.stdout
    assert _audit(client, settings, "retention.prune") == []  # a dry run changes and records nothing

    lease = retention_lease(client, settings, owner="scheduler-elsewhere:4242")
    assert lease.try_acquire() is None
    try:
        busy = run_cli("prune", "--days", str(DAYS), env=env)
    finally:
        lease.release()
    assert busy.returncode == 1 and "a prune is running already" in busy.stderr
    assert "scheduler-elsewhere:4242" in busy.stderr and "Traceback" not in busy.stderr
    assert _ids(client, docs_alias(settings)) > KEPT_DOCS  # nothing deleted meanwhile

    done = run_cli("prune", "--days", str(DAYS), env=env)
    assert done.returncode == 0, done.stderr
    assert "deleted 3 documents" in done.stdout and "state of 2 pages" in done.stdout
    assert _ids(client, docs_alias(settings)) == KEPT_DOCS
    assert _ids(client, pages_alias(settings)) == KEPT_PAGES
    entry = _audit(client, settings, "retention.prune")[0]
    assert entry["actor"] == f"cli:{getpass.getuser()}" and entry["details"]["documents"] == 3

    missing = run_cli("prune", env=env)  # no --days and no index.retention_days
    assert missing.returncode == 2 and "no retention period" in missing.stderr

    planned = run_cli("schedule", "list", env={**env, "MEDIAWATCH_INDEX__RETENTION_DAYS": str(DAYS)})
    assert planned.returncode == 0, planned.stderr
    row = next(line for line in planned.stdout.splitlines() if "retention" in line)
    assert f"prune after {DAYS} days" in row and "30 2 * * *" in row and " 02:30 " in row  # next slot, local time


# -- removing a source with its documents ---------------------------------------------------------------------------

def _two_sources(client: Elasticsearch, settings: Settings, gone: str, other: str) -> None:
    docs = [_doc(gone, f"{gone}-{i}", age_days=1) for i in range(5)] + \
           [_doc(other, f"{other}-{i}", age_days=1) for i in range(3)]
    pages_ = [_page(gone, f"http://{gone}.test/{i}", fetched_days=1) for i in range(6)] + \
             [_page(other, f"http://{other}.test/{i}", fetched_days=1) for i in range(4)]
    _seed(client, settings, docs, pages_)


def _counts(client: Elasticsearch, settings: Settings, source: str) -> tuple[int, int]:
    query = {"term": {"source": source}}
    return (len(_ids(client, docs_alias(settings), query)), len(_ids(client, pages_alias(settings), query)))


def _store_app_source(client: Elasticsearch, settings: Settings, source_id: str) -> None:
    SourceStore.ensure(client, settings)
    config = {"id": source_id, "name": "Added in the app", "kind": "news", "home": f"http://{source_id}.test/"}
    assert SourceStore.of(client, settings).create(source_record(config, origin="app", by="admin"))


def test_cli_removes_a_source_with_its_documents_and_page_state_only(
    cluster: Cluster, prefix: str, tmp_path: Path
) -> None:
    settings = _settings(cluster, prefix, tmp_path)
    client = make_client(settings)
    ensure_indices(client, settings)
    _store_app_source(client, settings, "added")
    _two_sources(client, settings, "added", "quiet-news")
    env = cluster.env(prefix, tmp_path, MEDIAWATCH_CRAWL__SOURCES_FILE=str(settings.crawl.sources_file))

    in_file = run_cli("sources", "remove", "quiet-news", "--delete-documents", "--yes", env=env)
    assert in_file.returncode == 2 and "delete its entry there first" in in_file.stderr
    unknown = run_cli("sources", "remove", "nope", "--yes", env=env)
    assert unknown.returncode == 2 and "unknown source 'nope'" in unknown.stderr
    unconfirmed = run_cli("sources", "remove", "added", "--delete-documents", env=env)  # no terminal, no --yes
    assert unconfirmed.returncode == 2 and "pass --yes" in unconfirmed.stderr and "5 documents" in unconfirmed.stderr
    assert _counts(client, settings, "added") == (5, 6)

    done = run_cli("sources", "remove", "added", "--delete-documents", "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert "removed the source; deleted 5 documents and 6 page states" in done.stdout
    assert _counts(client, settings, "added") == (0, 0)
    assert _counts(client, settings, "quiet-news") == (3, 4)
    assert SourceStore.of(client, settings).get("added") is None
    entry = _audit(client, settings, "source.delete")[0]
    assert entry["actor"] == f"cli:{getpass.getuser()}" and entry["target"] == "added"
    assert entry["details"]["documents"] == 5 and entry["details"]["pages"] == 6
    assert entry["details"]["record_removed"] is True
    for line in (in_file.stderr, unknown.stderr, unconfirmed.stderr):
        assert "Traceback" not in line and len(line.strip().splitlines()) == 1

    # Data left behind by a source already taken out of the registry can still be deleted by its id.
    _seed(client, settings, [_doc("retired", "retired-1", age_days=2)], [_page("retired", "http://r.test/1",
                                                                                fetched_days=2)])
    left = run_cli("sources", "remove", "retired", "--yes", env=env)
    assert left.returncode == 2 and "--delete-documents" in left.stderr
    gone = run_cli("sources", "remove", "retired", "--delete-documents", "--yes", env=env)
    assert gone.returncode == 0 and "deleted 1 documents and 1 page states" in gone.stdout
    assert _counts(client, settings, "retired") == (0, 0) and _counts(client, settings, "quiet-news") == (3, 4)


@pytest.fixture
def admin_app(cluster: Cluster, prefix: str, tmp_path: Path) -> Iterator[LiveApp]:
    from index.users import UserStore, ensure_user_indices
    from tests.webapp import USERS, WebWorld
    from web.accounts import create_user

    settings = _settings(cluster, prefix, tmp_path)
    client = make_client(settings)
    ensure_indices(client, settings)
    ensure_user_indices(client, settings)
    spec = USERS["admin"]
    create_user(UserStore.of(client, settings), AuditLog.of(client, settings), name="admin",
                password=spec["password"], role="admin", min_length=8, actor="test", display_name=spec["display_name"])
    world = WebWorld(cluster, prefix, tmp_path, settings.crawl.sources_file, "http://127.0.0.1:9", None, False)
    with run_app(settings) as (url, app):
        yield LiveApp(url, app, settings, world)


def test_the_web_app_deletes_a_source_with_its_documents_when_asked(page, admin_app: LiveApp) -> None:
    settings, client = admin_app.settings, admin_app.ctx.client
    for source_id in ("kept-docs", "with-docs"):
        _store_app_source(client, settings, source_id)
    _two_sources(client, settings, "with-docs", "quiet-news")
    _seed(client, settings, [_doc("kept-docs", "kept-docs-1", age_days=1)],
          [_page("kept-docs", "http://kept-docs.test/1", fetched_days=1)])

    # Without the box ticked the confirm says documents are kept, and they are.
    login(page, admin_app, "admin", next_path="/admin/sources/kept-docs")
    assert page.get_by_test_id("delete-documents").is_visible()
    assert "(1 bài, 1 trang" in page.locator("label:has([data-testid=delete-documents])").inner_text()
    messages: list[str] = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.get_by_test_id("remove").click()
    assert "vẫn được giữ, trừ khi" in messages[0]
    assert page.locator("p.notice[role=status]").inner_text() == "Đã xóa nguồn."  # the list page
    assert _counts(client, settings, "kept-docs") == (1, 1)

    page.goto(f"{admin_app.url}/admin/sources/with-docs")
    assert "5 bài, 6 trang" in page.locator("label:has([data-testid=delete-documents])").inner_text()
    page.get_by_test_id("delete-documents").check()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_test_id("remove").click()
    assert page.locator("p.notice[role=status]").inner_text() == "Đã xóa nguồn cùng các bài và trạng thái trang của nó."
    assert _counts(client, settings, "with-docs") == (0, 0)
    assert _counts(client, settings, "quiet-news") == (3, 4)
    entries = {e["target"]: e for e in _audit(client, settings, "source.delete")}
    assert entries["with-docs"]["actor"] == "admin"
    assert entries["with-docs"]["details"]["documents"] == 5 and entries["with-docs"]["details"]["pages"] == 6
    assert entries["with-docs"]["details"]["documents_deleted"] is True
    assert entries["kept-docs"]["details"]["documents_deleted"] is False

    # The API: delete_documents=true on an added source; 409 while it is crawled; 400 on an edited file source.
    _store_app_source(client, settings, "api-docs")
    _seed(client, settings, [_doc("api-docs", "api-docs-1", age_days=1)], [])
    from index.locks import Lease
    from index.mappings import locks_alias

    lease = Lease(client, locks_alias(settings), "crawl:api-docs", purpose="crawl", owner="crawler-elsewhere:7")
    assert lease.try_acquire() is None
    with admin_app.http("admin") as http:
        busy = http.delete("/api/sources/api-docs", params={"delete_documents": "true"})
        assert busy.status_code == 409 and "crawler-elsewhere:7" in busy.json()["detail"]
        assert _counts(client, settings, "api-docs") == (1, 0)
        lease.release()
        assert http.delete("/api/sources/api-docs", params={"delete_documents": "true"}).status_code == 204
        assert _counts(client, settings, "api-docs") == (0, 0)
        assert http.delete("/api/sources/nope", params={"delete_documents": "true"}).status_code == 404
    assert _counts(client, settings, "quiet-news") == (3, 4)
