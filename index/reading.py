"""One stored document as a person reads it: the document, the other copies of its story, and for a forum post
the posts before and after it in its thread (``web/routes/documents.py`` shows them; the JSON is the API's).

Instants are read in the configured zone (``crawl.timezone``) and written as ISO 8601 with its offset.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from index.mappings import docs_alias
from index.search import format_instant, local_zone
from mediawatch.config import Settings

MAX_COPIES = 50
_HIDDEN = ["*_folded", "thread.title_folded", "story_minhash", "story_bands", "alert_pending"]
_BRIEF = ["id", "url", "title", "source", "source_name", "published", "thread.title", "thread.position", "kind"]
_DOC_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


def _local(value: Any, zone: tzinfo) -> str | None:
    """A stored instant (ISO 8601, UTC) as ISO 8601 in ``zone``; None when missing or unreadable."""
    if not value:
        return None
    try:
        return format_instant(datetime.fromisoformat(str(value)).astimezone(zone))
    except ValueError:
        return None


def paragraphs(text: str) -> list[str]:
    """The extracted text's paragraphs (extraction separates them with blank lines; single breaks too)."""
    return [" ".join(part.split()) for part in re.split(r"\n\s*\n|\n", text or "") if part.strip()]


def _brief(source: dict[str, Any], doc_id: str, zone: tzinfo) -> dict[str, Any]:
    thread = source.get("thread") or {}
    return {"id": doc_id, "url": source.get("url"), "title": source.get("title") or thread.get("title") or "",
            "source": source.get("source"), "source_name": source.get("source_name") or source.get("source"),
            "published": _local(source.get("published"), zone), "position": thread.get("position")}


def read_document(client: Elasticsearch, settings: Settings, doc_id: str) -> dict[str, Any] | None:
    """The document ``doc_id`` as JSON (see :func:`document_json`), or None when there is no such document."""
    if not _DOC_ID.match(doc_id or ""):
        return None
    try:
        resp = client.get(index=docs_alias(settings), id=doc_id, source_excludes=_HIDDEN)
    except NotFoundError:
        return None
    return document_json(client, settings, doc_id, resp["_source"])


def stored_source(client: Elasticsearch, settings: Settings, doc_id: str) -> dict[str, Any] | None:
    """The document's stored ``_source`` (for corrections), or None."""
    if not _DOC_ID.match(doc_id or ""):
        return None
    try:
        return dict(client.get(index=docs_alias(settings), id=doc_id, source_excludes=_HIDDEN)["_source"])
    except NotFoundError:
        return None


def document_json(client: Elasticsearch, settings: Settings, doc_id: str, src: dict[str, Any]) -> dict[str, Any]:
    """``{"id", "url", "canonical_url", "title", "source", "source_name", "kind", "language", "published",
    "updated", "crawled_at", "first_seen", "author", "section", "description", "word_count", "text",
    "paragraphs", "topic", "topics", "sentiment", "corrected", "model_tags", "models", "places", "story",
    "story_origin", "copies", "thread"}``. ``copies``: the story's other documents, earliest first, each
    ``{"id", "url", "title", "source", "source_name", "published", "earliest"}``; ``story_origin`` (the story's
    first publisher) as stored; ``thread`` (forum posts): ``{"url", "title", "position", "page_url", "previous",
    "next", "posts"}`` with the neighbouring posts as brief objects (or null)."""
    zone = local_zone(settings)
    origin = src.get("story_origin")
    if origin:
        origin = {**origin, "published": _local(origin.get("published"), zone)}
    doc = {
        "id": doc_id,
        "url": src.get("url"),
        "canonical_url": src.get("canonical_url"),
        "title": src.get("title") or (src.get("thread") or {}).get("title") or "",
        "source": src.get("source"),
        "source_name": src.get("source_name") or src.get("source"),
        "kind": src.get("kind"),
        "language": src.get("language"),
        "published": _local(src.get("published"), zone),
        "updated": _local(src.get("updated"), zone),
        "crawled_at": _local(src.get("crawled_at"), zone),
        "first_seen": _local(src.get("first_seen"), zone),
        "author": src.get("author"),
        "section": src.get("section"),
        "description": src.get("description"),
        "word_count": src.get("word_count"),
        "text": src.get("text") or "",
        "paragraphs": paragraphs(src.get("text") or ""),
        "topic": src.get("topic"),
        "topics": list(src.get("topics") or []),
        "sentiment": src.get("sentiment"),
        "corrected": _corrected(src.get("corrected"), zone),
        "model_tags": src.get("model_tags"),
        "models": src.get("models") or {},
        "places": [{k: p.get(k) for k in ("code", "name", "level", "province", "province_name")}
                   for p in src.get("places") or []],
        "story": src.get("story"),
        "story_origin": origin,
        "copies": _copies(client, settings, doc_id, src, zone),
        "thread": _thread(client, settings, doc_id, src, zone),
    }
    return doc


def _corrected(value: dict[str, Any] | None, zone: tzinfo) -> dict[str, Any] | None:
    if not value:
        return None
    return {**value, "at": _local(value.get("at"), zone)}


def _copies(client: Elasticsearch, settings: Settings, doc_id: str, src: dict[str, Any], zone: tzinfo
            ) -> list[dict[str, Any]]:
    """The other documents of the story (and of the same text), earliest first; ``earliest`` marks the story's
    first publisher among them and this document."""
    should: list[dict[str, Any]] = []
    if src.get("story"):
        should.append({"term": {"story": src["story"]}})
    if src.get("content_hash"):
        should.append({"term": {"content_hash": src["content_hash"]}})
    if not should:
        return []
    resp = client.search(index=docs_alias(settings), size=MAX_COPIES + 1, source=_BRIEF,
                         query={"bool": {"should": should, "minimum_should_match": 1}},
                         sort=[{"published": {"order": "asc", "missing": "_last", "unmapped_type": "date"}},
                               {"id": {"order": "asc"}}])
    members = [(hit["_id"], hit["_source"]) for hit in resp["hits"]["hits"]]
    if len(members) <= 1:
        return []
    origin_id = (src.get("story_origin") or {}).get("doc_id") or members[0][0]
    copies = []
    for member_id, member in members:
        if member_id == doc_id:
            continue
        brief = _brief(member, member_id, zone)
        brief["earliest"] = member_id == origin_id
        copies.append(brief)
    return copies[:MAX_COPIES]


def _thread(client: Elasticsearch, settings: Settings, doc_id: str, src: dict[str, Any], zone: tzinfo
            ) -> dict[str, Any] | None:
    thread = src.get("thread") or {}
    if not thread.get("url"):
        return None
    position = thread.get("position")
    out: dict[str, Any] = {"url": thread.get("url"), "title": thread.get("title"), "position": position,
                           "page_url": thread.get("page_url"), "previous": None, "next": None, "posts": 0}
    same = {"term": {"thread.url": thread["url"]}}
    searches: list[dict[str, Any]] = [{"size": 0, "query": same, "track_total_hits": True}]
    if isinstance(position, int):
        for op, order in (("lt", "desc"), ("gt", "asc")):
            searches.append({"size": 1, "_source": _BRIEF, "sort": [{"thread.position": order}, {"id": "asc"}],
                             "query": {"bool": {"filter": [same, {"range": {"thread.position": {op: position}}}]}}})
    body: list[dict[str, Any]] = []
    for search in searches:
        body += [{"index": docs_alias(settings)}, search]
    answers = client.msearch(searches=body)["responses"]
    out["posts"] = answers[0].get("hits", {}).get("total", {}).get("value", 0)
    for key, answer in zip(("previous", "next"), answers[1:], strict=False):
        hits = answer.get("hits", {}).get("hits", [])
        if hits:
            out[key] = _brief(hits[0]["_source"], hits[0]["_id"], zone)
    return out
