"""Item pipelines: documents and page state go to Elasticsearch in bulk batches."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawlers.items import DocumentItem, PageStateItem


class ElasticsearchPipeline:
    """Buffers items in the spider's CrawlStore; flushes a batch when full and at close."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ElasticsearchPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        store = self.crawler.spider.store
        if isinstance(item, DocumentItem):
            store.write_document(item)
            self.crawler.stats.inc_value("mediawatch/documents")
        elif isinstance(item, PageStateItem):
            store.write_page(item)
        return item

    def close_spider(self) -> None:
        store = self.crawler.spider.store
        store.close()
        for key, value in store.writer.stats.as_dict().items():
            self.crawler.stats.set_value(f"mediawatch/es_{key}", value)
