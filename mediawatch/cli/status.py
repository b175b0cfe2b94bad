"""``mediawatch status``: the cluster, the indices and their counts, the spool, and each source's last run."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.markup import escape
from rich.table import Table

from index.status import gather
from mediawatch.cli import app, console
from mediawatch.config import Settings, get_settings
from mediawatch.errors import ClusterUnavailable

HEALTH_STYLE = {"ok": "green", "degraded": "yellow", "failed": "red", "interrupted": "magenta"}


@app.command("status")
def status_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Show the cluster, indices and counts, the spool, and the last run of each source (exit 3 when the
    cluster cannot be reached; the spool is shown anyway)."""
    settings = get_settings()
    status = gather(settings)
    if as_json:
        typer.echo(json.dumps(status.to_json(), ensure_ascii=False, default=str))
    else:
        _print(status, settings)
    if not status.reachable:
        raise ClusterUnavailable(f"Elasticsearch at {status.url} is unreachable: {status.reason}")


def _print(status, settings: Settings) -> None:
    cluster = Table(title="Elasticsearch", show_header=False, title_justify="left")
    cluster.add_column(style="bold")
    cluster.add_column()
    cluster.add_row("url", status.url)
    if status.reachable:
        colour = {"green": "green", "yellow": "yellow", "red": "red"}.get(status.health or "", "white")
        cluster.add_row("health", f"[{colour}]{status.health}[/] ({status.nodes} node{'s' * (status.nodes != 1)})")
    else:
        cluster.add_row("health", f"[red]unreachable[/] ({escape(status.reason or '')})")
    if status.migration:
        cluster.add_row("migration", f"[yellow]{escape(status.migration)}[/]")
    console.print(cluster)
    if status.indices:
        indices = Table(title=f"Indices (prefix {settings.index.prefix})", title_justify="left")
        for col in ("alias", "schema", "documents", "size", "index"):
            indices.add_column(col)
        for ix in status.indices:
            schema = f"[green]{ix.version}[/]" if ix.current else f"[yellow]{escape(ix.version)}[/]"
            indices.add_row(ix.alias, schema, _n(ix.documents), _size(ix.bytes), ", ".join(ix.indices) or "-")
        console.print(indices)
    spool = status.spool
    share = spool["bytes"] / spool["max_bytes"] if spool["max_bytes"] else 0
    colour = "green" if not spool["bytes"] else ("red" if share > 0.9 else "yellow")
    console.print(
        f"[bold]Spool[/] {spool['directory']}: [{colour}]{_size(spool['bytes'])}[/] in {spool['segments']} "
        f"file(s), {_size(spool['pending_bytes'])} waiting for replay; limit {_size(spool['max_bytes'])}",
        highlight=False, soft_wrap=True,
    )
    if status.reachable:
        runs = Table(title="Last runs", title_justify="left")
        for col in ("source", "started", "health", "pages", "new", "updated", "failed fetches", "problems"):
            runs.add_column(col)
        for run in status.runs:
            style = HEALTH_STYLE.get(run.get("health", ""), "white")
            failed = ", ".join(f"{k}×{v}" for k, v in sorted((run.get("failures") or {}).items())) or "-"
            runs.add_row(run.get("source", "?"), _local(run.get("started"), settings),
                         f"[{style}]{run.get('health', '?')}[/]", _n(run.get("pages")), _n(run.get("created")),
                         _n(run.get("updated")), escape(failed), escape("; ".join(run.get("problems") or [])) or "-")
        if not status.runs:
            runs.add_row("-", "no crawl recorded yet: run `mediawatch crawl`", "", "", "", "", "", "")
        console.print(runs)
        for source, flags in status.flags.items():
            console.print(f"[yellow]{escape(source)} looks broken:[/] {escape('; '.join(flags))}", highlight=False)
        alerts = status.alerts
        if alerts:
            console.print(
                f"[bold]Alerts[/] {alerts['active']} active, {alerts['paused']} paused; notifications: "
                f"{alerts['sent']} sent, {alerts['pending']} to send, {alerts['queued']} waiting for a digest, "
                f"{alerts['failed']} failed", highlight=False)
            for item in alerts["failing"]:
                console.print(f"[red]failing channel[/] {escape(str(item['name']))} ({escape(str(item['owner']))}) → "
                              f"{escape(item['channel'])}: {escape(str(item['error']))}", highlight=False)


def _local(value: str | None, settings: Settings) -> str:
    if not value:
        return "-"
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(value).astimezone(ZoneInfo(settings.crawl.timezone)).strftime("%Y-%m-%d %H:%M")


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(value)
