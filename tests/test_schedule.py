"""Scheduled crawls: claims against the real node with the clock set by the test, then real scheduler
processes crawling the local site — two at once never double a run; one killed and restarted catches up
once; SIGTERM stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from index.mappings import ensure_indices
from mediawatch.config import Settings
from mediawatch.scheduler import Scheduler, next_slot
from tests.conftest import REPO, Cluster
from tests.site import serve, sources_yaml


def _sources(tmp_path: Path, base_url: str, schedule: str, *, extra: str = "") -> Path:
    text = sources_yaml(base_url).replace('schedule: "0 * * * *"', f'schedule: "{schedule}"{extra}')
    text = text.replace('schedule: "*/30 * * * *"', "enabled: false")  # only the forum is scheduled
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _settings(cluster: Cluster, prefix: str, tmp_path: Path, sources: Path) -> Settings:
    return Settings(es={"url": cluster.url}, index={"prefix": prefix}, data_dir=tmp_path,
                    crawl={"sources_file": sources})


def test_next_slot_follows_cron_in_the_zone_and_every() -> None:
    t = datetime(2026, 12, 1, 23, 10, tzinfo=UTC)  # 06:10 in Vietnam
    assert next_slot("*/30 * * * *", t, "Asia/Ho_Chi_Minh") == datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert next_slot("0 7 * * *", t, "Asia/Ho_Chi_Minh") == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 07:00 local
    assert next_slot("every 10m", t, "Asia/Ho_Chi_Minh") == t + timedelta(minutes=10)


def test_a_missed_slot_runs_once_on_restart_not_once_per_slot(
    cluster: Cluster, prefix: str, tmp_path: Path
) -> None:
    sources = _sources(tmp_path, "http://127.0.0.1:9", "every 10m")
    settings = _settings(cluster, prefix, tmp_path, sources)
    ensure_indices(Elasticsearch(cluster.url), settings)
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    first = Scheduler(settings, owner="a", clock=lambda: t0)
    assert [c.source.id for c in first.claim_due(t0, limit=5)] == ["bacninh-forum"]  # new: due at once
    assert first.claim_due(t0 + timedelta(minutes=5), limit=5) == []  # not due again yet
    # The scheduler is gone for two hours (12 slots); the one that starts then runs the source once.
    later = t0 + timedelta(hours=2)
    second = Scheduler(settings, owner="b", clock=lambda: later)
    assert [c.source.id for c in second.claim_due(later, limit=5)] == ["bacninh-forum"]
    assert second.claim_due(later + timedelta(seconds=1), limit=5) == []
    state = second.states.get("bacninh-forum")[0]
    assert datetime.fromisoformat(state["next_due"]) == later + timedelta(minutes=10)


def test_schedulers_racing_for_a_slot_claim_it_once(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    sources = _sources(tmp_path, "http://127.0.0.1:9", "every 10m")
    settings = _settings(cluster, prefix, tmp_path, sources)
    ensure_indices(Elasticsearch(cluster.url), settings)
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    Scheduler(settings, owner="seed").claim_due(now, limit=5)  # creates the state; next slot at 08:10
    at = now + timedelta(minutes=10)
    claims: list[str] = []
    barrier = threading.Barrier(6)

    def race(owner: str) -> None:
        scheduler = Scheduler(settings, owner=owner)
        barrier.wait()
        claims.extend(owner for _ in scheduler.claim_due(at, limit=5))

    threads = [threading.Thread(target=race, args=(f"s{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claims) == 1


def _scheduler(env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen([sys.executable, "-m", "mediawatch", "schedule", "run"], cwd=REPO, env=env,
                            stdout=handle, stderr=subprocess.STDOUT)


def _runs(cluster: Cluster, prefix: str) -> list[dict]:
    client = Elasticsearch(cluster.url)
    if not client.indices.exists_alias(name=f"{prefix}-runs"):
        return []
    client.indices.refresh(index=f"{prefix}-runs")
    hits = client.search(index=f"{prefix}-runs", size=100, query={"match_all": {}}, sort=[{"started": "asc"}])
    return [h["_source"] for h in hits["hits"]["hits"]]


def _starts(log: Path) -> int:
    return len(re.findall(r"started the crawl of bacninh-forum", log.read_text(encoding="utf-8", errors="replace")))


@pytest.fixture(scope="module")
def site():
    with serve() as server:
        yield server


def _env(cluster: Cluster, prefix: str, tmp_path: Path, sources: Path) -> dict[str, str]:
    return cluster.env(prefix, tmp_path, MEDIAWATCH_CRAWL__SOURCES_FILE=str(sources),
                       MEDIAWATCH_ENRICH__ENABLED="false", MEDIAWATCH_SCHEDULE__TICK_SECONDS="0.5")


def test_two_scheduler_processes_never_start_the_same_crawl_twice(
    cluster: Cluster, prefix: str, tmp_path: Path, site
) -> None:
    sources = _sources(tmp_path, site.base_url, "every 2s")
    env = _env(cluster, prefix, tmp_path, sources)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    schedulers = [_scheduler(env, log) for log in logs]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len([r for r in _runs(cluster, prefix) if r.get("finished")]) < 3:
        time.sleep(1)
    for scheduler in schedulers:
        scheduler.send_signal(signal.SIGTERM)
    codes = [scheduler.wait(timeout=60) for scheduler in schedulers]
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    runs = _runs(cluster, prefix)
    assert len(runs) >= 3
    # Every start is one recorded run, but for one crawl the SIGTERM may catch while it starts up (before it
    # has a run to record); a doubled start would be a crawl refused for its lease, or overlapping runs.
    starts = sum(_starts(log) for log in logs)
    assert len(runs) <= starts <= len(runs) + 1, (starts, len(runs))
    crawl_logs = list((tmp_path / "logs").glob("crawl-*.log"))
    assert len(crawl_logs) == starts
    assert not [p for p in crawl_logs if "already being crawled" in p.read_text(encoding="utf-8", errors="replace")]
    spans = sorted((datetime.fromisoformat(r["started"]), datetime.fromisoformat(r["finished"])) for r in runs)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, "two crawls of one source overlapped"


def test_a_killed_scheduler_restarted_catches_up_once(cluster: Cluster, prefix: str, tmp_path: Path, site) -> None:
    sources = _sources(tmp_path, site.base_url, "every 6s")
    env = _env(cluster, prefix, tmp_path, sources)
    first = _scheduler(env, tmp_path / "first.log")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not [r for r in _runs(cluster, prefix) if r.get("finished")]:
        time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait()
    time.sleep(20)  # three slots or more go by with no scheduler
    second = _scheduler(env, tmp_path / "second.log")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _starts(tmp_path / "second.log") < 1:
        time.sleep(0.2)
    time.sleep(3)  # less than one interval: a second start now would be a replayed slot
    starts = _starts(tmp_path / "second.log")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0
    assert starts == 1


def test_sigterm_stops_the_scheduler_and_its_crawl_cleanly(
    cluster: Cluster, prefix: str, tmp_path: Path, site
) -> None:
    sources = _sources(tmp_path, site.base_url, "every 1h")
    slow = sources.read_text(encoding="utf-8").replace("politeness: {delay: 0, concurrency: 8}\n    schedule",
                                                       "politeness: {delay: 1, concurrency: 1}\n    schedule")
    sources.write_text(slow, encoding="utf-8")
    env = {**_env(cluster, prefix, tmp_path, sources), "MEDIAWATCH_CRAWL__AUTOTHROTTLE": "false"}
    log = tmp_path / "scheduler.log"
    scheduler = _scheduler(env, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _starts(log) < 1:
        time.sleep(0.2)
    time.sleep(6)  # the crawl is under way
    scheduler.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    assert scheduler.wait(timeout=90) == 0, log.read_text()[-2000:]
    assert time.monotonic() - sent < 45
    runs = _runs(cluster, prefix)
    assert len(runs) == 1 and runs[0]["health"] == "interrupted", runs
    state = Elasticsearch(cluster.url).get(index=f"{prefix}-schedule", id="bacninh-forum")["_source"]
    assert state["last_status"] == "interrupted"
    assert os.path.exists(log)
