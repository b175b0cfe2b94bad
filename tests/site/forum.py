"""The XenForo-like forum under /dien-dan/: section listings, paginated threads, posts with quotes."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .content import ThreadScript, load_forum
from .model import Page, Post, Thread
from .text import esc, iso_local, slugify, to_local

FORUM_NAME = "Diễn đàn Bắc Ninh"
POSTS_PER_PAGE = 10
THREADS_PER_LISTING_PAGE = 3
FORUM_SECTIONS = {
    # key: (node path segment, title, description)
    "thoi-su": ("thoi-su.1", "Thời sự địa phương", "Tin tức, sự kiện, giao thông, thời tiết ở Bắc Ninh"),
    "hoi-dap": ("hoi-dap.2", "Hỏi đáp – Tư vấn", "Hỏi đáp thủ tục, kinh nghiệm sống và làm việc ở Bắc Ninh"),
}
SIGNATURES = {
    "dinhbang_9x": "Sống chậm lại một chút – Kinh Bắc quê tôi",
    "quanho_lover": "Người ơi người ở đừng về ♪",
    "xeom_tuson": "Xe ôm Từ Sơn – đưa đón tận nơi, giá sinh viên",
    "mod_kinhbac": "Ban quản trị Diễn đàn Bắc Ninh",
    "co_giao_thao": "Học, học nữa, học mãi",
}
USER_TITLES = ("Thành viên mới", "Thành viên", "Thành viên tích cực", "Thành viên kỳ cựu")


def section_path(section: str) -> str:
    return f"/dien-dan/f/{FORUM_SECTIONS[section][0]}/"


def _page_path(first: str, page: int) -> str:
    return first if page == 1 else f"{first}page-{page}"


def _post_times(rng: random.Random, script: ThreadScript, now: datetime) -> list[datetime]:
    local_now = to_local(now)
    start = (local_now - timedelta(days=script.start_days)).replace(
        hour=rng.randrange(7, 21), minute=rng.randrange(60), second=0, microsecond=0
    )
    gaps = [rng.randrange(4, 150) for _ in range(script.posts - 1)]
    room = (local_now - start).total_seconds() / 60 - 10
    if sum(gaps) > room:  # squeeze the thread so its last post is still in the past
        gaps = [max(1, int(g * room / sum(gaps))) for g in gaps]
    times = [start]
    for gap in gaps:
        times.append(times[-1] + timedelta(minutes=gap))
    return [t.astimezone(now.tzinfo) for t in times]


def _make_posts(rng: random.Random, script: ThreadScript, handles: tuple[str, ...],
                reactions: tuple[str, ...], now: datetime, next_id: int) -> list[Post]:
    times = _post_times(rng, script, now)
    fillers = list(reactions)
    rng.shuffle(fillers)
    texts = [script.first, *script.replies]
    posts: list[Post] = []
    others = [h for h in handles if h != script.starter]
    for i, when in enumerate(times):
        filler = i >= len(texts)
        text = fillers.pop() if filler else texts[i]
        author = script.starter if i == 0 else rng.choice(others if rng.random() < 0.8 else handles)
        quote: Post | None = None
        if i >= 2 and (filler or rng.random() < 0.25):
            quote = rng.choice(posts[max(0, i - 5):i])
        posts.append(Post(
            id=f"post-{next_id + i}",
            author=author,
            time=when,
            text=text,
            page=i // POSTS_PER_PAGE + 1,
            quote_of=quote.id if quote else None,
            quoted_text=quote.text if quote else None,
        ))
    return posts


def _member_href(handle: str) -> str:
    return f"/dien-dan/members/{slugify(handle) or 'user'}.{sum(map(ord, handle)) % 9000 + 1000}/"


def _time_tag(when: datetime, css: str = "u-dt") -> str:
    local = to_local(when)
    return (
        f'<time class="{css}" datetime="{iso_local(when)}" data-time="{int(when.timestamp())}" '
        f'title="{local:%d/%m/%Y} lúc {local:%H:%M}">{local:%d/%m/%Y}</time>'
    )


def _layout(title: str, crumbs: list[tuple[str, str]], body: str, *, canonical: str, head_extra: str = "",
            template: str = "forum_view") -> str:
    crumb_html = "".join(f'<li><a href="{href}">{esc(name)}</a></li>' for href, name in crumbs)
    return (
        "<!DOCTYPE html>\n"
        f'<html id="XF" lang="vi" dir="LTR" data-app="public" data-template="{template}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} | {FORUM_NAME}</title>\n"
        f'<link rel="canonical" href="{esc(canonical)}">\n'
        f"{head_extra}"
        '<link rel="stylesheet" href="/static/css/main.css">\n'
        "</head>\n"
        f'<body data-template="{template}">\n<div class="p-pageWrapper" id="top">\n'
        '<header class="p-header" id="header"><div class="p-header-logo">'
        f'<a href="/dien-dan/">{FORUM_NAME}</a></div>\n'
        '<nav class="p-nav"><ul class="p-nav-list"><li><a href="/dien-dan/">Diễn đàn</a></li>'
        '<li><a href="/">Báo Bắc Ninh</a></li>'
        '<li><a href="/dien-dan/login/" rel="nofollow">Đăng nhập</a></li>'
        '<li><a href="/dien-dan/register/" rel="nofollow">Đăng ký</a></li></ul></nav></header>\n'
        '<div class="p-body"><div class="p-body-inner">\n'
        f'<ul class="p-breadcrumbs">{crumb_html}</ul>\n'
        f"{body}"
        "</div></div>\n"
        '<footer class="p-footer"><div class="p-footer-copyright">'
        f"Diễn đàn Bắc Ninh – nơi giao lưu của người Kinh Bắc. Forum software by XenForo®</div>"
        '<ul class="p-footer-links"><li><a href="/dien-dan/help/terms/">Điều khoản</a></li>'
        '<li><a href="/dien-dan/help/privacy-policy/">Chính sách riêng tư</a></li></ul></footer>\n'
        "</div>\n</body>\n</html>\n"
    )


def _page_nav(first: str, page: int, pages: int) -> str:
    if pages <= 1:
        return ""
    items = "".join(
        f'<li class="pageNav-page{" pageNav-page--current" if n == page else ""}">'
        f'<a href="{_page_path(first, n)}">{n}</a></li>'
        for n in range(1, pages + 1)
    )
    prev = (
        f'<a href="{_page_path(first, page - 1)}" class="pageNav-jump pageNav-jump--prev">Trước</a>'
        if page > 1 else ""
    )
    nxt = (
        f'<a href="{_page_path(first, page + 1)}" '
        'class="pageNav-jump pageNav-jump--next pageNav-next">Tiếp</a>'
        if page < pages else ""
    )
    return (
        f'<nav class="pageNavWrapper"><div class="pageNav">{prev}'
        f'<ul class="pageNav-main">{items}</ul>{nxt}</div></nav>\n'
    )


def _post_html(rng: random.Random, thread: Thread, post: Post, number: int, by_id: dict[str, Post]) -> str:
    quote = ""
    if post.quote_of:
        quoted = by_id[post.quote_of]
        quote = (
            '<blockquote class="bbCodeBlock bbCodeBlock--expandable bbCodeBlock--quote" '
            f'data-quote="{esc(quoted.author)}" data-source="{quoted.id.replace("-", ": ")}">'
            f'<div class="bbCodeBlock-title"><a href="{_page_path(thread.path, quoted.page)}#{quoted.id}" '
            f'class="bbCodeBlock-sourceJump">{esc(quoted.author)} đã viết:</a></div>'
            f'<div class="bbCodeBlock-content"><div class="bbCodeBlock-expandContent">{esc(quoted.text)}'
            "</div></div></blockquote>"
        )
    signature = SIGNATURES.get(post.author)
    sig_html = (
        f'<aside class="message-signature"><div class="bbWrapper">{esc(signature)}</div></aside>'
        if signature else ""
    )
    others = sorted({p.author for p in thread.posts} - {post.author})
    likers = rng.sample(others, k=min(rng.randrange(0, 3), len(others)))
    reactions = (
        f'<div class="reactionsBar js-reactionsList is-active">Thích: {esc(", ".join(likers))}</div>'
        if likers else ""
    )
    member = _member_href(post.author)
    return (
        f'<article class="message message--post js-post" id="{post.id}" data-author="{esc(post.author)}" '
        f'data-content="{post.id}">\n'
        '<div class="message-inner"><div class="message-cell message-cell--user">'
        '<section class="message-user">'
        f'<div class="message-avatar"><a href="{member}" class="avatar">'
        f"{esc(post.author[:1].upper())}</a></div>"
        '<div class="message-userDetails">'
        f'<h4 class="message-name"><a href="{member}" class="username">{esc(post.author)}</a></h4>'
        f'<h5 class="userTitle message-userTitle">{rng.choice(USER_TITLES)}</h5></div>'
        '<div class="message-userExtras"><dl class="pairs">'
        f"<dt>Bài viết</dt><dd>{rng.randrange(3, 4000)}</dd>"
        "</dl></div></section></div>\n"
        '<div class="message-cell message-cell--main"><div class="message-main">'
        '<header class="message-attribution message-attribution--split">'
        f'<ul class="message-attribution-main"><li><a href="{_page_path(thread.path, post.page)}#{post.id}" '
        f'class="u-concealed">{_time_tag(post.time)}</a></li></ul>'
        '<ul class="message-attribution-opposite">'
        f'<li><a href="#{post.id}">#{number}</a></li></ul></header>\n'
        '<div class="message-content js-messageContent"><div class="message-userContent">'
        '<div class="message-body js-selectToQuote">'
        f'<div class="bbWrapper">{quote}{esc(post.text)}</div></div>'
        f"</div>{sig_html}</div>\n"
        '<footer class="message-footer"><div class="message-actionBar actionBar">'
        '<a class="actionBar-action actionBar-action--like" href="#" rel="nofollow">Thích</a> '
        '<a class="actionBar-action actionBar-action--reply" href="#" rel="nofollow">Trả lời</a> '
        '<a class="actionBar-action actionBar-action--report" href="#" rel="nofollow">Báo cáo</a></div>'
        f"{reactions}</footer>\n"
        "</div></div></div>\n</article>\n"
    )


def _thread_page(rng: random.Random, base: str, thread: Thread, page: int) -> str:
    section_name = FORUM_SECTIONS[thread.section][1]
    posts = [p for p in thread.posts if p.page == page]
    by_id = {p.id: p for p in thread.posts}
    first_number = (page - 1) * POSTS_PER_PAGE + 1
    post_html = "".join(_post_html(rng, thread, p, first_number + i, by_id) for i, p in enumerate(posts))
    nav = _page_nav(thread.path, page, thread.pages)
    starter = thread.posts[0]
    head = ""
    if page < thread.pages:
        head += f'<link rel="next" href="{esc(base + _page_path(thread.path, page + 1))}">\n'
    if page > 1:
        head += f'<link rel="prev" href="{esc(base + _page_path(thread.path, page - 1))}">\n'
    title = thread.title + (f" | Trang {page}" if page > 1 else "")
    body = (
        f'<div class="p-title"><h1 class="p-title-value">{esc(thread.title)}</h1></div>\n'
        '<div class="p-description">Thảo luận trong '
        f'<a href="{thread.section_path}">{esc(section_name)}</a> bắt đầu bởi '
        f'<a href="{_member_href(starter.author)}" class="username u-concealed">{esc(starter.author)}</a>, '
        f"{_time_tag(starter.time, 'u-dt u-concealed')}</div>\n"
        f"{nav}"
        '<div class="block block--messages">'
        f'<div class="block-body js-replyNewMessageContainer">\n{post_html}'
        "</div></div>\n"
        f"{nav}"
        '<div class="block-outer-opposite"><a href="/dien-dan/login/" rel="nofollow">'
        "Bạn phải đăng nhập hoặc đăng ký để trả lời tại đây.</a></div>\n"
    )
    crumbs = [("/dien-dan/", "Diễn đàn"), (thread.section_path, section_name)]
    return _layout(title, crumbs, body, canonical=base + _page_path(thread.path, page), head_extra=head,
                   template="thread_view")


def _thread_item(thread: Thread) -> str:
    first, last = thread.posts[0], thread.posts[-1]
    jumps = ""
    if thread.pages > 1:
        jumps = '<span class="structItem-pageJump">' + "".join(
            f'<a href="{path}">{n}</a>' for n, path in enumerate(thread.page_paths, 1) if n > 1
        ) + "</span>"
    sticky = (
        '<i class="structItem-status structItem-status--sticky" title="Chú ý"></i>' if thread.sticky else ""
    )
    return (
        f'<div class="structItem structItem--thread{" is-sticky" if thread.sticky else ""}">'
        '<div class="structItem-cell structItem-cell--main">'
        f'<div class="structItem-title">{sticky}<a href="{thread.path}" class="thread-title" '
        f'data-tp-primary="on">{esc(thread.title)}</a></div>'
        '<div class="structItem-minor"><ul class="structItem-parts">'
        f'<li><a href="{_member_href(first.author)}" '
        f'class="username">{esc(first.author)}</a></li><li>{_time_tag(first.time)}</li></ul>{jumps}</div></div>'
        '<div class="structItem-cell structItem-cell--meta">'
        f"<dl><dt>Trả lời</dt><dd>{len(thread.posts) - 1}</dd></dl></div>"
        '<div class="structItem-cell structItem-cell--latest">'
        f'{_time_tag(last.time, "structItem-latestDate u-dt")}'
        f'<a href="{_member_href(last.author)}" class="username">{esc(last.author)}</a></div>'
        "</div>\n"
    )


def _listing_page(base: str, section: str, sticky: list[Thread], threads: list[Thread], page: int,
                  pages: int) -> str:
    first = section_path(section)
    name, description = FORUM_SECTIONS[section][1:]
    sticky_html = (
        '<div class="structItemContainer-group structItemContainer-group--sticky">'
        + "".join(_thread_item(t) for t in sticky) + "</div>\n"
        if sticky else ""
    )
    nav = _page_nav(first, page, pages)
    body = (
        f'<div class="p-title"><h1 class="p-title-value">{esc(name)}</h1></div>\n'
        f'<div class="p-description">{esc(description)}</div>\n'
        f"{nav}"
        f'<div class="structItemContainer">\n{sticky_html}'
        '<div class="structItemContainer-group js-threadList">\n'
        + "".join(_thread_item(t) for t in threads)
        + "</div></div>\n"
        f"{nav}"
    )
    head = f'<link rel="next" href="{esc(base + _page_path(first, page + 1))}">\n' if page < pages else ""
    title = name + (f" | Trang {page}" if page > 1 else "")
    return _layout(title, [("/dien-dan/", "Diễn đàn")], body, canonical=base + _page_path(first, page),
                   head_extra=head)


def _index_page(base: str, threads: list[Thread]) -> str:
    nodes = ""
    for key, (_, name, description) in FORUM_SECTIONS.items():
        mine = [t for t in threads if t.section == key]
        nodes += (
            '<div class="node node--forum"><div class="node-main">'
            f'<h3 class="node-title"><a href="{section_path(key)}">{esc(name)}</a></h3>'
            f'<div class="node-description">{esc(description)}</div></div>'
            f'<div class="node-stats"><dl><dt>Chủ đề</dt><dd>{len(mine)}</dd></dl>'
            f"<dl><dt>Bài viết</dt><dd>{sum(len(t.posts) for t in mine)}</dd></dl></div></div>\n"
        )
    body = (
        f'<div class="p-title"><h1 class="p-title-value">{FORUM_NAME}</h1></div>\n'
        f'<div class="block block--category"><h2 class="block-header">Bắc Ninh quê mình</h2>'
        f'<div class="block-body">\n{nodes}</div></div>\n'
    )
    return _layout("Diễn đàn", [("/dien-dan/", "Diễn đàn")], body, canonical=base + "/dien-dan/",
                   template="forum_list")


def build_forum(base: str, now: datetime, seed: int = 2203, scale: int = 1) -> tuple[dict[str, Page], list[Thread]]:
    """Pages under /dien-dan/ and the threads they show; `scale` > 1 repeats the thread scripts that many
    times (new ids, posts drawn anew; only the first copy of a sticky thread is sticky)."""
    rng = random.Random(seed)
    handles, reactions, scripts = load_forum()
    threads: list[Thread] = []
    next_post = 120001
    for i, script in enumerate(scripts * scale):
        posts = _make_posts(rng, script, handles, reactions, now, next_post)
        next_post += len(posts) + rng.randrange(3, 40)  # ids of other sections' posts in between
        path = f"/dien-dan/t/{slugify(script.title)}.{2201 + i}/"
        pages = (len(posts) - 1) // POSTS_PER_PAGE + 1
        threads.append(Thread(
            path=path,
            url=base + path,
            title=script.title,
            section=script.section,
            section_path=section_path(script.section),
            pages=pages,
            page_paths=tuple(_page_path(path, n) for n in range(1, pages + 1)),
            posts=tuple(posts),
            floods=script.floods,
            sticky=script.sticky and i < len(scripts),
        ))

    pages_out: dict[str, Page] = {}
    for thread in threads:
        for n, page_path in enumerate(thread.page_paths, 1):
            html = _thread_page(rng, base, thread, n)
            last = max(p.time for p in thread.posts if p.page == n)
            pages_out[page_path] = Page(html.encode("utf-8"), last_modified=last)
    for key in FORUM_SECTIONS:
        mine = [t for t in threads if t.section == key]
        sticky = [t for t in mine if t.sticky]
        normal = sorted((t for t in mine if not t.sticky), key=lambda t: t.posts[-1].time, reverse=True)
        count = max(1, -(-len(normal) // THREADS_PER_LISTING_PAGE))
        for n in range(1, count + 1):
            chunk = normal[(n - 1) * THREADS_PER_LISTING_PAGE:n * THREADS_PER_LISTING_PAGE]
            html = _listing_page(base, key, sticky if n == 1 else [], chunk, n, count)
            last = max((t.posts[-1].time for t in chunk + (sticky if n == 1 else [])), default=now)
            pages_out[_page_path(section_path(key), n)] = Page(html.encode("utf-8"), last_modified=last)
    pages_out["/dien-dan/"] = Page(_index_page(base, threads).encode("utf-8"),
                                   last_modified=max(t.posts[-1].time for t in threads))
    return pages_out, threads
