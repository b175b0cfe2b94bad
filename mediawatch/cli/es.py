"""``mediawatch es``: start, check and stop the local Elasticsearch node or local cluster (or check the
configured cluster)."""

from __future__ import annotations

import typer
from rich.table import Table

from index import node
from mediawatch.cli import app, console, err_console
from mediawatch.config import get_settings
from mediawatch.errors import ClusterUnavailable, UserError

es_app = typer.Typer(no_args_is_help=True, add_completion=False)
app.add_typer(
    es_app,
    name="es",
    help="Run the local Elasticsearch node, or check the cluster set by MEDIAWATCH_ES_URL.",
)


@es_app.command("start")
def start(
    nodes: int | None = typer.Option(
        None, "--nodes", min=1, max=9,
        help="Start a local cluster of this many nodes (default: es.nodes, 1). Set MEDIAWATCH_ES__NODES to the"
        " same number so every command uses all of them.",
    ),
) -> None:
    """Download (once), configure and start the local node (or cluster); print its URL last, on its own
    line (a cluster's URLs comma-separated).

    With MEDIAWATCH_ES_URL set, nothing is started: the cluster is only checked.
    """
    settings = get_settings()
    if nodes is not None:
        if not settings.es.local:
            raise UserError(
                f"--nodes starts a local cluster, but es.url points at an external one ({settings.es.url});"
                " unset MEDIAWATCH_ES_URL to run a local cluster"
            )
        settings = settings.model_copy(update={"es": settings.es.model_copy(update={"nodes": nodes})})
    with err_console.status("Starting Elasticsearch…", spinner="dots") as spinner:

        def log(message: str) -> None:
            err_console.print(message, highlight=False, soft_wrap=True)
            spinner.update(message)

        url = node.ensure_started(settings, log=log)
    console.print(url, highlight=False, soft_wrap=True)


@es_app.command("status")
def status() -> None:
    """Show whether the node (or configured cluster) runs, its health and data dir; exit 1 when down."""
    settings = get_settings()
    result = node.status(settings)
    if not result.managed and not result.running:
        raise ClusterUnavailable(result.reason or f"Elasticsearch at {result.url} is unreachable")
    table = Table(title="Elasticsearch", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    colour = {"green": "green", "yellow": "yellow", "red": "red"}.get(result.health or "", "dim")
    table.add_row("running", "[green]yes[/]" if result.running else "[red]no[/]")
    table.add_row("url", result.url)
    managed = f"local cluster of {len(result.members)} nodes" if result.members else "local node"
    table.add_row("managed", managed if result.managed else "external cluster (es.url)")
    table.add_row("health", f"[{colour}]{result.health or '-'}[/]")
    table.add_row("version", result.version or "-")
    for member in result.members:
        state = f"[green]up[/] pid {member.pid}" if member.running else "[red]down[/]"
        table.add_row(member.name, f"{state}  {member.url}  {member.data_dir.parent}")
    if result.managed and not result.members:
        table.add_row("pid", str(result.pid) if result.pid else "-")
        table.add_row("data", str(result.data_dir))
        table.add_row("install", str(result.install_dir))
        table.add_row("log", str(result.log_file))
    console.print(table)
    if not result.running:  # main() prints the one error line and exits 1
        raise UserError(result.reason or "Elasticsearch is not running", exit_code=1)
    if result.reason:
        err_console.print(f"[yellow]warning:[/] {result.reason}", highlight=False, soft_wrap=True)


@es_app.command("stop")
def stop() -> None:
    """Stop the local node, or every node of the local cluster (harmless when none runs)."""
    settings = get_settings()

    def log(message: str) -> None:
        err_console.print(message, highlight=False, soft_wrap=True)

    with err_console.status("Stopping Elasticsearch…", spinner="dots"):
        stopped = node.stop(settings, log=log)
    if stopped:
        console.print("Stopped the local Elasticsearch node(s).")
    elif settings.es.local:
        console.print("The local Elasticsearch node was not running.")
