"""``mediawatch crawl``: crawl sources now, with live progress, a health table and a documented exit code
(see :mod:`crawlers.runner`)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crawlers.report import CrawlReport
from crawlers.runner import CrawlOutcome, exit_code, run_crawl, select_sources
from mediawatch.cli import app, console, err_console
from mediawatch.config import Settings, get_settings

HEALTH_STYLE = {"ok": "green", "degraded": "yellow", "failed": "red", "interrupted": "magenta"}


@app.command("crawl")
def crawl(
    source_ids: list[str] = typer.Argument(None, help="Source ids; none means every enabled source."),
    file: Path | None = typer.Option(None, "--sources", "-f", help="Sources file (default: crawl.sources_file)."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
    due: bool = typer.Option(False, "--due", help="Only the sources whose schedule says they are due (one pass "
                             "of the scheduler, for cron or systemd timers)."),
    alerts: bool = typer.Option(True, "--alerts/--no-alerts", help="Match the new documents against the alerts "
                                "and send what is due, after the crawl (default: yes)."),
    lease_owner: str | None = typer.Option(None, "--lease-owner", hidden=True,
                                           help="The crawl leases a scheduler took for this process."),
) -> None:
    """Crawl sources into Elasticsearch (politely; only what is new), then run the alerts.

    Exit codes: 0 ok (or nothing due); 2 bad usage or configuration; 3 Elasticsearch unreachable, schema
    outdated, or the sources already being crawled elsewhere; 4 a model cannot load; 5 finished with
    failures; 6 writes spooled (replayed by the next crawl); 130 interrupted."""
    settings = get_settings()
    if file is not None:
        settings = settings.model_copy(update={"crawl": settings.crawl.model_copy(update={"sources_file": file})})
    scheduler = None
    if due:
        from mediawatch.scheduler import Scheduler

        scheduler = Scheduler(settings)
        ensure_ready(settings)
        claims = scheduler.claim_due(scheduler.clock(), limit=10_000, only=source_ids or None)
        sources = [c.source for c in claims]
        if not sources:
            console.print("nothing is due", highlight=False)
            return
    else:
        sources = select_sources(settings, source_ids or [])
    outcome = crawl_with_progress(settings, sources, quiet=as_json, lease_owner=lease_owner)
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in outcome.reports], ensure_ascii=False, indent=2, default=str))
    else:
        print_reports(outcome.reports)
    print_summary(outcome, settings)
    if scheduler is not None:
        for report in outcome.reports:
            scheduler._record_end(report.source, exit_code([report]), scheduler.clock())
    if alerts and not outcome.interrupted and not any(r.unreplayed for r in outcome.reports):
        run_alerts(settings, quiet=as_json)
    raise typer.Exit(outcome.exit_code)


def ensure_ready(settings: Settings) -> None:
    from index.client import make_client, ping_or_raise
    from index.mappings import ensure_indices

    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    ensure_indices(client, settings)


def run_alerts(settings: Settings, *, quiet: bool) -> None:
    """The alert pass after a crawl; a failure here is reported, never fails the crawl (the next pass
    picks the documents up: they stay marked for matching)."""
    from alerts.service import run_pass
    from index.client import make_client

    try:
        report = run_pass(make_client(settings), settings)
    except Exception as exc:  # noqa: BLE001 - reported in one line; the documents wait for the next pass
        err_console.print(f"warning: alerts were not run: {exc}", highlight=False, soft_wrap=True)
        return
    m, d = report.matching, report.delivery
    if quiet or not (m.notifications or d.sent or d.failed or d.retrying):
        return
    console.print(f"alerts: {m.notifications} new notifications ({m.copies} copies noted), {d.sent} sent, "
                  f"{d.retrying} to retry, {d.failed} failed", highlight=False)


def crawl_with_progress(settings: Settings, sources: list, *, quiet: bool, lease_owner: str | None = None
                        ) -> CrawlOutcome:
    with Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(bar_width=None),
        TextColumn("{task.fields[pages]} pages · {task.fields[docs]} documents"), TimeElapsedColumn(),
        console=err_console if quiet else console, disable=quiet, transient=False,
    ) as progress:
        tasks = {s.id: progress.add_task(s.id, total=None, pages=0, docs=0) for s in sources}
        counts = {s.id: {"pages": 0, "docs": 0} for s in sources}

        def on_event(source_id: str, event: str, n: int) -> None:
            key = "pages" if event == "page" else "docs"
            counts[source_id][key] += n
            progress.update(tasks[source_id], **counts[source_id])

        outcome = run_crawl(settings, sources, on_event=on_event, lease_owner=lease_owner)
        for s in sources:
            progress.update(tasks[s.id], total=1, completed=1)
    return outcome


def print_reports(reports: list[CrawlReport]) -> None:
    table = Table(title="Crawl report")
    for col in ("source", "health", "pages", "new", "updated", "unchanged", "304", "skipped (known)",
                "robots", "failed fetches"):
        table.add_column(col)
    for r in reports:
        failed = ", ".join(f"{reason}×{n}" for reason, n in sorted(r.failures.items())) or "-"
        style = HEALTH_STYLE.get(r.health, "white")
        table.add_row(r.source, f"[{style}]{r.health}[/]", str(r.pages), str(r.created), str(r.updated),
                      str(r.unchanged), str(r.not_modified), str(r.skipped_known), str(r.robots_refused),
                      escape(failed))
    console.print(table)
    for r in reports:
        for problem in r.problems:
            console.print(f"[{HEALTH_STYLE.get(r.health, 'white')}]{r.source}:[/] {escape(problem)}",
                          highlight=False)


def print_summary(outcome: CrawlOutcome, settings: Settings) -> None:
    """One line each for what a person must know: writes spooled, documents rejected, an interruption."""
    reports = outcome.reports
    spooled = sum(r.spooled for r in reports)
    unreplayed = sum(r.unreplayed for r in reports)
    rejected = sum(r.rejected for r in reports)
    saved = sum(r.created + r.updated for r in reports)
    if unreplayed:
        where = settings.data_dir / "spool" / settings.index.prefix
        err_console.print(f"warning: {unreplayed} writes spooled to {where} (Elasticsearch unavailable); "
                          "the next crawl replays them", highlight=False, soft_wrap=True)
    elif spooled:
        err_console.print(f"note: Elasticsearch was unavailable during the crawl; {spooled} writes spooled "
                          "meanwhile were all written before it ended", highlight=False, soft_wrap=True)
    if rejected:
        err_console.print(f"warning: Elasticsearch rejected {rejected} documents; their pages will be fetched "
                          "again by the next crawl", highlight=False, soft_wrap=True)
    for source_id, holder in outcome.busy.items():
        err_console.print(f"skipped {source_id}: already being crawled by {holder}", highlight=False, soft_wrap=True)
    if outcome.interrupted:
        err_console.print(f"interrupted: {saved} documents saved; pages still in progress will be fetched again "
                          "by the next crawl", highlight=False, soft_wrap=True)
