"""HTML, RSS and sitemap rendering for the news site (a Vietnamese provincial portal look-alike)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

from .text import (
    en_date_line,
    esc,
    iso_local,
    relative_vi,
    short_time,
    to_local,
    vi_date_line,
    vi_today_line,
)

SITE_NAME = "Báo Bắc Ninh điện tử"
SECTIONS: dict[str, str] = {
    "thoi-su": "Thời sự",
    "kinh-te": "Kinh tế",
    "xa-hoi": "Xã hội",
    "giao-duc": "Giáo dục",
    "the-thao": "Thể thao",
    "english": "English",
}
SECTION_NAMES: dict[str, str] = {**SECTIONS, "ban-doc": "Bạn đọc viết"}
PAGE_SIZE = 10

FOOTER_ADDRESS = "Tòa soạn: Số 11 đường Lý Thái Tổ, phường Suối Hoa, thành phố Bắc Ninh, tỉnh Bắc Ninh"
FOOTER_COPYRIGHT = (
    "© Bản quyền thuộc Báo Bắc Ninh điện tử. Ghi rõ nguồn khi phát hành lại thông tin từ website này."
)
# Strings that only ever appear in page chrome; an extractor must not return them as article text.
BOILERPLATE_MARKERS = (
    "Tin mới nhất", "Đọc nhiều", "Tin liên quan", "Ý kiến bạn đọc", "Gửi bình luận", "Chia sẻ Facebook",
    FOOTER_ADDRESS, "Ghi rõ nguồn khi phát hành lại",
)

CSS = """body{font-family:Arial,Helvetica,sans-serif;margin:0;color:#222}
.site-header{background:#0b5aa2;color:#fff}.site-header a{color:#fff;text-decoration:none}
.main-menu ul{list-style:none;margin:0;padding:0;display:flex;gap:16px}
.container{max-width:1100px;margin:0 auto;padding:12px}.layout{display:flex;gap:24px}
.main-col{flex:1}.sidebar{width:300px}.detail .title{font-size:28px}.sapo{font-weight:bold}
.comments{background:#f5f5f5;padding:8px}.site-footer{background:#eee;padding:16px;font-size:13px}
"""


@dataclass
class Draft:
    """An article while the site is being assembled (becomes a model.Article)."""

    id: int
    section: str
    language: str
    floods: bool
    title: str
    lead: str
    paras: list[str]
    author: str | None
    published: datetime
    date_mode: str  # meta | visible | relative | url
    kit: str = ""
    section_meta: bool = False
    comments: list[tuple[str, datetime, str]] = field(default_factory=list)  # (name, time, text)
    role: str | None = None
    path: str = ""
    via: set[str] = field(default_factory=set)
    related: list[Draft] = field(default_factory=list)
    source_line: str | None = None  # syndicated copies: "Theo Báo Bắc Ninh" instead of the author

    def date_text(self, now: datetime) -> str | None:
        if self.date_mode == "url":
            return None
        if self.date_mode == "relative":
            return relative_vi(now - self.published)
        return en_date_line(self.published) if self.language == "en" else vi_date_line(self.published)

    def listing_time(self, now: datetime) -> str | None:
        if self.date_mode == "url":
            return None
        if self.date_mode == "relative":
            return self.date_text(now)
        return short_time(self.published)


@dataclass
class Theme:
    """Shared chrome: header, menu, sidebar boxes, footer."""

    base: str
    now: datetime
    latest: list[Draft]
    most_read: list[Draft]

    def url(self, path: str) -> str:
        return self.base + path

    def head(self, title: str, extra: str = "") -> str:
        return (
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n"
            '<link rel="stylesheet" href="/static/css/main.css">\n'
            '<link rel="alternate" type="application/rss+xml" title="Tin mới" href="/rss/tin-moi.rss">\n'
            f"{extra}"
            "<script>window.dataLayer=window.dataLayer||[];"
            "function gtag(){dataLayer.push(arguments)}</script>\n"
        )

    def header(self, show_today: bool = True) -> str:
        today = f'<span class="today">{esc(vi_today_line(self.now))}</span>' if show_today else ""
        menu = "".join(
            f'<li><a href="/chuyen-muc/{key}/">{esc(name)}</a></li>' for key, name in SECTIONS.items()
        )
        return (
            '<header class="site-header">\n'
            f'<div class="topbar">{today} <a href="/gioi-thieu.html">Giới thiệu</a> '
            '<a href="/lien-he.html">Liên hệ quảng cáo</a> <a href="/dien-dan/">Diễn đàn</a> '
            '<a href="/rss/tin-moi.rss">RSS</a></div>\n'
            '<div class="logo"><a href="/">BÁO BẮC NINH ĐIỆN TỬ</a>'
            '<span class="slogan">Cơ quan của Đảng bộ, Chính quyền và Nhân dân tỉnh Bắc Ninh</span></div>\n'
            f'<nav class="main-menu"><ul><li><a href="/">Trang chủ</a></li>{menu}</ul></nav>\n'
            '<form class="search" action="/tim-kiem" method="get">'
            '<input type="text" name="q" placeholder="Tìm kiếm..."><button>Tìm</button></form>\n'
            "</header>\n"
        )

    def footer(self) -> str:
        return (
            '<footer class="site-footer">\n'
            "<p><strong>BÁO BẮC NINH ĐIỆN TỬ</strong></p>\n"
            "<p>Tổng Biên tập: Nguyễn Văn Minh. "
            "Giấy phép số 123/GP-BTTTT do Bộ Thông tin và Truyền thông cấp.</p>\n"
            f"<p>{esc(FOOTER_ADDRESS)}. Điện thoại: 0222.3822.xxx. Email: toasoan@baobacninh.local</p>\n"
            f"<p>{esc(FOOTER_COPYRIGHT)}</p>\n"
            "</footer>\n"
        )

    def sidebar(self, extra: str = "") -> str:
        latest = "".join(f'<li><a href="{d.path}">{esc(d.title)}</a></li>' for d in self.latest)
        most = "".join(f'<li><a href="{d.path}">{esc(d.title)}</a></li>' for d in self.most_read)
        return (
            '<aside class="sidebar">\n'
            f'<div class="box latest-news"><h3 class="box-title">Tin mới nhất</h3><ul>{latest}</ul></div>\n'
            f'<div class="box most-read"><h3 class="box-title">Đọc nhiều</h3><ol>{most}</ol></div>\n'
            f"{extra}"
            '<div class="box ads"><a href="/lien-he.html">Liên hệ đặt quảng cáo: 0222.3822.xxx</a></div>\n'
            "</aside>\n"
        )

    def page(self, title: str, body: str, *, lang: str = "vi", head_extra: str = "",
             show_today: bool = True, body_class: str = "") -> str:
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{lang}">\n<head>\n{self.head(title, head_extra)}</head>\n'
            f'<body class="{body_class}">\n{self.header(show_today)}'
            f'<main class="container">\n{body}</main>\n{self.footer()}'
            '<script src="/static/js/app.js" defer></script>\n'
            "</body>\n</html>\n"
        )


def breadcrumb(section: str) -> str:
    link = f'<a href="/chuyen-muc/{section}/">' if section in SECTIONS else '<a href="/">'
    return (
        '<div class="breadcrumb"><a href="/">Trang chủ</a> <span class="sep">›</span> '
        f"{link}{esc(SECTION_NAMES[section])}</a></div>\n"
    )


def share_box(url: str, where: str) -> str:
    return (
        f'<div class="share share-{where}">'
        f'<a class="share-fb" href="https://www.facebook.com/sharer/sharer.php?u={esc(url)}" rel="nofollow">'
        "Chia sẻ Facebook</a> "
        f'<a class="share-zalo" href="https://zalo.me/share?url={esc(url)}" rel="nofollow">Zalo</a> '
        '<a class="print" href="javascript:window.print()">In bài viết</a></div>\n'
    )


def comments_box(draft: Draft) -> str:
    items = "".join(
        '<div class="comment">'
        f'<span class="comment-author">{esc(name)}</span> '
        f'<span class="comment-time">{esc(short_time(when))}</span>'
        f'<p class="comment-text">{esc(text)}</p>'
        '<a class="comment-like" href="#">Thích</a> <a class="comment-reply" href="#">Trả lời</a>'
        "</div>\n"
        for name, when, text in draft.comments
    )
    return (
        f'<section class="comments" id="comments"><h3>Ý kiến bạn đọc ({len(draft.comments)})</h3>\n'
        f"{items}"
        '<form class="comment-form" action="/binh-luan" method="post">'
        '<textarea name="noi_dung" placeholder="Viết bình luận của bạn..."></textarea>'
        '<input type="text" name="ho_ten" placeholder="Họ tên"><button type="submit">Gửi bình luận</button>'
        "</form>\n</section>\n"
    )


def related_box(draft: Draft) -> str:
    items = "".join(f'<li><a href="{d.path}">{esc(d.title)}</a></li>' for d in draft.related)
    return f'<section class="related"><h3>Tin liên quan</h3><ul>{items}</ul></section>\n'


def article_head(theme: Theme, draft: Draft) -> str:
    url = theme.url(draft.path)
    extra = (
        f'<link rel="canonical" href="{esc(url)}">\n'
        f'<meta name="description" content="{esc(draft.lead)}">\n'
        f'<meta property="og:type" content="article">\n'
        f'<meta property="og:title" content="{esc(draft.title)}">\n'
        f'<meta property="og:url" content="{esc(url)}">\n'
        f'<meta property="og:site_name" content="{SITE_NAME}">\n'
    )
    if draft.date_mode == "meta":
        extra += f'<meta property="article:published_time" content="{iso_local(draft.published)}">\n'
    if draft.section_meta:
        extra += f'<meta property="article:section" content="{esc(SECTION_NAMES[draft.section])}">\n'
    return extra


def article_body(theme: Theme, draft: Draft, *, comments: bool = True) -> str:
    """The <article class="detail"> block plus share/related/comments, without page chrome."""
    date_text = draft.date_text(theme.now)
    date_html = (
        f'<div class="detail-meta"><span class="date">{esc(date_text)}</span></div>\n' if date_text else ""
    )
    paras = "".join(f"<p>{esc(p)}</p>\n" for p in draft.paras)
    if draft.source_line:
        tail = f'<p class="source"><em>{esc(draft.source_line)}</em></p>\n'
    else:
        tail = f'<p class="author">{esc(draft.author or "")}</p>\n'
    url = theme.url(draft.path)
    return (
        '<article class="detail">\n'
        f'<h1 class="title">{esc(draft.title)}</h1>\n'
        f"{date_html}"
        f"{share_box(url, 'top')}"
        f'<p class="sapo"><strong>{esc(draft.lead)}</strong></p>\n'
        f'<div class="detail-content">\n{paras}{tail}</div>\n'
        "</article>\n"
        f"{share_box(url, 'bottom')}"
        f"{related_box(draft)}"
        f"{comments_box(draft) if comments else ''}"
    )


def article_page(theme: Theme, draft: Draft, *, tail_html: str = "") -> str:
    body = (
        f"{breadcrumb(draft.section)}"
        '<div class="layout">\n<div class="main-col">\n'
        f"{article_body(theme, draft)}"
        "</div>\n"
        f"{theme.sidebar()}"
        "</div>\n"
        f"{tail_html}"
    )
    # Some English pages keep the portal's lang="vi" (a trap for language detection by markup).
    lang = "en" if draft.language == "en" and draft.id % 3 else "vi"
    return theme.page(
        f"{draft.title} - {SITE_NAME}", body, lang=lang, head_extra=article_head(theme, draft),
        show_today=draft.date_mode != "url", body_class="page-detail",
    )


def broken_article_page(theme: Theme, draft: Draft) -> str:
    """Old-CMS page with broken markup: unclosed/stray tags, unquoted attributes, no </body></html>."""
    url = theme.url(draft.path)
    paras = ""
    for i, text in enumerate(draft.paras):
        if i == 1:
            paras += f"<p>{esc(text)} <i>\n"  # unclosed <i>
        elif i == 2:
            paras += f"<p>{esc(text)}</p></p></span>\n"  # stray closers
        else:
            paras += f"<p>{esc(text)}\n"  # unclosed <p>
    comments = "".join(f"<li><b>{esc(n)}</b>: {esc(t)}\n" for n, _, t in draft.comments)
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
        "<html>\n<head>\n"
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        f"<title>{esc(draft.title)} - {SITE_NAME}</title>\n"
        f"<link rel=canonical href={url}>\n"
        "</head>\n<body bgcolor=#ffffff>\n"
        '<div class="wrapper">\n'
        "<table width=100% border=0 cellpadding=0><tr><td class=logo><a href=/>BÁO BẮC NINH ĐIỆN TỬ</a>\n"
        "<td class=menu><a href=/chuyen-muc/thoi-su/>Thời sự</a> | <a href=/chuyen-muc/xa-hoi/>Xã hội</a>"
        " | <a href=/chuyen-muc/kinh-te/>Kinh tế</a></td></tr></table>\n"
        "</font></span></td>\n"
        '<div id="content" class="content">\n'
        '<div class="breadcrumb"><a href="/">Trang chủ</a> › <a href="/chuyen-muc/xa-hoi/">Xã hội</a>\n'
        '<article class="detail">\n'
        f'<h1 class="title">{esc(draft.title)}</h3>\n'
        f'<span class="date">{esc(draft.date_text(theme.now) or "")}</span>\n'
        f'<p class="sapo"><b>{esc(draft.lead)}\n'
        f"{paras}"
        f'<p class="author">{esc(draft.author or "")}\n'
        "</div>\n"
        '<div class="comments"><h3>Ý kiến bạn đọc</h3><ul>\n'
        f"{comments}"
        '<div class="sidebar"><h3>Tin mới nhất</h3><ul>'
        + "".join(f'<li><a href="{d.path}">{esc(d.title)}</a>' for d in theme.latest)
        + "\n"
        f'<div class="site-footer">{esc(FOOTER_ADDRESS)}<br>{esc(FOOTER_COPYRIGHT)}\n'
    )


def story_item(path: str, title: str, lead: str, time_text: str | None) -> str:
    time_html = f'<span class="story-time">{esc(time_text)}</span>' if time_text else ""
    return (
        '<article class="story">'
        f'<h3 class="story-title"><a href="{path}">{esc(title)}</a></h3>{time_html}'
        f'<p class="story-sapo">{esc(lead)}</p></article>\n'
    )


def listing_page(theme: Theme, section: str, items: list[str], page: int, pages: int) -> str:
    base = f"/chuyen-muc/{section}/"

    def href(n: int) -> str:
        return base if n == 1 else f"{base}?page={n}"

    links = []
    if page > 1:
        links.append(f'<a class="prev" rel="prev" href="{href(page - 1)}">Trang trước</a>')
    for n in range(1, pages + 1):
        links.append(f'<span class="current">{n}</span>' if n == page else f'<a href="{href(n)}">{n}</a>')
    if page < pages:
        links.append(f'<a class="next" rel="next" href="{href(page + 1)}">Trang sau</a>')
    head = f'<link rel="canonical" href="{esc(theme.url(href(page)))}">\n'
    if page < pages:
        head += f'<link rel="next" href="{esc(theme.url(href(page + 1)))}">\n'
    body = (
        f"{breadcrumb(section)}"
        '<div class="layout">\n<div class="main-col">\n'
        f'<h1 class="section-title">{esc(SECTIONS[section])}</h1>\n'
        f'<div class="story-list">\n{"".join(items)}</div>\n'
        f'<div class="pagination">{" ".join(links)}</div>\n'
        "</div>\n"
        f"{theme.sidebar()}"
        "</div>\n"
    )
    title = f"{SECTIONS[section]} - {SITE_NAME}" + (f" - Trang {page}" if page > 1 else "")
    return theme.page(title, body, head_extra=head, body_class="page-category")


def home_page(theme: Theme, featured: Draft, latest: list[Draft], blocks: dict[str, list[Draft]],
              readers: list[Draft], internal: tuple[str, str]) -> str:
    now = theme.now
    latest_html = "".join(story_item(d.path, d.title, d.lead, d.listing_time(now)) for d in latest)
    block_html = ""
    for section, drafts in blocks.items():
        links = "".join(f'<li><a href="{d.path}">{esc(d.title)}</a></li>' for d in drafts)
        block_html += (
            f'<section class="home-block"><h2><a href="/chuyen-muc/{section}/">{esc(SECTIONS[section])}</a>'
            f"</h2><ul>{links}</ul></section>\n"
        )
    readers_html = "".join(f'<li><a href="{d.path}">{esc(d.title)}</a></li>' for d in readers)
    extra = (
        f'<div class="box readers"><h3 class="box-title">Bạn đọc viết</h3><ul>{readers_html}</ul></div>\n'
        f'<div class="box dossier"><h3 class="box-title">Hồ sơ</h3><ul>'
        f'<li><a href="{internal[0]}">{esc(internal[1])}</a></li></ul></div>\n'
    )
    body = (
        '<div class="layout">\n<div class="main-col">\n'
        '<section class="featured">'
        f'<h2 class="featured-title"><a href="{featured.path}">{esc(featured.title)}</a></h2>'
        f'<p class="story-sapo">{esc(featured.lead)}</p></section>\n'
        f'<section class="latest"><h2>Tin mới</h2>\n{latest_html}</section>\n'
        f"{block_html}"
        "</div>\n"
        f"{theme.sidebar(extra)}"
        "</div>\n"
    )
    head = (
        f'<link rel="canonical" href="{esc(theme.url("/"))}">\n'
        '<meta name="description" content="Tin tức thời sự, kinh tế, xã hội tỉnh Bắc Ninh">\n'
    )
    return theme.page(f"{SITE_NAME} - Tin tức Bắc Ninh", body, head_extra=head, body_class="page-home")


def simple_page(theme: Theme, title: str, paragraphs: list[str]) -> str:
    body = f'<div class="static-page"><h1>{esc(title)}</h1>\n' + "".join(
        f"<p>{esc(p)}</p>\n" for p in paragraphs
    ) + "</div>\n"
    return theme.page(f"{title} - {SITE_NAME}", body)


def rfc822(moment: datetime) -> str:
    return format_datetime(to_local(moment).replace(microsecond=0))


def rss_feed(theme: Theme, drafts: list[Draft]) -> str:
    items = "".join(
        "<item>\n"
        f"<title>{esc(d.title)}</title>\n"
        f"<link>{esc(theme.url(d.path))}</link>\n"
        f'<guid isPermaLink="true">{esc(theme.url(d.path))}</guid>\n'
        f"<pubDate>{rfc822(d.published)}</pubDate>\n"
        f"<category>{esc(SECTION_NAMES[d.section])}</category>\n"
        f"<description>{esc(d.lead)}</description>\n"
        "</item>\n"
        for d in drafts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{SITE_NAME} - Tin mới</title>\n"
        f"<link>{esc(theme.url('/'))}</link>\n"
        "<description>Tin tức mới nhất của Báo Bắc Ninh điện tử</description>\n"
        "<language>vi</language>\n"
        f"<lastBuildDate>{rfc822(theme.now)}</lastBuildDate>\n"
        f'<atom:link href="{esc(theme.url("/rss/tin-moi.rss"))}" rel="self" type="application/rss+xml"/>\n'
        f"{items}</channel>\n</rss>\n"
    )


def sitemap_index(theme: Theme, children: list[tuple[str, datetime]]) -> str:
    entries = "".join(
        f"<sitemap><loc>{esc(theme.url(path))}</loc><lastmod>{iso_local(when)}</lastmod></sitemap>\n"
        for path, when in children
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</sitemapindex>\n'
    )


def urlset(theme: Theme, entries: list[tuple[str, datetime | None]]) -> str:
    rows = ""
    for path, when in entries:
        lastmod = f"<lastmod>{iso_local(when)}</lastmod>" if when else ""
        rows += f"<url><loc>{esc(theme.url(path))}</loc>{lastmod}<changefreq>daily</changefreq></url>\n"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{rows}</urlset>\n'
    )


def news_sitemap(theme: Theme, drafts: list[Draft]) -> str:
    rows = "".join(
        f"<url><loc>{esc(theme.url(d.path))}</loc><news:news><news:publication>"
        f"<news:name>{SITE_NAME}</news:name><news:language>{d.language}</news:language></news:publication>"
        f"<news:publication_date>{iso_local(d.published)}</news:publication_date>"
        f"<news:title>{esc(d.title)}</news:title></news:news></url>\n"
        for d in drafts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        f"{rows}</urlset>\n"
    )
