"""Tag documents with topics, sentiment, a story id and the versions of the models used.

Pure functions over texts and candidate lists (no I/O): :func:`tag_documents` (topic, sentiment, model
versions) and :func:`story_members` / :func:`story_fields` (story grouping over stored candidates the
caller looked up, see ``index.stories``) are the one code path used by the crawl (batched on its own
thread) and by ``mediawatch enrich backfill``. Documents in languages the models do not cover, and
empty ones, get ``unknown`` topic and sentiment; nothing here raises on bad text. A document too short
to carry a news topic (under ``enrich.topic_min_words`` words: a one-line post) gets topic ``unknown``
without running the topic model, and so does one whose top calibrated topic probability is under
``enrich.topic_min_confidence`` (its ``topics`` still list the candidates with their probabilities).
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from enrich.classifier import CpuWorkers, Prediction, TextClassifier, cpu_count, gather
from enrich.stories import RecentStories, StoryMember, assign_stories, signature
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
#: Forum posts shorter than this carry no story: stock replies ("+1, mình cũng gặp y như vậy.") recur on
#: many threads and must not link them, while a long post copied to another thread still does.
FORUM_MIN_WORDS = 20


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
        self._lock = threading.Lock()  # one tag() at a time: callers on several threads share the models

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
        """Tags for each doc (keys used: ``title``, ``text``, ``language``). Thread-safe (serialised)."""
        with self._lock:
            return self._tag(docs)

    def _tag(self, docs: Sequence[dict[str, Any]]) -> list[Tags]:
        unknown = Tags(UNKNOWN, [], {"label": UNKNOWN, "score": 0.0})
        tags: list[Tags] = [unknown] * len(docs)
        covered = [i for i, d in enumerate(docs) if self.covers(d.get("language"), _body(d))]
        if not covered:
            return tags
        self.load()
        # Only texts long enough to carry a news topic go to the topic model.
        topical = [i for i in covered if long_enough(docs[i], self.settings.topic_min_words)]
        budget = topic_char_budget(self.topic)
        titles = [docs[i].get("title") or None for i in topical]
        bodies = [_body(docs[i])[:budget] for i in topical]
        sentiment_texts = [_sentiment_text(docs[i]) for i in covered]
        if self.parallel:
            # Both models' batches in one queue, the topic model's (the longest) first, so the
            # workers stay busy to the end; each worker tokenises, runs and reads a whole batch.
            assert isinstance(self.topic, TextClassifier)
            topic_jobs = self.topic.plan(bodies, titles, self.workers.count) if topical else []
            results = self.workers.run(topic_jobs + self.sentiment.plan(sentiment_texts, None, self.workers.count))
            topics = gather(results[: len(topic_jobs)], len(topical))
            feelings = gather(results[len(topic_jobs) :], len(covered))
        else:
            topics = self.topic.predict(bodies, titles) if topical else []
            feelings = self.sentiment.predict(sentiment_texts, workers=self.workers)
        topic_of = dict(zip(topical, topics, strict=True))
        for i, feeling in zip(covered, feelings, strict=True):
            sentiment = {"label": feeling.label, "score": round(feeling.score, 4)}
            topic = topic_of.get(i)
            if topic is None:
                tags[i] = Tags(UNKNOWN, [], sentiment)
            else:
                label = topic.label if topic.score >= self.settings.topic_min_confidence else UNKNOWN
                tags[i] = Tags(label, _topics(topic), sentiment)
        return tags


def topic_char_budget(classifier: TextClassifier | ZeroShotClassifier) -> int:
    """Characters of the body handed to the topic model's tokenizer (all its windows, with room)."""
    classifier.load()
    return classifier.max_length * classifier.chunks * CHARS_PER_TOKEN_BUDGET


def long_enough(doc: dict[str, Any], min_words: int) -> bool:
    """Whether a document's text (its title when it has no text) has at least ``min_words`` words."""
    if min_words <= 0:
        return True
    words = re.finditer(r"\S+", _body(doc))
    return sum(1 for _ in itertools.islice(words, min_words)) >= min_words


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


_TAGGERS: dict[str, Tagger] = {}
_TAGGERS_LOCK = threading.Lock()


def get_tagger(settings: EnrichSettings) -> Tagger:
    """One Tagger per model configuration in this process (models are loaded once).

    Keyed by every enrichment setting (all of them shape what a Tagger returns or how it runs, except
    the story threshold and where models are pulled to, which it never reads)."""
    key = settings.model_dump_json(exclude={"story_threshold", "models_dir", "enabled"})
    with _TAGGERS_LOCK:
        if key not in _TAGGERS:
            _TAGGERS[key] = Tagger(settings)
        return _TAGGERS[key]


def tag_documents(docs: Sequence[dict[str, Any]], tagger: Tagger) -> list[dict[str, Any]]:
    """Field updates for each doc: ``topic``, ``topics``, ``sentiment``, ``models``, ``enriched_at``."""
    tags = tagger.tag(docs)
    now = datetime.now(UTC).isoformat()
    versions = tagger.versions
    return [
        {"topic": t.topic, "topics": t.topics, "sentiment": t.sentiment, "models": versions, "enriched_at": now}
        for t in tags
    ]


def story_members(docs: Sequence[dict[str, Any]]) -> list[StoryMember | None]:
    """Each doc as story grouping sees it (``None`` for a text too short to carry a story: under
    ``enrich.stories.MIN_WORDS`` words, or :data:`FORUM_MIN_WORDS` for a forum post)."""
    members: list[StoryMember | None] = []
    for doc in docs:
        if doc.get("kind") == "forum":
            sig = signature(doc.get("text") or "", min_words=FORUM_MIN_WORDS)
        else:
            sig = signature(doc.get("text") or "")
        members.append(
            None if sig is None else StoryMember(
                doc_id=doc["id"], story=None, signature=sig, published=_as_datetime(doc.get("published")),
                source=doc.get("source", ""), url=doc.get("url", ""),
            )
        )
    return members


def story_bands(members: Sequence[StoryMember | None]) -> list[str]:
    """Every band key of ``members``: what to look up stored candidates by, in one request."""
    return sorted({band for m in members if m is not None for band in m.signature.bands})


def story_fields(
    members: Sequence[StoryMember | None],
    candidates: Sequence[StoryMember],
    *,
    threshold: float,
    recent: RecentStories | None = None,
) -> list[dict[str, Any]]:
    """``story``, ``story_bands``, ``story_minhash``, ``story_origin`` (and ``story_joined``: the story has
    other members, so its origin needs checking once written) for each member; ``{}`` for ``None``.

    ``candidates``: stored members sharing a band with any of ``members`` (looked up by the caller);
    ``recent``: members assigned earlier in this process and perhaps not searchable yet (updated here)."""
    by_band: dict[str, list[StoryMember]] = {}
    for cand in candidates:
        for band in cand.signature.bands:
            by_band.setdefault(band, []).append(cand)

    def lookup(bands: Sequence[str]) -> list[StoryMember]:
        found = {m.doc_id: m for band in bands for m in by_band.get(band, ())}
        if recent is not None:
            found.update((m.doc_id, m) for m in recent.candidates(bands))
        return list(found.values())

    new = [m for m in members if m is not None]
    assigned = assign_stories(new, lookup, threshold=threshold)
    if recent is not None:
        for member in new:
            recent.remember(replace(member, story=assigned[member.doc_id].story))
    fields: list[dict[str, Any]] = []
    for member in members:
        if member is None:
            fields.append({})
            continue
        story = assigned[member.doc_id]
        origin = story.origin
        fields.append(
            {
                "story": story.story,
                "story_bands": list(member.signature.bands),
                "story_minhash": list(member.signature.minhash),
                "story_origin": {
                    "source": origin.source,
                    "url": origin.url,
                    "published": origin.published.isoformat() if origin.published else None,
                    "doc_id": origin.doc_id,
                },
                "story_joined": story.existing or story.matched is not None,
            }
        )
    return fields


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
