"""Tag documents with topics, sentiment, a story id and the versions of the models used.

``enrich_documents(docs, tagger, stories)`` is the one code path used by the crawl (batched on a
worker thread) and by ``mediawatch enrich backfill``. Documents in languages the models do not
cover, and empty ones, get ``unknown`` topic and sentiment; nothing here raises on bad text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from enrich.classifier import Prediction, TextClassifier
from mediawatch.config import EnrichSettings

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
TOPIC_MIN_SCORE = 0.15
TOPICS_KEPT = 3
# Characters handed to the tokenizer: enough for max_length tokens with room to spare, so a 1 MB
# text costs no more than a normal article (the title and lead are at the start anyway).
CHARS_PER_TOKEN_BUDGET = 8
SENTIMENT_CHARS = 600


@dataclass(frozen=True)
class Tags:
    topic: str
    topics: list[dict[str, Any]]
    sentiment: dict[str, Any]


class Tagger:
    """The topic and sentiment classifiers and the languages they cover."""

    def __init__(self, settings: EnrichSettings) -> None:
        self.settings = settings
        common = {"device": settings.device, "batch_size": settings.batch_size}
        self.topic = TextClassifier(settings.topic_model, max_length=settings.max_length, **common)
        self.sentiment = TextClassifier(settings.sentiment_model, max_length=min(settings.max_length, 128), **common)
        self.languages = set(settings.model_languages)

    def load(self) -> Tagger:
        self.topic.load()
        self.sentiment.load()
        return self

    @property
    def versions(self) -> dict[str, str]:
        return {"topic": self.topic.version, "sentiment": self.sentiment.version}

    def covers(self, language: str | None, text: str) -> bool:
        return bool(text.strip()) and (language or UNKNOWN) in self.languages

    def tag(self, docs: Sequence[dict[str, Any]]) -> list[Tags]:
        """Tags for each doc (keys used: ``title``, ``text``, ``language``)."""
        unknown = Tags(UNKNOWN, [], {"label": UNKNOWN, "score": 0.0})
        tags: list[Tags] = [unknown] * len(docs)
        covered = [i for i, d in enumerate(docs) if self.covers(d.get("language"), _body(d))]
        if not covered:
            return tags
        budget = self.settings.max_length * CHARS_PER_TOKEN_BUDGET
        titles = [docs[i].get("title") or None for i in covered]
        bodies = [_body(docs[i])[:budget] for i in covered]
        topics = self.topic.predict(bodies, titles)
        sentiment_texts = [_sentiment_text(docs[i]) for i in covered]
        feelings = self.sentiment.predict(sentiment_texts)
        for i, topic, feeling in zip(covered, topics, feelings, strict=True):
            tags[i] = Tags(topic.label, _topics(topic), {"label": feeling.label, "score": round(feeling.score, 4)})
        return tags


def _body(doc: dict[str, Any]) -> str:
    return doc.get("text") or doc.get("title") or ""


def _sentiment_text(doc: dict[str, Any]) -> str:
    """Sentiment of a post is its text; of an article, its headline and lead."""
    text = " ".join((doc.get("text") or "").split())
    if doc.get("kind") == "forum":
        return text[:SENTIMENT_CHARS]
    return " . ".join(filter(None, [doc.get("title"), text[:SENTIMENT_CHARS]]))


def _topics(prediction: Prediction) -> list[dict[str, Any]]:
    ranked = prediction.top(TOPICS_KEPT, TOPIC_MIN_SCORE) or [(prediction.label, prediction.score)]
    return [{"label": label, "score": round(score, 4)} for label, score in ranked]


_TAGGERS: dict[tuple[str, str, str], Tagger] = {}
_TAGGERS_LOCK = threading.Lock()


def get_tagger(settings: EnrichSettings) -> Tagger:
    """One Tagger per model configuration in this process (models are loaded once)."""
    key = (settings.topic_model, settings.sentiment_model, settings.device)
    with _TAGGERS_LOCK:
        if key not in _TAGGERS:
            _TAGGERS[key] = Tagger(settings)
        return _TAGGERS[key]


class StoryIndex:
    """Existing story members in Elasticsearch, found by shared LSH band keys."""

    FIELDS = ["id", "url", "source", "published", "story", "story_minhash", "story_bands", "story_origin"]

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    def candidates(self, bands: Sequence[str]) -> Iterable[Any]:
        from enrich.stories import Origin, Signature, StoryMember

        if not bands:
            return []
        resp = self.client.search(
            index=self.index, size=200, query={"terms": {"story_bands": list(bands)}}, source=self.FIELDS
        )
        members = []
        for hit in resp["hits"]["hits"]:
            src = hit["_source"]
            if not src.get("story") or not src.get("story_minhash"):
                continue
            members.append(
                StoryMember(
                    doc_id=hit["_id"],
                    story=src["story"],
                    signature=Signature(tuple(src["story_minhash"]), tuple(src.get("story_bands") or ())),
                    published=_parse_time(src.get("published")),
                    source=src.get("source", ""),
                    url=src.get("url", ""),
                    origin=_origin(src.get("story_origin"), Origin),
                )
            )
        return members

    def update_origin(self, story: str, origin: dict[str, Any]) -> int:
        """Record a new earliest publisher on every stored member of ``story`` (scan + bulk:
        the local node has no update-by-query)."""
        hits = helpers.scan(
            self.client, index=self.index, query={"query": {"term": {"story": story}}, "_source": False}, size=500
        )
        actions = (
            {"_op_type": "update", "_index": h["_index"], "_id": h["_id"], "doc": {"story_origin": origin}}
            for h in hits
        )
        updated, _ = helpers.bulk(self.client, actions, raise_on_error=False)
        return updated


def _origin(stored: dict[str, Any] | None, origin_cls: Any) -> Any:
    if not stored or not stored.get("url"):
        return None
    return origin_cls(
        source=stored.get("source", ""), url=stored["url"], published=_parse_time(stored.get("published")),
        doc_id=stored.get("doc_id"),
    )


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def enrich_documents(
    docs: Sequence[dict[str, Any]], tagger: Tagger, stories: StoryIndex | None, *, story_threshold: float = 0.6
) -> list[dict[str, Any]]:
    """Field updates for each doc: topic(s), sentiment, models, and (with ``stories``) the story."""
    tags = tagger.tag(docs)
    now = datetime.now(UTC).isoformat()
    versions = tagger.versions
    updates = [
        {"topic": t.topic, "topics": t.topics, "sentiment": t.sentiment, "models": versions, "enriched_at": now}
        for t in tags
    ]
    if stories is not None:
        for update, story in zip(updates, assign_story_fields(docs, stories, story_threshold), strict=True):
            update.update(story)
    return updates


def assign_story_fields(docs: Sequence[dict[str, Any]], stories: StoryIndex, threshold: float) -> list[dict[str, Any]]:
    """``story``, ``story_bands``, ``story_minhash`` and ``story_origin`` for each doc."""
    from enrich.stories import StoryMember, assign_stories, signature

    members: list[StoryMember] = []
    signatures = []
    for doc in docs:
        sig = signature(doc.get("text") or "")
        signatures.append(sig)
        if sig is not None:
            members.append(
                StoryMember(
                    doc_id=doc["id"],
                    story=None,
                    signature=sig,
                    published=_as_datetime(doc.get("published")),
                    source=doc.get("source", ""),
                    url=doc.get("url", ""),
                )
            )
    assigned = assign_stories(members, stories.candidates, threshold=threshold)
    batch_ids = {doc["id"] for doc in docs}
    moved: dict[str, dict[str, Any]] = {}
    fields: list[dict[str, Any]] = []
    for doc, sig in zip(docs, signatures, strict=True):
        if sig is None:
            fields.append({})
            continue
        story = assigned[doc["id"]]
        origin = {
            "source": story.origin.source,
            "url": story.origin.url,
            "published": story.origin.published.isoformat() if story.origin.published else None,
            "doc_id": story.origin.doc_id,
        }
        if story.existing and story.origin.doc_id in batch_ids:
            moved[story.story] = origin  # an earlier copy than any stored one: stored members learn it
        fields.append(
            {
                "story": story.story,
                "story_bands": list(sig.bands),
                "story_minhash": list(sig.minhash),
                "story_origin": origin,
            }
        )
    for story_id, origin in moved.items():
        stories.update_origin(story_id, origin)
    return fields


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
