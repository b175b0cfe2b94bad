"""Page state: what the crawler remembers of every page it fetched, and when to fetch it again.

State lives in the ``<prefix>-pages`` index, one document per page keyed by the SHA-1 of its canonical
URL. The crawler never loads a source's whole state: :class:`PageStateReader` looks up the pages it is
about to request, a batch at a time (one ``mget``), so memory does not grow with the number of known
pages.

Revisit policy (:class:`RevisitPolicy`, adaptive per page): a page seen for the first time is due again
after ``crawl.revisit_after_hours``. Each later fetch that finds it *changed* (new content fingerprint)
halves its interval; each that finds it *unchanged* (HTTP 304, or the same fingerprint) doubles it. The
interval always stays within ``[crawl.revisit_min_hours, crawl.revisit_max_hours]`` — bounds applied
again when the state is read, so lowering ``revisit_max_hours`` makes known pages due sooner (0: every
known page is due, and is asked for conditionally). News articles and forum thread pages follow the
same rules: a thread's last page, where replies land, shortens its own interval as it keeps changing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

HOUR = 3600.0


def page_id(url: str) -> str:
    """Id of a page's state document: SHA-1 of its canonical URL (as for documents)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KnownPage:
    """The stored state of one page."""

    url: str
    etag: str | None
    last_modified: str | None
    next_url: str | None
    content_hash: str | None
    doc_ids: tuple[str, ...]
    fetched_at: datetime
    changed_at: datetime | None = None
    revisit_seconds: float | None = None

    @classmethod
    def from_source(cls, src: dict[str, Any]) -> KnownPage:
        return cls(
            url=src["url"],
            etag=src.get("etag"),
            last_modified=src.get("last_modified"),
            next_url=src.get("next_url"),
            content_hash=src.get("content_hash"),
            doc_ids=tuple(src.get("doc_ids") or ()),
            fetched_at=_time(src["fetched_at"]),
            changed_at=_time(src["changed_at"]) if src.get("changed_at") else None,
            revisit_seconds=src.get("revisit_seconds"),
        )

    def conditional_headers(self) -> dict[str, str]:
        """Validators for a conditional GET (304 when unchanged)."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def _time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RevisitPolicy:
    """When a known page is due again (see the module docstring)."""

    initial_hours: float = 24.0
    min_hours: float = 1.0
    max_hours: float = 24.0 * 14

    @classmethod
    def from_settings(cls, crawl: Any) -> RevisitPolicy:
        return cls(crawl.revisit_after_hours, crawl.revisit_min_hours, crawl.revisit_max_hours)

    def _bounded(self, seconds: float) -> float:
        low, high = self.min_hours * HOUR, self.max_hours * HOUR
        return max(min(seconds, high), min(low, high))

    def interval(self, page: KnownPage) -> float:
        """Seconds after ``page.fetched_at`` at which it is due (stored interval, bounds applied)."""
        stored = page.revisit_seconds if page.revisit_seconds is not None else self.initial_hours * HOUR
        return self._bounded(stored)

    def is_fresh(self, page: KnownPage | None, now: datetime | None = None) -> bool:
        """True when ``page`` need not be asked for yet."""
        if page is None:
            return False
        now = now or datetime.now(UTC)
        return now < page.fetched_at + timedelta(seconds=self.interval(page))

    def next_interval(self, known: KnownPage | None, changed: bool) -> float:
        """The interval to store after a fetch: initial for a new page, halved if changed, doubled if not."""
        if known is None:
            return self._bounded(self.initial_hours * HOUR)
        current = self.interval(known)
        return self._bounded(current / 2 if changed else current * 2)


class PageStateReader:
    """Looks up stored page state by URL, many at a time (``mget`` on the pages alias)."""

    FIELDS = ["url", "etag", "last_modified", "next_url", "content_hash", "doc_ids", "fetched_at", "changed_at",
              "revisit_seconds"]

    def __init__(self, client: Elasticsearch, pages_index: str) -> None:
        self.client = client
        self.index = pages_index

    def lookup(self, urls: Sequence[str]) -> dict[str, KnownPage]:
        """State of those of ``urls`` that are known, by URL. One request per call."""
        unique = list(dict.fromkeys(urls))
        if not unique:
            return {}
        resp = self.client.mget(index=self.index, ids=[page_id(u) for u in unique], source=self.FIELDS)
        found: dict[str, KnownPage] = {}
        for url, doc in zip(unique, resp["docs"], strict=True):
            if doc.get("found") and doc.get("_source", {}).get("url") == url:
                found[url] = KnownPage.from_source(doc["_source"])
        return found

    def lookup_many(self, urls: Iterable[str], *, batch: int = 500) -> dict[str, KnownPage]:
        """:meth:`lookup` over any number of URLs, ``batch`` per request."""
        found: dict[str, KnownPage] = {}
        chunk: list[str] = []
        for url in urls:
            chunk.append(url)
            if len(chunk) >= batch:
                found.update(self.lookup(chunk))
                chunk = []
        if chunk:
            found.update(self.lookup(chunk))
        return found
