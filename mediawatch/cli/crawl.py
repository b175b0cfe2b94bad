"""``mediawatch crawl``: crawl sources now, with live progress and a health table."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crawlers.runner import CrawlReport, run_crawl, select_sources
from mediawatch.cli import app, console
from mediawatch.config import get_settings


@app.command("crawl")
def crawl(
    source_ids: list[str] = typer.Argument(None, help="Source ids; none means every enabled source."),
    file: Path | None = typer.Option(None, "--sources", "-f", help="Sources file (default: settings)."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
) -> None:
    """Crawl sources into Elasticsearch (politely; only what is new)."""
    settings = get_settings()
    sources = select_sources(settings, source_ids or [], sources_file=file)
    reports = crawl_with_progress(settings, sources, file, quiet=as_json)
    if as_json:
        typer.echo(json.dumps([_report_json(r) for r in reports], ensure_ascii=False, indent=2, default=str))
    else:
        print_reports(reports)
    if not all(r.finish_reason == "finished" for r in reports):
        raise typer.Exit(1)


def crawl_with_progress(settings, sources, file, *, quiet: bool) -> list[CrawlReport]:
    with Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(bar_width=None),
        TextColumn("{task.fields[pages]} pages · {task.fields[docs]} documents"), TimeElapsedColumn(),
        console=console, disable=quiet, transient=False,
    ) as progress:
        tasks = {s.id: progress.add_task(s.id, total=None, pages=0, docs=0) for s in sources}
        counts = {s.id: {"pages": 0, "docs": 0} for s in sources}

        def on_event(source_id: str, event: str) -> None:
            key = "pages" if event == "page" else "docs"
            counts[source_id][key] += 1
            progress.update(tasks[source_id], **counts[source_id])

        reports = run_crawl(settings, sources, sources_file=file, on_event=on_event)
        for s in sources:
            progress.update(tasks[s.id], total=1, completed=1)
    return reports


def _report_json(r: CrawlReport) -> dict:
    return {k: v for k, v in r.__dict__.items() if k != "stats"} | {"healthy": r.healthy}


def print_reports(reports: list[CrawlReport]) -> None:
    table = Table(title="Crawl report")
    for col in ("source", "result", "pages", "new/changed docs", "304", "skipped (known)", "robots-blocked",
                "HTTP errors", "health"):
        table.add_column(col)
    for r in reports:
        errors = ", ".join(f"{code}×{n}" for code, n in sorted(r.http_errors.items())) or "-"
        health = "[green]ok[/]" if r.healthy else f"[red]{r.errors} errors, {r.spooled} spooled[/]"
        table.add_row(r.source, r.finish_reason, str(r.pages), str(r.documents), str(r.not_modified),
                      str(r.skipped_known), str(r.robots_blocked), errors, health)
    console.print(table)
