"""``mediawatch enrich``: train, evaluate and apply the topic and sentiment models."""

from __future__ import annotations

import typer

from mediawatch.cli import app

enrich_app = typer.Typer(help="Topic and sentiment tagging: train, eval, backfill.", no_args_is_help=True)
app.add_typer(enrich_app, name="enrich")
