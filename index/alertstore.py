"""Alert subscriptions and the notification log in Elasticsearch (the web app reads the same records).

* ``<prefix>-subscriptions``: one document per subscription (:mod:`alerts.subscriptions` shapes it).
* ``<prefix>-notifications``: the log. A match of a document (or, by default, of its story) with a
  subscription is recorded once, with a **create-only write under a deterministic id**
  (:func:`claim`): a second attempt — a re-crawl, an updated article, another process matching the same
  document — finds the id taken and does nothing. Digests and spike alerts are records too. Delivery
  state lives on the record; updates use the document's ``_seq_no``/``_primary_term`` (optimistic
  concurrency), so two workers never both claim a delivery.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError, helpers


class Stale(Exception):
    """The record changed since it was read (another process got there first)."""


class SubscriptionStore:
    """Subscriptions by id; lookups by owner and name."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    def create(self, doc: dict[str, Any]) -> None:
        self.client.index(index=self.index, id=doc["id"], document=doc, op_type="create", refresh=True)

    def get(self, sub_id: str) -> tuple[dict[str, Any], tuple[int, int]] | None:
        """The subscription and its version (seq_no, primary_term), or None."""
        try:
            resp = self.client.get(index=self.index, id=sub_id)
        except NotFoundError:
            return None
        return resp["_source"], (resp["_seq_no"], resp["_primary_term"])

    def find(self, *, owner: str | None = None, name: str | None = None, active: bool | None = None,
             delivery: str | None = None) -> list[dict[str, Any]]:
        """Subscriptions matching every given field, oldest first."""
        filters: list[dict[str, Any]] = []
        for field, value in (("owner", owner), ("name", name), ("active", active), ("delivery", delivery)):
            if value is not None:
                filters.append({"term": {field: value}})
        query = {"bool": {"filter": filters}} if filters else {"match_all": {}}
        hits = helpers.scan(self.client, index=self.index, query={"query": query, "sort": ["_doc"]}, size=1000,
                            preserve_order=False)
        return sorted((h["_source"] for h in hits), key=lambda s: (s.get("created") or "", s["id"]))

    def update(self, sub_id: str, fields: dict[str, Any], version: tuple[int, int] | None = None) -> None:
        """Set ``fields``; with ``version``, only if the subscription is still at it (else Stale)."""
        options: dict[str, Any] = {}
        if version is not None:
            options = {"if_seq_no": version[0], "if_primary_term": version[1]}
        try:
            self.client.update(index=self.index, id=sub_id, doc=fields, refresh=True, **options)
        except ConflictError as exc:
            raise Stale(sub_id) from exc

    def replace(self, doc: dict[str, Any], version: tuple[int, int]) -> tuple[int, int]:
        """Write ``doc`` as the whole subscription ``doc["id"]`` (fields it lacks are gone) in one write, only if
        the stored one is still at ``version`` (else :class:`Stale`, nothing written); the new version."""
        try:
            resp = self.client.index(index=self.index, id=doc["id"], document=doc, if_seq_no=version[0],
                                     if_primary_term=version[1], refresh=True)
        except (ConflictError, NotFoundError) as exc:
            raise Stale(doc["id"]) from exc
        return resp["_seq_no"], resp["_primary_term"]

    def delete(self, sub_id: str) -> bool:
        try:
            self.client.delete(index=self.index, id=sub_id, refresh=True)
        except NotFoundError:
            return False
        return True


class NotificationLog:
    """The notification log: claims, delivery state, digests, and what the feed and CLI show."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    def claim(self, record: dict[str, Any]) -> bool:
        """Create ``record`` under ``record["id"]`` unless that id exists. True when this call created it."""
        try:
            self.client.index(index=self.index, id=record["id"], document=record, op_type="create")
        except ConflictError:
            return False
        return True

    def claim_many(self, records: list[dict[str, Any]]) -> list[bool]:
        """:meth:`claim` for many records in one bulk request (create-only): True where created."""
        if not records:
            return []
        actions = [{"_op_type": "create", "_index": self.index, "_id": r["id"], "_source": r} for r in records]
        created: list[bool] = []
        for ok, info in helpers.streaming_bulk(self.client, actions, raise_on_error=False, chunk_size=500):
            item = info.get("create", {})
            if not ok and item.get("status") != 409:
                raise RuntimeError(f"recording a notification failed: {item.get('error')}")
            created.append(ok)
        return created

    def get(self, record_id: str) -> tuple[dict[str, Any], tuple[int, int]] | None:
        try:
            resp = self.client.get(index=self.index, id=record_id)
        except NotFoundError:
            return None
        return resp["_source"], (resp["_seq_no"], resp["_primary_term"])

    def update(self, record_id: str, fields: dict[str, Any], version: tuple[int, int] | None = None
               ) -> tuple[int, int]:
        """Set ``fields``; with ``version``, only if unchanged since read (else Stale). Returns the new version."""
        options: dict[str, Any] = {}
        if version is not None:
            options = {"if_seq_no": version[0], "if_primary_term": version[1]}
        try:
            resp = self.client.update(index=self.index, id=record_id, doc=fields, **options)
        except ConflictError as exc:
            raise Stale(record_id) from exc
        return resp["_seq_no"], resp["_primary_term"]

    def add_copy(self, record_id: str, url: str) -> None:
        """Note another outlet's URL of an already notified story ("+N outlets"), once."""
        found = self.get(record_id)
        if found is None:
            return
        record, version = found
        copies = list(record.get("copies") or [])
        if url in copies or url == record.get("url"):
            return
        try:
            self.update(record_id, {"copies": [*copies, url]}, version)
        except Stale:
            self.add_copy(record_id, url)

    def due(self, now: datetime, *, size: int = 200) -> list[tuple[dict[str, Any], tuple[int, int]]]:
        """Records waiting to be delivered (``pending``) whose next attempt is due and no one holds."""
        iso = now.isoformat()
        query = {"bool": {"filter": [
            {"term": {"status": "pending"}},
            {"bool": {"should": [{"bool": {"must_not": {"exists": {"field": "next_attempt"}}}},
                                 {"range": {"next_attempt": {"lte": iso}}}], "minimum_should_match": 1}},
            {"bool": {"should": [{"bool": {"must_not": {"exists": {"field": "claimed_until"}}}},
                                 {"range": {"claimed_until": {"lt": iso}}}], "minimum_should_match": 1}},
        ]}}
        self.client.indices.refresh(index=self.index)
        resp = self.client.search(index=self.index, query=query, size=size, seq_no_primary_term=True,
                                  sort=[{"created": "asc"}, {"id": "asc"}])
        return [(h["_source"], (h["_seq_no"], h["_primary_term"])) for h in resp["hits"]["hits"]]

    def queued(self, subscription_id: str, until: datetime) -> list[dict[str, Any]]:
        """Matches waiting for a digest of ``subscription_id``, created up to ``until``, oldest first."""
        self.client.indices.refresh(index=self.index)
        query = {"bool": {"filter": [{"term": {"subscription_id": subscription_id}}, {"term": {"status": "queued"}},
                                     {"range": {"created": {"lte": until.isoformat()}}}]}}
        hits = helpers.scan(self.client, index=self.index, query={"query": query}, size=1000)
        return sorted((h["_source"] for h in hits), key=lambda r: (r.get("created") or "", r["id"]))

    def recent(self, *, subscription_id: str | None = None, owner: str | None = None, kinds: list[str] | None = None,
               size: int = 50) -> list[dict[str, Any]]:
        """The latest records, newest first."""
        filters: list[dict[str, Any]] = []
        if subscription_id:
            filters.append({"term": {"subscription_id": subscription_id}})
        if owner:
            filters.append({"term": {"owner": owner}})
        if kinds:
            filters.append({"terms": {"kind": kinds}})
        try:
            self.client.indices.refresh(index=self.index)
            resp = self.client.search(index=self.index, query={"bool": {"filter": filters}}, size=size,
                                      sort=[{"created": "desc"}, {"id": "desc"}])
        except NotFoundError:
            return []
        return [h["_source"] for h in resp["hits"]["hits"]]

    def iter_all(self, subscription_id: str) -> Iterator[dict[str, Any]]:
        query = {"term": {"subscription_id": subscription_id}}
        for hit in helpers.scan(self.client, index=self.index, query={"query": query}, size=1000):
            yield hit["_source"]

    def delete_for(self, subscription_id: str) -> int:
        actions = ({"_op_type": "delete", "_index": self.index, "_id": r["id"]} for r in self.iter_all(subscription_id))
        done, _ = helpers.bulk(self.client, actions, raise_on_error=False)
        return done


class ScheduleState:
    """Per-source schedule state (next due, last run), updated with compare-and-set."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    def get(self, source: str) -> tuple[dict[str, Any], tuple[int, int]] | None:
        try:
            resp = self.client.get(index=self.index, id=source)
        except NotFoundError:
            return None
        return resp["_source"], (resp["_seq_no"], resp["_primary_term"])

    def create(self, doc: dict[str, Any]) -> bool:
        try:
            self.client.index(index=self.index, id=doc["source"], document=doc, op_type="create", refresh=True)
        except ConflictError:
            return False
        return True

    def update(self, source: str, fields: dict[str, Any], version: tuple[int, int]) -> tuple[int, int]:
        """Compare-and-set: raises Stale when another scheduler changed the state first."""
        try:
            resp = self.client.update(index=self.index, id=source, doc=fields, if_seq_no=version[0],
                                      if_primary_term=version[1], refresh=True)
        except ConflictError as exc:
            raise Stale(source) from exc
        return resp["_seq_no"], resp["_primary_term"]

    def all(self) -> list[dict[str, Any]]:
        try:
            hits = helpers.scan(self.client, index=self.index, query={"query": {"match_all": {}}}, size=1000)
            return sorted((h["_source"] for h in hits), key=lambda s: s["source"])
        except NotFoundError:
            return []


def pending_documents(client: Elasticsearch, docs_index: str, *, size: int, fields: list[str]
                      ) -> Iterator[list[tuple[dict[str, Any], tuple[int, int]]]]:
    """Batches of documents written since alert matching last saw them (``alert_pending``), oldest change
    first, each with its version (so clearing the flag never hides a newer write). Every document is
    visited once per call, however long it runs (paging with ``search_after``)."""
    client.indices.refresh(index=docs_index)
    after: list[Any] | None = None
    while True:
        extra = {"search_after": after} if after else {}
        resp = client.search(index=docs_index, query={"term": {"alert_pending": True}}, size=size,
                             sort=[{"changed_at": {"order": "asc", "unmapped_type": "date", "missing": "_first"}},
                                   {"id": "asc"}], seq_no_primary_term=True, source=fields, **extra)
        hits = resp["hits"]["hits"]
        if not hits:
            return
        yield [({**h["_source"], "id": h["_id"], "_index": h["_index"]}, (h["_seq_no"], h["_primary_term"]))
               for h in hits]
        after = hits[-1]["sort"]


def clear_pending(client: Elasticsearch, docs: list[tuple[dict[str, Any], tuple[int, int]]]) -> int:
    """Clear ``alert_pending`` on ``docs`` unless rewritten since read (those stay pending). Returns cleared."""
    actions = [{"_op_type": "update", "_index": d["_index"], "_id": d["id"], "if_seq_no": v[0],
                "if_primary_term": v[1], "doc": {"alert_pending": False}} for d, v in docs]
    if not actions:
        return 0
    done, _ = helpers.bulk(client, actions, raise_on_error=False)
    return done
