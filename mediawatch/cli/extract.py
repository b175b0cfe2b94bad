"""``mediawatch extract FILE_OR_URL``: run the article extractor on one page and show the result."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mediawatch.cli import app, console, err_console
from mediawatch.config import get_settings
from mediawatch.errors import UserError

EXCERPT_CHARS = 600


def fetch_page(url: str, *, user_agent: str, timeout: float, max_bytes: int) -> tuple[bytes, str | None, str]:
    """GET ``url`` politely: ``(body, content type, final URL)``. Bodies over ``max_bytes`` are cut there.

    Raises UserError (one line) for HTTP errors, unreachable hosts, timeouts and malformed URLs."""
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": user_agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
            "Accept-Encoding": "identity",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
            content_type = response.headers.get("Content-Type")
            final_url = response.geturl() or url
    except urllib.error.HTTPError as exc:
        raise UserError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise UserError(f"cannot reach {url}: {exc.reason}") from exc
    except TimeoutError as exc:
        raise UserError(f"cannot reach {url}: timed out after {timeout:g}s") from exc
    except (ValueError, OSError) as exc:
        raise UserError(f"cannot fetch {url}: {exc}") from exc
    if len(body) > max_bytes:
        err_console.print(f"warning: {url} is larger than {max_bytes} bytes; only the start was extracted")
        body = body[:max_bytes]
    return body, content_type, final_url


def read_page_file(path: Path) -> bytes:
    """The bytes of a local HTML file; UserError (one line) if it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise UserError(f"no such file: {path}") from exc
    except IsADirectoryError as exc:
        raise UserError(f"{path} is a directory, not an HTML file") from exc
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc


@app.command("extract")
def extract_command(
    target: str = typer.Argument(..., metavar="FILE_OR_URL", help="A saved HTML file or an http(s) URL."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a panel."),
    page_url: str | None = typer.Option(
        None, "--url", help="For a saved file: the URL it came from (resolves links, dates in the URL)."
    ),
) -> None:
    """Extract title, dates, author, language and main text from one page."""
    from crawlers.extract import extract_article

    settings = get_settings()
    url: str | None
    content_type: str | None = None
    if target.lower().startswith(("http://", "https://")):
        data, content_type, url = fetch_page(
            target,
            user_agent=settings.crawl.user_agent,
            timeout=settings.crawl.timeout,
            max_bytes=settings.crawl.max_page_bytes,
        )
    else:
        data = read_page_file(Path(target))
        url = page_url

    article = extract_article(data, url, content_type=content_type, timezone=settings.crawl.timezone)

    if as_json:
        payload = {"url": url, **article.to_dict(), "word_count": article.word_count}
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
