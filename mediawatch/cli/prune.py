"""``mediawatch prune``: apply the retention setting (delete old documents)."""

from __future__ import annotations

import typer

from index.client import make_client, ping_or_raise
from index.retention import prune
from mediawatch.cli import app, console
from mediawatch.config import get_settings
from mediawatch.errors import UserError


@app.command("prune")
def prune_cmd(
    days: int | None = typer.Option(None, "--days", min=1, help="Keep this many days (default: index.retention_days)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
) -> None:
    """Delete documents older than the retention period (by publish time, else first crawl)."""
    settings = get_settings()
    keep = days or settings.index.retention_days
    if not keep:
        raise UserError(
            "no retention period: pass --days N or set index.retention_days (MEDIAWATCH_INDEX__RETENTION_DAYS)"
        )
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    count = prune(client, settings, keep, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{verb} {count} documents older than {keep} days")
