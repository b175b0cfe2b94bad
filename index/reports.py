"""Situation reports in Elasticsearch: the saved report records and the numbers a report shows.

* :class:`ReportStore`: records of ``<prefix>-reports`` (``index.mappings.REPORTS``): ``{id, owner, name,
  searches: [{label, query, filters}], period: daily|weekly, send_at: "HH:MM" | None, recipients: [...],
  timezone, created, updated, last_sent}``. :meth:`ReportStore.claim_send` is the compare-and-set that makes a
  scheduled e-mail go out once per period, however many schedulers run.
* :func:`report_numbers`: everything a report needs for one period and the one before it, in three
  searches: counts (documents, news, forum posts, outlets, stories), per saved search, by sentiment, topic,
  place and source; the most-covered stories with their outlets (earliest first); the forum threads with the
  most negative posts, each with a quote.

The documents a report covers are those matching **any** of its searches (each search is the query and
filters of the search page, built by :func:`index.search.build_query`). Periods are half-open UTC windows
``[start, end)``; the caller turns local days and weeks into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, ConflictError, Elasticsearch, NotFoundError, TransportError

from index.mappings import REPORTS, alias, docs_alias, ensure_indices
from index.search import SearchRequest, build_query
from index.users import _Store
from mediawatch.config import Settings
from mediawatch.errors import ClusterUnavailable, UserError

FILTER_FIELDS = ("sources", "kinds", "languages", "topics", "sentiments", "places")
"""The filters a saved search may carry (``SearchRequest`` fields of the same names)."""
EXACT = 40000
"""``precision_threshold`` of the cardinality aggregations: counts below it are exact."""


def ensure_report_index(client: Elasticsearch, settings: Settings) -> None:
    """Create ``<prefix>-reports`` when missing."""
    ensure_indices(client, settings, (REPORTS,))


class ReportStore(_Store):
    """Report records by id (see the module docstring)."""

    @classmethod
    def of(cls, client: Elasticsearch, settings: Settings) -> ReportStore:
        return cls(client, alias(settings, REPORTS))

    def for_owner(self, owner: str | None) -> list[dict[str, Any]]:
        """The reports of ``owner`` (None: everyone's), by name."""
        query = {"term": {"owner": owner}} if owner is not None else {"match_all": {}}
        return sorted((doc for _, doc in self.find(query)), key=lambda d: (d.get("name") or "").lower())

    def replace(self, record: dict[str, Any]) -> None:
        self.client.index(index=self.index, id=record["id"], document=record, refresh=True)

    def versioned(self, report_id: str) -> tuple[dict[str, Any], int, int] | None:
        """(record, seq_no, primary_term), realtime; None when it does not exist."""
        try:
            found = self.client.get(index=self.index, id=report_id)
        except NotFoundError:
            return None
        return dict(found["_source"]), found["_seq_no"], found["_primary_term"]

    def claim_send(self, report_id: str, slot: datetime, now: datetime) -> tuple[dict[str, Any], str | None] | None:
        """Claim the e-mail of the period due at ``slot``: when ``last_sent`` is before ``slot``, set it to ``now``
        with a compare-and-set write and return (record, previous last_sent). None when it was sent already, the
        report is gone, or another process won the write."""
        found = self.versioned(report_id)
        if found is None:
            return None
        record, seq_no, term = found
        previous = record.get("last_sent")
        if previous and _aware(datetime.fromisoformat(previous)) >= slot:
            return None
        try:
            self.client.update(index=self.index, id=report_id, doc={"last_sent": now.astimezone(UTC).isoformat()},
                               if_seq_no=seq_no, if_primary_term=term, refresh=True)
        except (ConflictError, NotFoundError):
            return None
        return record, previous

    def release_send(self, report_id: str, claimed: datetime, previous: str | None) -> bool:
        """Undo a claim whose e-mail could not be sent (``last_sent`` back to ``previous``), so a later tick tries
        again; only when nobody wrote the record since (compare-and-set)."""
        found = self.versioned(report_id)
        if found is None:
            return False
        record, seq_no, term = found
        if record.get("last_sent") != claimed.astimezone(UTC).isoformat():
            return False
        try:
            self.client.update(index=self.index, id=report_id, doc={"last_sent": previous}, if_seq_no=seq_no,
                               if_primary_term=term, refresh=True)
        except (ConflictError, NotFoundError):
            return False
        return True


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------- the numbers


@dataclass(frozen=True)
class Window:
    """A half-open period ``[start, end)`` (aware datetimes)."""

    start: datetime
    end: datetime

    def range(self) -> dict[str, Any]:
        return {"range": {"published": {"gte": self.start.astimezone(UTC).isoformat(),
                                        "lt": self.end.astimezone(UTC).isoformat()}}}


def search_query(search: dict[str, Any]) -> dict[str, Any]:
    """The ES query of one saved search ``{label, query, filters}`` (no dates); QuerySyntaxError for bad syntax."""
    filters = search.get("filters") or {}
    req = SearchRequest(query=search.get("query") or "",
                        **{name: list(filters.get(name) or ()) for name in FILTER_FIELDS})
    return build_query(req)


def union_query(searches: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Documents matching any of ``searches`` (all documents for none)."""
    if not searches:
        return {"match_all": {}}
    return {"bool": {"should": [search_query(s) for s in searches], "minimum_should_match": 1}}


@dataclass
class PeriodCounts:
    """One period's numbers for the documents a report covers."""

    documents: int = 0
    news: int = 0
    forum: int = 0
    outlets: int = 0
    stories: int = 0
    per_search: list[int] = field(default_factory=list)
    sentiment: dict[str, int] = field(default_factory=dict)
    topic: dict[str, int] = field(default_factory=dict)
    place: dict[str, int] = field(default_factory=dict)
    source: dict[str, int] = field(default_factory=dict)


@dataclass
class Outlet:
    source: str
    name: str
    first: datetime | None
    documents: int


@dataclass
class Story:
    """A story covered in the period: its earliest article's title and link, and its outlets, earliest first."""

    story: str
    title: str
    url: str
    documents: int
    outlets: list[Outlet]


@dataclass
class Thread:
    """A forum thread with negative posts in the period, and the most negative of them as a quote."""

    url: str
    title: str
    source: str
    source_name: str
    negative: int
    posts: int
    quote: str
    quote_url: str
    quote_published: datetime | None


@dataclass
class ReportNumbers:
    current: PeriodCounts
    previous: PeriodCounts
    stories: list[Story]
    threads: list[Thread]
    source_names: dict[str, str]
    place_names: dict[str, str]


def _counts_aggs(searches: Sequence[dict[str, Any]]) -> dict[str, Any]:
    aggs: dict[str, Any] = {
        "kind": {"terms": {"field": "kind", "size": 10}},
        "outlets": {"cardinality": {"field": "source", "precision_threshold": EXACT}},
        "news": {"filter": {"term": {"kind": "news"}}, "aggs": {
            "stories": {"cardinality": {"field": "story", "precision_threshold": EXACT}},
            "alone": {"missing": {"field": "story"}}}},
        "sentiment": {"terms": {"field": "sentiment.label", "size": 10}},
        "topic": {"terms": {"field": "topic", "size": 100}},
        "place": {"terms": {"field": "places.code", "size": 500}},
        "source": {"terms": {"field": "source", "size": 1000}},
    }
    if searches:
        aggs["searches"] = {"filters": {"filters": {str(i): search_query(s) for i, s in enumerate(searches)}}}
    return aggs


def _read_counts(agg: dict[str, Any], n_searches: int) -> PeriodCounts:
    def terms(name: str) -> dict[str, int]:
        return {str(b["key"]): b["doc_count"] for b in agg[name]["buckets"]}

    kinds = terms("kind")
    per_search = [agg["searches"]["buckets"][str(i)]["doc_count"] for i in range(n_searches)] if n_searches else []
    return PeriodCounts(documents=agg["doc_count"], news=kinds.get("news", 0), forum=kinds.get("forum", 0),
                        outlets=agg["outlets"]["value"],
                        stories=agg["news"]["stories"]["value"] + agg["news"]["alone"]["doc_count"],
                        per_search=per_search, sentiment=terms("sentiment"), topic=terms("topic"),
                        place=terms("place"), source=terms("source"))


def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return _aware(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def report_numbers(client: Elasticsearch, settings: Settings, searches: Sequence[dict[str, Any]], current: Window,
                   previous: Window, *, top_stories: int = 5, top_threads: int = 5) -> ReportNumbers:
    """The numbers of a report over ``searches`` for ``current`` and ``previous``. QuerySyntaxError for a search
    that cannot be read; :class:`ClusterUnavailable` when the cluster is away; ``UserError`` when nothing is
    indexed yet."""
    union = union_query(searches)
    index = docs_alias(settings)
    both = {"bool": {"filter": [union, {"bool": {"should": [current.range(), previous.range()],
                                                         "minimum_should_match": 1}}]}}
    counts_aggs = _counts_aggs(searches)
    names_aggs = {
        "source_names": {"terms": {"field": "source", "size": 1000},
                         "aggs": {"one": {"top_hits": {"size": 1, "_source": ["source_name"]}}}},
        "place_names": {"terms": {"field": "places.code", "size": 500},
                        "aggs": {"one": {"top_hits": {"size": 1, "_source": ["places"]}}}},
    }
    try:
        main = client.search(index=index, size=0, query=both, aggs={
            "periods": {"filters": {"filters": {"current": current.range(), "previous": previous.range()}},
                        "aggs": counts_aggs},
            **names_aggs,
        })
        stories = client.search(index=index, size=0, query={"bool": {"filter": [
            union, current.range(), {"term": {"kind": "news"}}, {"exists": {"field": "story"}}]}}, aggs={
            "stories": {"terms": {"field": "story", "size": top_stories,
                                  "order": [{"outlets": "desc"}, {"_count": "desc"}, {"_key": "asc"}]},
                        "aggs": {
                            "outlets": {"cardinality": {"field": "source", "precision_threshold": EXACT}},
                            "first": {"top_hits": {"size": 1, "sort": [{"published": "asc"}],
                                                   "_source": ["title", "url", "source"]}},
                            "sources": {"terms": {"field": "source", "size": 20, "order": {"earliest": "asc"}},
                                        "aggs": {"earliest": {"min": {"field": "published"}}}}}}})
        negative = client.search(index=index, size=0, query={"bool": {"filter": [
            union, current.range(), {"term": {"kind": "forum"}}, {"term": {"sentiment.label": "negative"}},
            {"exists": {"field": "thread.url"}}]}}, aggs={
            "threads": {"terms": {"field": "thread.url", "size": top_threads,
                                  "order": [{"_count": "desc"}, {"_key": "asc"}]},
                        "aggs": {"quote": {"top_hits": {
                            "size": 1, "sort": [{"sentiment.score": {"order": "desc", "unmapped_type": "float"}},
                                                {"published": "asc"}],
                            "_source": ["thread.title", "title", "text", "url", "source", "source_name",
                                        "published"]}}}}})
        thread_urls = [b["key"] for b in negative["aggregations"]["threads"]["buckets"]]
        posts: dict[str, int] = {}
        if thread_urls:
            resp = client.search(index=index, size=0, query={"bool": {"filter": [
                current.range(), {"terms": {"thread.url": thread_urls}}]}},
                aggs={"threads": {"terms": {"field": "thread.url", "size": len(thread_urls)}}})
            posts = {b["key"]: b["doc_count"] for b in resp["aggregations"]["threads"]["buckets"]}
    except ApiError as exc:
        if exc.status_code == 404:
            raise UserError(f"nothing is indexed yet under prefix {settings.index.prefix!r}: crawl first with "
                            "mediawatch crawl") from None
        raise
    except TransportError as exc:
        raise ClusterUnavailable(f"Elasticsearch at {settings.es.effective_url} is unreachable: {exc}") from None

    aggs = main["aggregations"]
    source_names = {}
    for bucket in aggs["source_names"]["buckets"]:
        hits = bucket["one"]["hits"]["hits"]
        source_names[bucket["key"]] = (hits[0]["_source"].get("source_name") if hits else None) or bucket["key"]
    place_names = {b["key"]: _place_name(b) for b in aggs["place_names"]["buckets"]}
    periods = aggs["periods"]["buckets"]
    story_rows = []
    for bucket in stories["aggregations"]["stories"]["buckets"]:
        first = bucket["first"]["hits"]["hits"][0]["_source"]
        outlets = [Outlet(b["key"], source_names.get(b["key"], b["key"]),
                          _instant(b["earliest"].get("value_as_string")), b["doc_count"])
                   for b in bucket["sources"]["buckets"]]
        story_rows.append(Story(bucket["key"], first.get("title") or "", first.get("url") or "",
                                bucket["doc_count"], outlets))
    threads = []
    for bucket in negative["aggregations"]["threads"]["buckets"]:
        src = bucket["quote"]["hits"]["hits"][0]["_source"]
        thread = src.get("thread") or {}
        threads.append(Thread(url=bucket["key"], title=thread.get("title") or src.get("title") or bucket["key"],
                              source=src.get("source") or "",
                              source_name=src.get("source_name") or source_names.get(src.get("source", ""), ""),
                              negative=bucket["doc_count"], posts=posts.get(bucket["key"], bucket["doc_count"]),
                              quote=" ".join(str(src.get("text") or "").split()), quote_url=src.get("url") or "",
                              quote_published=_instant(src.get("published"))))
    return ReportNumbers(current=_read_counts(periods["current"], len(searches)),
                         previous=_read_counts(periods["previous"], len(searches)), stories=story_rows,
                         threads=threads, source_names=source_names, place_names=place_names)


def _place_name(bucket: dict[str, Any]) -> str:
    """A place bucket's name as stored on one of its documents ("Phường Từ Sơn, Bắc Ninh")."""
    for hit in bucket["one"]["hits"]["hits"]:
        for place in hit["_source"].get("places") or []:
            if place.get("code") == bucket["key"]:
                if len(str(bucket["key"])) > 2 and place.get("province_name"):
                    return f"{place['name']}, {place['province_name']}"
                return str(place.get("name") or bucket["key"])
    return str(bucket["key"])
