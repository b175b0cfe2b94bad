"""Sources added or edited in the web app, kept in ``<prefix>-sources`` (the ``SOURCES`` spec).

One document per source id: ``{id, name, kind, enabled, config, origin, updated, updated_by}``. ``config`` is the
source exactly as a ``sources.yaml`` entry writes it; ``crawlers.sources.Source`` checks it before it is saved and
again when the registry is read (this layer stores records and knows nothing of crawling). ``origin`` says where
the source began: ``app`` (added in the app) or ``file`` (an entry of ``sources.yaml`` edited or disabled in the
app; the stored record wins over the file's entry). ``crawlers.sources.load_registry`` lays these over the file.

Writes refresh at once (a crawl started right after a save sees it) and edits are compare-and-set on the
record's version (``Stale`` when someone saved in between), as the other stores do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from index.alertstore import Stale
from index.mappings import SOURCES, alias, ensure_indices
from mediawatch.config import Settings

ORIGINS = ("app", "file")
MAX_SOURCES = 10_000

Version = tuple[int, int]


def source_record(config: dict[str, Any], *, origin: str, by: str, now: datetime | None = None) -> dict[str, Any]:
    """The stored document for a (checked) ``config``: its id, name, kind and enabled state copied out of it."""
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
    return {
        "id": config["id"], "name": config.get("name", ""), "kind": config.get("kind", ""),
        "enabled": bool(config.get("enabled", True)), "config": dict(config), "origin": origin,
        "updated": (now or datetime.now(UTC)).astimezone(UTC).isoformat(), "updated_by": by,
    }


class SourceStore:
    """The stored sources of one index prefix, by id."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    @classmethod
    def of(cls, client: Elasticsearch, settings: Settings) -> SourceStore:
        return cls(client, alias(settings, SOURCES))

    @staticmethod
    def ensure(client: Elasticsearch, settings: Settings) -> None:
        """Create the index when missing (before the first write; reads never create it)."""
        ensure_indices(client, settings, (SOURCES,))

    def all(self) -> list[dict[str, Any]]:
        """Every stored source, by id; empty when the index does not exist yet. Transport errors propagate."""
        try:
            resp = self.client.search(index=self.index, query={"match_all": {}}, size=MAX_SOURCES,
                                      sort=[{"id": "asc"}])
        except NotFoundError:
            return []
        return [hit["_source"] for hit in resp["hits"]["hits"]]

    def get(self, source_id: str) -> tuple[dict[str, Any], Version] | None:
        """The stored source and its version (seq_no, primary_term), or None (a realtime GET)."""
        try:
            resp = self.client.get(index=self.index, id=source_id)
        except NotFoundError:
            return None
        return resp["_source"], (resp["_seq_no"], resp["_primary_term"])

    def create(self, record: dict[str, Any]) -> bool:
        """Store a new record (create-only): False when one with its id exists already."""
        try:
            self.client.index(index=self.index, id=record["id"], document=record, op_type="create", refresh=True)
        except ConflictError:
            return False
        return True

    def replace(self, record: dict[str, Any], version: Version | None) -> None:
        """Write ``record`` over the stored one at ``version`` (None: it must not exist yet); Stale when another
        save came first."""
        if version is None:
            if not self.create(record):
                raise Stale(record["id"])
            return
        try:
            self.client.index(index=self.index, id=record["id"], document=record, if_seq_no=version[0],
                              if_primary_term=version[1], refresh=True)
        except (ConflictError, NotFoundError) as exc:
            raise Stale(record["id"]) from exc

    def delete(self, source_id: str, version: Version | None = None) -> bool:
        """Remove the stored record (with ``version``: only if unchanged, else Stale); False when there was none."""
        options: dict[str, Any] = {}
        if version is not None:
            options = {"if_seq_no": version[0], "if_primary_term": version[1]}
        try:
            self.client.delete(index=self.index, id=source_id, refresh=True, **options)
        except NotFoundError:
            return False
        except ConflictError as exc:
            raise Stale(source_id) from exc
        return True
