"""``mediawatch sources``: what is registered for crawling — ``sources.yaml`` with the sources added or edited in
the web app laid over it (``crawlers.sources.load_registry``), the registry every crawl and the scheduler read."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from crawlers.sources import ORIGIN_FILE, SourceRegistry, load_registry, load_sources
from index.client import PING_TIMEOUT, make_client
from mediawatch.cli import app, console, err_console
from mediawatch.config import get_settings
from mediawatch.errors import ClusterUnavailable

sources_app = typer.Typer(help="Registered sources (sources.yaml and the sources added in the web app).",
                          no_args_is_help=True)
app.add_typer(sources_app, name="sources")

ORIGIN_LABELS = {"file": "file", "app": "web app", "edited": "file, edited in the web app"}


@sources_app.command("list")
def list_sources(
    file: Path | None = typer.Option(None, "--file", "-f", help="Sources file (default: settings crawl.sources_file)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List sources with kind, home, discovery channels, schedule and where each is defined. When
    Elasticsearch cannot be reached, the file alone is listed, with a warning."""
    settings = get_settings()
    if file is not None:
        settings = settings.model_copy(update={"crawl": settings.crawl.model_copy(update={"sources_file": file})})
    registry: SourceRegistry
    try:
        client = make_client(settings).options(request_timeout=PING_TIMEOUT, max_retries=0)
        registry = load_registry(settings, client)
    except ClusterUnavailable as exc:
        registry = load_sources(settings.crawl.sources_file)
        err_console.print(f"warning: {exc} Listing {registry.path} only: sources added or edited in the web app "
                          "are not shown.", highlight=False, soft_wrap=True)

    def origin(source_id: str) -> str:
        return registry.origin(source_id) if hasattr(registry, "origin") else ORIGIN_FILE

    if as_json:
        typer.echo(json.dumps([{**s.model_dump(mode="json"), "origin": origin(s.id)} for s in registry],
                              ensure_ascii=False, indent=2))
        return
    in_app = sum(1 for s in registry if origin(s.id) != ORIGIN_FILE)
    title = f"Sources in {registry.path}" + (f" and the web app ({in_app})" if in_app else "")
    table = Table(title=title)
    for col in ("id", "kind", "name", "home", "discovery", "lang", "schedule", "enabled", "defined in"):
        table.add_column(col)
    for s in registry:
        discovery = ", ".join(
            f"{n} {label}" for n, label in ((len(s.feeds), "feeds"), (len(s.sitemaps), "sitemaps"),
                                             (len(s.sections), "sections")) if n
        ) or "links"
        table.add_row(s.id, s.kind, s.name, s.home, discovery, s.language or "auto", s.schedule or "-",
                      "yes" if s.enabled else "no", ORIGIN_LABELS.get(origin(s.id), origin(s.id)))
    console.print(table)
