"""news-please's own single-site crawler, timed: run with the news-please virtualenv's Python (not ours).

    .cache/bench/newsplease-venv/bin/python bench/newsplease_run.py CONFIG.cfg SITELIST.hjson OUT.json

``newsplease.single_crawler.SingleCrawler`` is what ``news-please`` starts for each site of its sitelist
(the launcher adds a process manager and an interactive prompt, nothing that crawls). This script runs it for
site 0, keeps a reference to its Scrapy crawler and writes to OUT.json the crawler's stats (start and finish
time: the crawl's own span), the process's CPU seconds (all, and from the crawl's start) and peak RSS. It
imports nothing from mediawatch: it runs in another environment.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    config, sitelist, out = sys.argv[1:4]
    started = time.time()
    from newsplease.single_crawler import SingleCrawler

    held = {}
    load_crawler = SingleCrawler.load_crawler

    def keep(self, *args, **kwargs):  # the crawler object, for its stats after the run
        load_crawler(self, *args, **kwargs)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        held["cpu_before"] = usage.ru_utime + usage.ru_stime  # imports and set-up done; the crawl starts next
        held["crawler"] = next(iter(self.process.crawlers))
        held["class"] = held["crawler"].spidercls.__name__

    SingleCrawler.load_crawler = keep
    # news-please's allowed domain keeps the port ("127.0.0.1:8765"), which Scrapy's offsite filter ignores with
    # a warning, leaving no allowed domain: nothing past the first request would be crawled. Real sites are on
    # the default ports; for the loopback site the port is dropped (host only, as Scrapy expects).
    from newsplease.helper_classes.url_extractor import UrlExtractor

    allowed_domain = UrlExtractor.get_allowed_domain

    def without_port(url: str, allow_subdomains: bool = True) -> str:
        domain = allowed_domain(url, allow_subdomains)
        return domain.rsplit(":", 1)[0] if re.fullmatch(r".+:\d+", domain) else domain

    UrlExtractor.get_allowed_domain = staticmethod(without_port)
    SingleCrawler(config, sitelist, 0, False, False)
    stats = held["crawler"].stats.get_stats()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    span = None
    if stats.get("start_time") and stats.get("finish_time"):
        span = (stats["finish_time"] - stats["start_time"]).total_seconds()
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"crawler": held.get("class"), "span": span, "wall": time.time() - started,
                   "cpu": usage.ru_utime + usage.ru_stime,
                   "crawl_cpu": usage.ru_utime + usage.ru_stime - held["cpu_before"], "peak_rss_mb": peak_rss_mb(),
                   "responses": stats.get("response_received_count", 0), "items": stats.get("item_scraped_count", 0),
                   "dropped": stats.get("item_dropped_count", 0), "finish_reason": stats.get("finish_reason"),
                   "stats": {k: v for k, v in stats.items() if isinstance(v, (int, float, str))}}, handle)


if __name__ == "__main__":
    main()
