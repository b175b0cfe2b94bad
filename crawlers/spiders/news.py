"""The ``news`` spider: discovers articles through feeds, sitemaps and listing pages; fetches
article pages only, and on a re-crawl skips or conditionally re-asks for what it already has."""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

from crawlers.extract import extract_article
from crawlers.identity import content_hash, doc_id
from crawlers.items import DocumentItem
from crawlers.spiders.base import SourceSpider

ARTICLE_TYPES = ("article", "newsarticle", "reportagenewsarticle", "blogposting")


class NewsSpider(SourceSpider):
    name = "news"
    kind = "news"

    async def start(self) -> AsyncIterator[Any]:
        src = self.source
        for url in src.feeds:
            yield self.entry_request(url, self.parse_feed, priority=20)
        for url in src.sitemaps:
            yield self.entry_request(url, self.parse_sitemap, priority=10)
        for url in [src.home, *src.sections]:
            yield self.entry_request(url, self.parse_listing)

    # -- discovery -------------------------------------------------------------------------
    def parse_feed(self, response: Response) -> Iterator[Any]:
        feed = feedparser.parse(response.body)
        broken = feed.get("bozo") and not isinstance(
            feed.get("bozo_exception"), feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType)
        if broken:  # read as far as it goes; what could be read is used
            self.logger.warning("feed %s is malformed: %s", response.url, feed.get("bozo_exception"))
            self.note_url(response.url, "bad_feed")
        elif not feed.entries:
            self.logger.warning("feed %s has no entries", response.url)
            self.note_url(response.url, "empty_feed")
        self.count("feed_entries", len(feed.entries))
        for entry in self.capped(list(feed.entries), "feed_entries", response.url):
            link = entry.get("link")
            if not link:
                continue
            published = entry.get("published_parsed") or entry.get("updated_parsed")
            hint = datetime.fromtimestamp(calendar.timegm(published), UTC) if published else None
            yield from self.article_request(response.urljoin(link), published_hint=hint)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Sitemaps and sitemap indexes (gzipped too). Bounded: a compressed sitemap inflates to at most
        ``crawl.max_page_bytes``, at most ``crawl.max_sitemaps`` sitemaps are followed per crawl, and at
        most ``crawl.max_links_per_page`` entries are taken from one (the rest counted)."""
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.mw_settings.crawl.max_page_bytes)
            except ValueError:  # scrapy's decompression size guard (a sitemap bomb)
                self.count("sitemap_too_large")
                self.note_url(response.url, "too_large")
                return
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # lxml raises several types on junk
            self.logger.warning("sitemap %s is not valid XML: %s", response.url, exc)
            self.note_url(response.url, "bad_sitemap")
            return
        usable = 0
        capped_noted = False
        for entry in self.capped(list(sitemap), "sitemap_entries", response.url):
            loc = entry.get("loc")
            if not loc or not self.source.allows(loc):
                continue
            usable += 1
            if sitemap.type == "sitemapindex":
                followed = int(self.crawler.stats.get_value("mediawatch/sitemaps_followed", 0))
                if followed >= self.mw_settings.crawl.max_sitemaps:
                    self.count("sitemaps_capped")
                    if not capped_noted:
                        self.note_url(response.url, "sitemaps_capped")
                        capped_noted = True
                    continue
                self.count("sitemaps_followed")
                yield self.request(loc, self.parse_sitemap, priority=10)
            elif self.source.is_article_url(loc) or not self.source.article_patterns:
                yield from self.article_request(loc)
        if not usable:  # nothing in it this source can use (or XML so broken nothing could be read)
            self.note_url(response.url, "empty_sitemap")

    def parse_listing(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        patterns = self.source.article_patterns
        if not patterns and self.looks_like_article(response):
            yield from self.parse_article(response)
        # Domain filtering by the source (LinkExtractor's allow_domains compares host:port).
        for link in self.capped(LinkExtractor(unique=True).extract_links(response), "links", response.url):
            url = link.url
            if not self.source.allows(url):
                continue
            if self.source.is_article_url(url):
                yield from self.article_request(url)
            elif self.source.is_followable(url) or (not patterns and response.meta.get("depth", 0) < 2):
                yield self.request(url, self.parse_listing)

    @staticmethod
    def looks_like_article(response: TextResponse) -> bool:
        """Article structure without a URL pattern: og:type article, schema.org Article, <article>."""
        og_type = (response.css('meta[property="og:type"]::attr(content)').get() or "").lower()
        if og_type == "article":
            return True
        ld = " ".join(response.css('script[type="application/ld+json"]::text').getall()).lower()
        if any(f'"@type": "{t}"' in ld or f'"@type":"{t}"' in ld for t in ARTICLE_TYPES):
            return True
        return bool(response.css("article h1")) and len(response.css("article p")) >= 3

    def article_request(self, url: str, published_hint: datetime | None = None) -> Iterator[Request]:
        """A request for an article page (skipped when known and not due; conditional when due)."""
        if self.source.allows(url):
            request = self.page_request(url, self.parse_article, "article", mw_published_hint=published_hint)
            if request is not None:
                yield request

    # -- articles --------------------------------------------------------------------------
    def parse_article(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            yield self.not_modified(response, "article")
            return
        src = self.source
        article = extract_article(
            response.body,
            url=response.url,
            content_type=(response.headers.get("Content-Type") or b"").decode("latin-1") or None,
            selectors=src.selectors or None,
            timezone=self.timezone,
            language_hint=src.language,
        )
        if not article.text.strip():
            self.count("empty_text")
            self.note_url(response.url, "no_text")
            self.logger.warning("no article text found at %s", response.url)
            yield self.page(self.page_state(response, "article", content_hash=None))
            return
        url = self.choose_url(response.url, article.canonical_url)
        fingerprint = content_hash(article.text)
        identity = doc_id(url)
        known = response.meta.get("mw_known")
        state = self.page_state(response, "article", content_hash=fingerprint, doc_ids=[identity])
        if known is not None and known.content_hash == fingerprint:
            self.count("unchanged")
            yield self.page(state)
            return
        published = article.published or response.meta.get("mw_published_hint")
        date_source = article.date_source if article.published else ("feed" if published else None)
        if published is None:
            self.count("no_date")
        document = DocumentItem(
            id=identity,
            url=url,
            source=src.id,
            source_name=src.name,
            kind="news",
            title=article.title or "",
            text=article.text,
            content_hash=fingerprint,
            language=article.language,
            canonical_url=article.canonical_url,
            published=published,
            updated=article.updated,
            author=article.author,
            section=article.section,
            description=article.description,
            date_source=date_source,
            encoding=article.encoding,
        )
        yield self.page(state, [document])

    def choose_url(self, fetched: str, declared: str | None) -> str:
        """The article's identity URL: its rel=canonical when that stays on this source's site
        (a cross-site canonical on a syndicated copy must not overwrite the original), else
        the URL it was served from."""
        if declared and self.source.allows(declared):
            return self.canonical(declared)
        return self.canonical(fetched)
