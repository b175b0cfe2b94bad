"""Batched writes through the official bulk helpers, with a disk spool so nothing is lost.

``BulkWriter.add(index, id, doc)`` buffers; a full batch (or ``flush()``) goes out with
``helpers.streaming_bulk``. When the cluster cannot be reached, the batch is appended to a
JSON-lines spool file and replayed by the next ``replay_spool()`` (the next crawl does that).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers

log = logging.getLogger(__name__)


@dataclass
class WriteStats:
    created: int = 0
    updated: int = 0
    failed: int = 0
    spooled: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "failed": self.failed, "spooled": self.spooled}


class BulkWriter:
    """Buffers index operations and sends them in batches of ``batch_size``."""

    def __init__(self, client: Elasticsearch, *, batch_size: int = 200, spool_path: Path | None = None) -> None:
        self.client = client
        self.batch_size = batch_size
        self.spool_path = spool_path
        self.stats = WriteStats()
        self.by_index: Counter[str] = Counter()
        self._buffer: list[dict[str, Any]] = []

    def add(self, index: str, doc_id: str, doc: dict[str, Any], *, upsert_extra: dict[str, Any] | None = None) -> None:
        """Queue a full write of ``doc``; with ``upsert_extra``, an update whose extra fields are set
        only when the document is new (``first_seen``, say)."""
        if upsert_extra is None:
            action = {"_op_type": "index", "_index": index, "_id": doc_id, "_source": doc}
        else:
            action = {"_op_type": "update", "_index": index, "_id": doc_id, "doc": doc,
                      "upsert": {**doc, **upsert_extra}}
        self._buffer.append(action)
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def flush(self, *, refresh: bool = False) -> WriteStats:
        """Send what is buffered. Connection failures spool the batch instead of raising."""
        batch, self._buffer = self._buffer, []
        if batch:
            self._send(batch)
        if refresh:
            self.client.indices.refresh(index=",".join(self.by_index) or "_all")
        return self.stats

    def _send(self, batch: list[dict[str, Any]]) -> None:
        try:
            for ok, info in helpers.streaming_bulk(
                self.client,
                batch,
                chunk_size=self.batch_size,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=3,
                initial_backoff=1,
            ):
                item = next(iter(info.values()), {})
                if ok:
                    if item.get("result") == "created":
                        self.stats.created += 1
                    elif item.get("result") == "noop":
                        pass
                    else:
                        self.stats.updated += 1
                    self.by_index[item.get("_index", "?")] += 1
                else:
                    self.stats.failed += 1
                    reason = (item.get("error") or {}).get("reason", str(item.get("error")))
                    self.stats.errors.append(f"{item.get('_id')}: {reason}")
                    log.error("bulk write of %s failed: %s", item.get("_id"), reason)
        except (TransportError, ApiError, ConnectionError) as exc:
            if self.spool_path is None:
                raise
            self._spool(batch)
            log.error("Elasticsearch unavailable (%s); %d documents spooled to %s", exc, len(batch), self.spool_path)

    def _spool(self, batch: list[dict[str, Any]]) -> None:
        assert self.spool_path is not None
        self.spool_path.parent.mkdir(parents=True, exist_ok=True)
        with self.spool_path.open("a", encoding="utf-8") as fh:
            for action in batch:
                fh.write(json.dumps(action, ensure_ascii=False) + "\n")
        self.stats.spooled += len(batch)

    def replay_spool(self) -> int:
        """Send spooled operations again; returns how many were replayed. Keeps the spool on failure."""
        if self.spool_path is None or not self.spool_path.exists():
            return 0
        pending = self.spool_path.with_suffix(".replaying")
        self.spool_path.rename(pending)
        actions = [json.loads(line) for line in pending.read_text(encoding="utf-8").splitlines() if line.strip()]
        before = self.stats.spooled
        for start in range(0, len(actions), self.batch_size):
            self._send(actions[start : start + self.batch_size])
        pending.unlink()
        return len(actions) - (self.stats.spooled - before)
