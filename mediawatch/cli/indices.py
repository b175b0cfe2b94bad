"""``mediawatch index``: schema migrations (explicit, under a lock, with writers held off)."""

from __future__ import annotations

import typer

from index.client import make_client, ping_or_raise
from index.migrate import migrate
from mediawatch.cli import app, console, err_console
from mediawatch.config import get_settings

index_app = typer.Typer(help="The Elasticsearch indices: schema migrations.", no_args_is_help=True)
app.add_typer(index_app, name="index")


@index_app.command("migrate")
def migrate_cmd(
    wait: float = typer.Option(0.0, "--wait", min=0, help="Seconds to wait for another migration to finish."),
    delete_old: bool = typer.Option(False, "--delete-old", help="Delete the old indices once migrated."),
    batch_size: int = typer.Option(500, "--batch-size", min=1, max=10_000, help="Documents per bulk request."),
) -> None:
    """Move every index to this version's schema. Crawls are held off (their writes wait) while it runs;
    exits 3 if another migration holds the lock longer than --wait."""
    settings = get_settings()
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)

    def log(message: str) -> None:
        err_console.print(message, highlight=False, soft_wrap=True)

    steps = migrate(client, settings, wait=wait, delete_old=delete_old, batch_size=batch_size, log=log)
    for step in steps:
        if step.action == "migrated":
            console.print(f"{step.alias}: migrated {step.copied} documents from {', '.join(step.from_indices)} "
                          f"to {step.to_index}", highlight=False)
        else:
            console.print(f"{step.alias}: {step.action} ({step.to_index})", highlight=False)
