"""People's corrections of a document's topic or sentiment, kept in ``<prefix>-corrections`` (``CORRECTIONS``).

A correction record holds the document's **whole corrected state** (its topic and/or sentiment, carried over
from earlier corrections of the same document), who made it and when, the tags shown before it, and the text
as it was (for training exports). The latest record of a document is what holds.

* :func:`record_correction` stores a record and writes it onto the document: ``corrected`` (what, by, at),
  ``topic`` / ``sentiment.label`` set to the corrected values (so filters and facets use them) and the models'
  own values in ``model_tags``.
* :func:`latest_corrections` looks up the latest record of many documents in one request, and
  :func:`apply_correction` puts one onto a tagging update: the crawl (``crawlers.pipelines.EnrichPipeline``) and
  ``mediawatch enrich backfill`` call both after tagging, so corrections survive re-crawls and re-tagging.
* :func:`export_rows` yields the labeled rows ``mediawatch enrich train`` reads (``enrich.data``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from index.mappings import CORRECTIONS, alias, docs_alias, ensure_indices
from mediawatch.config import Settings

TASKS = ("topic", "sentiment")
CORRECTED_SCORE = 1.0
"""``sentiment.score`` of a corrected sentiment: a person's label, not a model's guess."""
LOOKUP_CHUNK = 1000


def corrections_alias(settings: Settings) -> str:
    return alias(settings, CORRECTIONS)


def ensure_corrections_index(client: Elasticsearch, settings: Settings) -> None:
    """Create ``<prefix>-corrections`` when missing."""
    ensure_indices(client, settings, (CORRECTIONS,))


def latest_corrections(client: Elasticsearch, settings: Settings, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """doc id -> its latest correction record, for those of ``doc_ids`` that have one (one request per 1,000 ids;
    ``{}`` before the first correction, when the index does not exist). Errors reaching the cluster propagate."""
    ids = sorted({d for d in doc_ids if d})
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start:start + LOOKUP_CHUNK]
        try:
            resp = client.search(index=corrections_alias(settings), size=len(chunk),
                                 query={"terms": {"doc_id": chunk}}, collapse={"field": "doc_id"},
                                 sort=[{"at": {"order": "desc"}}])
        except NotFoundError:
            return {}
        for hit in resp["hits"]["hits"]:
            found[hit["_source"]["doc_id"]] = hit["_source"]
    return found


class StoredCorrections:
    """:func:`latest_corrections` bound to a client and settings (what the crawl's tagging thread holds)."""

    def __init__(self, client: Elasticsearch, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def latest(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return latest_corrections(self.client, self.settings, doc_ids)


def apply_correction(update: dict[str, Any], correction: dict[str, Any] | None) -> dict[str, Any]:
    """Put ``correction`` (a record of :func:`latest_corrections`) onto a tagging ``update`` (``topic``,
    ``sentiment``, … as ``enrich.tagger.tag_documents`` returns it), in place: the models' values go to
    ``model_tags``, the corrected ones to ``topic`` / ``sentiment`` and ``corrected``. No correction: unchanged."""
    if not correction or not any(correction.get(task) for task in TASKS):
        return update
    model_sentiment = update.get("sentiment") or {}
    update["model_tags"] = {"topic": update.get("topic"), "sentiment": model_sentiment.get("label")}
    if correction.get("topic"):
        update["topic"] = correction["topic"]
    if correction.get("sentiment"):
        update["sentiment"] = {"label": correction["sentiment"], "score": CORRECTED_SCORE}
    update["corrected"] = corrected_field(correction)
    return update


def apply_corrections(updates: Sequence[dict[str, Any]], doc_ids: Sequence[str],
                      corrections: dict[str, dict[str, Any]]) -> int:
    """:func:`apply_correction` for each update (``doc_ids`` in the same order); returns how many changed."""
    applied = 0
    for update, doc_id in zip(updates, doc_ids, strict=True):
        if doc_id in corrections:
            apply_correction(update, corrections[doc_id])
            applied += 1
    return applied


def corrected_field(record: dict[str, Any]) -> dict[str, Any]:
    """The document's ``corrected`` object for a correction record."""
    return {k: record.get(k) for k in ("topic", "sentiment", "by", "at") if record.get(k) is not None}


def shown_tags(doc: dict[str, Any]) -> dict[str, str | None]:
    """The topic and sentiment a stored document shows now (corrected or the models')."""
    return {"topic": doc.get("topic"), "sentiment": (doc.get("sentiment") or {}).get("label")}


def record_correction(client: Elasticsearch, settings: Settings, doc_id: str, doc: dict[str, Any], *, by: str,
                      topic: str | None = None, sentiment: str | None = None, note: str | None = None,
                      at: datetime | None = None) -> dict[str, Any]:
    """Store a correction of ``doc`` (its stored ``_source``) by ``by`` and write it onto the document (refreshed,
    so a search right after sees it). ``topic`` / ``sentiment``: the new values (None: as corrected before, if
    ever). Returns the record."""
    ensure_corrections_index(client, settings)
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    before = doc.get("corrected") or {}
    record = {
        "doc_id": doc_id,
        "url": doc.get("url"),
        "title": doc.get("title") or (doc.get("thread") or {}).get("title"),
        "text": doc.get("text") or "",
        "topic": topic or before.get("topic"),
        "sentiment": sentiment or before.get("sentiment"),
        "previous": shown_tags(doc),
        "by": by,
        "at": moment.isoformat(),
        "note": (note or "").strip()[:500] or None,
    }
    record = {k: v for k, v in record.items() if v is not None}
    client.index(index=corrections_alias(settings), id=uuid.uuid4().hex, document=record, refresh=True)
    model = doc.get("model_tags") if doc.get("corrected") else shown_tags(doc)
    fields: dict[str, Any] = {"corrected": corrected_field(record), "model_tags": model}
    if record.get("topic"):
        fields["topic"] = record["topic"]
    if record.get("sentiment"):
        fields["sentiment"] = {"label": record["sentiment"], "score": CORRECTED_SCORE}
    client.update(index=doc_index(client, settings, doc_id), id=doc_id, doc=fields, refresh=True)
    return record


def doc_index(client: Elasticsearch, settings: Settings, doc_id: str) -> str:
    """The concrete index holding ``doc_id`` (updates need it when the alias spans several during a migration)."""
    resp = client.search(index=docs_alias(settings), size=1, query={"ids": {"values": [doc_id]}}, source=False)
    hits = resp["hits"]["hits"]
    return hits[0]["_index"] if hits else docs_alias(settings)


def history(client: Elasticsearch, settings: Settings, doc_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """A document's corrections, newest first (without their text)."""
    try:
        resp = client.search(index=corrections_alias(settings), size=limit, query={"term": {"doc_id": doc_id}},
                             sort=[{"at": {"order": "desc"}}], source={"excludes": ["text"]})
    except NotFoundError:
        return []
    return [hit["_source"] for hit in resp["hits"]["hits"]]


def recent(client: Elasticsearch, settings: Settings, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
    """(how many records, the latest ``limit`` without their text), newest first."""
    try:
        resp = client.search(index=corrections_alias(settings), size=limit, query={"match_all": {}},
                             sort=[{"at": {"order": "desc"}}], source={"excludes": ["text"]}, track_total_hits=True)
    except NotFoundError:
        return 0, []
    return resp["hits"]["total"]["value"], [hit["_source"] for hit in resp["hits"]["hits"]]


def export_rows(client: Elasticsearch, settings: Settings, task: str) -> Iterator[dict[str, Any]]:
    """Training rows for ``task`` (topic | sentiment): for each corrected document, its latest correction as
    ``{"id", "title", "text", task}`` (the JSONL ``enrich.data.read_examples`` reads), in document-id order."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}")
    latest: dict[str, dict[str, Any]] = {}
    try:
        for hit in helpers.scan(client, index=corrections_alias(settings), query={"query": {"match_all": {}}},
                                size=500):
            record = hit["_source"]
            held = latest.get(record["doc_id"])
            if held is None or (record.get("at") or "") > (held.get("at") or ""):
                latest[record["doc_id"]] = record
    except NotFoundError:
        return
    for doc_id in sorted(latest):
        record = latest[doc_id]
        label = record.get(task)
        text = record.get("text") or ""
        if not label or not (text.strip() or (record.get("title") or "").strip()):
            continue
        row = {"id": f"correction:{doc_id}", "title": record.get("title") or "", "text": text, task: label}
        yield row
