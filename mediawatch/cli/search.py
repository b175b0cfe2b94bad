"""``mediawatch search``: boolean search with filters, highlighted snippets, totals and paging."""

from __future__ import annotations

import html
import inspect
import json
import re
from collections.abc import Sequence
from datetime import datetime, tzinfo

import typer
from rich.markup import escape
from rich.table import Table
from typer.models import OptionInfo

from enrich.labels import searchable_sentiments, searchable_topics, sentiment_name, topic_name
from index.client import make_client
from index.search import BadFilter, SearchRequest, SearchResult, iter_hits, local_zone, parse_when, search
from mediawatch.cli import app, console
from mediawatch.config import Settings, get_settings

_MARK = re.compile(r"</?mark>")
KINDS = ("news", "forum")
_LANGUAGE = re.compile(r"^([a-z]{2}|unknown)$")


@app.command("search")
def search_cmd(
    ctx: typer.Context,
    query: str = typer.Argument(
        ..., help='Boolean query: AND OR NOT "phrase" prefix* ( ). Empty string: all. Starting with -: put -- first.'
    ),
    date_from: str | None = typer.Option(
        None, "--from", help="Published on/after (local time): YYYY-MM-DD, ISO, today, yesterday, 7d, 12h, 2w."
    ),
    date_to: str | None = typer.Option(
        None, "--to", help="Published on/before (same forms; a day includes all of it)."
    ),
    source: list[str] = typer.Option([], "--source", "-s", help="Source id (repeatable)."),
    kind: list[str] = typer.Option([], "--kind", "-k", help="news or forum (repeatable)."),
    lang: list[str] = typer.Option([], "--lang", "-l", help="Language code such as vi or en (repeatable)."),
    topic: list[str] = typer.Option([], "--topic", "-t", help="Topic label, e.g. sports (repeatable)."),
    sentiment: list[str] = typer.Option([], "--sentiment", help="negative, neutral, positive or unknown (repeatable)."),
    place: list[str] = typer.Option(
        [], "--place", help="Province or commune/ward: a code (24, 09367) or a name with or without diacritics "
        "and type word ('Từ Sơn', 'phuong tu son', 'Tân Tiến, Hưng Yên') (repeatable)."
    ),
    stories: bool = typer.Option(False, "--stories", help="One hit per story (copies collapsed)."),
    facets: bool = typer.Option(
        False, "--facets", help="Counts by topic, sentiment, source, section, kind, language, place."
    ),
    sort: str = typer.Option("relevance", "--sort", help="relevance or date."),
    size: int = typer.Option(10, "--size", "-n", min=1, max=1000, help="Hits per page."),
    after: str | None = typer.Option(None, "--after", help="Cursor from a previous page ('next')."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Stream this many hits across pages (JSON lines)."),
    as_json: bool = typer.Option(False, "--json", help='Print {"total": N, "hits": [...], "next": cursor}.'),
) -> None:
    """Search indexed articles and forum posts. Dates are read and shown in the configured time zone."""
    settings = get_settings()
    if sort not in ("relevance", "date"):
        raise typer.BadParameter("must be relevance or date", ctx=ctx, param_hint="--sort")
    zone = local_zone(settings)
    start = _when(ctx, "--from", date_from, zone, end_of_day=False)
    end = _when(ctx, "--to", date_to, zone, end_of_day=True)
    if start and end and start > end:
        raise typer.BadParameter(f"{date_from!r} is after --to {date_to!r}; nothing can match", ctx=ctx,
                                 param_hint="--from")
    req = SearchRequest(
        query=query,
        date_from=start,
        date_to=end,
        sources=[_check_source(ctx, value) for value in source],
        kinds=_choose(ctx, "--kind", kind, KINDS),
        languages=[_check_language(ctx, value) for value in lang],
        topics=_choose(ctx, "--topic", topic, _topics(settings)),
        sentiments=_choose(ctx, "--sentiment", sentiment, searchable_sentiments(settings.enrich.sentiment_model)),
        places=[_check_place(ctx, value) for value in place],
        sort=sort,
        size=size,
        after=after,
        collapse_stories=stories,
        facets=facets,  # type: ignore[arg-type]
    )
    # Each request waits es.request_timeout at most and is not retried: a cluster that accepts connections and
    # never answers fails as one that refuses them does (exit 3), within that deadline, not after retries.
    client = make_client(settings).options(max_retries=0, retry_on_timeout=False)
    if limit is not None:
        for hit in iter_hits(client, settings, req, limit):
            typer.echo(json.dumps(hit.to_json(), ensure_ascii=False))
        return
    result = search(client, settings, req)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    print_result(result, query)


SEARCH_OPTIONS = frozenset(
    {"--help"}
    | {
        decl
        for param in inspect.signature(search_cmd).parameters.values()
        if isinstance(param.default, OptionInfo)
        for decl in param.default.param_decls or ()
    }
)
"""Every option spelling ``mediawatch search`` takes (a token starting with '-' that is none of these is
probably a query that needs ``--`` before it)."""


def _when(ctx: typer.Context, option: str, value: str | None, zone: tzinfo, *, end_of_day: bool) -> datetime | None:
    """``--from``/``--to`` read in the configured zone; an unreadable or absurd date is a usage error."""
    if not value:
        return None
    try:
        return parse_when(value, zone, end_of_day=end_of_day)
    except BadFilter as exc:
        raise typer.BadParameter(str(exc), ctx=ctx, param_hint=option) from None


def _choose(ctx: typer.Context, option: str, values: Sequence[str], valid: Sequence[str] | None) -> list[str]:
    """``values`` spelled as in ``valid`` (case-insensitively); any other value is a usage error listing ``valid``.
    ``valid`` None: not checkable here, taken as given."""
    if valid is None:
        return list(values)
    by_lower = {label.lower(): label for label in valid}
    chosen = []
    for value in values:
        label = by_lower.get(value.strip().lower())
        if label is None:
            raise typer.BadParameter(f"{value!r} cannot match; use one of {', '.join(valid)}", ctx=ctx,
                                     param_hint=option)
        chosen.append(label)
    return chosen


def _topics(settings: Settings) -> list[str] | None:
    return searchable_topics(settings.enrich.topic_model, settings.enrich.topic_labels)


def _check_language(ctx: typer.Context, value: str) -> str:
    code = value.strip().lower()
    if not _LANGUAGE.match(code):
        raise typer.BadParameter(f"{value!r} is not a two-letter language code such as vi or en (or unknown)",
                                 ctx=ctx, param_hint="--lang")
    return code


def _check_source(ctx: typer.Context, value: str) -> str:
    if not value.strip() or any(ch.isspace() for ch in value) or value.startswith("-"):
        raise typer.BadParameter(f"{value!r} is not a source id (see mediawatch sources list)", ctx=ctx,
                                 param_hint="--source")
    return value


def _check_place(ctx: typer.Context, value: str) -> str:
    """``--place``: the code of the one unit of today ``value`` names; none or several is a usage error
    (several are listed with their provinces and codes)."""
    from enrich.places import gazetteer

    units = gazetteer().lookup(value) if value.strip() else []
    if not units:
        raise typer.BadParameter(f"{value!r} names no province or commune/ward of the 2025 list; give a code "
                                 "(24, 09367) or a name such as 'Bắc Ninh' or 'phường Từ Sơn'", ctx=ctx,
                                 param_hint="--place")
    if len(units) > 1:
        shown = ", ".join(f"{u.name} ({u.province_name}, {u.code})" for u in units[:12])
        more = f" and {len(units) - 12} more" if len(units) > 12 else ""
        raise typer.BadParameter(f"{value!r} is ambiguous: {shown}{more}; give the code or add the province "
                                 f"('{units[0].short}, {units[0].province_name}')", ctx=ctx, param_hint="--place")
    return units[0].code


def print_result(result: SearchResult, query: str) -> None:
    """A Rich table: when (local time, zone in the title), where, title, highlighted snippet, URL, copies."""
    title = f"{result.total} hits for {query!r} ({result.took_ms} ms) · times in {_zone_label(result)}"
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
            hit.published.strftime("%Y-%m-%d %H:%M") if hit.published else "-",
            f"{hit.source}\n[dim]{hit.kind}[/]",
            f"[bold]{escape(hit.title)}[/]\n{snippet}{extra}",
        )
    console.print(table)
    if result.facets:
        places = result.facets.get("place_names") or {}
        names = {"topic": topic_name, "sentiment": sentiment_name, "place": lambda code: places.get(code, code)}
        for facet in ("topic", "sentiment", "source", "section", "language", "place"):
            show = names.get(facet, str)
            counts = ", ".join(f"{show(k)} {v}" for k, v in result.facets.get(facet, {}).items())
            console.print(f"[bold]{facet}[/]: {escape(counts) or '-'}")
    if result.next_cursor:
        console.print(f"[dim]next page: --after {result.next_cursor}[/]")


def _zone_label(result: SearchResult) -> str:
    """``Asia/Ho_Chi_Minh (UTC+07:00)``: the zone of the hits' times, with its current offset."""
    from zoneinfo import ZoneInfo

    offset = datetime.now(ZoneInfo(result.timezone)).strftime("%z")
    return f"{result.timezone} (UTC{offset[:3]}:{offset[3:]})"
