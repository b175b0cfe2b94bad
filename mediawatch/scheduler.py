"""Crawls that run themselves: ``mediawatch schedule run`` (long-running) and ``mediawatch crawl --due``
(one pass, for cron or systemd timers).

Each source with a ``schedule`` (cron in the source's zone, or ``every 10m``) has a state document in
``<prefix>-schedule``: when it is next due, when it last ran and how that ended. A scheduler **claims**
a due source by moving ``next_due`` to the following slot with a compare-and-set write
(``if_seq_no``/``if_primary_term``): of several schedulers pointed at the same cluster — on one machine
or several — exactly one wins each slot. The crawl it starts (a separate process: the Twisted reactor
cannot restart) then holds the source's crawl lease (``crawl:<source>`` in ``<prefix>-locks``) for as
long as it runs, so a source is never crawled twice at once — not by two schedulers, not by a scheduler
and a person, not by a crawl orphaned when its scheduler died.

**Catch-up policy.** A slot missed while no scheduler ran is run *once*, as soon as a scheduler starts,
not once per missed slot: the claim moves ``next_due`` to the first slot after *now*. A source seen for
the first time is due at once.

After each crawl the scheduler runs an alert pass (matching the new documents, instant deliveries);
every tick it also bundles due digests, retries due deliveries and, every few minutes, checks spikes.
SIGTERM or SIGINT stops it cleanly: no new crawls; running ones get SIGTERM (they save what they
fetched and record themselves as interrupted), then SIGKILL after a grace period.

**Retention.** With ``index.retention_days`` set, the scheduler also prunes (``index.retention``: old documents,
stale page state) once a day at ``index.retention_schedule`` (cron in ``crawl.timezone``, default 02:30 local
time). The job has a state document of its own (``job:retention``) claimed exactly as a source's is, so of
several schedulers exactly one prunes per slot; first seen, it is due at the next slot; a slot missed while no
scheduler ran is caught up once. The prune runs on a thread (crawls are reaped and started meanwhile), holds the
``retention`` lease, and is audited as ``retention.prune`` by actor ``scheduler``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crawlers.sources import Source, load_registry, parse_every
from index.alertstore import ScheduleState, Stale
from index.client import make_client, ping_or_raise
from index.locks import default_owner
from index.mappings import ensure_indices, schedule_alias
from mediawatch.config import Settings

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 30.0
SPIKE_EVERY = timedelta(minutes=10)
RETENTION_JOB = "job:retention"  # its schedule state's id (no source id can look like it: ':' is not allowed)


def next_slot(schedule: str, after: datetime, timezone: str) -> datetime:
    """The first time strictly after ``after`` that ``schedule`` fires (UTC)."""
    every = parse_every(schedule)
    if every is not None:
        return (after + every).astimezone(UTC)
    from cronsim import CronSim

    local = after.astimezone(ZoneInfo(timezone)).replace(microsecond=0)
    return next(iter(CronSim(schedule, local))).astimezone(UTC)


@dataclass
class Claim:
    source: Source
    started: datetime


@dataclass
class Running:
    source: Source
    process: subprocess.Popen
    started: datetime
    log_path: Path
    lease: Any = None  # the crawl lease taken for the process (it adopts it; released here if it could not)
    terminated: float | None = None


@dataclass
class TickReport:
    started: list[str] = field(default_factory=list)
    finished: list[tuple[str, int]] = field(default_factory=list)


class Scheduler:
    """Claims due sources and starts their crawls (see the module docstring). ``clock`` and ``spawn`` are
    the seams tests and ``crawl --due`` use; by default real time and a ``mediawatch crawl`` subprocess."""

    def __init__(
        self,
        settings: Settings,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.owner = owner or default_owner()
        self.clock = clock
        self.env = env
        self.client = make_client(settings)
        self.states = ScheduleState(self.client, schedule_alias(settings))
        self.running: dict[str, Running] = {}
        self.stopping = threading.Event()
        self.last_spike_check: datetime | None = None
        self.retention_thread: threading.Thread | None = None
        self.matcher: Any = None  # built at the first alert pass, kept: see alerts.service.default_matcher

    # -- what is due ----------------------------------------------------------------------------
    def sources(self) -> list[Source]:
        """The enabled sources with a schedule, from sources.yaml and the web app (``load_registry``)."""
        return [s for s in load_registry(self.settings, self.client) if s.enabled and s.schedule]

    def zone_of(self, source: Source) -> str:
        return source.timezone or self.settings.crawl.timezone

    def claim_due(self, now: datetime, *, limit: int, exclude: Sequence[str] = (),
                  only: Sequence[str] | None = None) -> list[Claim]:
        """Claim up to ``limit`` due sources (of ``only`` when given; compare-and-set: another scheduler's
        claim wins)."""
        claims: list[Claim] = []
        for source in self.sources():
            if len(claims) >= limit:
                break
            if source.id in exclude or (only is not None and source.id not in only):
                continue
            assert source.schedule is not None
            found = self.states.get(source.id)
            if found is None:
                self.states.create({"source": source.id, "schedule": source.schedule, "next_due": now.isoformat(),
                                    "updated": now.isoformat()})
                found = self.states.get(source.id)
                if found is None:
                    continue
            state, version = found
            next_due = _time(state.get("next_due"))
            if state.get("schedule") != source.schedule:  # the schedule changed: its next slot counts
                next_due = min(next_due or now, next_slot(source.schedule, now, self.zone_of(source)))
            if next_due is not None and next_due > now:
                continue
            if self._being_crawled(source.id):
                continue  # still running from its last slot (here or elsewhere): claim when it ends
            following = next_slot(source.schedule, now, self.zone_of(source))
            try:
                self.states.update(source.id, {"next_due": following.isoformat(), "schedule": source.schedule,
                                               "last_started": now.isoformat(), "started_by": self.owner,
                                               "updated": now.isoformat()}, version)
            except Stale:
                continue  # another scheduler claimed this slot
            claims.append(Claim(source, now))
        return claims

    def _being_crawled(self, source_id: str) -> bool:
        from index.locks import Lease
        from index.mappings import locks_alias

        holder = Lease(self.client, locks_alias(self.settings), f"crawl:{source_id}", purpose="").holder()
        return holder is not None and not holder.expired

    # -- running crawls ------------------------------------------------------------------------
    def start(self, claim: Claim) -> Running | None:
        """Take the source's crawl lease under a name of its own, then start the crawl, which adopts it: no
        other scheduler can start the source in between. None when someone else crawls it already."""
        import uuid

        from index.locks import Lease
        from index.mappings import locks_alias

        token = f"{self.owner}/{claim.source.id}/{uuid.uuid4().hex[:8]}"
        lease = Lease(self.client, locks_alias(self.settings), f"crawl:{claim.source.id}", purpose="crawl",
                      ttl=self.settings.schedule.lease_seconds, owner=token)
        if lease.try_acquire() is not None:
            return None
        logs = self.settings.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        # the lease token's suffix keeps two crawls started within one second apart
        log_path = logs / f"crawl-{claim.source.id}-{claim.started.strftime('%Y%m%dT%H%M%S')}-{token[-8:]}.log"
        handle = log_path.open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "mediawatch", "crawl", claim.source.id, "--no-alerts", "--lease-owner", token],
            stdout=handle, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
        )
        handle.close()
        running = Running(claim.source, process, claim.started, log_path, lease)
        self.running[claim.source.id] = running
        log.info("started the crawl of %s (pid %d, log %s)", claim.source.id, process.pid, log_path)
        return running

    def reap(self, now: datetime) -> list[tuple[str, int]]:
        """Record crawls that ended; stop those past ``schedule.crawl_timeout_hours``."""
        done = []
        limit = timedelta(hours=self.settings.schedule.crawl_timeout_hours)
        for source_id, running in list(self.running.items()):
            code = running.process.poll()
            if code is None:
                if now - running.started > limit:
                    self._terminate(running)
                continue
            del self.running[source_id]
            if running.lease is not None:
                running.lease.release_if_ours()  # a crawl that died before adopting (or releasing) it
            done.append((source_id, code))
            self._record_end(source_id, code, now)
        return done

    def _record_end(self, source_id: str, code: int, now: datetime) -> None:
        status = {0: "ok", 5: "failures", 6: "spooled", 130: "interrupted", -15: "interrupted",
                  -9: "killed"}.get(code, "could not start" if code in (2, 3, 4) else f"exit {code}")
        for _ in range(5):
            found = self.states.get(source_id)
            if found is None:
                return
            try:
                self.states.update(source_id, {"last_finished": now.isoformat(), "last_exit": code,
                                               "last_status": status, "updated": now.isoformat()}, found[1])
                return
            except Stale:
                continue

    def _terminate(self, running: Running) -> None:
        if running.terminated is None:
            running.process.send_signal(signal.SIGTERM)
            running.terminated = time.monotonic()
        elif time.monotonic() - running.terminated > STOP_GRACE_SECONDS:
            running.process.kill()

    # -- the loop ---------------------------------------------------------------------------------
    def tick(self) -> TickReport:
        """One round: reap finished crawls (then an alert pass), claim and start due ones, deliveries."""
        now = self.clock()
        report = TickReport()
        report.finished = self.reap(now)
        if report.finished:
            self._alerts(now, match=True)
        capacity = self.settings.schedule.max_concurrent_crawls - len(self.running)
        if capacity > 0 and not self.stopping.is_set():
            for claim in self.claim_due(now, limit=capacity, exclude=list(self.running)):
                if self.start(claim) is not None:
                    report.started.append(claim.source.id)
        if not report.finished:
            self._alerts(now, match=False)
        if not self.stopping.is_set():
            self._retention(now)
        return report

    # -- retention ------------------------------------------------------------------------------------
    def claim_retention(self, now: datetime) -> bool:
        """Claim the retention job's slot when due (compare-and-set, as a source's: another scheduler's claim
        wins). False when retention is off, not due yet, or claimed elsewhere. First seen: due at the next slot."""
        if not self.settings.index.retention_days:
            return False
        schedule, zone = self.settings.index.retention_schedule, self.settings.crawl.timezone
        found = self.states.get(RETENTION_JOB)
        if found is None:
            self.states.create({"source": RETENTION_JOB, "schedule": schedule,
                                "next_due": next_slot(schedule, now, zone).isoformat(), "updated": now.isoformat()})
            return False
        state, version = found
        next_due = _time(state.get("next_due"))
        if state.get("schedule") != schedule:  # the schedule changed: its next slot counts
            next_due = min(next_due or now, next_slot(schedule, now, zone))
        if next_due is not None and next_due > now:
            return False
        try:
            self.states.update(RETENTION_JOB, {"next_due": next_slot(schedule, now, zone).isoformat(),
                                               "schedule": schedule, "last_started": now.isoformat(),
                                               "started_by": self.owner, "updated": now.isoformat()}, version)
        except Stale:
            return False
        return True

    def run_retention(self, now: datetime) -> Any:
        """Prune now (``index.retention.prune_audited``, actor ``scheduler``) and record how it ended in the job's
        state. Returns the PruneResult, or None when it did not run (another prune held the lease) or failed."""
        from index.retention import prune_audited
        from mediawatch.errors import UserError

        days = self.settings.index.retention_days
        if not days:
            return None
        result = None
        try:  # the counts go to the audit log (retention.prune); the job's state keeps how it ended
            result = prune_audited(self.client, self.settings, days, actor="scheduler", owner=self.owner,
                                   details={"scheduler": self.owner})
            status = "ok"
        except UserError as exc:  # a prune started by a person holds the lease: it does the work
            status = "busy"
            log.info("retention skipped: %s", exc)
        except Exception as exc:
            status = "failed"
            log.warning("retention failed: %s", exc)
        finished = self.clock()
        try:
            for _ in range(5):
                found = self.states.get(RETENTION_JOB)
                if found is None:
                    break
                try:
                    self.states.update(RETENTION_JOB, {"last_finished": finished.isoformat(), "last_status": status,
                                                       "updated": finished.isoformat()}, found[1])
                    break
                except Stale:
                    continue
        except Exception as exc:
            log.warning("could not record how retention ended: %s", exc)
        if result is not None:
            log.info("retention: deleted %d documents and %d page states", result.documents, result.pages)
        return result

    def _retention(self, now: datetime) -> None:
        """Claim the retention slot when due and prune on a thread of its own (one at a time)."""
        if self.retention_thread is not None and self.retention_thread.is_alive():
            return
        try:
            claimed = self.claim_retention(now)
        except Exception as exc:  # the cluster is away for a moment: the next tick tries again
            log.warning("retention claim failed: %s", exc)
            return
        if claimed:
            self.retention_thread = threading.Thread(target=self.run_retention, args=(now,), daemon=True,
                                                     name="mediawatch-retention")
            self.retention_thread.start()

    def _alerts(self, now: datetime, *, match: bool) -> None:
        from alerts.service import check_spikes, default_matcher, deliver_due, make_digests, run_matching

        try:
            if match:
                if self.matcher is None:
                    self.matcher = default_matcher(self.client, self.settings)
                run_matching(self.client, self.settings, matcher=self.matcher, now=now)
            make_digests(self.client, self.settings, now=now)
            if self.last_spike_check is None or now - self.last_spike_check >= SPIKE_EVERY:
                check_spikes(self.client, self.settings, now=now)
                self.last_spike_check = now
            deliver_due(self.client, self.settings, now=now)
        except Exception as exc:  # the cluster is away for a moment: the next tick tries again
            log.warning("alert pass failed: %s", exc)
        try:  # situation reports due by e-mail (once per period: web.report_mail)
            from web.report_mail import send_due_reports

            send_due_reports(self.client, self.settings, now=now)
        except Exception as exc:
            log.warning("report e-mails failed: %s", exc)

    def run(self) -> None:
        """Tick every ``schedule.tick_seconds`` until stopped; then stop running crawls cleanly."""
        ping_or_raise(self.client, self.settings.es.effective_url)
        ensure_indices(self.client, self.settings)
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception as exc:
                log.warning("scheduler tick failed: %s", exc)
            self.stopping.wait(self.settings.schedule.tick_seconds)
        self.shutdown()

    def shutdown(self) -> None:
        """SIGTERM to running crawls, SIGKILL after the grace period; record how each ended."""
        for running in self.running.values():
            self._terminate(running)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self.running and time.monotonic() < deadline:
            self.reap(self.clock())
            time.sleep(0.2)
        for running in list(self.running.values()):
            running.process.kill()
            running.process.wait()
        self.reap(self.clock())
        if self.retention_thread is not None:  # a prune in progress: let it finish its chunk and be recorded
            self.retention_thread.join(max(0.0, deadline - time.monotonic()) + 1.0)
        if self.matcher is not None and hasattr(self.matcher, "close"):
            self.matcher.close()

    def stop(self, *_: Any) -> None:
        self.stopping.set()


def run_forever(settings: Settings) -> None:
    scheduler = Scheduler(settings, env=dict(os.environ))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, scheduler.stop)
    log.info("scheduler %s started", scheduler.owner)
    scheduler.run()


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
