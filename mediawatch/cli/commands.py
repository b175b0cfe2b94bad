"""Imports every command module so its @app.command()/add_typer registrations run."""

from mediawatch.cli import (  # noqa: F401
    alerts,
    backfill,
    corrections,
    crawl,
    enrich,
    es,
    extract,
    indices,
    prune,
    runs,
    schedule,
    search,
    serve,
    sources,
    status,
)
