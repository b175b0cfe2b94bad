"""Index layout: versioned index templates behind aliases, explicit mappings, diacritic-aware fields.

Each logical index (``docs``, ``pages``) is an alias ``<prefix>-<name>`` over a concrete index
``<prefix>-<name>-v<N>`` created from a composable template of the same version. Raising a
spec's ``version`` makes :func:`ensure_indices` create the new index, reindex the old one into
it (client-side scan + bulk) and swap the alias atomically; the old index is kept until someone deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from mediawatch.config import Settings

# The integration-test distribution ships no analysis-common module (no asciifolding), so
# diacritic-insensitive search uses sibling fields: `title` keeps diacritics (lũ ≠ lu) and
# `title_folded` holds Python-folded text (index.folding.fold: "lũ lụt" -> "lu lut"). Both use the
# core `standard` analyzer; queries search both, so exact-diacritic matches score higher.
TEXT = {"type": "text", "analyzer": "standard"}


def _text(name: str) -> dict[str, Any]:
    """A full-text field and its folded sibling."""
    return {name: TEXT, f"{name}_folded": TEXT}


KEYWORD = {"type": "keyword"}
DATE = {"type": "date"}

DOC_PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,
    "url": KEYWORD,
    "canonical_url": KEYWORD,
    "source": KEYWORD,
    "source_name": KEYWORD,
    "kind": KEYWORD,
    **_text("title"),
    **_text("text"),
    **_text("description"),
    "author": KEYWORD,
    "section": KEYWORD,
    "language": KEYWORD,
    "published": DATE,
    "updated": DATE,
    "date_source": KEYWORD,
    "crawled_at": DATE,
    "first_seen": DATE,
    "changed_at": DATE,
    "content_hash": KEYWORD,
    "word_count": {"type": "integer"},
    "encoding": KEYWORD,
    "thread": {
        "properties": {
            "url": KEYWORD,
            **_text("title"),
            "post_id": KEYWORD,
            "position": {"type": "integer"},
            "page_url": KEYWORD,
        }
    },
}

# v2: enrichment (topic, sentiment, stories, model versions).
# v3: author and section are full-text fields with folded siblings (``author:nguyen`` finds
#     "Nguyễn Văn A"); ``section.keyword`` keeps the exact value for facets.
DOC_PROPERTIES.update(
    {
        "topic": KEYWORD,
        "topics": {"properties": {"label": KEYWORD, "score": {"type": "float"}}},
        "sentiment": {"properties": {"label": KEYWORD, "score": {"type": "float"}}},
        "story": KEYWORD,
        "story_bands": KEYWORD,
        "story_minhash": {"type": "long", "index": False, "doc_values": False},
        "story_origin": {"properties": {"source": KEYWORD, "url": KEYWORD, "published": DATE, "doc_id": KEYWORD}},
        "models": {"properties": {"topic": KEYWORD, "sentiment": KEYWORD}},
        "enriched_at": DATE,
    }
)
DOC_PROPERTIES.update(
    {
        **_text("author"),
        "section": {**TEXT, "fields": {"keyword": KEYWORD}},
        "section_folded": TEXT,
    }
)

PAGE_PROPERTIES: dict[str, Any] = {
    "url": KEYWORD,
    "source": KEYWORD,
    "role": KEYWORD,  # article | thread_page
    "status": {"type": "short"},
    "etag": {"type": "keyword", "index": False},
    "last_modified": {"type": "keyword", "index": False},
    "next_url": {"type": "keyword", "index": False},
    "content_hash": KEYWORD,
    "doc_ids": KEYWORD,
    "fetched_at": DATE,
    # v2: adaptive revisits (index.pages.RevisitPolicy).
    "changed_at": DATE,
    "revisit_seconds": {"type": "float", "index": False},
}


@dataclass(frozen=True)
class IndexSpec:
    name: str
    version: int
    properties: dict[str, Any]

    def alias(self, prefix: str) -> str:
        return f"{prefix}-{self.name}"

    def concrete(self, prefix: str, version: int | None = None) -> str:
        return f"{prefix}-{self.name}-v{version or self.version}"

    def template_body(self, settings: Settings) -> dict[str, Any]:
        return {
            "index_patterns": [f"{settings.index.prefix}-{self.name}-v*"],
            "version": self.version,
            "priority": 100,
            "_meta": {"managed_by": "mediawatch", "schema_version": self.version},
            "template": {
                "settings": {
                    "number_of_shards": settings.index.shards,
                    "number_of_replicas": settings.index.replicas,
                },
                "mappings": {
                    "dynamic": "strict",
                    "_meta": {"schema_version": self.version},
                    "properties": self.properties,
                },
            },
        }


DOCS = IndexSpec("docs", 3, DOC_PROPERTIES)
PAGES = IndexSpec("pages", 2, PAGE_PROPERTIES)
ALL_SPECS = (DOCS, PAGES)


def docs_alias(settings: Settings) -> str:
    return DOCS.alias(settings.index.prefix)


def pages_alias(settings: Settings) -> str:
    return PAGES.alias(settings.index.prefix)


def copy_index(client: Elasticsearch, source: str, target: str, *, chunk_size: int = 500) -> int:
    """Copy every document (scan + bulk, client-side: the local node has no reindex module, and
    ``helpers.reindex`` probes x-pack data-stream APIs it lacks). Returns the number copied."""
    actions = (
        {"_index": target, "_id": hit["_id"], "_source": hit["_source"]}
        for hit in helpers.scan(client, index=source, query={"query": {"match_all": {}}}, size=chunk_size)
    )
    copied, _ = helpers.bulk(client, actions, chunk_size=chunk_size)
    return copied


def ensure_indices(client: Elasticsearch, settings: Settings, specs=ALL_SPECS) -> dict[str, str]:
    """Create or migrate every index so each alias points at its spec's version. Idempotent.

    Returns alias -> action taken ("exists", "created" or "migrated from vN").
    """
    prefix = settings.index.prefix
    actions: dict[str, str] = {}
    for spec in specs:
        alias, target = spec.alias(prefix), spec.concrete(prefix)
        client.indices.put_index_template(name=alias, **spec.template_body(settings))
        try:
            current = list(client.indices.get_alias(name=alias).keys())
        except NotFoundError:
            current = []
        if current == [target]:
            actions[alias] = "exists"
            continue
        if not client.indices.exists(index=target):
            client.indices.create(index=target)
        if not current:
            client.indices.put_alias(index=target, name=alias)
            actions[alias] = "created"
            continue
        for old in current:
            copy_index(client, old, target)
        client.indices.refresh(index=target)
        client.indices.update_aliases(
            actions=[{"remove": {"index": old, "alias": alias}} for old in current]
            + [{"add": {"index": target, "alias": alias}}]
        )
        actions[alias] = "migrated from " + ", ".join(current)
    return actions
