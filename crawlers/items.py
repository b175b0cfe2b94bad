"""What spiders yield: one :class:`PageItem` per fetched page — the page's crawl state and the documents
it holds (none when it is unchanged). The documents are written first; the state only once all of them
are acknowledged (``index.writer.PageWriter``), so a page whose document was rejected is fetched again."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from enrich.folding import fold


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


@dataclass
class DocumentItem:
    """A news article or one forum post, ready for the index (``to_source()``)."""

    id: str
    url: str
    source: str
    source_name: str
    kind: str
    title: str
    text: str
    content_hash: str
    language: str
    canonical_url: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    section: str | None = None
    description: str | None = None
    date_source: str | None = None
    encoding: str | None = None
    thread: dict[str, Any] | None = None
    crawled_at: datetime = field(default_factory=_now)
    # Filled by the enrichment pipeline (enrich.tagger.tag_documents / story_fields).
    topic: str | None = None
    topics: list[dict[str, Any]] | None = None
    sentiment: dict[str, Any] | None = None
    story: str | None = None
    story_bands: list[str] | None = None
    story_minhash: list[int] | None = None
    story_origin: dict[str, Any] | None = None
    models: dict[str, str] | None = None
    enriched_at: str | None = None
    # Filled by the enrichment pipeline (enrich.places.find_places): provinces and communes/wards named.
    places: list[dict[str, Any]] | None = None
    # Filled by the enrichment pipeline from a person's stored correction (index.corrections.apply_correction):
    # what was corrected, by whom and when, and the models' own tags.
    corrected: dict[str, Any] | None = None
    model_tags: dict[str, Any] | None = None
    # Not stored: the story has other members, so its origin is checked once this document is written.
    story_joined: bool = False

    def enrich_input(self) -> dict[str, Any]:
        """What tagging and story grouping read."""
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "language": self.language,
            "kind": self.kind,
            "published": self.published,
            "source": self.source,
            "url": self.url,
        }

    def apply(self, updates: dict[str, Any]) -> None:
        for key, value in updates.items():
            setattr(self, key, value)

    def to_source(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("story_joined")
        for key in ("published", "updated", "crawled_at"):
            doc[key] = _iso(doc[key])
        doc["word_count"] = len(self.text.split())
        for name in ("title", "text", "description", "author", "section"):
            if doc.get(name):
                doc[f"{name}_folded"] = fold(doc[name])
        if self.thread and self.thread.get("title"):
            doc["thread"] = {**self.thread, "title_folded": fold(self.thread["title"])}
        return {k: v for k, v in doc.items() if v is not None}


@dataclass
class PageStateItem:
    """What the crawler remembers of a fetched page: validators for conditional requests,
    the fingerprint of what it held, and the documents it produced."""

    url: str
    source: str
    role: str
    status: int
    etag: str | None = None
    last_modified: str | None = None
    next_url: str | None = None
    content_hash: str | None = None
    doc_ids: list[str] = field(default_factory=list)
    fetched_at: datetime = field(default_factory=_now)
    changed_at: datetime | None = None
    revisit_seconds: float | None = None

    def to_source(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["fetched_at"] = _iso(self.fetched_at)
        doc["changed_at"] = _iso(self.changed_at)
        return {k: v for k, v in doc.items() if v is not None}


@dataclass
class PageItem:
    """One fetched page: its crawl state, and the documents it yielded (none when unchanged)."""

    state: PageStateItem
    documents: list[DocumentItem] = field(default_factory=list)
