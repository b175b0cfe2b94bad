"""Leases: named locks kept as documents in ``<prefix>-locks``, safe across processes and machines.

A lease is taken with a create-only write of the document ``<name>`` (exactly one process can create
it); its holder renews it (``heartbeat``) before it ``expires``. A lease whose holder died is taken
over once expired — or at once when the holder was a process on this machine that no longer exists (a
crawl killed with SIGKILL is restarted without waiting out its lease) — with a compare-and-set write
(``if_seq_no``/``if_primary_term``): of several processes trying at once, exactly one succeeds. Release
deletes the document, again only if it is still the holder's version. Every read of a lease is a
realtime GET, so no write waits for a refresh.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError


class LeaseLost(Exception):
    """Another process holds the lease now (ours expired and was taken over)."""


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, as stored."""

    name: str
    owner: str
    purpose: str
    acquired: datetime
    heartbeat: datetime
    expires: datetime

    @property
    def expired(self) -> bool:
        return datetime.now(UTC) >= self.expires

    @property
    def gone(self) -> bool:
        """The holder was a process on this machine (owner ``host:pid``) that no longer runs."""
        host, _, pid = self.owner.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False

    def describe(self) -> str:
        local = self.acquired.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        return f"{self.purpose} by {self.owner} since {local}"


class Lease:
    """The lease ``name`` in ``index`` for ``owner``, valid ``ttl`` seconds past each heartbeat."""

    def __init__(
        self, client: Elasticsearch, index: str, name: str, *, purpose: str, owner: str | None = None,
        ttl: float = 60.0,
    ) -> None:
        self.client = client
        self.index = index
        self.name = name
        self.purpose = purpose
        self.owner = owner or default_owner()
        self.ttl = ttl
        self._seq: tuple[int, int] | None = None  # (seq_no, primary_term) of our write

    @property
    def held(self) -> bool:
        return self._seq is not None

    def _body(self, acquired: datetime | None = None) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "name": self.name,
            "owner": self.owner,
            "purpose": self.purpose,
            "acquired": (acquired or now).isoformat(),
            "heartbeat": now.isoformat(),
            "expires": (now + timedelta(seconds=self.ttl)).isoformat(),
        }

    def holder(self) -> Holder | None:
        """Who holds the lease now (None: nobody)."""
        doc = self._get()
        return None if doc is None else _holder(doc["_source"])

    def _get(self) -> dict[str, Any] | None:
        try:
            return dict(self.client.get(index=self.index, id=self.name))
        except NotFoundError:
            return None

    def try_acquire(self) -> Holder | None:
        """Take the lease if free or expired. Returns None on success, else the current holder."""
        try:
            resp = self.client.index(index=self.index, id=self.name, document=self._body(), op_type="create")
            self._seq = (resp["_seq_no"], resp["_primary_term"])
            return None
        except ConflictError:
            pass
        doc = self._get()
        if doc is None:  # released meanwhile: try once more
            return self.try_acquire()
        current = _holder(doc["_source"])
        if not current.expired and current.owner != self.owner and not current.gone:
            return current
        # Expired, its holder gone, or taken for us under our owner name (a scheduler takes a crawl's lease before
        # starting it, and the crawl adopts it): take it over with a compare-and-set write.
        try:  # exactly one contender wins the compare-and-set
            resp = self.client.index(index=self.index, id=self.name, document=self._body(),
                                     if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"])
        except ConflictError:
            return self.holder() or current
        self._seq = (resp["_seq_no"], resp["_primary_term"])
        return None

    def heartbeat(self) -> None:
        """Extend the lease; raises LeaseLost if another process took it over."""
        if self._seq is None:
            raise LeaseLost(f"lease {self.name!r} is not held")
        doc = self._get()
        acquired = _holder(doc["_source"]).acquired if doc else None
        try:
            resp = self.client.index(index=self.index, id=self.name, document=self._body(acquired),
                                     if_seq_no=self._seq[0], if_primary_term=self._seq[1])
        except (ConflictError, NotFoundError) as exc:
            self._seq = None
            raise LeaseLost(f"lease {self.name!r} was taken over") from exc
        self._seq = (resp["_seq_no"], resp["_primary_term"])

    def release_if_ours(self) -> None:
        """Give the lease up if it is held under our owner name (by us or by a process we handed it to)."""
        doc = self._get()
        if doc is None or doc["_source"].get("owner") != self.owner:
            return
        try:
            self.client.delete(index=self.index, id=self.name, if_seq_no=doc["_seq_no"],
                               if_primary_term=doc["_primary_term"])
        except (ConflictError, NotFoundError):
            pass
        self._seq = None

    def release(self) -> None:
        """Give the lease up (harmless when it was lost)."""
        if self._seq is None:
            return
        try:
            self.client.delete(index=self.index, id=self.name, if_seq_no=self._seq[0],
                               if_primary_term=self._seq[1])
        except (ConflictError, NotFoundError):
            pass
        self._seq = None


def _holder(src: dict[str, Any]) -> Holder:
    return Holder(
        name=src.get("name", ""),
        owner=src.get("owner", "?"),
        purpose=src.get("purpose", ""),
        acquired=_time(src.get("acquired")),
        heartbeat=_time(src.get("heartbeat")),
        expires=_time(src.get("expires")),
    )


def _time(value: str | None) -> datetime:
    if not value:
        return datetime.fromtimestamp(0, UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
