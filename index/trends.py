"""Trends of a search: volume over time (local calendar days, weeks, months or years), the sentiment of each
period, and the top sources, topics and stories — the aggregations behind ``/trends`` and ``/api/trends``.

The search is the search page's (:func:`index.search.build_query` of a :class:`~index.search.SearchRequest`).
Periods are ``date_histogram`` buckets in the configured zone (``crawl.timezone``), every period of the range
present (empty ones count 0). The range is the search's dates, else the first and last matching document;
``auto`` picks the finest interval that keeps the chart readable, and no interval may make more than
:data:`MAX_BUCKETS` periods (:class:`TooManyPeriods`, a usage error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

from elasticsearch import Elasticsearch

from index.mappings import docs_alias
from index.search import (
    BadFilter,
    SearchRequest,
    build_query,
    format_instant,
    guarded_call,
    local_zone,
    parse_request_query,
)
from mediawatch.config import Settings

Interval = Literal["auto", "day", "week", "month", "year"]
INTERVALS: tuple[str, ...] = ("auto", "day", "week", "month", "year")
AUTO_LIMITS: dict[str, int] = {"day": 92, "week": 110, "month": 120}
"""``auto``: days up to about three months, then weeks up to about two years, then months, then years."""
MAX_BUCKETS = 500
TOP = 10


class TooManyPeriods(BadFilter):
    """The range cut into this interval makes more than :data:`MAX_BUCKETS` periods."""


@dataclass
class Trends:
    """What ``/api/trends`` answers (:meth:`to_json`). ``volume``: one entry per period, ``start`` a local
    instant; ``sentiment``: counts over the whole search; ``undated``: matching documents without a date (in
    ``total``, in no period)."""

    total: int
    interval: str
    timezone: str
    start: datetime | None
    end: datetime | None
    volume: list[dict[str, Any]] = field(default_factory=list)
    sentiment: dict[str, int] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    topics: list[dict[str, Any]] = field(default_factory=list)
    stories: list[dict[str, Any]] = field(default_factory=list)

    @property
    def undated(self) -> int:
        return max(self.total - sum(p["count"] for p in self.volume), 0)

    def to_json(self) -> dict[str, Any]:
        """``{"total", "undated", "interval", "timezone", "from", "to", "volume": [{"start", "count",
        "sentiment": {label: n}}], "sentiment": {label: n}, "sources": [{"source", "name", "count"}],
        "topics": [{"topic", "count"}], "stories": [{"story", "documents", "outlets", "first": {"id", "title",
        "url", "source", "source_name", "published"}}]}``; instants ISO 8601 with the zone's offset."""
        return {
            "total": self.total,
            "undated": self.undated,
            "interval": self.interval,
            "timezone": self.timezone,
            "from": format_instant(self.start) if self.start else None,
            "to": format_instant(self.end) if self.end else None,
            "volume": [{**p, "start": format_instant(p["start"])} for p in self.volume],
            "sentiment": dict(self.sentiment),
            "sources": [dict(s) for s in self.sources],
            "topics": [dict(t) for t in self.topics],
            "stories": [{**s, "first": _first_json(s.get("first"))} for s in self.stories],
        }


def _first_json(first: dict[str, Any] | None) -> dict[str, Any] | None:
    if not first:
        return None
    published = first.get("published")
    return {**first, "published": format_instant(published) if isinstance(published, datetime) else published}


def periods(start: datetime, end: datetime, interval: str, zone: tzinfo) -> int:
    """How many ``interval`` periods (local calendar) the range ``start``..``end`` touches."""
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    if last < first:
        return 0
    if interval == "day":
        return (last - first).days + 1
    if interval == "week":
        return ((last - timedelta(days=last.weekday())) - (first - timedelta(days=first.weekday()))).days // 7 + 1
    if interval == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return last.year - first.year + 1


def choose_interval(start: datetime, end: datetime, asked: str, zone: tzinfo) -> str:
    """``asked``, or for ``auto`` the finest interval within :data:`AUTO_LIMITS` (else ``year``)."""
    if asked != "auto":
        return asked
    for interval, limit in AUTO_LIMITS.items():
        if periods(start, end, interval, zone) <= limit:
            return interval
    return "year"


def trends(client: Elasticsearch, settings: Settings, req: SearchRequest, *, interval: str = "auto",
           top: int = TOP) -> Trends:
    """The trends of ``req``'s search (its paging, sort and size are ignored). Raises QuerySyntaxError,
    :class:`TooManyPeriods`, ``NothingIndexed`` and ``ClusterUnavailable`` as search does."""
    if interval not in INTERVALS:
        raise BadFilter(f"interval must be one of {', '.join(INTERVALS)}")
    zone = local_zone(settings)
    query = build_query(req, parse_request_query(req))
    index = docs_alias(settings)
    bounds = guarded_call(client, settings, "trends", lambda: client.search(
        index=index, size=0, query=query, track_total_hits=True,
        aggs={"first": {"min": {"field": "published"}}, "last": {"max": {"field": "published"}}}))
    total = bounds["hits"]["total"]["value"]
    data_first = _millis(bounds["aggregations"]["first"].get("value"), zone)
    data_last = _millis(bounds["aggregations"]["last"].get("value"), zone)
    start = req.date_from.astimezone(zone) if req.date_from else data_first
    end = req.date_to.astimezone(zone) if req.date_to else data_last
    if start is None or end is None or end < start:
        return Trends(total=total, interval=interval if interval != "auto" else "day", timezone=str(zone),
                      start=start, end=end)
    chosen = choose_interval(start, end, interval, zone)
    if periods(start, end, chosen, zone) > MAX_BUCKETS and data_first and data_last:
        start, end = max(start, data_first), min(end, data_last)  # the stated range is too wide: the data's
        if end < start:
            return Trends(total=total, interval=chosen, timezone=str(zone), start=start, end=end)
        chosen = choose_interval(start, end, interval, zone)
    if periods(start, end, chosen, zone) > MAX_BUCKETS:
        raise TooManyPeriods(f"{periods(start, end, chosen, zone)} {chosen}s from {start.date()} to {end.date()} "
                             f"is more than {MAX_BUCKETS} periods: choose a longer interval or a shorter range")
    aggs = {
        "volume": {
            "date_histogram": {
                "field": "published", "calendar_interval": chosen, "time_zone": str(zone), "min_doc_count": 0,
                "extended_bounds": {"min": _epoch_ms(start), "max": _epoch_ms(end)},
            },
            "aggs": {"sentiment": {"terms": {"field": "sentiment.label", "size": 10}}},
        },
        "sentiment": {"terms": {"field": "sentiment.label", "size": 10}},
        "sources": {"terms": {"field": "source", "size": top},
                    "aggs": {"named": {"top_hits": {"size": 1, "_source": ["source_name"]}}}},
        "topics": {"terms": {"field": "topic", "size": top}},
        "stories": {
            "terms": {"field": "story", "size": top, "min_doc_count": 2,
                      "order": [{"outlets": "desc"}, {"_count": "desc"}]},
            "aggs": {
                "outlets": {"cardinality": {"field": "source"}},
                "first": {"top_hits": {"size": 1, "sort": [{"published": {"order": "asc", "missing": "_last"}}],
                                       "_source": ["title", "url", "source", "source_name", "thread.title"],
                                       "docvalue_fields": [{"field": "published", "format": "epoch_millis"}]}},
            },
        },
    }
    resp = guarded_call(client, settings, "trends", lambda: client.search(index=index, size=0, query=query, aggs=aggs))
    out = resp["aggregations"]
    volume = []
    for bucket in out["volume"]["buckets"]:
        moment = _millis(bucket["key"], zone)
        assert moment is not None
        if moment < _floor(start, chosen, zone) or moment > end:
            continue  # ES may add a bucket at an edge of the bounds; the chart shows the range's periods
        volume.append({"start": moment, "count": bucket["doc_count"],
                       "sentiment": {b["key"]: b["doc_count"] for b in bucket["sentiment"]["buckets"]}})
    return Trends(
        total=total, interval=chosen, timezone=str(zone), start=start, end=end, volume=volume,
        sentiment={b["key"]: b["doc_count"] for b in out["sentiment"]["buckets"]},
        sources=[{"source": b["key"], "name": _source_name(b), "count": b["doc_count"]}
                 for b in out["sources"]["buckets"]],
        topics=[{"topic": b["key"], "count": b["doc_count"]} for b in out["topics"]["buckets"]],
        stories=[_story(b, zone) for b in out["stories"]["buckets"]],
    )


def _floor(moment: datetime, interval: str, zone: tzinfo) -> datetime:
    """The local start of the period holding ``moment``."""
    day = moment.astimezone(zone).date()
    if interval == "week":
        day -= timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    elif interval == "year":
        day = date(day.year, 1, 1)
    return datetime.combine(day, datetime.min.time(), zone)


def _source_name(bucket: dict[str, Any]) -> str:
    for hit in bucket.get("named", {}).get("hits", {}).get("hits", []):
        name = hit["_source"].get("source_name")
        if name:
            return str(name)
    return str(bucket["key"])


def _story(bucket: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    hits = bucket["first"]["hits"]["hits"]
    first = None
    if hits:
        src = hits[0]["_source"]
        stamp = (hits[0].get("fields") or {}).get("published") or [None]
        first = {"id": hits[0]["_id"], "title": src.get("title") or (src.get("thread") or {}).get("title") or "",
                 "url": src.get("url"), "source": src.get("source"),
                 "source_name": src.get("source_name") or src.get("source"),
                 "published": _millis(stamp[0], zone)}
    return {"story": bucket["key"], "documents": bucket["doc_count"], "outlets": bucket["outlets"]["value"],
            "first": first}


def _millis(value: Any, zone: tzinfo) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value) / 1000, UTC).astimezone(zone)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
