"""Scrapy settings of the mediawatch project (``scrapy.cfg`` points here), and how the one mediawatch
settings object maps onto them.

Nothing here reads configuration at import: :func:`scrapy_settings` builds a crawler's settings from the
:class:`~mediawatch.config.Settings` it is given (``run_crawl`` does that), and every component reads
that object back with :func:`mediawatch_settings` — under plain ``scrapy crawl``, which passes none,
it is loaded from the environment and config file when the spider is built.

Politeness is on by default: robots.txt obeyed, AutoThrottle, per-domain concurrency, an honest
User-Agent, no cookies. Each source's own delay and concurrency are applied by its spider.
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import Settings as ScrapySettings

from mediawatch.config import Settings, load_settings

BOT_NAME = "mediawatch"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
CONCURRENT_REQUESTS = 16
AUTOTHROTTLE_MAX_DELAY = 30.0
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5

ITEM_PIPELINES = {"crawlers.pipelines.EnrichPipeline": 500, "crawlers.pipelines.IndexPipeline": 800}
# The SSRF guard and the source's scope come first (nothing refused is requested, robots.txt included);
# page state is looked up just before a page is requested, after robots.txt allows it.
DOWNLOADER_MIDDLEWARES = {"crawlers.netguard.NetGuardMiddleware": 50, "crawlers.middlewares.PageStateMiddleware": 150,
                          "crawlers.middlewares.RedirectLoopMiddleware": 650}  # RedirectMiddleware is 600
# Every DNS answer passes the SSRF guard: refused addresses never reach a connection.
TWISTED_DNS_RESOLVER = "crawlers.netguard.GuardedResolver"
EXTENSIONS = {"crawlers.extensions.RunRecorder": 0}

FEED_EXPORT_ENCODING = "utf-8"

#: Key under which a crawler's settings carry the mediawatch Settings object.
MEDIAWATCH = "MEDIAWATCH_SETTINGS"


def from_mediawatch(mw: Settings) -> dict[str, Any]:
    """The Scrapy settings that follow from mediawatch's (``crawl.*``)."""
    crawl = mw.crawl
    return {
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_domain,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": crawl.download_delay,
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": crawl.max_page_bytes // 2,
        "LOG_LEVEL": crawl.log_level,
        MEDIAWATCH: mw,
    }


def scrapy_settings(mw: Settings) -> ScrapySettings:
    """This project's Scrapy settings for a crawl configured by ``mw``."""
    settings = ScrapySettings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.setdict(from_mediawatch(mw), priority="project")
    return settings


def mediawatch_settings(settings: ScrapySettings) -> Settings:
    """The mediawatch Settings a crawler was configured with. Under plain ``scrapy crawl`` (none given),
    they are loaded now and applied at project priority, so ``-s NAME=VALUE`` still wins."""
    mw = settings.get(MEDIAWATCH)
    if mw is None:
        mw = load_settings()
        if not settings.frozen:
            settings.setdict(from_mediawatch(mw), priority="project")
    return mw
