"""A generated Vietnamese provincial news site and forum, served on loopback for tests and `make demo`.

    from tests.site import serve
    with serve() as srv:            # srv.base_url, srv.site (pages + catalog), srv.requests
        ...

Content is deterministic for a given `now` (default DEFAULT_NOW); `srv.site.catalog` lists the facts
tests assert on (articles, forum threads and posts, and the hard cases by role).
"""

from .build import DEFAULT_NOW, build_site
from .model import Article, Catalog, Page, Post, Site, Special, Thread
from .server import RequestLog, RequestRecord, SiteServer, serve, start_server
from .sources import sources_yaml

__all__ = [
    "DEFAULT_NOW",
    "Article",
    "Catalog",
    "Page",
    "Post",
    "RequestLog",
    "RequestRecord",
    "Site",
    "SiteServer",
    "Special",
    "Thread",
    "build_site",
    "serve",
    "sources_yaml",
    "start_server",
]
