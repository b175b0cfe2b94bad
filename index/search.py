"""Staff search: boolean query + filters -> hits with highlighted snippets, a total and a cursor.

Paging uses ``search_after`` with an opaque cursor, so it goes past 10,000 hits; totals are exact.
Time is stored in UTC and read in the configured zone (``crawl.timezone``): date filters mean local
calendar days, and hits carry local instants (:meth:`Hit.to_json` writes them with the zone's offset).
"""

from __future__ import annotations

import base64
import json
import re
import time as time_module
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from elasticsearch import ApiError, Elasticsearch, TransportError

from index.client import unreachable
from index.highlight import positive_patterns, snippet
from index.mappings import DOCS, docs_alias, outdated_error, schema_state
from index.query import Node, parse, to_es
from mediawatch.config import Settings
from mediawatch.errors import UserError

_RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
DATE_FORMAT = "strict_date_optional_time"
"""How ES hands dates back (``fields``): UTC, ISO 8601, milliseconds."""
T = TypeVar("T")


class NothingIndexed(UserError):
    """The documents index does not exist yet under the configured prefix (no crawl has run)."""

    exit_code = 1


class BadFilter(UserError):
    """A date, cursor or option value that cannot be used; a usage mistake (exit 2)."""

    exit_code = 2


def local_zone(settings: Settings) -> ZoneInfo:
    """The configured zone (``crawl.timezone``, validated when settings load)."""
    return ZoneInfo(settings.crawl.timezone)


def format_instant(moment: datetime) -> str:
    """ISO 8601 with the moment's own UTC offset, to the second (milliseconds when there are any)."""
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


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
    #: Place codes: a province ("24") or a commune/ward ("09367"); a province matches every document that
    #: names it or one of its communes/wards. Names are resolved to codes by the caller
    #: (``enrich.places.gazetteer().lookup``).
    places: Sequence[str] = ()
    sort: Literal["relevance", "date"] = "relevance"
    size: int = 10
    after: str | None = None
    collapse_stories: bool = False
    facets: bool = False


@dataclass
class Hit:
    """One search hit. ``published`` (and ``story_origin["published"]``) are aware datetimes in the
    configured zone; :meth:`to_json` is the one JSON form (CLI ``--json`` and ``--limit``, web API)."""

    id: str
    url: str
    title: str
    source: str
    kind: str
    published: datetime | None
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
    places: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{"id", "url", "title", "source", "kind", "language", "published", "author", "section",
        "thread_title", "snippet", "score", "topic", "sentiment", "story", "story_size", "story_outlets",
        "story_origin", "content_hash", "also_at", "places"}``; instants as :func:`format_instant` (local
        offset), or null; ``places``: ``[{"code", "name", "level", "province", "province_name"}, …]``."""
        origin = self.story_origin
        if origin is not None and isinstance(origin.get("published"), datetime):
            origin = {**origin, "published": format_instant(origin["published"])}
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "source": self.source,
            "kind": self.kind,
            "language": self.language,
            "published": format_instant(self.published) if self.published else None,
            "author": self.author,
            "section": self.section,
            "thread_title": self.thread_title,
            "snippet": self.snippet,
            "score": self.score,
            "topic": self.topic,
            "sentiment": self.sentiment,
            "story": self.story,
            "story_size": self.story_size,
            "story_outlets": self.story_outlets,
            "story_origin": origin,
            "content_hash": self.content_hash,
            "also_at": list(self.also_at),
            "places": [dict(p) for p in self.places],
        }


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    next_cursor: str | None
    took_ms: int
    facets: dict[str, Any] | None = None
    timezone: str = "UTC"
    """The zone the hits' instants are in (``crawl.timezone``)."""

    def to_json(self) -> dict[str, Any]:
        """``{"total": N, "hits": [Hit.to_json(), ...], "next": cursor or null}`` (+ ``"facets"`` when asked)."""
        out: dict[str, Any] = {"total": self.total, "hits": [h.to_json() for h in self.hits], "next": self.next_cursor}
        if self.facets is not None:
            out["facets"] = self.facets
        return out


WHEN_FORMS = "YYYY-MM-DD, an ISO datetime, today, yesterday, or an age such as 12h, 7d, 2w"


def parse_when(value: str, zone: tzinfo = UTC, *, end_of_day: bool = False, now: datetime | None = None) -> datetime:
    """A date filter read in ``zone``, as an aware UTC instant; :class:`BadFilter` when unreadable or out of range.

    ``YYYY-MM-DD``, ``today``, ``yesterday``: that local calendar day's first instant (its last with
    ``end_of_day``). ``12h``/``7d``/``2w``: that long before ``now``. ISO datetimes keep their offset;
    without one they are local times.
    """
    text = value.strip()
    low = text.lower()
    now = now or datetime.now(UTC)
    try:
        if low in ("today", "yesterday"):
            day = now.astimezone(zone).date() - timedelta(days=1 if low == "yesterday" else 0)
            return _day_bound(day, zone, end_of_day)
        if m := _RELATIVE.match(low):
            return (now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})).astimezone(UTC)
        try:
            return _day_bound(date.fromisoformat(text), zone, end_of_day)
        except ValueError:
            pass
        parsed = datetime.fromisoformat(text)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
    except OverflowError:
        raise BadFilter(f"date {value!r} is out of range") from None
    except ValueError:
        raise BadFilter(f"cannot read date {value!r}: use {WHEN_FORMS}") from None


def _day_bound(day: date, zone: tzinfo, end_of_day: bool) -> datetime:
    """The first instant of a local calendar day, or (``end_of_day``) its last microsecond."""
    return datetime.combine(day, time.max if end_of_day else time.min, zone).astimezone(UTC)


def build_filters(req: SearchRequest) -> list[dict[str, Any]]:
    """The ES filter clauses of a request's filters (sources, kinds, languages, topics, sentiments, places,
    dates); the query text is not among them."""
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
    if req.places:
        filters.append({"terms": {"places.code": list(req.places)}})
    if req.date_from or req.date_to:
        rng: dict[str, str] = {}
        if req.date_from:
            rng["gte"] = req.date_from.astimezone(UTC).isoformat()
        if req.date_to:
            rng["lte"] = req.date_to.astimezone(UTC).isoformat()
        filters.append({"range": {"published": rng}})
    return filters


def parse_request_query(req: SearchRequest) -> Node | None:
    """The parsed query text of a request (None when empty); raises QuerySyntaxError for bad syntax."""
    return parse(req.query) if req.query.strip() else None


def build_query(req: SearchRequest, node: Node | None = None) -> dict[str, Any]:
    """The ES query for a request; raises QuerySyntaxError for bad syntax."""
    if node is None:
        node = parse_request_query(req)
    must: dict[str, Any] = to_es(node) if node is not None else {"match_all": {}}
    return {"bool": {"must": [must], "filter": build_filters(req)}}


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
        raise BadFilter(f"invalid paging cursor {cursor!r}: pass the 'next' value of a previous search") from None
    if not isinstance(values, list):
        raise BadFilter(f"invalid paging cursor {cursor!r}: pass the 'next' value of a previous search")
    return values


def search(client: Elasticsearch, settings: Settings, req: SearchRequest) -> SearchResult:
    """Run one page of a search. :class:`NothingIndexed` before the first crawl, :class:`ClusterUnavailable`
    when the cluster cannot be reached."""
    node = parse_request_query(req)
    body: dict[str, Any] = {
        "query": build_query(req, node),
        "sort": _sort(req),
        "size": req.size,
        "track_total_hits": True,
        "_source": {"excludes": ["*_folded", "thread.title_folded", "story_minhash", "story_bands"]},
        "fields": [{"field": name, "format": DATE_FORMAT} for name in ("published", "story_origin.published")],
    }
    if req.after:
        if req.collapse_stories:
            raise BadFilter("paging with --after is not available when collapsing stories; raise --size instead")
        body["search_after"] = decode_cursor(req.after)
    if req.collapse_stories:
        body["collapse"] = {"field": "story"}
    if req.facets:
        body["aggs"] = FACETS
    resp = guarded_call(client, settings, "search", lambda: client.search(index=docs_alias(settings), **body))
    raw_hits = resp["hits"]["hits"]
    verify_answer(client, settings, raw_hits)
    patterns = positive_patterns(node)
    zone = local_zone(settings)
    hits = [_to_hit(h, patterns, zone) for h in raw_hits]
    _attach_related(client, settings, hits)
    more = len(raw_hits) == req.size and raw_hits and not req.collapse_stories
    next_cursor = encode_cursor(raw_hits[-1]["sort"]) if more else None
    facets = _read_facets(resp.get("aggregations") or {}) if req.facets else None
    total = resp["hits"]["total"]["value"]
    return SearchResult(
        total=total, hits=hits, next_cursor=next_cursor, took_ms=resp["took"], facets=facets, timezone=str(zone)
    )


def nothing_indexed(settings: Settings) -> NothingIndexed:
    """The :class:`NothingIndexed` error for the configured prefix."""
    return NothingIndexed(
        f"nothing is indexed yet under prefix {settings.index.prefix!r}: crawl first with mediawatch crawl"
    )


SCHEMA_CHECK_SECONDS = 30.0
"""How long a passed schema check is trusted by one client (see :func:`check_schema`)."""
_schema_checked: weakref.WeakKeyDictionary[Elasticsearch, dict[str, float]] = weakref.WeakKeyDictionary()


def check_schema(client: Elasticsearch, settings: Settings, *, fresh: bool = False) -> None:
    """The documents alias must exist (:class:`NothingIndexed`) and point at this schema version
    (``SchemaOutdated``, naming ``mediawatch index migrate``): an older index would answer some
    queries (``author:nguyen``) with silence instead of an error.

    A passed check is remembered per client for :data:`SCHEMA_CHECK_SECONDS` (unless ``fresh``): the check is a
    round trip of its own (``GET _alias``), and a web app or a benchmark searching many times a minute would
    pay it on every page. What the memory could miss is caught another way: a search answered by another
    index than this version's is re-checked at once (:func:`verify_answer`), and a vanished index answers 404
    (:func:`guarded_call` re-checks). Only a search with no hits during the seconds after a migration by
    another mediawatch version can go unflagged."""
    alias = docs_alias(settings)
    checked = _schema_checked.get(client)
    if not fresh and checked is not None and checked.get(alias, 0.0) > time_module.monotonic():
        return
    (state,) = schema_state(client, settings, (DOCS,))
    if state.missing:
        raise nothing_indexed(settings)
    if state.outdated or state.newer:
        raise outdated_error(state, settings)
    _schema_checked.setdefault(client, {})[alias] = time_module.monotonic() + SCHEMA_CHECK_SECONDS


def forget_schema_check(client: Elasticsearch, settings: Settings) -> None:
    """Drop what :func:`check_schema` remembers for this client and prefix."""
    checked = _schema_checked.get(client)
    if checked is not None:
        checked.pop(docs_alias(settings), None)


def verify_answer(client: Elasticsearch, settings: Settings, raw_hits: Sequence[dict[str, Any]]) -> None:
    """Every hit must come from this schema version's index; otherwise the alias moved since the remembered
    check: check again (raises ``SchemaOutdated``)."""
    current = DOCS.concrete(settings.index.prefix)
    if any(hit.get("_index") not in (None, current) for hit in raw_hits):
        forget_schema_check(client, settings)
        check_schema(client, settings, fresh=True)


def guarded_call(client: Elasticsearch, settings: Settings, what: str, send: Callable[[], T]) -> T:
    """``send()`` (a read of the documents index) after :func:`check_schema`, with its errors made one-line:
    :class:`NothingIndexed` for a missing index, ``UserError("<what> failed: reason")`` for a refused
    request, ``ClusterUnavailable`` when the cluster cannot be reached."""
    try:
        check_schema(client, settings)
        return send()
    except ApiError as exc:
        if exc.status_code == 404 and exc.error == "index_not_found_exception":
            forget_schema_check(client, settings)
            try:
                check_schema(client, settings, fresh=True)  # an index of another version, or none at all
            except TransportError as again:
                raise unreachable(settings.es.effective_url, again) from None
            raise nothing_indexed(settings) from None
        raise UserError(f"{what} failed: {error_reason(exc)}") from None
    except TransportError as exc:
        raise unreachable(settings.es.effective_url, exc) from None


FACETS: dict[str, Any] = {
    "topic": {"terms": {"field": "topic", "size": 20}},
    "sentiment": {"terms": {"field": "sentiment.label", "size": 5}},
    "source": {"terms": {"field": "source", "size": 20}},
    "kind": {"terms": {"field": "kind", "size": 5}},
    "section": {"terms": {"field": "section.keyword", "size": 20}},
    "language": {"terms": {"field": "language", "size": 10}},
    "stories": {"cardinality": {"field": "story"}},
    "outlets": {"cardinality": {"field": "source"}},
    # Provinces and communes/wards together (codes: 2 digits a province, 5 a ward); names from one document.
    "place": {
        "terms": {"field": "places.code", "size": 30},
        "aggs": {"named": {"top_hits": {"size": 1, "_source": ["places.code", "places.name", "places.province_name"]}}},
    },
}


def _read_facets(aggs: dict[str, Any]) -> dict[str, Any]:
    """``{"topic": {"sports": 12, …}, …, "place": {"24": 30, "09367": 4}, "place_names": {"24": "Bắc Ninh",
    "09367": "Phường Từ Sơn, Bắc Ninh"}, "stories": N, "outlets": M}``."""
    out: dict[str, Any] = {}
    for name, agg in aggs.items():
        out[name] = {b["key"]: b["doc_count"] for b in agg["buckets"]} if "buckets" in agg else agg["value"]
    if "place" in aggs:
        out["place_names"] = {b["key"]: _place_name(b) for b in aggs["place"]["buckets"]}
    return out


def _place_name(bucket: dict[str, Any]) -> str:
    """A place facet bucket's name as stored on one of its documents ("Phường Từ Sơn, Bắc Ninh")."""
    for hit in bucket.get("named", {}).get("hits", {}).get("hits", []):
        for place in hit["_source"].get("places") or []:
            if place.get("code") == bucket["key"]:
                if len(bucket["key"]) > 2 and place.get("province_name"):
                    return f"{place['name']}, {place['province_name']}"
                return str(place.get("name") or bucket["key"])
    return str(bucket["key"])


def _attach_related(client: Elasticsearch, settings: Settings, hits: list[Hit]) -> None:
    """Fill ``also_at`` (other URLs carrying the same text: syndicated copies, reprints) and ``story_size``
    (documents) / ``story_outlets`` (distinct sources) of each hit's story, from one ``_msearch`` of two
    aggregation-only searches (one round trip instead of two). Both use ``terms`` aggregations over doc
    values (URLs, sources), not ``top_hits`` (which loads each copy's stored source) nor ``cardinality``
    (whose sketch costs more than counting a story's few outlets): about 5 ms a page on 100,000 documents.
    Sending it from a thread while the snippets are built was measured and gained nothing (the snippets hold
    the GIL; 2026-12-02). A look-up the cluster refuses, or a cluster that fails on it, leaves its fields
    empty rather than failing the page."""
    hashes = sorted({h.content_hash for h in hits if h.content_hash})
    stories = sorted({h.story for h in hits if h.story})
    searches: list[dict[str, Any]] = []
    kinds: list[str] = []
    index = docs_alias(settings)
    if hashes:
        kinds.append("copies")
        searches += [{"index": index}, {
            "size": 0, "track_total_hits": False, "query": {"terms": {"content_hash": hashes}},
            "aggs": {"by_hash": {
                "terms": {"field": "content_hash", "size": len(hashes), "min_doc_count": 2},
                "aggs": {"urls": {"terms": {"field": "url", "size": MAX_COPIES}}},
            }},
        }]
    if stories:
        kinds.append("stories")
        searches += [{"index": index}, {
            "size": 0, "track_total_hits": False, "query": {"terms": {"story": stories}},
            "aggs": {"by_story": {
                "terms": {"field": "story", "size": len(stories)},
                "aggs": {"outlets": {"terms": {"field": "source", "size": MAX_OUTLETS}}},
            }},
        }]
    if not searches:
        return
    try:
        responses = client.msearch(searches=searches)["responses"]
    except (ApiError, TransportError):
        return
    for kind, resp in zip(kinds, responses, strict=False):
        if "error" in resp:
            continue
        if kind == "copies":
            urls = {b["key"]: [u["key"] for u in b["urls"]["buckets"]]
                    for b in resp["aggregations"]["by_hash"]["buckets"]}
            for hit in hits:
                hit.also_at = [u for u in urls.get(hit.content_hash or "", []) if u != hit.url]
        else:
            counts = {b["key"]: (b["doc_count"], len(b["outlets"]["buckets"]))
                      for b in resp["aggregations"]["by_story"]["buckets"]}
            for hit in hits:
                if hit.story in counts:
                    hit.story_size, hit.story_outlets = counts[hit.story]


MAX_COPIES = 10
"""Other URLs shown for one text (``also_at``)."""
MAX_OUTLETS = 500
"""Distinct sources counted in one story (``story_outlets``)."""


def iter_hits(client: Elasticsearch, settings: Settings, req: SearchRequest, limit: int) -> Iterator[Hit]:
    """Yield up to ``limit`` hits across pages with search_after (no 10,000-hit window)."""
    seen = 0
    page = replace(req, size=min(req.size, limit) or 1)
    while seen < limit:
        result = search(client, settings, page)
        for hit in result.hits[: limit - seen]:
            yield hit
            seen += 1
        if not result.next_cursor:
            return
        page.after = result.next_cursor


def _instant(raw: dict[str, Any], name: str, zone: tzinfo) -> datetime | None:
    """A date field as ES returns it under ``fields`` (UTC, :data:`DATE_FORMAT`), in ``zone``."""
    values = (raw.get("fields") or {}).get(name) or [None]
    try:
        return datetime.fromisoformat(values[0]).astimezone(zone) if values[0] else None
    except (TypeError, ValueError):
        return None


def _to_hit(raw: dict[str, Any], patterns: list[str], zone: tzinfo = UTC) -> Hit:
    src = raw["_source"]
    thread = src.get("thread") or {}
    origin = src.get("story_origin")
    if origin is not None:
        origin = {**origin, "published": _instant(raw, "story_origin.published", zone)}
    return Hit(
        id=raw["_id"],
        url=src.get("url", ""),
        title=src.get("title") or thread.get("title") or "",
        source=src.get("source", ""),
        kind=src.get("kind", ""),
        published=_instant(raw, "published", zone),
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
        story_origin=origin,
        places=[{k: p.get(k) for k in ("code", "name", "level", "province", "province_name")}
                for p in src.get("places") or []],
    )


def error_reason(exc: ApiError) -> str:
    """The root cause Elasticsearch gives for a refused request (else the error's text)."""
    info = getattr(exc, "info", None) or getattr(exc, "body", None)
    if isinstance(info, dict):
        err = info.get("error", {})
        if isinstance(err, dict):
            root = (err.get("root_cause") or [{}])[0]
            return root.get("reason") or err.get("reason") or str(exc)
    return str(exc)
