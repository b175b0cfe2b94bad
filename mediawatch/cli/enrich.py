"""``mediawatch enrich``: train, evaluate and apply the topic and sentiment models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mediawatch.cli import app, console, err_console

if TYPE_CHECKING:
    from enrich.evaluate import TaskReport

enrich_app = typer.Typer(help="Topic and sentiment tagging: train, eval, backfill.", no_args_is_help=True)
app.add_typer(enrich_app, name="enrich")


# -- train ---------------------------------------------------------------------------------------
@enrich_app.command("train")
def train_command(
    data: list[Path] = typer.Option(..., "--data", "-d", help="Labeled JSONL or JSONL.xz (repeatable)."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the model, tokenizer and training.json."),
    task: str | None = typer.Option(None, "--task", help="topic or sentiment (default: the one the labels have)."),
    epochs: float | None = typer.Option(None, "--epochs", min=0.01, help="Passes over the training split."),
    max_length: int | None = typer.Option(None, "--max-length", min=16, max=4096, help="Tokens per input."),
    time_budget_min: float | None = typer.Option(
        None, "--time-budget-min", min=0.1, help="Stop after this many minutes (best checkpoint kept)."
    ),
    seed: int = typer.Option(13, "--seed", help="Random seed (same seed, data and machine: same model)."),
    name: str | None = typer.Option(None, "--name", help="Model name recorded in the config (default: --out's name)."),
    vocab_size: int | None = typer.Option(None, "--vocab-size", min=100, help="Tokenizer vocabulary size."),
    hidden_size: int | None = typer.Option(None, "--hidden-size", min=8, help="Transformer width."),
    layers: int | None = typer.Option(None, "--layers", min=1, help="Transformer layers."),
    heads: int | None = typer.Option(None, "--heads", min=1, help="Attention heads (must divide --hidden-size)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Training batch size."),
    learning_rate: float | None = typer.Option(None, "--learning-rate", min=0.0, help="Peak AdamW learning rate."),
    class_weights: str | None = typer.Option(None, "--class-weights", help="none, sqrt or balanced."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch CPU threads (default: torch's)."),
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="wordpiece (syllable tokens) or phrases (multi-syllable tokens).",
    ),
    distill: float | None = typer.Option(
        None, "--distill", min=0.0, max=1.0,
        help="Weight of soft targets from a cross-fitted TF-IDF + linear SVM teacher (0: gold labels only).",
    ),
    distill_sharpness: float | None = typer.Option(
        None, "--distill-sharpness", min=0.01,
        help="The teacher's SVM margins are multiplied by this before the softmax (lower: softer targets).",
    ),
    chunks: int | None = typer.Option(
        None, "--chunks", min=1, max=32,
        help="Windows of each text to train on (title + consecutive max-length windows); topic default 4.",
    ),
    read_chunks: int | None = typer.Option(
        None, "--read-chunks", min=1, max=32,
        help="Windows the saved model reads at inference, recorded in its config (default: as --chunks; topic 8).",
    ),
    ema_decay: float | None = typer.Option(
        None, "--ema-decay", min=0.0, max=0.99999,
        help="Keep a moving average of the weights and save it (0: save the best dev checkpoint instead).",
    ),
    label_features: bool | None = typer.Option(
        None, "--label-features/--no-label-features", help="Write per-label log-odds into the embeddings."
    ),
    valid: list[Path] = typer.Option(
        [], "--valid", help="Labeled file(s) to pick the best checkpoint on (default: the dev split)."
    ),
) -> None:
    """Train a small BERT classifier from scratch on labeled JSONL (tokenizer included)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from enrich.data import DataError, infer_task, read_examples
    from enrich.train import config_for, train

    examples = read_examples(data)
    if task is None:
        task = infer_task(examples)
    elif task not in ("topic", "sentiment"):
        raise typer.BadParameter("must be 'topic' or 'sentiment'", param_hint="--task")
    elif not any(task in ex.labels for ex in examples):
        raise DataError(f"no {task!r} labels in {', '.join(map(str, data))}")
    if tokenizer is not None and tokenizer not in ("wordpiece", "phrases"):
        raise typer.BadParameter("must be wordpiece or phrases", param_hint="--tokenizer")
    if class_weights is not None and class_weights not in ("none", "sqrt", "balanced"):
        raise typer.BadParameter("must be none, sqrt or balanced", param_hint="--class-weights")
    overrides = {
        "epochs": epochs, "max_length": max_length, "time_budget_min": time_budget_min, "name": name,
        "vocab_size": vocab_size, "hidden_size": hidden_size, "layers": layers, "heads": heads,
        "batch_size": batch_size, "learning_rate": learning_rate, "class_weights": class_weights, "threads": threads,
        "tokenizer": tokenizer, "distill": distill, "distill_sharpness": distill_sharpness, "chunks": chunks,
        "read_chunks": read_chunks, "ema_decay": ema_decay, "label_features": label_features,
    }
    config = config_for(task, seed=seed, **{k: v for k, v in overrides.items() if v is not None})
    if config.hidden_size % config.heads:
        raise typer.BadParameter(f"{config.heads} heads do not divide hidden size {config.hidden_size}")

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        prep = bar.add_task("preparing (tokenizer, embeddings)", total=None)
        steps = None
        best = 0.0

        def progress(stage: str, done: int, total: int, info: dict) -> None:
            nonlocal steps, best
            if stage in ("tokenizer", "embeddings", "teacher"):
                bar.update(prep, description=f"preparing: {stage}")
                return
            if steps is None:
                bar.update(prep, total=1, completed=1, description="prepared")
                steps = bar.add_task(f"training {task}", total=total)
            if stage == "eval":
                best = max(best, info["dev_macro_f1"])
                if not console.is_terminal:  # logs get one line per evaluation instead of a bar
                    console.print(
                        f"step {done}/{total} (epoch {info['epoch']:.2f}, {info['seconds'] / 60:.1f} min): "
                        f"loss {info['train_loss']:.4f}, dev macro-F1 {info['dev_macro_f1']:.4f}, "
                        f"accuracy {info['dev_accuracy']:.4f}", highlight=False,
                    )
                bar.update(steps, description=f"training {task} (dev macro-F1 {info['dev_macro_f1']:.3f}, "
                           f"best {best:.3f})")
            bar.update(steps, completed=done)

        result = train(
            examples, out, config, data_files=data, progress=progress,
            valid=read_examples(valid) if valid else (), valid_files=valid,
        )
    console.print(
        f"[bold]{task}[/] model written to {result.out_dir}: dev macro-F1 {result.dev['macro_f1']:.4f}, "
        f"accuracy {result.dev['accuracy']:.4f} on {result.dev['n']} held-out rows; "
        f"{result.steps} steps in {result.seconds / 60:.1f} min ({result.stopped})",
        highlight=False,
    )


# -- eval ----------------------------------------------------------------------------------------
@enrich_app.command("eval")
def eval_command(
    data: Path = typer.Option(..., "--data", "-d", help="Labeled JSONL or JSONL.xz (text, title?, topic/sentiment)."),
    split_name: str = typer.Option(
        "auto", "--split", help="dev (the held-out 10%), all, or auto: dev for a model's training file, else all."
    ),
    as_json: bool = typer.Option(False, "--json", help='Print {"topic": {"macro_f1", "accuracy", "per_label"}, ...}.'),
    topic_model: str | None = typer.Option(None, "--topic-model", help="Model directory or hub id (default: config)."),
    sentiment_model: str | None = typer.Option(None, "--sentiment-model", help="Model directory or hub id."),
) -> None:
    """Score the topic and sentiment models on labeled data: per-label P/R/F1, macro-F1, accuracy, confusion."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from enrich.evaluate import evaluate_file
    from mediawatch.config import get_settings

    if split_name not in ("auto", "dev", "all"):
        raise typer.BadParameter("must be dev, all or auto", param_hint="--split")
    settings = get_settings().enrich
    changes = {k: v for k, v in {"topic_model": topic_model, "sentiment_model": sentiment_model}.items() if v}
    if changes:
        settings = settings.model_copy(update=changes)
    target = err_console if as_json else console
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=target, transient=as_json) as bar:
        tasks: dict[str, object] = {}

        def advance(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(f"classifying ({task})", total=total)
            bar.update(tasks[task], completed=done)  # type: ignore[arg-type]

        reports = evaluate_file(data, settings, which=split_name, advance=advance)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps({task: r.to_json() for task, r in reports.items()}, ensure_ascii=False))
        return
    for report in reports.values():
        print_report(report)


def print_report(report: TaskReport) -> None:
    """Per-label table, the summary line and the confusion matrix for one task."""
    from rich.table import Table

    f = report.figures
    table = Table(title=f"{report.task}: {report.version} on the {report.split} split ({f['n']} rows)")
    table.add_column("label")
    for name in ("precision", "recall", "F1"):
        table.add_column(name, justify="right")
    table.add_column("support", justify="right")
    for label, row in f["per_label"].items():
        table.add_row(label, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    table.add_section()
    table.add_row("[bold]macro-F1[/]", "", "", f"[bold]{f['macro_f1']:.4f}[/]", "")
    table.add_row("[bold]accuracy[/]", "", "", f"[bold]{f['accuracy']:.4f}[/]", str(f["n"]))
    console.print(table)
    labels = f["labels"]
    matrix = Table(title=f"{report.task} confusion (rows: true, columns: predicted)")
    matrix.add_column("true \\ predicted")
    for label in labels:
        matrix.add_column(label[:10], justify="right")
    for label, row in zip(labels, f["confusion"], strict=True):
        cells = [f"[bold]{n}[/]" if j == i else (str(n) if n else "[dim]0[/]")
                 for j, n in enumerate(row) for i in [labels.index(label)]]
        matrix.add_row(label, *cells)
    console.print(matrix)
