"""The spool: bulk operations the cluster could not take, kept on disk until a later replay sends them.

Layout: one directory per index prefix (``<data_dir>/spool/<prefix>/``) holding *segments*, JSON-lines
files of bulk actions. Each writing process appends to a segment of its own and holds an exclusive
``flock`` on it while it is open, so a replay (in this process or another) only takes segments whose
writer is gone. Guarantees:

* **A torn line costs only itself.** Every line is written whole with its newline in one ``write``; a
  crash mid-append can leave one partial last line. Replay skips a line that does not end in a newline
  or does not parse, and reports how many it skipped.
* **A replay resumes where it stopped.** After each batch the cluster acknowledges, the byte offset
  reached is recorded in ``<segment>.offset`` (write + rename). A replay that fails (cluster down
  again, process killed) leaves the segment and its offset; the next replay starts there. A batch
  interrupted mid-way is sent again: every spooled action is idempotent (fixed ids, full documents).
* **Bounded.** ``append`` refuses (:class:`SpoolFull`) to grow the spool past ``max_bytes``; the
  crawl then stops with a clear message instead of dropping writes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".jsonl"
OFFSET_SUFFIX = ".offset"


class SpoolFull(Exception):
    """The spool holds ``max_bytes`` already; the write was not spooled."""


@dataclass
class SpoolUsage:
    """What the spool holds now."""

    directory: Path
    segments: int
    bytes: int
    pending_bytes: int
    max_bytes: int

    @property
    def full_share(self) -> float:
        return self.bytes / self.max_bytes if self.max_bytes else 0.0


@dataclass
class ReplayReport:
    """What one replay did: actions sent and acknowledged, lines skipped as torn, and whether it stopped early."""

    replayed: int = 0
    rejected: int = 0
    torn: int = 0
    segments_done: int = 0
    stopped: str | None = None  # why the replay stopped before the end (cluster unavailable), if it did
    errors: list[str] = field(default_factory=list)


#: ``send(actions) -> (acknowledged, rejected)``; raises when the cluster is unavailable (nothing acknowledged).
SendBatch = Callable[[list[dict[str, Any]]], tuple[int, int]]


class Spool:
    """Segments of spooled bulk actions under ``directory``, at most ``max_bytes`` in all."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._segment: Path | None = None
        self._handle: BinaryIO | None = None

    # -- writing ---------------------------------------------------------------------------------
    def append(self, actions: list[dict[str, Any]]) -> int:
        """Append ``actions`` (one JSON line each) to this process's segment; returns bytes written.

        Raises SpoolFull, writing nothing, when the spool would grow past ``max_bytes``."""
        if not actions:
            return 0
        data = b"".join(json.dumps(a, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
                        for a in actions)
        used = self.usage().bytes
        if used + len(data) > self.max_bytes:
            raise SpoolFull(
                f"the spool is full: {self.directory} holds {_mb(used)} of its {_mb(self.max_bytes)} limit "
                f"(index.spool_max_bytes); {len(actions)} more writes do not fit"
            )
        handle = self._open_segment()
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
        return len(data)

    def _open_segment(self) -> BinaryIO:
        if self._handle is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SEGMENT_SUFFIX}"
            self._segment = self.directory / name
            handle = self._segment.open("ab")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # ours while open: a replay leaves it alone
            self._handle = handle
        return self._handle

    def close(self) -> None:
        """Release this process's segment (a later replay may then take it)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self._segment = None

    # -- reading ---------------------------------------------------------------------------------
    def segments(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.name.endswith(SEGMENT_SUFFIX))

    def usage(self) -> SpoolUsage:
        total = pending = 0
        segments = self.segments()
        for segment in segments:
            try:
                size = segment.stat().st_size
            except FileNotFoundError:  # replayed meanwhile by another process
                continue
            total += size
            pending += max(0, size - _read_offset(segment))
        return SpoolUsage(self.directory, len(segments), total, pending, self.max_bytes)

    def replay(self, send: SendBatch, *, batch_size: int = 500) -> ReplayReport:
        """Send every spooled action no live writer holds, oldest segment first, in batches.

        ``send`` returns ``(acknowledged, rejected)`` for a batch, or raises when the cluster cannot take
        it: the replay then stops, keeping the segment and the offset reached, and ``stopped`` says why.
        A segment sent to its end is deleted with its offset file."""
        report = ReplayReport()
        for segment in self.segments():
            if segment == self._segment:
                continue
            try:
                handle = segment.open("rb")
            except FileNotFoundError:
                continue
            with handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer (or another replay) holds it
                if not segment.exists():  # replayed and deleted by another process meanwhile
                    continue
                if not self._replay_segment(segment, handle, send, batch_size, report):
                    return report
        return report

    def _replay_segment(
        self, segment: Path, handle: BinaryIO, send: SendBatch, batch_size: int, report: ReplayReport
    ) -> bool:
        offset = _read_offset(segment)
        handle.seek(offset)
        batch: list[dict[str, Any]] = []
        end = offset
        for line, line_end in _lines(handle, offset):
            end = line_end
            action = _parse(line)
            if action is None:
                report.torn += 1
                log.warning("spool %s: skipped a torn or unreadable line ending at byte %d", segment.name, line_end)
                continue
            batch.append(action)
            if len(batch) >= batch_size:
                if not self._send(send, batch, report):
                    return False
                _write_offset(segment, end)
                batch = []
        if batch and not self._send(send, batch, report):
            return False
        _write_offset(segment, end)
        segment.unlink(missing_ok=True)
        _offset_file(segment).unlink(missing_ok=True)
        report.segments_done += 1
        return True

    @staticmethod
    def _send(send: SendBatch, batch: list[dict[str, Any]], report: ReplayReport) -> bool:
        try:
            acknowledged, rejected = send(batch)
        except Exception as exc:  # the cluster is unavailable again: stop here, resume next time
            report.stopped = " ".join(str(exc).split())[:200] or type(exc).__name__
            return False
        report.replayed += acknowledged
        report.rejected += rejected
        return True


def _lines(handle: BinaryIO, offset: int) -> Iterator[tuple[bytes, int]]:
    """Complete and torn lines from ``offset``: ``(line, offset after it)``. A last line without its
    newline is yielded as ``b""`` (torn), so the caller counts and skips it."""
    position = offset
    for raw in handle:
        position += len(raw)
        yield (raw if raw.endswith(b"\n") else b""), position


def _parse(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _offset_file(segment: Path) -> Path:
    return segment.with_name(segment.name + OFFSET_SUFFIX)


def _read_offset(segment: Path) -> int:
    try:
        return int(_offset_file(segment).read_text(encoding="ascii").strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _write_offset(segment: Path, offset: int) -> None:
    target = _offset_file(segment)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(str(offset), encoding="ascii")
    os.replace(tmp, target)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
