"""Item pipelines: documents and page state go to Elasticsearch in bulk batches."""

from __future__ import annotations

from typing import Any

from crawlers.items import DocumentItem, PageStateItem
from crawlers.spiders.base import SourceSpider


class ElasticsearchPipeline:
    """Buffers items in the spider's CrawlStore; flushes a batch when full and at close."""

    def process_item(self, item: Any, spider: SourceSpider) -> Any:
        if isinstance(item, DocumentItem):
            spider.store.write_document(item)
            spider.count("documents")
        elif isinstance(item, PageStateItem):
            spider.store.write_page(item)
        return item

    def close_spider(self, spider: SourceSpider) -> None:
        spider.store.close()
        stats = spider.crawler.stats
        for key, value in spider.store.writer.stats.as_dict().items():
            stats.set_value(f"mediawatch/es_{key}", value)
