"""Scrapy settings, derived from the one mediawatch settings object (``mediawatch.config``).

Politeness is on by default: robots.txt obeyed, AutoThrottle, per-domain concurrency, an honest
User-Agent, no cookies. Each source's own delay and concurrency are applied by its spider.
"""

from mediawatch.config import get_settings

_s = get_settings().crawl

BOT_NAME = "mediawatch"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = _s.user_agent
ROBOTSTXT_OBEY = _s.obey_robots
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

DOWNLOAD_DELAY = _s.download_delay
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = _s.concurrency_per_domain
AUTOTHROTTLE_ENABLED = _s.autothrottle
AUTOTHROTTLE_START_DELAY = _s.download_delay
AUTOTHROTTLE_MAX_DELAY = 30.0
DOWNLOAD_TIMEOUT = _s.timeout
DOWNLOAD_MAXSIZE = _s.max_page_bytes
DOWNLOAD_WARNSIZE = _s.max_page_bytes // 2
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5

ITEM_PIPELINES = {"crawlers.pipelines.EnrichPipeline": 500, "crawlers.pipelines.ElasticsearchPipeline": 800}

LOG_LEVEL = _s.log_level
FEED_EXPORT_ENCODING = "utf-8"
