"""``mediawatch enrich backfill`` and ``mediawatch models``: apply and fetch models."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from enrich.tagger import get_tagger
from index.client import make_client, ping_or_raise
from index.mappings import ensure_indices
from mediawatch.backfill import backfill
from mediawatch.cli import app, console
from mediawatch.cli.enrich import enrich_app
from mediawatch.config import get_settings
from mediawatch.errors import UserError

models_app = typer.Typer(help="Models used for tagging: list them, pull one from the hub.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@enrich_app.command("backfill")
def backfill_cmd(
    force: bool = typer.Option(False, "--force", help="Re-tag every document, not only stale ones."),
) -> None:
    """Tag stored documents that are untagged or were tagged by other model versions (resumable)."""
    settings = get_settings()
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    ensure_indices(client, settings)
    tagger = get_tagger(settings.enrich).load()
    with Progress(
        TextColumn("[bold]tagging"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        task = progress.add_task("tag", total=None)
        done = backfill(
            client,
            settings,
            tagger,
            force=force,
            on_total=lambda n: progress.update(task, total=n),
            on_batch=lambda n: progress.advance(task, n),
        )
    versions = ", ".join(f"{k} {v}" for k, v in tagger.versions.items())
    console.print(f"tagged {done} documents ({versions})")


@models_app.command("list")
def list_models() -> None:
    """The configured models, where they load from, and their versions."""
    settings = get_settings()
    tagger = get_tagger(settings.enrich)
    table = Table(title="Tagging models")
    for col in ("task", "model", "version", "labels"):
        table.add_column(col)
    for task, clf in (("topic", tagger.topic), ("sentiment", tagger.sentiment)):
        clf.load()
        table.add_row(task, clf.name_or_path, clf.version, ", ".join(clf.labels))
    console.print(table)
    console.print(f"languages covered: {', '.join(settings.enrich.model_languages)}")


@models_app.command("pull")
def pull(
    name: str = typer.Argument(..., help="Hub id, e.g. joeddav/xlm-roberta-large-xnli"),
    revision: str | None = typer.Option(None, "--revision", help="Branch, tag or commit."),
) -> None:
    """Download a model from the Hugging Face hub into enrich.models_dir (needs network access)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    settings = get_settings()
    target = settings.enrich.models_dir / name.replace("/", "--")
    try:
        path = snapshot_download(
            repo_id=name,
            revision=revision,
            local_dir=target,
            allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.md"],
        )
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise UserError(f"cannot pull model {name!r} from the hub: {reason}") from None
    console.print(f"pulled {name} into {path}")
    console.print(f"use it: MEDIAWATCH_ENRICH__TOPIC_MODEL={path}  (or SENTIMENT_MODEL)")
