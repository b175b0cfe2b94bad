"""Imports every command module so its @app.command()/add_typer registrations run."""

from mediawatch.cli import backfill, crawl, enrich, es, extract, prune, search, sources  # noqa: F401
