"""Tag stored documents: those never tagged, or tagged by other model versions (``force``: all).

Resumable by construction: each batch is written before the next is read, and a run selects only
documents whose recorded model versions differ from the current ones (``models.places`` included: the
gazetteer's version, :func:`enrich.places.places_version`). The reading and writing go through
``index/``; the tagging, places and story grouping are ``enrich/``'s pure functions. Place names several
provinces share are resolved with each source's home province from the source registry (the file and the sources
added in the web app).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from elasticsearch import Elasticsearch

from enrich.places import find_places, places_version
from enrich.stories import RecentStories, member_from_stored
from enrich.tagger import Tagger, story_bands, story_fields, story_members, tag_documents
from index.corrections import apply_corrections, latest_corrections
from index.documents import count, scan, stale_query, update_fields
from index.mappings import docs_alias
from index.stories import StoredStories
from mediawatch.config import Settings

log = logging.getLogger(__name__)
SOURCE_FIELDS = ["id", "title", "text", "language", "kind", "published", "source", "url", "story"]


def source_provinces(settings: Settings, client: Elasticsearch | None = None) -> dict[str, str]:
    """Source id -> home province code, from the registry (sources.yaml and the sources added in the web app;
    the file alone, with ``load_registry``'s warning, when Elasticsearch cannot be reached; {} when neither can be
    read: places are then found without a home province)."""
    from crawlers.sources import load_registry
    from mediawatch.errors import UserError

    try:
        registry = load_registry(settings, client, file_if_unreachable=True)
    except UserError as exc:
        log.warning("places are resolved without home provinces: %s", exc)
        return {}
    return {s.id: s.province for s in registry if s.province}


def backfill(
    client: Elasticsearch,
    settings: Settings,
    tagger: Tagger,
    *,
    force: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    provinces: dict[str, str] | None = None,
) -> int:
    """Tag every stale document; returns how many were updated. ``provinces``: source id -> home province
    (default: :func:`source_provinces`)."""
    index = docs_alias(settings)
    query = stale_query({**tagger.versions, "places": places_version()}, force=force)
    total = count(client, index, query)
    if on_total:
        on_total(total)
    if total == 0:
        return 0
    stored = StoredStories(client, index)
    recent = RecentStories()
    homes = source_provinces(settings, client) if provinces is None else provinces
    size = settings.enrich.batch_size
    batch: list[dict[str, Any]] = []
    updated = 0
    joined: set[str] = set()
    for doc in scan(client, index, query, SOURCE_FIELDS, size=size * 4):
        batch.append(doc)
        if len(batch) >= size:
            updated += _write(client, settings, tagger, stored, recent, batch, joined, homes)
            if on_batch:
                on_batch(len(batch))
            batch = []
    if batch:
        updated += _write(client, settings, tagger, stored, recent, batch, joined, homes)
        if on_batch:
            on_batch(len(batch))
    stored.reconcile_origins(joined)
    return updated


def _write(
    client: Elasticsearch, settings: Settings, tagger: Tagger, stored: StoredStories, recent: RecentStories,
    docs: list[dict[str, Any]], joined: set[str], homes: dict[str, str],
) -> int:
    """Tag one batch and find its places; documents without a story yet are grouped (those with one keep it).
    People's stored corrections win over the models' tags (kept in ``model_tags``)."""
    updates = tag_documents(docs, tagger)
    ids = [d["id"] for d in docs]
    apply_corrections(updates, ids, latest_corrections(client, settings, ids))
    version = places_version()
    for doc, update in zip(docs, updates, strict=True):
        update["places"] = find_places(doc.get("title"), doc.get("text"), home=homes.get(doc.get("source") or ""))
        update["models"] = {**update["models"], "places": version}
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
