"""``mediawatch prune``: apply the retention setting (delete old documents and stale page state), audited."""

from __future__ import annotations

import getpass

import typer

from index.client import make_client, ping_or_raise
from index.mappings import ensure_indices
from index.retention import prune_audited
from mediawatch.cli import app, console
from mediawatch.config import get_settings
from mediawatch.errors import UserError


def cli_actor() -> str:
    """Who a command run from the shell is recorded as in the audit log: ``cli:<OS user>``, else ``cli``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@app.command("prune")
def prune_cmd(
    days: int | None = typer.Option(None, "--days", min=1, help="Keep this many days (default: index.retention_days)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
) -> None:
    """Delete documents older than the retention period (by publish time, else first crawl), and page state
    older than that plus crawl.revisit_max_hours. Recorded in the audit log (retention.prune)."""
    settings = get_settings()
    keep = days or settings.index.retention_days
    if not keep:
        raise UserError(
            "no retention period: pass --days N or set index.retention_days (MEDIAWATCH_INDEX__RETENTION_DAYS)",
            exit_code=2,
        )
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    if not dry_run:
        ensure_indices(client, settings)
    result = prune_audited(client, settings, keep, actor=cli_actor(), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{verb} {result.documents} documents older than {keep} days and the state of "
                  f"{result.pages} pages not fetched for {keep} days + {settings.crawl.revisit_max_hours:g} hours",
                  highlight=False)
