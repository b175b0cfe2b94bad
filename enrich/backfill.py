"""Tag stored documents: those never tagged, or tagged by other model versions (``force``: all).

Resumable by construction: each batch is written before the next is read, and a run selects only
documents whose recorded model versions differ from the current ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elasticsearch import Elasticsearch, helpers

from enrich.tagger import StoryIndex, Tagger, enrich_documents
from index.mappings import docs_alias
from mediawatch.config import Settings

SOURCE_FIELDS = ["id", "title", "text", "language", "kind", "published", "source", "url", "story"]


def stale_query(versions: dict[str, str], *, force: bool = False) -> dict[str, Any]:
    """Documents whose topic or sentiment tags are missing or from another model version."""
    if force:
        return {"match_all": {}}
    return {
        "bool": {
            "should": [
                {"bool": {"must_not": {"term": {f"models.{task}": version}}}} for task, version in versions.items()
            ],
            "minimum_should_match": 1,
        }
    }


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
    total = client.count(index=index, query=query)["count"]
    if on_total:
        on_total(total)
    if total == 0:
        return 0
    stories = StoryIndex(client, index)
    size = settings.enrich.batch_size
    batch: list[dict[str, Any]] = []
    updated = 0
    for hit in helpers.scan(client, index=index, query={"query": query, "_source": SOURCE_FIELDS}, size=size * 4):
        batch.append({**hit["_source"], "id": hit["_id"], "_index": hit["_index"]})
        if len(batch) >= size:
            updated += _write(client, settings, tagger, stories, batch)
            if on_batch:
                on_batch(len(batch))
            batch = []
    if batch:
        updated += _write(client, settings, tagger, stories, batch)
        if on_batch:
            on_batch(len(batch))
    stories.reconcile_origins()
    return updated


def _write(client: Elasticsearch, settings: Settings, tagger: Tagger, stories: StoryIndex, docs: list[dict]) -> int:
    threshold = settings.enrich.story_threshold
    grouped = [d for d in docs if d.get("story")]
    ungrouped = [d for d in docs if not d.get("story")]
    updates = {}
    for subset, story_index in ((grouped, None), (ungrouped, stories)):
        if subset:
            for doc, update in zip(
                subset, enrich_documents(subset, tagger, story_index, story_threshold=threshold), strict=True
            ):
                updates[doc["id"]] = (doc["_index"], update)
    actions = (
        {"_op_type": "update", "_index": idx, "_id": doc_id, "doc": update} for doc_id, (idx, update) in updates.items()
    )
    ok, _ = helpers.bulk(client, actions, raise_on_error=False)
    client.indices.refresh(index=docs_alias(settings))  # the next batch's stories see this one's
    return ok
