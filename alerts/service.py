"""Alerts at work: matching new documents, recording notifications exactly once, delivering them (at
once or in digests), and spike alerts. Each step is one function over the cluster and the settings,
safe to run from several processes at once; the crawl command and the scheduler call them.

**Exactly one notification per (subscription, document).** A match is recorded in the notification log
with a create-only write under ``sha1(subscription | document)`` — or ``sha1(subscription | story)``
when the subscription does not want syndicated copies (the default): the copy is then added to the
record's ``copies`` ("+N outlets") instead of notifying again. Re-crawls, updated articles and a second
matcher running at the same time all hit the existing id. A document notifies only subscriptions created
before it was first seen: an alert is about new coverage.

**Delivery is at-least-once at the channel, deduplicated by the notification id.** A worker claims a
due record (``claimed_until``, compare-and-set on its version), sends to each channel not yet done,
then records the outcome. If it dies between sending and recording, the claim lapses after
:data:`CLAIM_SECONDS` and another worker sends again — with the same notification id (e-mail
``Message-ID`` and ``X-Mediawatch-Notification-Id``, webhook header and body), so the receiver can drop
the repeat. A failed send is retried with exponential backoff and jitter (``alerts.retry``) up to
``alerts.max_attempts``; then the record is ``failed``, and a channel whose last
``alerts.failing_after`` deliveries failed is flagged (``alerts list``, ``status``).
"""

from __future__ import annotations

import hashlib
import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from elasticsearch import Elasticsearch

from alerts.channels.base import Channel, ChannelError
from alerts.message import AlertItem, AlertMessage, SpikeExplanation
from alerts.subscriptions import Subscription, channel_key, parse_subscription
from index.alertstore import NotificationLog, Stale, SubscriptionStore, clear_pending, pending_documents
from index.highlight import positive_patterns, snippet
from index.locks import Lease
from index.mappings import docs_alias, locks_alias, notifications_alias, subscriptions_alias
from index.query import parse
from index.search import SearchRequest, build_query
from mediawatch.config import Settings

log = logging.getLogger(__name__)
CLAIM_SECONDS = 300
BATCH = 200
DOC_FIELDS = ["id", "url", "title", "text", "source", "source_name", "kind", "published", "first_seen", "story",
              "topic", "sentiment", "language", "changed_at"]


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _sha1(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()


def notification_id(sub: Subscription, doc: dict[str, Any]) -> str:
    """The match record's id: per story unless the subscription wants copies (module docstring)."""
    if not sub.notify_copies and doc.get("story"):
        return _sha1(sub.id, "story", doc["story"])
    return _sha1(sub.id, "doc", doc["id"])


class Stores:
    """The alert records of one index prefix."""

    def __init__(self, client: Elasticsearch, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.subscriptions = SubscriptionStore(client, subscriptions_alias(settings))
        self.log = NotificationLog(client, notifications_alias(settings))

    def active(self) -> list[Subscription]:
        return [parse_subscription(s) for s in self.subscriptions.find(active=True)]

    def subscription(self, sub_id: str) -> Subscription | None:
        found = self.subscriptions.get(sub_id)
        return parse_subscription(found[0]) if found else None


# -- matching -----------------------------------------------------------------------------------------


@dataclass
class MatchReport:
    documents: int = 0
    matches: int = 0
    notifications: int = 0  # new records (instant or queued for a digest)
    copies: int = 0  # matches that only added "+1 outlet" to an existing record
    skipped: bool = False  # another process holds the matcher lease


MatchBatch = Callable[[list[Subscription], list[dict[str, Any]]], dict[str, list[str]]]


def search_matcher(client: Elasticsearch, settings: Settings) -> MatchBatch:
    """Matching by one search per subscription over the batch's ids: the definition of "matches" (the
    same query ``mediawatch search`` builds). :func:`fast_matcher` gives the same answers faster."""
    index = docs_alias(settings)

    def match(subs: list[Subscription], docs: list[dict[str, Any]]) -> dict[str, list[str]]:
        ids = [d["id"] for d in docs]
        found: dict[str, list[str]] = {}
        for sub in subs:
            query = build_query(_request(sub))
            query["bool"]["filter"].append({"ids": {"values": ids}})
            resp = client.search(index=index, query=query, size=len(ids), source=False)
            for hit in resp["hits"]["hits"]:
                found.setdefault(hit["_id"], []).append(sub.id)
        return found

    return match


def fast_matcher(client: Elasticsearch, settings: Settings) -> MatchBatch:
    """The presearcher-backed matcher (``alerts.matcher``), built once per set of subscriptions. It reads the
    documents' text from the docs it is given when told they were read with its ``source_fields``
    (``read_with``), else from the cluster."""
    from alerts.matcher import SOURCE_FIELDS, Matcher, match_documents
    from index.analysis import analyze_terms, term_shares

    built: dict[tuple[str, ...], Any] = {}
    index = docs_alias(settings)

    def match(subs: list[Subscription], docs: list[dict[str, Any]], *, read_with: Sequence[str] = ()
              ) -> dict[str, list[str]]:
        key = tuple(sorted(f"{s.id}:{s.updated.isoformat()}" for s in subs))
        if key not in built:
            for old in built.values():
                old.close()
            built.clear()
            built[key] = Matcher.build([_matcher_input(s) for s in subs], lambda texts: analyze_terms(client, texts),
                                       doc_freq=lambda wanted: term_shares(client, index, wanted))
        sources = {d["id"]: d for d in docs} if set(SOURCE_FIELDS) <= set(read_with) else None
        return match_documents(client, settings, built[key], [d["id"] for d in docs], sources=sources)

    def close() -> None:
        for old in built.values():
            old.close()
        built.clear()

    match.source_fields = SOURCE_FIELDS  # type: ignore[attr-defined]
    match.close = close  # type: ignore[attr-defined]
    return match


def _matcher_input(sub: Subscription) -> Any:
    from alerts.matcher import MatcherSubscription

    f = sub.filters
    return MatcherSubscription(id=sub.id, query=sub.query, sources=tuple(f.sources), kinds=tuple(f.kinds),
                               languages=tuple(f.languages), topics=tuple(f.topics), sentiments=tuple(f.sentiments))


def _request(sub: Subscription, **extra: Any) -> SearchRequest:
    f = sub.filters
    return SearchRequest(query=sub.query, sources=f.sources, kinds=f.kinds, languages=f.languages, topics=f.topics,
                         sentiments=f.sentiments, **extra)


def run_matching(client: Elasticsearch, settings: Settings, *, matcher: MatchBatch | None = None,
                 now: datetime | None = None) -> MatchReport:
    """Match every document written since the last pass against the active subscriptions; record the
    matches (see the module docstring). One pass at a time per prefix (a lease); safe to repeat."""
    now = _now(now)
    stores = Stores(client, settings)
    report = MatchReport()
    lease = Lease(client, locks_alias(settings), "alert-matcher", purpose="alert matching", ttl=300)
    if lease.try_acquire() is not None:
        report.skipped = True
        return report
    try:
        subs = stores.active()
        match = matcher or default_matcher(client, settings)
        wanted = getattr(match, "source_fields", None)  # the fast matcher reads texts from the docs given
        fields = DOC_FIELDS if wanted is None else list(dict.fromkeys([*DOC_FIELDS, *wanted]))
        for batch in pending_documents(client, docs_alias(settings), size=BATCH, fields=fields):
            docs = [d for d, _ in batch]
            report.documents += len(docs)
            if not subs:
                found: dict[str, list[str]] = {}
            else:
                found = match(subs, docs) if wanted is None else match(subs, docs, read_with=fields)  # type: ignore[call-arg]
            by_id = {s.id: s for s in subs}
            records, copies = [], []
            for doc in docs:
                for sub_id in found.get(doc["id"], []):
                    sub = by_id[sub_id]
                    if doc.get("first_seen") and _time(doc["first_seen"]) < sub.created:
                        continue  # coverage from before the subscription existed
                    report.matches += 1
                    record = _match_record(sub, doc, now)
                    records.append(record)
                    copies.append(doc.get("url", ""))
            created = stores.log.claim_many(records)
            for record, url, new in zip(records, copies, created, strict=True):
                if new:
                    report.notifications += 1
                elif record.get("story"):
                    stores.log.add_copy(record["id"], url)
                    report.copies += 1
            clear_pending(client, batch)
            lease.heartbeat()
    finally:
        lease.release()
    return report


def default_matcher(client: Elasticsearch, settings: Settings) -> MatchBatch:
    """The matcher a pass uses when given none. A long-running process (the scheduler) keeps the one it got and
    passes it to every :func:`run_matching`: the fast matcher is then built once per set of subscriptions (a
    subscription added, edited or paused rebuilds it), not once per pass; ``close()`` stops its workers."""
    try:
        return fast_matcher(client, settings)
    except ImportError:  # the presearcher is not installed in this tree
        return search_matcher(client, settings)


def _match_record(sub: Subscription, doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": notification_id(sub, doc),
        "kind": "match",
        "subscription_id": sub.id,
        "owner": sub.owner,
        "delivery": sub.delivery,
        "doc_id": doc["id"],
        "story": doc.get("story") if not sub.notify_copies else None,
        "url": doc.get("url", ""),
        "title": doc.get("title", ""),
        "source": doc.get("source", ""),
        "published": doc.get("published"),
        "created": now.isoformat(),
        "status": "pending" if sub.delivery == "instant" else "queued",
        "attempts": 0,
        "copies": [],
    }


def _time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- digests --------------------------------------------------------------------------------------------


def period_end(sub: Subscription, now: datetime) -> datetime | None:
    """The end of the latest complete digest period at ``now`` (UTC): the top of the hour for hourly
    digests; today's (else yesterday's) ``daily_at`` in the subscription's zone for daily ones."""
    local = now.astimezone(ZoneInfo(sub.timezone))
    if sub.delivery == "hourly":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    if sub.delivery == "daily" and sub.daily_at:
        hour, minute = (int(x) for x in sub.daily_at.split(":"))
        at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if at > local:
            at -= timedelta(days=1)
        return at.astimezone(UTC)
    return None


@dataclass
class DigestReport:
    digests: int = 0
    items: int = 0


def make_digests(client: Elasticsearch, settings: Settings, *, now: datetime | None = None) -> DigestReport:
    """For each digest subscription whose period ended, bundle its queued matches into one digest record
    (``pending``, delivered by :func:`deliver_due`). Idempotent: the digest id is fixed by the period."""
    now = _now(now)
    stores = Stores(client, settings)
    report = DigestReport()
    for sub in stores.active():
        end = period_end(sub, now)
        if end is None or (sub.last_digest and sub.last_digest >= end):
            continue
        items = stores.log.queued(sub.id, until=end)
        digest_id = _sha1(sub.id, "digest", end.isoformat())
        if items:
            start = sub.last_digest or min(_time(i["created"]) for i in items)
            record = {"id": digest_id, "kind": "digest", "subscription_id": sub.id, "owner": sub.owner,
                      "delivery": sub.delivery, "created": now.isoformat(), "status": "pending", "attempts": 0,
                      "items": [i["id"] for i in items], "period_from": start.isoformat(),
                      "period_to": end.isoformat(), "title": sub.name}
            if stores.log.claim(record):
                report.digests += 1
                report.items += len(items)
            existing = stores.log.get(digest_id)
            listed = set(existing[0].get("items") or []) if existing else set()
            for item in items:
                if item["id"] in listed:
                    stores.log.update(item["id"], {"status": "digested", "digest_id": digest_id})
        found = stores.subscriptions.get(sub.id)
        if found:
            try:
                stores.subscriptions.update(sub.id, {"last_digest": end.isoformat()}, found[1])
            except Stale:
                pass  # another process did it
    return report


# -- spikes -------------------------------------------------------------------------------------------


@dataclass
class SpikeReport:
    checked: int = 0
    spikes: int = 0


def check_spikes(client: Elasticsearch, settings: Settings, *, now: datetime | None = None) -> SpikeReport:
    """For each subscription with spike alerts: today's matching volume (local day) against the median
    day of its window; a rise to ``factor`` × that and ``min_count`` records one spike alert for the day,
    with what drives it (sources, stories, significant terms, top documents)."""
    now = _now(now)
    stores = Stores(client, settings)
    report = SpikeReport()
    for sub in stores.active():
        if not sub.spike.enabled:
            continue
        report.checked += 1
        zone = ZoneInfo(sub.timezone)
        today = now.astimezone(zone).date()
        spike_id = _sha1(sub.id, "spike", today.isoformat())
        if stores.log.get(spike_id) is not None:
            continue
        explanation, top = spike_of(client, settings, sub, now)
        if explanation is None:
            continue
        record = {"id": spike_id, "kind": "spike", "subscription_id": sub.id, "owner": sub.owner, "delivery": "instant",
                  "created": now.isoformat(), "status": "pending", "attempts": 0, "title": sub.name,
                  "items": [d["id"] for d in top], "spike": _spike_json(explanation)}
        if stores.log.claim(record):
            report.spikes += 1
    return report


def spike_of(client: Elasticsearch, settings: Settings, sub: Subscription, now: datetime
             ) -> tuple[SpikeExplanation | None, list[dict[str, Any]]]:
    """The spike explanation for ``sub`` today, or None when today is not a spike."""
    zone = ZoneInfo(sub.timezone)
    local = now.astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    window_start = day_start - timedelta(days=sub.spike.window_days)
    query = build_query(_request(sub, date_from=window_start.astimezone(UTC), date_to=now))
    resp = client.search(
        index=docs_alias(settings), query=query, size=0,
        aggs={"days": {"date_histogram": {"field": "published", "calendar_interval": "day",
                                          "time_zone": sub.timezone, "min_doc_count": 0,
                                          "extended_bounds": {"min": window_start.isoformat(),
                                                              "max": day_start.isoformat()}}}},
    )
    counts = {b["key_as_string"][:10]: b["doc_count"] for b in resp["aggregations"]["days"]["buckets"]}
    today_count = counts.pop(day_start.date().isoformat(), 0)
    history = [counts.get((day_start - timedelta(days=i)).date().isoformat(), 0)
               for i in range(1, sub.spike.window_days + 1)]
    baseline = statistics.median(history) if history else 0.0
    if today_count < sub.spike.min_count or today_count < sub.spike.factor * baseline:
        return None, []
    today_query = build_query(_request(sub, date_from=day_start.astimezone(UTC), date_to=now))
    background = build_query(_request(sub, date_from=window_start.astimezone(UTC), date_to=day_start.astimezone(UTC)))
    resp = client.search(
        index=docs_alias(settings), query=today_query, size=5, sort=[{"published": "desc"}],
        source=DOC_FIELDS,
        aggs={
            "sources": {"terms": {"field": "source", "size": 5}},
            "stories": {"terms": {"field": "story", "size": 5},
                        "aggs": {"top": {"top_hits": {"size": 1, "_source": ["title"]}}}},
            "terms": {"significant_text": {"field": "text", "size": 8, "filter_duplicate_text": True,
                                           "background_filter": background}},
        },
    )
    aggs = resp["aggregations"]
    stories = [(b["top"]["hits"]["hits"][0]["_source"].get("title", b["key"]), b["doc_count"])
               for b in aggs["stories"]["buckets"]]
    explanation = SpikeExplanation(
        today=today_count, baseline=float(baseline), window_days=sub.spike.window_days,
        factor=round(today_count / baseline, 2) if baseline else float(today_count),
        sources=[(b["key"], b["doc_count"]) for b in aggs["sources"]["buckets"]],
        stories=stories, terms=[b["key"] for b in aggs["terms"]["buckets"]],
    )
    top = [{**h["_source"], "id": h["_id"]} for h in resp["hits"]["hits"]]
    return explanation, top


def _spike_json(s: SpikeExplanation) -> dict[str, Any]:
    return {"today": s.today, "baseline": s.baseline, "window_days": s.window_days, "factor": s.factor,
            "sources": [list(x) for x in s.sources], "stories": [list(x) for x in s.stories], "terms": s.terms}


def _spike_from(data: dict[str, Any]) -> SpikeExplanation:
    return SpikeExplanation(today=data["today"], baseline=data["baseline"], window_days=data["window_days"],
                            factor=data["factor"], sources=[tuple(x) for x in data.get("sources", [])],
                            stories=[tuple(x) for x in data.get("stories", [])], terms=list(data.get("terms", [])))


# -- delivery -------------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


ChannelFactory = Callable[[dict[str, Any], Settings], Channel]


def deliver_due(client: Elasticsearch, settings: Settings, *, now: datetime | None = None,
                build: ChannelFactory | None = None) -> DeliveryReport:
    """Send every pending notification whose next attempt is due (module docstring for the guarantees)."""
    from alerts import channels
    from alerts.retry import next_delay

    now = _now(now)
    build = build or channels.build
    stores = Stores(client, settings)
    report = DeliveryReport()
    cfg = settings.alerts
    for record, version in stores.log.due(now):
        try:  # claim it, so no other worker sends it meanwhile
            version = stores.log.update(record["id"], {"claimed_until": (now + timedelta(seconds=CLAIM_SECONDS))
                                                       .isoformat()}, version)
        except Stale:
            continue
        sub = stores.subscription(record["subscription_id"])
        if sub is None:
            stores.log.update(record["id"], {"status": "failed", "last_error": "the subscription was removed",
                                             "claimed_until": None}, version)
            report.failed += 1
            continue
        if not sub.active:  # paused: keep it for when it resumes
            stores.log.update(record["id"], {"claimed_until": None, "next_attempt": (now + timedelta(minutes=10))
                                             .isoformat()}, version)
            continue
        message = build_message(client, settings, sub, record, now)
        states: dict[str, dict[str, Any]] = dict(record.get("channels") or {})
        for config in sub.channels:
            key = channel_key(config)
            state = dict(states.get(key) or {"status": "pending", "attempts": 0})
            if state["status"] in ("sent", "failed"):
                continue
            state["attempts"] = int(state.get("attempts", 0)) + 1
            try:
                build({**config, "secret": sub.secret}, settings).send(message)
            except ChannelError as exc:
                state["error"] = str(exc)
                final = not exc.retryable or state["attempts"] >= cfg.max_attempts
                state["status"] = "failed" if final else "pending"
                record_health(stores, sub.id, key, ok=False, error=str(exc), now=now)
                report.errors.append(f"{sub.name} via {key}: {exc}")
            else:
                state.update(status="sent", sent=now.isoformat(), error=None)
                record_health(stores, sub.id, key, ok=True, now=now)
            states[key] = state
        statuses = {s["status"] for s in states.values()} or {"sent"}
        attempts = max((int(s.get("attempts", 0)) for s in states.values()), default=0)
        fields: dict[str, Any] = {"channels": states, "attempts": attempts, "claimed_until": None}
        if "pending" in statuses:
            delay = next_delay(attempts, base=cfg.retry_base_seconds, maximum=cfg.retry_max_seconds)
            fields.update(status="pending", next_attempt=(now + timedelta(seconds=delay)).isoformat(),
                          last_error=next((s.get("error") for s in states.values() if s.get("error")), None))
            report.retrying += 1
        elif "failed" in statuses:
            fields.update(status="failed", last_error=next((s.get("error") for s in states.values()
                                                            if s["status"] == "failed"), None))
            report.failed += 1
        else:
            fields.update(status="sent", sent_at=now.isoformat(), last_error=None)
            report.sent += 1
        stores.log.update(record["id"], fields, version)
    return report


def record_health(stores: Stores, sub_id: str, key: str, *, ok: bool, now: datetime, error: str | None = None) -> None:
    """Track consecutive failures of one channel; flag it failing after ``alerts.failing_after`` of them."""
    for _ in range(5):
        found = stores.subscriptions.get(sub_id)
        if found is None:
            return
        doc, version = found
        health = dict(doc.get("channel_health") or {})
        entry = dict(health.get(key) or {"failures": 0})
        if ok:
            entry.update(failures=0, failing=False, last_success=now.isoformat())
        else:
            entry["failures"] = int(entry.get("failures", 0)) + 1
            entry.update(last_error=error, last_failure=now.isoformat(),
                         failing=entry["failures"] >= stores.settings.alerts.failing_after)
        health[key] = entry
        try:
            stores.subscriptions.update(sub_id, {"channel_health": health}, version)
            return
        except Stale:
            continue


def build_message(client: Elasticsearch, settings: Settings, sub: Subscription, record: dict[str, Any],
                  now: datetime) -> AlertMessage:
    """What the channels carry for one record: its document(s) with the matched words highlighted."""
    stores = Stores(client, settings)
    patterns = positive_patterns(parse(sub.query))
    kind = record.get("kind", "match")
    if kind == "match":
        items = _items(client, settings, [record], patterns)
        message_kind = "instant"
    elif kind == "digest":
        matched = [found[0] for rid in record.get("items", []) if (found := stores.log.get(rid))]
        limit = settings.alerts.digest_max_items
        items = _items(client, settings, matched[:limit], patterns)
        message_kind = "digest"
    else:
        items = _items(client, settings, [{"doc_id": d} for d in record.get("items", [])], patterns)
        message_kind = "spike"
    links = {}
    base = settings.alerts.base_url
    if base:
        from urllib.parse import quote

        links = {"search": f"{base.rstrip('/')}/search?q={quote(sub.query)}",
                 "subscription": f"{base.rstrip('/')}/alerts/{sub.id}"}
    period = None
    if record.get("period_from") and record.get("period_to"):
        period = (_time(record["period_from"]), _time(record["period_to"]))
    return AlertMessage(
        notification_id=record["id"], kind=message_kind, subscription_id=sub.id, subscription_name=sub.name,
        query=sub.query, items=items, created=_time(record["created"]), timezone=sub.timezone,
        total=len(record.get("items") or [None]) if kind != "match" else 1, period=period,
        spike=_spike_from(record["spike"]) if record.get("spike") else None, links=links,
    )


def _items(client: Elasticsearch, settings: Settings, records: Sequence[dict[str, Any]], patterns: list[str]
           ) -> list[AlertItem]:
    ids = [r["doc_id"] for r in records if r.get("doc_id")]
    if not ids:
        return []
    resp = client.mget(index=docs_alias(settings), ids=ids, source=DOC_FIELDS)
    docs = {d["_id"]: d["_source"] for d in resp["docs"] if d.get("found")}
    items = []
    for record in records:
        doc = docs.get(record.get("doc_id", ""))
        if doc is None:
            continue
        items.append(AlertItem(
            doc_id=record["doc_id"], url=doc.get("url", ""), title=doc.get("title", ""),
            source=doc.get("source", ""), source_name=doc.get("source_name", ""),
            snippet=snippet(doc.get("text") or "", patterns), kind=doc.get("kind", "news"),
            published=_time(doc["published"]) if doc.get("published") else None, topic=doc.get("topic"),
            sentiment=(doc.get("sentiment") or {}).get("label") if isinstance(doc.get("sentiment"), dict) else None,
            copies=tuple(record.get("copies") or ()),
        ))
    return items


# -- one pass -----------------------------------------------------------------------------------------------


@dataclass
class PassReport:
    matching: MatchReport
    digests: DigestReport
    spikes: SpikeReport
    delivery: DeliveryReport


def run_pass(client: Elasticsearch, settings: Settings, *, now: datetime | None = None,
             matcher: MatchBatch | None = None, build: ChannelFactory | None = None) -> PassReport:
    """Everything due now: match new documents, bundle due digests, check spikes, deliver."""
    matching = run_matching(client, settings, matcher=matcher, now=now)
    digests = make_digests(client, settings, now=now)
    spikes = check_spikes(client, settings, now=now)
    delivery = deliver_due(client, settings, now=now, build=build)
    return PassReport(matching, digests, spikes, delivery)
