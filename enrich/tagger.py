"""Tag documents with topics, sentiment, a story id and the versions of the models used.

``enrich_documents(docs, tagger, stories)`` is the one code path used by the crawl (batched on a
worker thread) and by ``mediawatch enrich backfill``. Documents in languages the models do not
cover, and empty ones, get ``unknown`` topic and sentiment; nothing here raises on bad text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from enrich.classifier import CpuWorkers, Prediction, TextClassifier, cpu_count, gather
from enrich.zeroshot import ZeroShotClassifier
from mediawatch.config import EnrichSettings

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
TOPIC_MIN_SCORE = 0.15
TOPICS_KEPT = 3
# Characters per token handed to the tokenizer: enough for the windows the model reads with room to
# spare, so a 1 MB text costs no more than a normal article.
CHARS_PER_TOKEN_BUDGET = 8
SENTIMENT_CHARS = 600
MAX_AUTO_WORKERS = 8


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
        self.topic: TextClassifier | ZeroShotClassifier
        if settings.topic_labels:
            # Zero-shot: topic_model is an NLI model, the topics and their words come from the config.
            self.topic = ZeroShotClassifier(
                settings.topic_model, settings.topic_labels, hypothesis=settings.topic_hypothesis,
                max_length=settings.max_length, **common,
            )
        else:
            self.topic = TextClassifier(
                settings.topic_model, max_length=settings.max_length, chunks=settings.topic_chunks, **common
            )
        self.sentiment = TextClassifier(settings.sentiment_model, max_length=min(settings.max_length, 128), **common)
        self.languages = set(settings.model_languages)
        # CPU inference threads shared by both models (0: one per core, at most MAX_AUTO_WORKERS).
        self.workers = CpuWorkers(settings.workers or min(cpu_count(), MAX_AUTO_WORKERS))

    def load(self) -> Tagger:
        self.topic.load()
        self.sentiment.load()
        return self

    @property
    def parallel(self) -> bool:
        """Whether batches of both models run side by side on the CPU workers."""
        return (
            self.workers.count > 1
            and isinstance(self.topic, TextClassifier)
            and self.topic.device == "cpu"
            and self.sentiment.device == "cpu"
        )

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
        self.load()
        budget = topic_char_budget(self.topic)
        titles = [docs[i].get("title") or None for i in covered]
        bodies = [_body(docs[i])[:budget] for i in covered]
        sentiment_texts = [_sentiment_text(docs[i]) for i in covered]
        if self.parallel:
            # Both models' batches in one queue, the topic model's (the longest) first, so the
            # workers stay busy to the end; each worker tokenises, runs and reads a whole batch.
            assert isinstance(self.topic, TextClassifier)
            topic_jobs = self.topic.plan(bodies, titles, self.workers.count)
            results = self.workers.run(topic_jobs + self.sentiment.plan(sentiment_texts, None, self.workers.count))
            topics = gather(results[: len(topic_jobs)], len(covered))
            feelings = gather(results[len(topic_jobs) :], len(covered))
        else:
            topics = self.topic.predict(bodies, titles)
            feelings = self.sentiment.predict(sentiment_texts, workers=self.workers)
        for i, topic, feeling in zip(covered, topics, feelings, strict=True):
            tags[i] = Tags(topic.label, _topics(topic), {"label": feeling.label, "score": round(feeling.score, 4)})
        return tags


def topic_char_budget(classifier: TextClassifier | ZeroShotClassifier) -> int:
    """Characters of the body handed to the topic model's tokenizer (all its windows, with room)."""
    classifier.load()
    return classifier.max_length * classifier.chunks * CHARS_PER_TOKEN_BUDGET


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


_TAGGERS: dict[tuple[Any, ...], Tagger] = {}
_TAGGERS_LOCK = threading.Lock()


def get_tagger(settings: EnrichSettings) -> Tagger:
    """One Tagger per model configuration in this process (models are loaded once)."""
    key = (settings.topic_model, settings.sentiment_model, settings.device, settings.topic_chunks,
           tuple(sorted(settings.topic_labels.items())), settings.topic_hypothesis, settings.workers)
    with _TAGGERS_LOCK:
        if key not in _TAGGERS:
            _TAGGERS[key] = Tagger(settings)
        return _TAGGERS[key]


class StoryIndex:
    """Story members found by shared LSH band keys: those stored in Elasticsearch, plus those this
    process assigned but that may not be searchable yet (earlier batches of the same crawl).

    ``touched`` collects the stories given members; :meth:`reconcile_origins` then records each
    one's earliest publisher on all its members, once the writes are visible.
    """

    FIELDS = ["id", "url", "source", "published", "story", "story_minhash", "story_bands", "story_origin"]

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index
        self.touched: set[str] = set()
        self._recent: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    def remember(self, member: Any) -> None:
        with self._lock:
            for band in member.signature.bands:
                self._recent.setdefault(band, []).append(member)
            self.touched.add(member.story)

    def candidates(self, bands: Sequence[str]) -> Iterable[Any]:
        stored = {m.doc_id: m for m in self._stored_candidates(bands)}
        with self._lock:
            recent = {m.doc_id: m for band in bands for m in self._recent.get(band, ())}
        return list({**stored, **recent}.values())

    def _stored_candidates(self, bands: Sequence[str]) -> Iterable[Any]:
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

    def reconcile_origins(self, stories: Iterable[str] | None = None) -> int:
        """Set ``story_origin`` on every member of ``stories`` (default: the touched ones) to the
        story's earliest-published member. Scan + bulk: the local node has no update-by-query.
        Returns the number of documents whose origin changed."""
        wanted = sorted(set(stories if stories is not None else self.touched))
        if not wanted:
            return 0
        self.client.indices.refresh(index=self.index)
        changed = 0
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            origins = self._earliest(chunk)
            hits = helpers.scan(
                self.client,
                index=self.index,
                size=1000,
                query={"query": {"terms": {"story": chunk}}, "_source": ["story", "story_origin"]},
            )
            actions = [
                {
                    "_op_type": "update",
                    "_index": h["_index"],
                    "_id": h["_id"],
                    "doc": {"story_origin": origins[h["_source"]["story"]]},
                }
                for h in hits
                if h["_source"].get("story") in origins
                and (h["_source"].get("story_origin") or {}).get("url") != origins[h["_source"]["story"]]["url"]
            ]
            if actions:
                done, _ = helpers.bulk(self.client, actions, raise_on_error=False)
                changed += done
        self.touched.difference_update(wanted)
        if changed:
            self.client.indices.refresh(index=self.index)
        return changed

    def _earliest(self, stories: list[str]) -> dict[str, dict[str, Any]]:
        resp = self.client.search(
            index=self.index,
            size=0,
            query={"terms": {"story": stories}},
            aggs={
                "by_story": {
                    "terms": {"field": "story", "size": len(stories)},
                    "aggs": {
                        "first": {
                            "top_hits": {
                                "size": 1,
                                "_source": ["source", "url", "published"],
                                "sort": [{"published": {"order": "asc", "missing": "_last"}}, {"id": {"order": "asc"}}],
                            }
                        }
                    },
                }
            },
        )
        origins = {}
        for bucket in resp["aggregations"]["by_story"]["buckets"]:
            hit = bucket["first"]["hits"]["hits"][0]
            src = hit["_source"]
            origins[bucket["key"]] = {
                "source": src.get("source", ""),
                "url": src.get("url", ""),
                "published": src.get("published"),
                "doc_id": hit["_id"],
            }
        return origins


def _origin(stored: dict[str, Any] | None, origin_cls: Any) -> Any:
    if not stored or not stored.get("url"):
        return None
    return origin_cls(
        source=stored.get("source", ""),
        url=stored["url"],
        published=_parse_time(stored.get("published")),
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
    for member in members:
        stories.remember(replace(member, story=assigned[member.doc_id].story))
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
        fields.append(
            {
                "story": story.story,
                "story_bands": list(sig.bands),
                "story_minhash": list(sig.minhash),
                "story_origin": origin,
            }
        )
    return fields


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
