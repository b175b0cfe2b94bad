"""``mediawatch sources``: what is registered for crawling."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from crawlers.sources import load_sources
from mediawatch.cli import app, console
from mediawatch.config import get_settings

sources_app = typer.Typer(help="Registered sources (sources.yaml).", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


@sources_app.command("list")
def list_sources(
    file: Path | None = typer.Option(None, "--file", "-f", help="Sources file (default: settings crawl.sources_file)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List sources with kind, home, discovery channels and schedule."""
    registry = load_sources(file or get_settings().crawl.sources_file)
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in registry], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Sources in {registry.path}")
    for col in ("id", "kind", "name", "home", "discovery", "lang", "schedule", "enabled"):
        table.add_column(col)
    for s in registry:
        discovery = ", ".join(
            f"{n} {label}" for n, label in ((len(s.feeds), "feeds"), (len(s.sitemaps), "sitemaps"),
                                             (len(s.sections), "sections")) if n
        ) or "links"
        table.add_row(s.id, s.kind, s.name, s.home, discovery, s.language or "auto", s.schedule or "-",
                      "yes" if s.enabled else "no")
    console.print(table)
