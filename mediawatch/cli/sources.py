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


@sources_app.command("remove")
def remove_source(
    source_id: str = typer.Argument(..., metavar="ID", help="The source's id."),
    delete_documents: bool = typer.Option(False, "--delete-documents",
                                          help="Also delete the source's documents and page state."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (needed without a terminal)."),
) -> None:
    """Remove a source added in the web app; with --delete-documents also delete its documents and page state
    (also for a source already taken out of sources.yaml). A source still in sources.yaml is removed by deleting
    its entry there. Audited as source.delete, with the counts."""
    from index.client import ping_or_raise
    from index.locks import Lease
    from index.mappings import ensure_indices, locks_alias
    from index.retention import count_source_data, delete_source_data
    from index.sources import SourceStore
    from index.users import AuditLog
    from mediawatch.cli.prune import cli_actor
    from mediawatch.errors import UserError

    settings = get_settings()
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    ensure_indices(client, settings)
    stored = SourceStore.of(client, settings).get(source_id)
    in_file = {s.id for s in load_sources(settings.crawl.sources_file)} if Path(settings.crawl.sources_file).exists() \
        else set()
    if source_id in in_file:
        raise UserError(f"source {source_id!r} is defined in {settings.crawl.sources_file}: delete its entry there "
                        "first (then this command can delete its documents)", exit_code=2)
    data = count_source_data(client, settings, source_id)
    if stored is None and not (data.documents or data.pages):
        registry = load_registry(settings, client)
        known = ", ".join(sorted(s.id for s in registry)) or "none"
        raise UserError(f"unknown source {source_id!r}: nothing is registered or stored under that id (known: {known})",
                        exit_code=2)
    if stored is None and not delete_documents:
        raise UserError(f"source {source_id!r} is not registered; its {data.documents} documents and {data.pages} "
                        "page states remain: pass --delete-documents to delete them", exit_code=2)
    what = "the source" if stored is not None else ""
    if delete_documents:
        what = " and ".join(x for x in (what, f"{data.documents} documents and {data.pages} page states") if x)
    if not yes:
        import sys

        if not sys.stdin.isatty():
            raise UserError(f"this deletes {what} of {source_id!r}: pass --yes to confirm", exit_code=2)
        if not typer.confirm(f"Delete {what} of {source_id!r}?"):
            raise UserError("nothing deleted", exit_code=1)
    lease = Lease(client, locks_alias(settings), f"crawl:{source_id}", purpose="remove",
                  ttl=settings.schedule.lease_seconds)
    holder = lease.try_acquire()
    if holder is not None:
        raise UserError(f"source {source_id!r} is being crawled now ({holder.describe()}); try again when it ends")
    try:
        if stored is not None:
            SourceStore.of(client, settings).delete(source_id)
        deleted = delete_source_data(client, settings, source_id) if delete_documents else None
    finally:
        lease.release()
    AuditLog.of(client, settings).record(
        actor=cli_actor(), action="source.delete", target=source_id, refresh=True,
        details={"origin": "app" if stored is not None else "unregistered", "record_removed": stored is not None,
                 "documents": deleted.documents if deleted else 0, "pages": deleted.pages if deleted else 0,
                 "documents_deleted": deleted is not None,
                 **({"config": stored[0].get("config")} if stored is not None else {})})
    parts = ["removed the source"] if stored is not None else []
    if deleted is not None:
        parts.append(f"deleted {deleted.documents} documents and {deleted.pages} page states")
    console.print(f"{source_id}: " + "; ".join(parts), highlight=False)
