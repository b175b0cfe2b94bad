"""Downloader middleware: known pages, looked up in page state just before they are requested.

A request whose ``meta["mw_page"]`` names its role ("article", "thread_page") is looked up in the
``<prefix>-pages`` index, batched with the other requests waiting at that moment (one ``mget`` on a
thread of this middleware's own, never on the reactor). Then:

* unknown page: requested as is;
* known and not yet due (:class:`index.pages.RevisitPolicy`): not requested; the request's errback gets
  :class:`KnownFresh` with the stored state (the forum spider continues a thread walk from it);
* known and due: requested conditionally (``If-None-Match`` / ``If-Modified-Since``), the state in
  ``meta["mw_known"]`` for the callback.

If page state cannot be read (the cluster went away mid-crawl), pages are treated as unknown and
fetched in full: more work, nothing missed.

:class:`RedirectLoopMiddleware` fails a redirect back to a URL already in its chain.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urldefrag, urljoin

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer

from crawlers.settings import mediawatch_settings
from crawlers.threads import deferred_from_future, executor
from index.client import make_client
from index.mappings import pages_alias
from index.pages import KnownPage, PageStateReader, RevisitPolicy

log = logging.getLogger(__name__)

BATCH_WINDOW = 0.01  # seconds a lookup waits for others to share its request
BATCH_SIZE = 200


class KnownFresh(IgnoreRequest):
    """The page is known and not due yet; ``known`` is its stored state."""

    def __init__(self, known: KnownPage) -> None:
        super().__init__(f"known page, not due until its revisit interval passes: {known.url}")
        self.known = known


class PageStateMiddleware:
    """See the module docstring."""

    def __init__(self, crawler: Crawler, reader: PageStateReader, policy: RevisitPolicy) -> None:
        self.crawler = crawler
        self.reader = reader
        self.policy = policy
        self.pool = executor("pages")
        self._pending: dict[str, list[defer.Deferred]] = {}
        self._timer: Any = None
        self._warned = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageStateMiddleware:
        mw = mediawatch_settings(crawler.settings)
        reader = PageStateReader(make_client(mw), pages_alias(mw))
        middleware = cls(crawler, reader, RevisitPolicy.from_settings(mw.crawl))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_closed(self) -> None:
        self.pool.shutdown(wait=False)

    async def process_request(self, request: Request) -> None:
        if not request.meta.get("mw_page") or "mw_known" in request.meta:
            return None
        url = request.meta.get("mw_page_url") or request.url
        known = await maybe_deferred_to_future(self._lookup(url))
        request.meta["mw_known"] = known
        if known is None:
            return None
        if self.policy.is_fresh(known):
            raise KnownFresh(known)
        for name, value in known.conditional_headers().items():
            request.headers[name] = value
        request.meta.setdefault("handle_httpstatus_list", []).append(304)
        return None

    def _lookup(self, url: str) -> defer.Deferred:
        waiting: defer.Deferred = defer.Deferred()
        self._pending.setdefault(url, []).append(waiting)
        if len(self._pending) >= BATCH_SIZE:
            self._flush()
        elif self._timer is None:
            from twisted.internet import reactor

            self._timer = reactor.callLater(BATCH_WINDOW, self._flush)
        return waiting

    def _flush(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        batch, self._pending = self._pending, {}
        if not batch:
            return
        self.crawler.stats.inc_value("mediawatch/page_state_lookups")
        found = deferred_from_future(self.pool.submit(self.reader.lookup, list(batch)))
        found.addCallbacks(lambda known: self._deliver(batch, known), lambda failure: self._failed(batch, failure))

    @staticmethod
    def _deliver(batch: dict[str, list[defer.Deferred]], known: dict[str, KnownPage]) -> None:
        for url, waiting in batch.items():
            for d in waiting:
                d.callback(known.get(url))

    def _failed(self, batch: dict[str, list[defer.Deferred]], failure: Any) -> None:
        self.crawler.stats.inc_value("mediawatch/page_state_errors")
        if not self._warned:
            log.warning("page state cannot be read (%s); known pages are fetched in full", failure.getErrorMessage())
            self._warned = True
        self._deliver(batch, {})


class RedirectLoopMiddleware:
    """Fails a redirect that points back at a URL already in its chain (``/a`` -> ``/a``, ``/a`` -> ``/b`` ->
    ``/a``) as ``redirect_refused``. Scrapy's RedirectMiddleware would hand the repeated URL to the
    scheduler, whose duplicate filter drops it without a word: the page would vanish from the run's record.
    Sits just below RedirectMiddleware so it sees the 3xx response first."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        location = response.headers.get(b"Location") if 300 <= response.status < 400 else None
        if not location:
            return response
        target = urldefrag(urljoin(request.url, location.decode("latin-1")))[0]
        chain = {urldefrag(u)[0] for u in (*request.meta.get("redirect_urls", ()), request.url)}
        if target in chain:
            raise IgnoreRequest(f"redirect loop: {request.url} -> {target}")
        return response
