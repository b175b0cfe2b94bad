"""Tag stored documents: those never tagged, or tagged by other model versions (``force``: all).

Resumable by construction: each batch is written before the next is read, and a run selects only
documents whose recorded model versions differ from the current ones. The reading and writing go
through ``index/``; the tagging and story grouping are ``enrich/``'s pure functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elasticsearch import Elasticsearch

from enrich.stories import RecentStories, member_from_stored
from enrich.tagger import Tagger, story_bands, story_fields, story_members, tag_documents
from index.documents import count, scan, stale_query, update_fields
from index.mappings import docs_alias
from index.stories import StoredStories
from mediawatch.config import Settings

SOURCE_FIELDS = ["id", "title", "text", "language", "kind", "published", "source", "url", "story"]


def backfill(
    client: Elasticsearch,
    settings: Settings,
    tagger: Tagger,
    *,
    force: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Tag every stale document; returns how many were updated."""
    index = docs_alias(settings)
    query = stale_query(tagger.versions, force=force)
    total = count(client, index, query)
    if on_total:
        on_total(total)
    if total == 0:
        return 0
    stored = StoredStories(client, index)
    recent = RecentStories()
    size = settings.enrich.batch_size
    batch: list[dict[str, Any]] = []
    updated = 0
    joined: set[str] = set()
    for doc in scan(client, index, query, SOURCE_FIELDS, size=size * 4):
        batch.append(doc)
        if len(batch) >= size:
            updated += _write(client, settings, tagger, stored, recent, batch, joined)
            if on_batch:
                on_batch(len(batch))
            batch = []
    if batch:
        updated += _write(client, settings, tagger, stored, recent, batch, joined)
        if on_batch:
            on_batch(len(batch))
    stored.reconcile_origins(joined)
    return updated


def _write(
    client: Elasticsearch, settings: Settings, tagger: Tagger, stored: StoredStories, recent: RecentStories,
    docs: list[dict[str, Any]], joined: set[str],
) -> int:
    """Tag one batch; documents without a story yet are grouped (those with one keep it)."""
    updates = tag_documents(docs, tagger)
    ungrouped = [i for i, d in enumerate(docs) if not d.get("story")]
    if ungrouped:
        members = story_members([docs[i] for i in ungrouped])
        candidates = [member_from_stored(s) for s in stored.candidates(story_bands(members))]
        fields = story_fields(members, candidates, threshold=settings.enrich.story_threshold, recent=recent)
        for i, story in zip(ungrouped, fields, strict=True):
            if story.pop("story_joined", False):
                joined.add(story["story"])
            updates[i].update(story)
    changes = [(d["_index"], d["id"], u) for d, u in zip(docs, updates, strict=True)]
    return update_fields(client, changes, refresh_index=docs_alias(settings))
