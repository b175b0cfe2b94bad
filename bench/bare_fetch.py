"""The ceiling: a bare Scrapy spider that only fetches a list of URLs (no parsing, no items).

    python -m bench.bare_fetch URLS.txt OUT.json [--concurrency 16]

Each line of URLS.txt is fetched once, in order, as listed (duplicates too: the list is what a crawl
requested, retries included), redirects not followed (the list holds every hop), every status accepted.
Scrapy's defaults otherwise, with ``--concurrency`` requests in flight (a mediawatch crawl of the two test
sources runs 8 per source). OUT.json: responses, bytes, the spider's own span (opened to closed), the
process's CPU seconds (all, and from the spider's start) and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess


class BareFetch(scrapy.Spider):
    name = "bare_fetch"

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.responses = 0
        self.bytes = 0
        self.opened = self.closed_at = 0.0
        self.cpu_opened = 0.0

    async def start(self) -> Any:
        self.opened = time.time()
        self.cpu_opened = cpu_seconds()
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=True,
                                 meta={"dont_redirect": True, "handle_httpstatus_all": True})

    def parse(self, response: scrapy.http.Response) -> None:
        self.responses += 1
        self.bytes += len(response.body)

    def closed(self, reason: str) -> None:
        self.closed_at = time.time()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls")
    parser.add_argument("out")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with open(args.urls, encoding="utf-8") as handle:
        urls = [line.strip() for line in handle if line.strip()]
    process = CrawlerProcess({
        "LOG_LEVEL": "WARNING",
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "RETRY_ENABLED": False,
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_MAXSIZE": 8 * 1024 * 1024,
        "DOWNLOAD_WARNSIZE": 0,
    })
    crawler = process.create_crawler(BareFetch)
    process.crawl(crawler, urls=urls)
    process.start()
    spider = crawler.spider
    cpu = cpu_seconds()
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"requested": len(urls), "responses": spider.responses, "bytes": spider.bytes,
                   "span": spider.closed_at - spider.opened, "cpu": cpu, "crawl_cpu": cpu - spider.cpu_opened,
                   "peak_rss_mb": peak_rss_mb()}, handle)


if __name__ == "__main__":
    main()
