"""``mediawatch schedule``: the long-running scheduler, and what it plans."""

from __future__ import annotations

import logging

import typer
from rich.table import Table

from index.alertstore import ScheduleState
from index.client import make_client, ping_or_raise
from index.mappings import ensure_indices, schedule_alias
from mediawatch.cli import app, console
from mediawatch.config import get_settings

schedule_app = typer.Typer(help="Scheduled crawls: run the scheduler, see what is planned.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")


@schedule_app.command("run")
def run() -> None:
    """Run crawls when their schedules say (sources.yaml `schedule`), alerts after each crawl, digests on
    time, the retention prune once a day (index.retention_days, at index.retention_schedule); until SIGTERM or
    Ctrl-C, which stop it cleanly. Several schedulers may share one cluster."""
    from mediawatch.scheduler import run_forever

    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_forever(settings)


@schedule_app.command("list")
def list_cmd() -> None:
    """Each scheduled source (sources.yaml and the sources added in the web app): its schedule, when it is next
    due, how its last scheduled crawl ended; and the daily retention job (index.retention_days)."""
    from crawlers.sources import load_registry

    settings = get_settings()
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    ensure_indices(client, settings)
    registry = load_registry(settings, client)
    states = {s["source"]: s for s in ScheduleState(client, schedule_alias(settings)).all()}
    table = Table(title="Schedule")
    for col in ("source", "schedule", "next due", "last started", "last status"):
        table.add_column(col)
    from mediawatch.cli.status import _local

    for source in registry:
        state = states.get(source.id, {})
        table.add_row(source.id, source.schedule or "-" if source.enabled else "disabled",
                      _local(state.get("next_due"), settings) if source.schedule else "-",
                      _local(state.get("last_started"), settings), state.get("last_status") or "-")
    from datetime import UTC, datetime

    from mediawatch.scheduler import RETENTION_JOB, next_slot

    job = states.get(RETENTION_JOB, {})
    days, schedule = settings.index.retention_days, settings.index.retention_schedule
    due = job.get("next_due") or next_slot(schedule, datetime.now(UTC), settings.crawl.timezone).isoformat()
    table.add_row(f"(retention: prune after {days} days)" if days else "(retention: off)",
                  schedule if days else "-", _local(due, settings) if days else "-",
                  _local(job.get("last_started"), settings), job.get("last_status") or "-")
    console.print(table)
