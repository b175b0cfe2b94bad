"""What happened to each request, and how healthy a run was: counted in the run's statistics.

Every request the spiders make carries :func:`fetch_failed` as its errback (the final outcome, after
Scrapy's retries), which counts the reason under ``mediawatch/fetch/<reason>``:

=====================  ====================================================================
reason                 cause
=====================  ====================================================================
``dns``                the host name does not resolve
``refused``            connection refused
``timeout``            connect or download timeout (``crawl.timeout``)
``connection_lost``    the server closed the connection mid-response
``too_large``          cancelled: the body (or its decompressed form) is larger than ``crawl.max_page_bytes``
``cancelled``          the download was cancelled otherwise (the crawl was stopping)
``known``              a known page not due yet: skipped without a request (not a failure)
``redirect_refused``   too many redirects, or a redirect leaving ``allowed_domains``
``offsite``            a link leaving ``allowed_domains`` (not a failure)
``private_address``    refused by the SSRF guard: a loopback, private or link-local address (not fetched)
``robots``             refused by robots.txt (not a failure)
``http_<code>``        an HTTP error status (404, 500, ...)
``bad_url``            a link that is not a usable http(s) URL
``other``              anything else (the log says what)
=====================  ====================================================================

Health (:func:`assess`), from those counts and the writer's:

* ``failed``: no page of the source could be fetched (every entry point — home, feeds, sitemaps,
  sections — failed), or the crawl stopped on its own (the spool is full, an error);
* ``degraded``: the run finished, but Elasticsearch rejected documents, writes were spooled, tagging or
  the spider failed on some pages, or failed fetches (network errors, HTTP 5xx, refused redirects,
  oversized pages) exceed ``crawl.max_error_share`` of requests;
* ``interrupted``: stopped by the user (Ctrl-C, SIGTERM);
* ``ok``: otherwise. A stop at the source's ``max_pages`` is a normal end; so are a site's occasional
  404s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import defer
from twisted.internet import error as net
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

FETCH = "mediawatch/fetch/"
NOT_FAILURES = {"robots", "offsite", "known", "cancelled"}
NORMAL_ENDS = {"finished", "closespider_pagecount", "closespider_itemcount"}
INTERRUPTED = {"shutdown", "interrupted"}


def classify(failure: Failure) -> str:
    """The reason a request failed (see the module table)."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(IgnoreRequest):
        text = str(failure.value).lower()
        if "refused private address" in text:
            return "private_address"
        if "download_maxsize" in text or "larger than" in text:  # a decompression bomb, cut off
            return "too_large"
        if "robots.txt" in text:
            return "robots"
        if "known page" in text:
            return "known"
        if "redirect" in text:
            return "redirect_refused"
        if "offsite" in text:
            return "offsite"
        return "other"
    if failure.check(CannotResolveHostError, net.DNSLookupError):
        from urllib.parse import urlsplit

        from crawlers.netguard import REFUSED

        request = getattr(failure, "request", None)
        host = urlsplit(request.url).hostname if request is not None else None
        return "private_address" if host and host in REFUSED else "dns"
    if failure.check(DownloadConnectionRefusedError, net.ConnectionRefusedError):
        return "refused"
    if failure.check(DownloadTimeoutError, net.TimeoutError, net.TCPTimedOutError):
        return "timeout"
    if failure.check(DownloadCancelledError, defer.CancelledError):
        return "too_large" if "larger than" in str(failure.value).lower() else "cancelled"
    if failure.check(DownloadFailedError, ResponseDataLossError, ResponseNeverReceived, ResponseFailed,
                     net.ConnectionLost, net.ConnectionDone):
        return "connection_lost"
    if failure.check(UnsupportedURLSchemeError):
        return "bad_url"
    return "other"


def failures(stats: dict[str, Any]) -> dict[str, int]:
    """``reason -> count`` of this run's fetch outcomes (refusals included)."""
    return {k.removeprefix(FETCH): int(v) for k, v in stats.items() if k.startswith(FETCH)}


@dataclass
class Assessment:
    health: str
    problems: list[str] = field(default_factory=list)


def assess(stats: dict[str, Any], *, max_error_share: float) -> Assessment:
    """The run's health and, when not ok, why (see the module docstring)."""
    reason = str(stats.get("finish_reason", "unknown"))
    counts = failures(stats)
    problems: list[str] = []
    if reason in INTERRUPTED:
        return Assessment("interrupted", [f"stopped by the user ({reason})"])
    if stats.get("mediawatch/writer_failure"):
        problems.append(str(stats["mediawatch/writer_failure"]))
    if reason not in NORMAL_ENDS and not problems:
        problems.append(f"the crawl stopped early ({reason})")
    entry_ok, entry_failed = int(stats.get("mediawatch/entry_ok", 0)), int(stats.get("mediawatch/entry_failed", 0))
    if entry_failed and not entry_ok:
        worst = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k not in NOT_FAILURES)
        problems.append(f"the site could not be fetched ({worst or 'no response'})")
    if problems:
        return Assessment("failed", problems)
    rejected = int(stats.get("mediawatch/es_rejected", 0))
    if rejected:
        problems.append(f"{rejected} documents rejected by Elasticsearch (their pages are fetched again next time)")
    spooled = int(stats.get("mediawatch/es_spooled", 0))
    unreplayed = int(stats.get("mediawatch/es_unreplayed", spooled))
    if unreplayed:
        problems.append(f"{unreplayed} writes spooled (Elasticsearch unavailable; replayed by the next crawl)")
    elif spooled:
        problems.append(f"Elasticsearch was unavailable for a while: {spooled} writes spooled, all written "
                        "before the crawl ended")
    for key, label in (("spider_exceptions/count", "pages failed in the spider"),
                       ("mediawatch/enrich_errors", "documents could not be tagged")):
        if stats.get(key):
            problems.append(f"{stats[key]} {label}")
    serious = sum(v for k, v in counts.items() if k not in NOT_FAILURES and not _client_error(k))
    requests = int(stats.get("downloader/request_count", 0))
    if serious and serious > max_error_share * max(requests, 1):
        problems.append(f"{serious} of {requests} requests failed")
    return Assessment("degraded" if problems else "ok", problems)


def _client_error(reason: str) -> bool:
    """A site's 4xx answers (gone or missing pages) are its own business, not a crawl failure."""
    return reason.startswith("http_4")

