"""Staff search: boolean query + filters -> hits with highlighted snippets, a total and a cursor.

Paging uses ``search_after`` with an opaque cursor, so it goes past 10,000 hits; totals are exact.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from elasticsearch import ApiError, Elasticsearch, TransportError

from index.highlight import positive_patterns, snippet
from index.mappings import docs_alias
from index.query import Node, parse, to_es
from mediawatch.config import Settings
from mediawatch.errors import ClusterUnavailable, UserError

_RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")


@dataclass
class SearchRequest:
    query: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None
    sources: Sequence[str] = ()
    kinds: Sequence[str] = ()
    languages: Sequence[str] = ()
    topics: Sequence[str] = ()
    sentiments: Sequence[str] = ()
    sort: Literal["relevance", "date"] = "relevance"
    size: int = 10
    after: str | None = None
    collapse_stories: bool = False
    facets: bool = False


@dataclass
class Hit:
    id: str
    url: str
    title: str
    source: str
    kind: str
    published: str | None
    snippet: str
    score: float | None
    language: str | None = None
    author: str | None = None
    section: str | None = None
    thread_title: str | None = None
    content_hash: str | None = None
    also_at: list[str] = field(default_factory=list)
    topic: str | None = None
    sentiment: str | None = None
    story: str | None = None
    story_size: int = 1
    story_outlets: int = 1
    story_origin: dict[str, Any] | None = None


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    next_cursor: str | None
    took_ms: int
    facets: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"total": self.total, "hits": [asdict(h) for h in self.hits], "next": self.next_cursor}
        if self.facets is not None:
            out["facets"] = self.facets
        return out


def parse_when(value: str, *, end_of_day: bool = False) -> datetime:
    """Accept ``YYYY-MM-DD``, an ISO datetime, ``today`` or ``7d``/``12h``/``2w`` (ago). Returns UTC."""
    text = value.strip().lower()
    now = datetime.now(UTC)
    if text == "today":
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return day + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else day
    if m := _RELATIVE.match(text):
        amount, unit = int(m.group(1)), m.group(2)
        return now - {"h": timedelta(hours=amount), "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"cannot read date {value!r}: use YYYY-MM-DD, an ISO datetime, 'today' or e.g. 7d") from None
    if len(value.strip()) == 10 and end_of_day:
        parsed = parsed + timedelta(days=1) - timedelta(microseconds=1)
    return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)


def build_query(req: SearchRequest, node: Node | None = None) -> dict[str, Any]:
    """The ES query for a request; raises QuerySyntaxError for bad syntax."""
    if node is None and req.query.strip():
        node = parse(req.query)
    must: dict[str, Any] = to_es(node) if node is not None else {"match_all": {}}
    filters: list[dict[str, Any]] = []
    if req.sources:
        filters.append({"terms": {"source": list(req.sources)}})
    if req.kinds:
        filters.append({"terms": {"kind": list(req.kinds)}})
    if req.languages:
        filters.append({"terms": {"language": list(req.languages)}})
    if req.topics:
        filters.append({"terms": {"topic": list(req.topics)}})
    if req.sentiments:
        filters.append({"terms": {"sentiment.label": list(req.sentiments)}})
    if req.date_from or req.date_to:
        rng: dict[str, str] = {}
        if req.date_from:
            rng["gte"] = req.date_from.isoformat()
        if req.date_to:
            rng["lte"] = req.date_to.isoformat()
        filters.append({"range": {"published": rng}})
    return {"bool": {"must": [must], "filter": filters}}


def _sort(req: SearchRequest) -> list[dict[str, Any]]:
    by_date = {"published": {"order": "desc", "missing": "_last", "unmapped_type": "date"}}
    tiebreak = {"id": {"order": "asc"}}
    if req.sort == "date":
        return [by_date, tiebreak]
    return [{"_score": {"order": "desc"}}, by_date, tiebreak]


def encode_cursor(sort_values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise UserError(f"invalid paging cursor {cursor!r}: pass the 'next' value of a previous search") from None
    if not isinstance(values, list):
        raise UserError(f"invalid paging cursor {cursor!r}: pass the 'next' value of a previous search")
    return values


def search(client: Elasticsearch, settings: Settings, req: SearchRequest) -> SearchResult:
    """Run one page of a search."""
    node = parse(req.query) if req.query.strip() else None
    body: dict[str, Any] = {
        "query": build_query(req, node),
        "sort": _sort(req),
        "size": req.size,
        "track_total_hits": True,
        "_source": {"excludes": ["*_folded", "thread.title_folded", "story_minhash", "story_bands"]},
    }
    if req.after:
        if req.collapse_stories:
            raise UserError("paging with --after is not available when collapsing stories; raise --size instead")
        body["search_after"] = decode_cursor(req.after)
    if req.collapse_stories:
        body["collapse"] = {"field": "story"}
    if req.facets:
        body["aggs"] = FACETS
    try:
        resp = client.search(index=docs_alias(settings), **body)
    except ApiError as exc:
        raise UserError(f"search failed: {_reason(exc)}") from None
    except TransportError as exc:
        raise ClusterUnavailable(f"Elasticsearch at {settings.es.effective_url} is unreachable: {exc}") from None
    raw_hits = resp["hits"]["hits"]
    patterns = positive_patterns(node)
    hits = [_to_hit(h, patterns) for h in raw_hits]
    _attach_copies(client, settings, hits)
    _attach_stories(client, settings, hits)
    more = len(raw_hits) == req.size and raw_hits and not req.collapse_stories
    next_cursor = encode_cursor(raw_hits[-1]["sort"]) if more else None
    facets = _read_facets(resp.get("aggregations") or {}) if req.facets else None
    total = resp["hits"]["total"]["value"]
    return SearchResult(total=total, hits=hits, next_cursor=next_cursor, took_ms=resp["took"], facets=facets)


FACETS: dict[str, Any] = {
    "topic": {"terms": {"field": "topic", "size": 20}},
    "sentiment": {"terms": {"field": "sentiment.label", "size": 5}},
    "source": {"terms": {"field": "source", "size": 20}},
    "kind": {"terms": {"field": "kind", "size": 5}},
    "language": {"terms": {"field": "language", "size": 10}},
    "stories": {"cardinality": {"field": "story"}},
    "outlets": {"cardinality": {"field": "source"}},
}


def _read_facets(aggs: dict[str, Any]) -> dict[str, Any]:
    """``{"topic": {"sports": 12, …}, …, "stories": N, "outlets": M}``."""
    out: dict[str, Any] = {}
    for name, agg in aggs.items():
        out[name] = {b["key"]: b["doc_count"] for b in agg["buckets"]} if "buckets" in agg else agg["value"]
    return out


def _attach_stories(client: Elasticsearch, settings: Settings, hits: list[Hit]) -> None:
    """Fill ``story_size`` (documents) and ``story_outlets`` (distinct sources) for each hit's story."""
    stories = sorted({h.story for h in hits if h.story})
    if not stories:
        return
    resp = client.search(
        index=docs_alias(settings),
        size=0,
        query={"terms": {"story": stories}},
        aggs={
            "by_story": {
                "terms": {"field": "story", "size": len(stories)},
                "aggs": {"outlets": {"cardinality": {"field": "source"}}},
            }
        },
    )
    counts = {b["key"]: (b["doc_count"], b["outlets"]["value"]) for b in resp["aggregations"]["by_story"]["buckets"]}
    for hit in hits:
        if hit.story in counts:
            hit.story_size, hit.story_outlets = counts[hit.story]


def iter_hits(client: Elasticsearch, settings: Settings, req: SearchRequest, limit: int) -> Iterator[Hit]:
    """Yield up to ``limit`` hits across pages with search_after (no 10,000-hit window)."""
    seen = 0
    page = SearchRequest(**{**asdict(req), "size": min(req.size, limit) or 1})
    while seen < limit:
        result = search(client, settings, page)
        for hit in result.hits[: limit - seen]:
            yield hit
            seen += 1
        if not result.next_cursor:
            return
        page.after = result.next_cursor


def _to_hit(raw: dict[str, Any], patterns: list[str]) -> Hit:
    src = raw["_source"]
    thread = src.get("thread") or {}
    return Hit(
        id=raw["_id"],
        url=src.get("url", ""),
        title=src.get("title") or thread.get("title") or "",
        source=src.get("source", ""),
        kind=src.get("kind", ""),
        published=src.get("published"),
        snippet=snippet(src.get("text") or "", patterns),
        score=raw.get("_score"),
        language=src.get("language"),
        author=src.get("author"),
        section=src.get("section"),
        thread_title=thread.get("title"),
        content_hash=src.get("content_hash"),
        topic=src.get("topic"),
        sentiment=(src.get("sentiment") or {}).get("label"),
        story=src.get("story"),
        story_origin=src.get("story_origin"),
    )


def _attach_copies(client: Elasticsearch, settings: Settings, hits: list[Hit]) -> None:
    """Fill ``also_at``: other URLs carrying the same text (syndicated copies, reprints)."""
    hashes = sorted({h.content_hash for h in hits if h.content_hash})
    if not hashes:
        return
    resp = client.search(
        index=docs_alias(settings),
        size=0,
        query={"terms": {"content_hash": hashes}},
        aggs={
            "by_hash": {
                "terms": {"field": "content_hash", "size": len(hashes), "min_doc_count": 2},
                "aggs": {"urls": {"top_hits": {"size": 10, "_source": ["url"]}}},
            }
        },
    )
    urls: dict[str, list[str]] = {}
    for bucket in resp["aggregations"]["by_hash"]["buckets"]:
        urls[bucket["key"]] = [h["_source"]["url"] for h in bucket["urls"]["hits"]["hits"]]
    for hit in hits:
        hit.also_at = [u for u in urls.get(hit.content_hash or "", []) if u != hit.url]


def _reason(exc: ApiError) -> str:
    info = getattr(exc, "info", None) or getattr(exc, "body", None)
    if isinstance(info, dict):
        err = info.get("error", {})
        if isinstance(err, dict):
            root = (err.get("root_cause") or [{}])[0]
            return root.get("reason") or err.get("reason") or str(exc)
    return str(exc)
