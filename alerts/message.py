"""What a notification says, whatever channel carries it: one :class:`AlertMessage` per delivery.

An instant alert carries one item, a digest several, a spike alert the documents driving the rise
plus its explanation. ``notification_id`` is stable for a delivery: channels pass it on (e-mail
``Message-ID`` and header, webhook header and body) so a receiver can drop a repeat — delivery is
at-least-once at the channel (a crash between sending and recording sends again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Kind = Literal["instant", "digest", "spike", "test"]


@dataclass(frozen=True)
class AlertItem:
    """One matching document. ``snippet`` is HTML-escaped text with ``<mark>`` around the hits (as search
    hits have it); ``published`` is tz-aware; ``copies`` are other outlets' URLs of the same story
    (shown as "+N outlets")."""

    doc_id: str
    url: str
    title: str
    source: str
    snippet: str
    published: datetime | None = None
    source_name: str = ""
    kind: str = "news"  # news | forum
    topic: str | None = None
    sentiment: str | None = None
    copies: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpikeExplanation:
    """Why a spike alert fired: today's count against the baseline, and what drives the rise."""

    today: int
    baseline: float  # median daily count over the baseline window
    window_days: int
    factor: float  # today / baseline
    sources: list[tuple[str, int]] = field(default_factory=list)  # (source, documents today)
    stories: list[tuple[str, int]] = field(default_factory=list)  # (story title, documents today)
    terms: list[str] = field(default_factory=list)  # significant terms of today against the window


@dataclass(frozen=True)
class AlertMessage:
    """One delivery to one channel of one subscription."""

    notification_id: str
    kind: Kind
    subscription_id: str
    subscription_name: str
    query: str
    items: list[AlertItem]
    created: datetime  # tz-aware
    timezone: str = "Asia/Ho_Chi_Minh"  # how times are shown
    total: int | None = None  # digest: matches in the period (items may be fewer)
    period: tuple[datetime, datetime] | None = None  # digest: the period it covers
    spike: SpikeExplanation | None = None
    links: dict[str, str] = field(default_factory=dict)  # e.g. {"search": ..., "feed": ...} when base_url is set

    def to_json(self) -> dict[str, Any]:
        """The JSON body a webhook receives (before any chat template)."""
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        body: dict[str, Any] = {
            "notification_id": self.notification_id,
            "kind": self.kind,
            "subscription": {"id": self.subscription_id, "name": self.subscription_name, "query": self.query},
            "created": iso(self.created),
            "total": self.total if self.total is not None else len(self.items),
            "items": [
                {"doc_id": i.doc_id, "url": i.url, "title": i.title, "source": i.source, "source_name": i.source_name,
                 "kind": i.kind, "published": iso(i.published), "snippet": i.snippet, "topic": i.topic,
                 "sentiment": i.sentiment, "copies": list(i.copies)}
                for i in self.items
            ],
        }
        if self.period:
            body["period"] = {"from": iso(self.period[0]), "to": iso(self.period[1])}
        if self.spike:
            s = self.spike
            body["spike"] = {"today": s.today, "baseline": s.baseline, "window_days": s.window_days,
                             "factor": s.factor, "sources": [list(x) for x in s.sources],
                             "stories": [list(x) for x in s.stories], "terms": s.terms}
        if self.links:
            body["links"] = dict(self.links)
        return body
