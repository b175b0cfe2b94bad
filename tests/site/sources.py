"""sources.yaml text for the two local test sources."""

from __future__ import annotations

SOURCES_TEMPLATE = """\
sources:
  - id: bacninh-news
    name: "Báo Bắc Ninh (local test site)"
    kind: news
    home: "{base}/"
    feeds: ["{base}/rss/tin-moi.rss"]
    sitemaps: ["{base}/sitemap.xml"]
    allowed_domains: ["{domain}"]
    article_patterns: ['/tin-tuc/.+\\.html$']
    follow_patterns: ['/chuyen-muc/']
    language: vi
    timezone: Asia/Ho_Chi_Minh
    province: "24"            # home province (Bắc Ninh): resolves place names several provinces share
    politeness: {{delay: 0, concurrency: 8}}
    schedule: "*/30 * * * *"
  - id: bacninh-forum
    name: "Diễn đàn Bắc Ninh (local test forum)"
    kind: forum
    home: "{base}/dien-dan/"
    sections: ["{base}/dien-dan/f/thoi-su.1/", "{base}/dien-dan/f/hoi-dap.2/"]
    allowed_domains: ["{domain}"]
    forum:
      thread_link: "a.thread-title"
      next_page: "a.pageNav-next"
      post: "article.message"
      post_id: "id"           # attribute of the post element holding a stable id, e.g. post-1234
      author: "data-author"   # attribute holding the public handle
      time: "time"            # element with a datetime attribute
      body: ".message-body"
    language: vi
    province: "24"
    politeness: {{delay: 0, concurrency: 8}}
    schedule: "0 * * * *"
"""


def sources_yaml(base_url: str) -> str:
    """The sources.yaml document for the local news site and forum served at base_url."""
    base = base_url.rstrip("/")
    host = base.split("://", 1)[-1].split("/", 1)[0]
    domain = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return SOURCES_TEMPLATE.format(base=base, domain=domain.strip("[]"))
