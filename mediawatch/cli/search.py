"""``mediawatch search``: boolean search with filters, highlighted snippets, totals and paging."""

from __future__ import annotations

import html
import json
import re

import typer
from rich.markup import escape
from rich.table import Table

from enrich.labels import sentiment_name, topic_name
from index.client import make_client
from index.search import SearchRequest, SearchResult, iter_hits, parse_when, search
from mediawatch.cli import app, console
from mediawatch.config import get_settings

_MARK = re.compile(r"</?mark>")


@app.command("search")
def search_cmd(
    query: str = typer.Argument(..., help='Boolean query: AND OR NOT "phrase" prefix* ( ). Empty string: all.'),
    date_from: str | None = typer.Option(None, "--from", help="Published on/after: YYYY-MM-DD, ISO, today, 7d."),
    date_to: str | None = typer.Option(None, "--to", help="Published on/before (same forms)."),
    source: list[str] = typer.Option([], "--source", "-s", help="Source id (repeatable)."),
    kind: list[str] = typer.Option([], "--kind", "-k", help="news or forum (repeatable)."),
    lang: list[str] = typer.Option([], "--lang", "-l", help="Language code such as vi or en (repeatable)."),
    topic: list[str] = typer.Option([], "--topic", "-t", help="Topic label, e.g. sports (repeatable)."),
    sentiment: list[str] = typer.Option([], "--sentiment", help="negative, neutral or positive (repeatable)."),
    stories: bool = typer.Option(False, "--stories", help="One hit per story (copies collapsed)."),
    facets: bool = typer.Option(False, "--facets", help="Counts by topic, sentiment, source, kind, language."),
    sort: str = typer.Option("relevance", "--sort", help="relevance or date."),
    size: int = typer.Option(10, "--size", "-n", min=1, max=1000, help="Hits per page."),
    after: str | None = typer.Option(None, "--after", help="Cursor from a previous page ('next')."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Stream this many hits across pages (JSON lines)."),
    as_json: bool = typer.Option(False, "--json", help='Print {"total": N, "hits": [...], "next": cursor}.'),
) -> None:
    """Search indexed articles and forum posts."""
    if sort not in ("relevance", "date"):
        raise typer.BadParameter("must be 'relevance' or 'date'", param_hint="--sort")
    settings = get_settings()
    req = SearchRequest(
        query=query,
        date_from=parse_when(date_from) if date_from else None,
        date_to=parse_when(date_to, end_of_day=True) if date_to else None,
        sources=source,
        kinds=kind,
        languages=lang,
        topics=topic,
        sentiments=sentiment,
        sort=sort,
        size=size,
        after=after,
        collapse_stories=stories,
        facets=facets,  # type: ignore[arg-type]
    )
    client = make_client(settings)
    if limit is not None:
        for hit in iter_hits(client, settings, req, limit):
            typer.echo(json.dumps(hit.__dict__, ensure_ascii=False))
        return
    result = search(client, settings, req)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    print_result(result, query)


def print_result(result: SearchResult, query: str) -> None:
    """A Rich table: when, where, title, highlighted snippet, URL, and how many copies exist."""
    title = f"{result.total} hits for {query!r} ({result.took_ms} ms)"
    if result.facets:
        title += f" · {result.facets['stories']} stories · {result.facets['outlets']} outlets"
    table = Table(title=title, show_lines=True, expand=True)
    table.add_column("published", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("title / snippet", ratio=1)
    for hit in result.hits:
        snippet = _MARK.sub(
            lambda m: "[/bold yellow]" if m.group().startswith("</") else "[bold yellow]",
            escape(html.unescape(hit.snippet)),
        )
        extra = f"\n[dim]{escape(hit.url)}[/]"
        if hit.also_at:
            extra += f"\n[dim]also at {len(hit.also_at)} other URL(s)[/]"
        if hit.story_size > 1:
            extra += f"\n[dim]1 story, {hit.story_size} documents, {hit.story_outlets} outlet(s)[/]"
        if hit.topic:
            topic = f"{topic_name(hit.topic)} / {topic_name(hit.topic, 'en')}"
            feeling = sentiment_name(hit.sentiment or "unknown")
            extra += f"\n[cyan]{escape(topic)}[/] · [magenta]{escape(feeling)}[/]"
        table.add_row(
            (hit.published or "-")[:16].replace("T", " "),
            f"{hit.source}\n[dim]{hit.kind}[/]",
            f"[bold]{escape(hit.title)}[/]\n{snippet}{extra}",
        )
    console.print(table)
    if result.facets:
        names = {"topic": topic_name, "sentiment": sentiment_name}
        for facet in ("topic", "sentiment", "source", "language"):
            show = names.get(facet, str)
            counts = ", ".join(f"{show(k)} {v}" for k, v in result.facets.get(facet, {}).items())
            console.print(f"[bold]{facet}[/]: {escape(counts) or '-'}")
    if result.next_cursor:
        console.print(f"[dim]next page: --after {result.next_cursor}[/]")
