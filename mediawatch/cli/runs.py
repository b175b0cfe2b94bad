"""``mediawatch runs``: the recorded crawl runs, newest first, with health and flags against history."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from index.client import make_client, ping_or_raise
from index.mappings import runs_alias
from index.runs import history_flags, recent_runs
from mediawatch.cli import app, console
from mediawatch.cli.status import HEALTH_STYLE, _local
from mediawatch.config import get_settings


@app.command("runs")
def runs_cmd(
    source: str | None = typer.Option(None, "--source", "-s", help="Only this source's runs."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10_000, help="How many runs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Crawl runs: start, end, health, pages, documents new/updated/unchanged, errors by type, robots
    refusals, bytes; a run far below its source's usual yield, or with rising errors or extraction
    trouble, is flagged."""
    settings = get_settings()
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    runs = recent_runs(client, runs_alias(settings), source=source, size=limit + 10)
    flagged = []
    for i, run in enumerate(runs):
        history = [r for r in runs[i + 1:] if r.get("source") == run.get("source")][:10]
        flagged.append(history_flags(run, history))
    runs, flagged = runs[:limit], flagged[:limit]
    if source and not runs:
        _check_source(settings, client, source)
    if as_json:
        typer.echo(json.dumps([{**r, "flags": f} for r, f in zip(runs, flagged, strict=True)], ensure_ascii=False))
        return
    table = Table(title="Crawl runs" + (f" of {source}" if source else ""))
    for col in ("source", "started", "finished", "health", "pages", "new", "updated", "unchanged", "failed fetches",
                "robots", "MB", "flags"):
        table.add_column(col)
    for run, flags in zip(runs, flagged, strict=True):
        style = HEALTH_STYLE.get(run.get("health", ""), "white")
        failed = ", ".join(f"{k}×{v}" for k, v in sorted((run.get("failures") or {}).items())) or "-"
        started, finished = _local(run.get("started"), settings), _local(run.get("finished"), settings)
        table.add_row(run.get("source", "?"), started, finished,
                      f"[{style}]{run.get('health', '?')}[/]", str(run.get("pages", 0)), str(run.get("created", 0)),
                      str(run.get("updated", 0)), str(run.get("unchanged", 0)), escape(failed),
                      str(run.get("robots_refused", 0)), f"{(run.get('bytes') or 0) / 1e6:.1f}",
                      "[yellow]" + escape("; ".join(flags)) + "[/]" if flags else "-")
    console.print(table)
    if not runs:
        console.print("no runs recorded yet: mediawatch crawl")


def _check_source(settings, client, source: str) -> None:
    """No runs of ``source``: a usage mistake (exit 2) when no such source is registered either (a typo), rather
    than an empty table; a registered source that never ran (or a broken sources file) lists nothing."""
    from crawlers.sources import load_registry
    from mediawatch.errors import ConfigError

    try:
        registry = load_registry(settings, client)
    except ConfigError:
        return
    registry.get(source)  # UserError naming the known sources
