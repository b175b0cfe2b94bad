"""Stories in the index: stored members found by shared LSH band keys, and each story's earliest publisher.

Story grouping itself is pure (``enrich.stories``, ``enrich.tagger.story_fields``); this module is its
door to Elasticsearch: one ``terms`` search per batch for candidates (returned as stored, for
``enrich.stories.member_from_stored``), and scan + bulk to record origins (the local node has no
update-by-query).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from elasticsearch import Elasticsearch, helpers

MAX_CANDIDATES = 2000


class StoredStories:
    """Story members stored in the docs index."""

    FIELDS = ["id", "url", "source", "published", "story", "story_minhash", "story_bands", "story_origin"]

    def __init__(self, client: Elasticsearch, docs_index: str) -> None:
        self.client = client
        self.index = docs_index

    def candidates(self, bands: Sequence[str]) -> list[dict[str, Any]]:
        """Stored members sharing at least one of ``bands`` (one request for a whole batch's bands):
        each member's stored story fields plus ``doc_id``."""
        if not bands:
            return []
        resp = self.client.search(
            index=self.index, size=MAX_CANDIDATES, query={"terms": {"story_bands": list(bands)}}, source=self.FIELDS
        )
        return [
            {**hit["_source"], "doc_id": hit["_id"]}
            for hit in resp["hits"]["hits"]
            if hit["_source"].get("story") and hit["_source"].get("story_minhash")
        ]

    def reconcile_origins(self, stories: Iterable[str]) -> int:
        """Set ``story_origin`` on every member of ``stories`` to the story's earliest-published member.
        Returns the number of documents whose origin changed."""
        wanted = sorted(set(stories))
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
