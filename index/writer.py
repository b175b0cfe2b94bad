"""Writes to Elasticsearch in bulk: a plain batched writer, and the crawl's writer thread.

Both send through :func:`send_actions`, which sorts each action's outcome:

* **acknowledged** (created, updated, noop);
* **held off**: the index is write-blocked by ``mediawatch index migrate``; retried with backoff for up
  to ``hold_off_seconds``, then treated as unavailable;
* **rejected**: the cluster refused the document itself (mapping error and the like); never retried
  blindly, reported;
* **unavailable**: connection refused, timeouts, 429 after the client's retries — the whole batch is
  spooled (:mod:`index.spool`) and replayed later.

:class:`PageWriter` is what a crawl uses: a dedicated thread with a bounded queue, so the Twisted reactor
never waits on the cluster. It takes :class:`WriteUnit` s — a page's documents plus the page's crawl
state — and writes the state only once every document of the unit is acknowledged: a rejected document
leaves its page unrecorded, so the next crawl fetches it again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers

from index.spool import ReplayReport, Spool, SpoolFull

log = logging.getLogger(__name__)

REQUIRES = "_requires"  # spooled dependent actions: ids that must be acknowledged first
MAX_ERRORS_KEPT = 50
BLOCK_TYPES = ("cluster_block_exception",)


class ClusterUnavailableError(Exception):
    """The cluster could not take a batch (connection, timeout, overload after retries, write block)."""


@dataclass
class WriteStats:
    """Outcomes counted by a writer. ``created``/``updated``/``noop``/``rejected`` count documents (a
    unit's primary actions); ``recorded`` counts page states written after their documents."""

    created: int = 0
    updated: int = 0
    noop: int = 0
    rejected: int = 0
    recorded: int = 0  # page states written (every document of the page acknowledged first)
    unrecorded: int = 0  # page states left out because a document of the page was rejected
    spooled: int = 0  # actions (documents and page states) spooled while the cluster was unavailable
    unreplayed: int = 0  # of those, still in the spool when the writer ended (the next crawl replays them)
    held_off: int = 0  # actions that waited on a migration's write block at least once
    replayed: int = 0
    replay_rejected: int = 0
    torn: int = 0
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


@dataclass
class Outcome:
    """Per-action results of :func:`send_actions`, by position in the batch."""

    acknowledged: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    results: dict[int, str] = field(default_factory=dict)  # position -> created | updated | noop
    held_off: int = 0


def send_actions(
    client: Elasticsearch,
    actions: list[dict[str, Any]],
    *,
    hold_off_seconds: float = 0.0,
    max_retries: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Send ``actions`` in one bulk request (retrying 429s and write blocks); see the module docstring.

    Raises ClusterUnavailableError when the cluster cannot take them; nothing is then known to be written."""
    outcome = Outcome()
    pending = list(range(len(actions)))
    deadline = time.monotonic() + hold_off_seconds
    delay = 0.5
    overloaded = 0
    while pending:
        retry: list[int] = []
        blocked: list[int] = []
        operations: list[Any] = []
        for position in pending:
            head, body = helpers.expand_action(_strip(actions[position]))
            operations.append(head)
            if body is not None:
                operations.append(body)
        try:
            response = client.bulk(operations=operations)
        except (TransportError, ApiError, ConnectionError, OSError) as exc:
            raise ClusterUnavailableError(_describe(exc)) from exc
        for position, entry in zip(pending, response["items"], strict=True):
            item = next(iter(entry.values()), {})
            status = int(item.get("status", 500))
            if 200 <= status < 300:
                outcome.acknowledged.append(position)
                outcome.results[position] = str(item.get("result") or "updated")
                continue
            error = item.get("error") or {}
            kind = error.get("type", "") if isinstance(error, dict) else ""
            if kind in BLOCK_TYPES:
                blocked.append(position)
            elif status == 429 or status >= 500:
                retry.append(position)
            else:
                reason = error.get("reason", str(error)) if isinstance(error, dict) else str(error)
                outcome.rejected.append((position, f"{item.get('_id')}: {kind or status}: {reason}"))
        if retry:
            overloaded += 1
            if overloaded > max_retries:
                raise ClusterUnavailableError(f"the cluster kept refusing {len(retry)} writes (HTTP 429/5xx)")
        if blocked:
            outcome.held_off += len(blocked)
            if time.monotonic() + delay > deadline:
                raise ClusterUnavailableError(
                    f"{len(blocked)} writes stayed blocked for {hold_off_seconds:g}s (is `mediawatch index migrate` "
                    "running, or did one die? see `mediawatch status`)"
                )
        if retry or blocked:
            sleep(delay)
            delay = min(delay * 2, 10.0)
        pending = sorted(retry + blocked)
    return outcome


def _strip(action: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in action.items() if k != REQUIRES} if REQUIRES in action else action


def _describe(exc: BaseException) -> str:
    from index.client import describe_error

    return describe_error(exc)


def _count(stats: WriteStats, outcome: Outcome, *, dependent: bool = False) -> None:
    if dependent:
        stats.recorded += len(outcome.acknowledged)
        stats.unrecorded += len(outcome.rejected)
        stats.held_off += outcome.held_off
        for _, reason in outcome.rejected:
            stats.error(reason)
        return
    for result in outcome.results.values():
        if result == "created":
            stats.created += 1
        elif result == "noop":
            stats.noop += 1
        else:
            stats.updated += 1
    stats.rejected += len(outcome.rejected)
    stats.held_off += outcome.held_off
    for _, reason in outcome.rejected:
        stats.error(reason)
        log.error("Elasticsearch rejected a write: %s", reason)


def index_action(index: str, doc_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    """A full write of ``doc``."""
    return {"_op_type": "index", "_index": index, "_id": doc_id, "_source": doc}


def upsert_action(index: str, doc_id: str, doc: dict[str, Any], on_create: dict[str, Any]) -> dict[str, Any]:
    """An update of ``doc``'s fields whose ``on_create`` fields are set only when the document is new."""
    return {"_op_type": "update", "_index": index, "_id": doc_id, "doc": doc, "upsert": {**doc, **on_create}}


def replay_spool(
    client: Elasticsearch, spool: Spool, stats: WriteStats, *, batch_size: int, hold_off_seconds: float = 0.0,
    indices: set[str] | None = None,
) -> ReplayReport:
    """Send what the spool holds (see :meth:`Spool.replay`); dependent actions go only after what they
    require. The indices written to are added to ``indices`` (to refresh later)."""
    acknowledged_ids: set[str] = set()

    def send(batch: list[dict[str, Any]]) -> tuple[int, int]:
        ready = [a for a in batch if all(i in acknowledged_ids for i in a.get(REQUIRES, ()))]
        skipped = len(batch) - len(ready)  # their document was rejected: the page will be fetched again
        outcome = send_actions(client, ready, hold_off_seconds=hold_off_seconds)
        for position in outcome.acknowledged:
            acknowledged_ids.add(str(ready[position].get("_id")))
        if indices is not None:
            indices.update(str(a["_index"]) for a in ready)
        stats.unrecorded += skipped
        rejected = [reason for _, reason in outcome.rejected]
        stats.rejected += len(rejected)
        for reason in rejected:
            stats.error(reason)
        return len(outcome.acknowledged), len(outcome.rejected)

    report = spool.replay(send, batch_size=batch_size)
    stats.replayed += report.replayed
    stats.replay_rejected += report.rejected
    stats.torn += report.torn
    if report.torn:
        stats.error(f"the spool had {report.torn} torn line(s) (a crash while appending); skipped")
    return report


class BulkWriter:
    """Buffers actions and sends them ``batch_size`` at a time; unavailable batches go to the spool.

    Synchronous: for scripts, migrations and tests. A crawl uses :class:`PageWriter`."""

    def __init__(
        self, client: Elasticsearch, *, batch_size: int = 200, spool: Spool | None = None,
        hold_off_seconds: float = 0.0,
    ) -> None:
        self.client = client
        self.batch_size = batch_size
        self.spool = spool
        self.hold_off_seconds = hold_off_seconds
        self.stats = WriteStats()
        self.indices: set[str] = set()
        self._buffer: list[dict[str, Any]] = []

    def add(self, index: str, doc_id: str, doc: dict[str, Any], *, upsert_extra: dict[str, Any] | None = None) -> None:
        """Queue a full write of ``doc``; with ``upsert_extra``, an update whose extra fields are set
        only when the document is new (``first_seen``, say)."""
        action = index_action(index, doc_id, doc) if upsert_extra is None else upsert_action(
            index, doc_id, doc, upsert_extra
        )
        self._buffer.append(action)
        self.indices.add(index)
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def flush(self, *, refresh: bool = False) -> WriteStats:
        """Send what is buffered. An unavailable cluster spools the batch (or raises without a spool)."""
        batch, self._buffer = self._buffer, []
        if batch:
            try:
                _count(self.stats, send_actions(self.client, batch, hold_off_seconds=self.hold_off_seconds))
            except ClusterUnavailableError as exc:
                if self.spool is None:
                    raise
                self.spool.append(batch)
                self.stats.spooled += len(batch)
                log.error("Elasticsearch unavailable (%s); %d writes spooled to %s", exc, len(batch),
                          self.spool.directory)
        if refresh and self.indices:
            self.client.indices.refresh(index=",".join(sorted(self.indices)))
        return self.stats

    def replay_spool(self) -> int:
        """Send spooled actions again; returns how many the cluster acknowledged."""
        if self.spool is None:
            return 0
        return replay_spool(self.client, self.spool, self.stats, batch_size=self.batch_size,
                            hold_off_seconds=self.hold_off_seconds, indices=self.indices).replayed


@dataclass
class WriteUnit:
    """Actions written together: ``actions`` (a page's documents), then — only once every one of them is
    acknowledged — ``then`` (the page's crawl state). ``stories``: story ids whose origin needs a
    look once the documents are visible."""

    actions: list[dict[str, Any]]
    then: list[dict[str, Any]] = field(default_factory=list)
    stories: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.actions) + len(self.then)


class WriterStopped(Exception):
    """The writer thread is no longer running (closed, or stopped by a failure it reports)."""


_STOP = object()


class PageWriter:
    """The crawl's writer: one thread, a queue of at most ``queue_size`` units, bulk batches of about
    ``batch_size`` actions sent when full or after ``flush_interval`` seconds of quiet.

    ``open`` runs first on the thread (e.g. replaying the spool). When writes were spooled during the run,
    the end replays them (the cluster may be back: an outage shorter than the crawl then leaves nothing
    behind); what cannot be sent stays for the next crawl (``stats.unreplayed``). ``finish`` runs last,
    after the final flush and a refresh (e.g. story reconciliation), and only when nothing is left in the
    spool from this run. A failure that
    stops writing (the spool is full) is kept in ``failure`` and ends the thread; :meth:`submit` then
    raises WriterStopped, and the caller stops the crawl."""

    def __init__(
        self,
        client: Elasticsearch,
        *,
        batch_size: int = 200,
        queue_size: int = 256,
        spool: Spool | None = None,
        hold_off_seconds: float = 600.0,
        flush_interval: float = 0.5,
        open: Callable[[PageWriter], Any] | None = None,  # noqa: A002 - mirrors Scrapy's open_spider
        finish: Callable[[PageWriter, set[str]], Any] | None = None,
        name: str = "mediawatch-writer",
    ) -> None:
        self.client = client
        self.batch_size = batch_size
        self.spool = spool
        self.hold_off_seconds = hold_off_seconds
        self.flush_interval = flush_interval
        self.stats = WriteStats()
        self.failure: str | None = None
        self.indices: set[str] = set()
        self._open = open
        self._finish = finish
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self._stories: set[str] = set()
        self._ready: list[dict[str, Any]] = []  # page states whose documents are acknowledged, not yet sent
        self._opened: Future[Any] = Future()
        self._closed: Future[WriteStats] = Future()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- caller side ----------------------------------------------------------------------------
    def start(self) -> Future[Any]:
        """Start the thread; the future completes when ``open`` has run (with its result or error)."""
        self._thread.start()
        return self._opened

    def submit(self, unit: WriteUnit, *, block: bool = True) -> bool:
        """Queue ``unit``. Without ``block``, returns False at once when the queue is full; with it,
        waits for room (back-pressure). Raises WriterStopped when the thread has ended."""
        while True:
            if not self._thread.is_alive() or self._closed.done():
                raise WriterStopped(self.failure or "the writer is closed")
            try:
                self._queue.put(unit, block=block, timeout=0.5 if block else None)
                return True
            except queue.Full:
                if not block:
                    return False

    def close(self) -> Future[WriteStats]:
        """Flush, refresh, run ``finish``, release the spool; the future gives the final stats. Never
        blocks the caller: with the queue full, the stop is handed over by a helper thread."""
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            threading.Thread(target=self._put_stop, name=f"{self._thread.name}-stop", daemon=True).start()
        if not self._thread.is_alive() and not self._closed.done():
            self._closed.set_result(self.stats)
        return self._closed

    def _put_stop(self) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=0.5)
                return
            except queue.Full:
                continue

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    # -- writer thread --------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            result = self._open(self) if self._open else None
        except BaseException as exc:  # reported to whoever awaits start(); the thread ends
            self._opened.set_exception(exc)
            self._closed.set_result(self.stats)
            return
        self._opened.set_result(result)
        units: list[WriteUnit] = []
        size = 0
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self.flush_interval)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    break
                if item is not None:
                    units.append(item)
                    size += len(item)
                if units and (item is None or size >= self.batch_size):
                    self._write(units)
                    units, size = [], 0
                elif item is None and self._ready:
                    self._send_ready()  # quiet: the page states waiting for the next batch go alone
            if units:
                self._write(units)
            self._send_ready()
            self._end()
        except SpoolFull as exc:
            self.failure = str(exc)
            log.error("%s", exc)
        except BaseException as exc:  # never die silently: the crawl reports it
            self.failure = f"the writer stopped: {type(exc).__name__}: {exc}"
            log.exception("writer thread failed")
        finally:
            if self.spool is not None:
                self.spool.close()
            if not self._closed.done():
                self._closed.set_result(self.stats)

    def _end(self) -> None:
        if self.stats.spooled and self.spool is not None:
            self._recover()
        if self.indices:
            try:
                self.client.indices.refresh(index=",".join(sorted(self.indices)))
            except (TransportError, ApiError, OSError) as exc:
                log.warning("refresh after the crawl failed: %s", _describe(exc))
        if self._finish is not None and self.stats.unreplayed == 0:
            try:
                self._finish(self, self._stories)
            except (TransportError, ApiError, OSError) as exc:
                log.warning("finishing the crawl's writes failed: %s", _describe(exc))

    def _recover(self) -> None:
        """Release this run's spool segment and replay the spool once (oldest segment first)."""
        assert self.spool is not None
        self.spool.close()
        self.stats.unreplayed = self.stats.spooled
        report = replay_spool(self.client, self.spool, self.stats, batch_size=self.batch_size,
                              hold_off_seconds=self.hold_off_seconds, indices=self.indices)
        if report.stopped:
            log.warning("Elasticsearch is still unavailable (%s); %d spooled writes wait for the next crawl",
                        report.stopped, self.stats.unreplayed)
        else:
            self.stats.unreplayed = 0
            log.info("the %d writes spooled during the crawl were replayed before it ended", self.stats.spooled)

    def _write(self, units: list[WriteUnit]) -> None:
        """Send the units' documents, together with the page states that became ready in the previous
        batch (their documents are acknowledged: one bulk request instead of two per batch); this batch's
        page states wait for the next one (or the next quiet moment, or the end)."""
        primary = [a for u in units for a in u.actions]
        ready, self._ready = self._ready, []
        outcome = self._send(primary, ready=ready)
        if outcome is None:  # unavailable: everything spooled, dependents after what they require
            self._spool(primary + [_requiring(a, u) for u in units for a in u.then] + ready)
            return
        rejected = {p for p, _ in outcome.rejected}
        dependents: list[dict[str, Any]] = []
        start = 0
        for unit in units:
            positions = range(start, start + len(unit.actions))
            start += len(unit.actions)
            if any(p in rejected for p in positions):
                self.stats.unrecorded += len(unit.then)
                continue
            dependents.extend(unit.then)
            self._stories |= unit.stories
        self._ready = dependents

    def _send_ready(self) -> None:
        ready, self._ready = self._ready, []
        if ready and self._send(ready, dependent=True) is None:
            self._spool(ready)

    def _send(self, actions: list[dict[str, Any]], *, dependent: bool = False,
              ready: list[dict[str, Any]] | None = None) -> Outcome | None:
        """Send ``actions`` (counted as documents, or as page states when ``dependent``) and, in the same
        request, the ``ready`` page states (counted as page states); returns the outcome of ``actions``
        alone, positions as in ``actions``. None when the cluster is unavailable (nothing counted)."""
        ready = ready or []
        if not actions and not ready:
            return Outcome()
        try:
            both = send_actions(self.client, actions + ready, hold_off_seconds=self.hold_off_seconds)
        except ClusterUnavailableError as exc:
            if self.spool is None:
                raise
            log.error("Elasticsearch unavailable (%s); spooling %d writes", exc, len(actions) + len(ready))
            self.stats.error(f"unavailable: {exc}")
            return None
        own, theirs = _split(both, len(actions)) if ready else (both, Outcome())
        _count(self.stats, own, dependent=dependent)
        _count(self.stats, theirs, dependent=True)
        self.indices.update(a["_index"] for a in actions + ready)
        return own

    def _spool(self, actions: list[dict[str, Any]]) -> None:
        assert self.spool is not None
        self.spool.append(actions)  # SpoolFull ends the thread; the caller stops the crawl
        self.stats.spooled += len(actions)


def _split(outcome: Outcome, cut: int) -> tuple[Outcome, Outcome]:
    """The outcome of a request's first ``cut`` actions and of the rest, each with its own positions (the
    hold-offs go with the first part)."""
    own, rest = Outcome(held_off=outcome.held_off), Outcome()
    for position in outcome.acknowledged:
        if position < cut:
            own.acknowledged.append(position)
        else:
            rest.acknowledged.append(position - cut)
    for position, reason in outcome.rejected:
        if position < cut:
            own.rejected.append((position, reason))
        else:
            rest.rejected.append((position - cut, reason))
    own.results = {p: r for p, r in outcome.results.items() if p < cut}
    return own, rest


def _requiring(action: dict[str, Any], unit: WriteUnit) -> dict[str, Any]:
    return {**action, REQUIRES: [str(a["_id"]) for a in unit.actions]}


def ids_of(actions: Iterable[dict[str, Any]]) -> list[str]:
    return [str(a["_id"]) for a in actions]
