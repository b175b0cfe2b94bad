"""``mediawatch extract FILE_OR_URL``: what extraction finds on one page, to check a new source in one command.

A forum thread page (its engine detected, or ``--forum``/``--engine`` given) shows its posts as the forum
spider reads them (``{"kind": "forum", "engine": …, "posts": [{"id", "author", "published", "position",
"text"}, …]}`` with ``--json``); a forum section page shows the threads it lists (``"kind":
"forum_section"``); any other page shows the article (``"kind": "news"``). A Discourse URL is read
through its public JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from crawlers.forums import ENGINES, detect_engine, discourse_json_url, parse_section_page, parse_thread_page
from mediawatch.cli import app, console, err_console
from mediawatch.config import Settings, get_settings
from mediawatch.errors import UserError

EXCERPT_CHARS = 600


HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
POST_EXCERPT_CHARS = 160


def fetch_page(
    url: str, *, settings: Settings, accept: str = HTML_ACCEPT
) -> tuple[bytes, str | None, str]:
    """GET ``url`` as the crawler would be allowed to (:func:`crawlers.fetch.fetch_url`: SSRF guard on every
    hop, one deadline, size cap): ``(body, content type, final URL)``. UserError, one line, otherwise."""
    from crawlers.fetch import fetch_url
    from crawlers.netguard import Guard

    crawl = settings.crawl
    fetched = fetch_url(url, guard=Guard.from_settings(settings), user_agent=crawl.user_agent, timeout=crawl.timeout,
                        max_bytes=crawl.max_page_bytes, accept=accept)
    if fetched.truncated:
        err_console.print(f"warning: {url} is larger than {crawl.max_page_bytes} bytes; only the start was extracted")
    return fetched.body, fetched.content_type, fetched.url


def read_page_file(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a saved page — at most ``max_bytes`` (``crawl.max_page_bytes``, as for URLs; a warning
    says the rest was left) — refusing, in one line, a file that cannot be read, is empty or is binary."""
    from crawlers.extract import looks_binary

    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise UserError(f"no such file: {path}") from exc
    except IsADirectoryError as exc:
        raise UserError(f"{path} is a directory, not an HTML file") from exc
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise UserError(f"{path} is empty: nothing to extract")
    from crawlers.encoding import looks_utf16

    if looks_binary(data[:8192]) and not looks_utf16(data[:8192]):
        raise UserError(f"{path} is not an HTML page (binary data)")
    if len(data) > max_bytes:
        err_console.print(f"warning: {path} is larger than {max_bytes} bytes; only the start was extracted")
        data = data[:max_bytes]
    return data


@app.command("extract")
def extract_command(
    target: str = typer.Argument(..., metavar="FILE_OR_URL", help="A saved HTML file or an http(s) URL."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a panel."),
    page_url: str | None = typer.Option(
        None, "--url", help="For a saved file: the URL it came from (resolves links, dates in the URL)."
    ),
    forum: bool = typer.Option(False, "--forum", help="Read the page as a forum page even if no engine is detected."),
    engine: str | None = typer.Option(
        None, "--engine", help="Read the page as this forum engine: " + ", ".join(ENGINES) + "."
    ),
) -> None:
    """Extract one page: an article's title, dates, author, language and text, or a forum page's posts."""
    settings = get_settings()
    if not target.strip():
        raise UserError("no file or URL given: mediawatch extract PAGE.html or mediawatch extract https://…",
                        exit_code=2)
    if engine is not None and engine not in ENGINES:
        raise UserError(f"unknown forum engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    url: str | None
    content_type: str | None = None
    fetch = {"settings": settings}
    if "://" in target:
        if engine == "discourse":
            target = discourse_json_url(target)
        data, content_type, url = fetch_page(target, **fetch)
    else:
        data = read_page_file(Path(target), max_bytes=settings.crawl.max_page_bytes)
        url = page_url

    found = engine or detect_engine(data, url, content_type)
    if found == "discourse" and url and not _is_json(data, content_type):
        json_url = discourse_json_url(url)  # the HTML Discourse serves crawlers shows a page of posts at most
        if target.lower().startswith(("http://", "https://")) and json_url != url:
            data, content_type, url = fetch_page(json_url, **fetch, accept="application/json")
    if found or forum:
        page_address = url or Path(target).resolve().as_uri()
        if _show_forum(data, page_address, content_type, engine or found, settings.crawl.timezone, as_json):
            return
        if forum or engine:
            raise UserError(f"{target}: no forum posts or thread links found (engine {engine or found or 'generic'})")
    _show_article(data, url, content_type, target, settings.crawl.timezone, as_json)


def _is_json(data: bytes, content_type: str | None) -> bool:
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return mime.endswith("json") or data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _show_forum(
    data: bytes, url: str, content_type: str | None, engine: str | None, timezone: str, as_json: bool
) -> bool:
    """Print the thread page's posts, or else the section page's threads; False when the page has neither."""
    try:
        thread = parse_thread_page(data, url, content_type=content_type, engine=engine, timezone=timezone)
        section = None if thread.posts else parse_section_page(data, url, content_type=content_type, engine=engine)
    except ValueError as exc:  # a Discourse JSON that is neither a topic nor a topic list
        raise UserError(f"{url}: {exc}") from exc
    if section is not None and not section.thread_urls:
        return False
    if as_json:
        if section is not None:
            payload: dict[str, Any] = {
                "kind": "forum_section",
                "engine": section.engine,
                "url": url,
                "thread_urls": section.thread_urls,
                "next_url": section.next_url,
            }
        else:
            payload = {
                "kind": "forum",
                "engine": thread.engine,
                "url": url,
                "thread_url": thread.thread_url,
                "title": thread.title,
                "page": thread.page,
                "next_url": thread.next_url,
                "utc_offset": thread.utc_offset,
                "posts": [
                    {k: v for k, v in post.to_dict().items() if k in ("id", "author", "published", "position", "text")}
                    for post in thread.posts
                ],
            }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return True
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold cyan", no_wrap=True)
    fields.add_column()
    if section is not None:
        rows = [("engine", section.engine), ("threads", str(len(section.thread_urls))), ("next page", section.next_url)]
        listing = Table(show_header=False, box=None)
        for thread_url in section.thread_urls:
            listing.add_row(thread_url)
        body_parts: list[Any] = [listing]
        title = "(forum section)"
    else:
        rows = [
            ("engine", thread.engine),
            ("thread", thread.thread_url),
            ("page", str(thread.page)),
            ("next page", thread.next_url),
            ("stated clock", f"UTC{thread.utc_offset}" if thread.utc_offset else None),
            ("posts", str(len(thread.posts))),
        ]
        posts = Table(show_lines=False, expand=True)
        for column, options in (("#", {"justify": "right"}), ("id", {}), ("author", {}), ("published", {}),
                                ("text", {"ratio": 1})):  # fmt: skip
            posts.add_column(column, no_wrap=column != "text", **options)
        zone = ZoneInfo(timezone)
        for post in thread.posts:
            excerpt = post.text[:POST_EXCERPT_CHARS] + ("…" if len(post.text) > POST_EXCERPT_CHARS else "")
            when = post.published.astimezone(zone).strftime("%Y-%m-%d %H:%M") if post.published else "—"
            posts.add_row(str(post.position or ""), post.id, Text(post.author or "—"), when, Text(excerpt))
        body_parts = [posts]
        title = thread.title or "(untitled thread)"
    for label, value in rows:
        fields.add_row(label, Text(value) if value else Text("—", style="dim"))
    body = Table.grid()
    body.add_row(fields)
    body.add_row(Text(""))
    for part in body_parts:
        body.add_row(part)
    console.print(Panel(body, title=Text(title, style="bold"), subtitle=url))
    return True


def _show_article(
    data: bytes, url: str | None, content_type: str | None, target: str, timezone: str, as_json: bool
) -> None:
    from crawlers.extract import extract_article

    article = extract_article(data, url, content_type=content_type, timezone=timezone)

    if as_json:
        payload = {"kind": "news", "url": url, **article.to_dict(), "word_count": article.word_count}
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return

    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold cyan", no_wrap=True)
    fields.add_column()
    for label, value in (
        ("published", article.published.isoformat() if article.published else None),
        ("updated", article.updated.isoformat() if article.updated else None),
        ("date source", article.date_source),
        ("author", article.author),
        ("section", article.section),
        ("language", article.language),
        ("canonical", article.canonical_url),
        ("encoding", article.encoding),
        ("words", str(article.word_count)),
    ):
        fields.add_row(label, Text(value) if value else Text("—", style="dim"))
    excerpt = article.text[:EXCERPT_CHARS] + ("…" if len(article.text) > EXCERPT_CHARS else "")
    body = Table.grid()
    body.add_row(fields)
    body.add_row(Text(""))
    body.add_row(Text(excerpt) if excerpt else Text("(no main text found)", style="dim"))
    console.print(
        Panel(body, title=Text(article.title or "(untitled)", style="bold"), subtitle=url or target)
    )
