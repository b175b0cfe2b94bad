"""Imports every command module so its @app.command()/add_typer registrations run."""

from mediawatch.cli import backfill, crawl, enrich, es, extract, indices, prune, search, sources, status  # noqa: F401
