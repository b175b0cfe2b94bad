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
    data: list[Path] = typer.Option([], "--data", "-d", help="Labeled JSONL or JSONL.xz (repeatable)."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the model, tokenizer and training.json."),
    corpus: list[str] = typer.Option(
        [], "--corpus", "-c",
        help="A known corpus under --data-dir, its held-out split left out (repeatable; 'all': every one for the "
             "task). Sentiment: uit-vsfc, uit-vsmec, uit-visfd, uts2017-bank, aivivn2019; topic: vntc.",
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Where the corpora are (default: ../shared/data beside the repository)."
    ),
    head: bool = typer.Option(
        True, "--head/--no-head",
        help="Also fit the linear head averaged with the model and calibrate both on the dev split.",
    ),
    head_only: bool = typer.Option(
        False, "--head-only", help="Keep the model already in --out: only fit its linear head and calibration.",
    ),
    head_chars: int | None = typer.Option(
        None, "--head-chars", min=0, max=8,
        help="The head also reads character 2..N-grams within words (0: words only; default: sentiment 5, topic 0).",
    ),
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

    if not data and not corpus:
        raise typer.BadParameter("give --data FILE or --corpus NAME (or both)", param_hint="--data")
    examples = read_examples(data) if data else []
    record: dict[str, object] = {}
    if corpus:
        from enrich import corpora as known

        corpus_task = task or ("topic" if all(n in known.TOPIC_CORPORA for n in corpus) else "sentiment")
        chosen = known.load(known.resolve(corpus, corpus_task), data_dir or known.DEFAULT_DATA_DIR)
        for part in chosen:
            examples.extend(part.train)
        data = [*data, *(part.path for part in chosen)]
        record["corpora"] = [
            {"name": part.corpus.name, "file": part.corpus.file, "licence": part.corpus.licence,
             "terms": part.corpus.terms, "rows_trained_from": len(part.train), "held_out_rows": len(part.held_out),
             "held_out_share": part.corpus.holdout}
            for part in chosen
        ]
        task = task or corpus_task
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

    if head_only:
        if not (out / "config.json").is_file():
            raise DataError(f"--head-only: no model in {out} (config.json not found)")
        fit_head(out, examples, task, config.dev_fraction, record, head_chars)
        return
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
    if head:
        fit_head(out, examples, task, config.dev_fraction, record, head_chars)
    elif record:
        record_path = out / "training.json"
        stored = json.loads(record_path.read_text(encoding="utf-8"))
        stored.update(record)
        record_path.write_text(json.dumps(stored, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def fit_head(out: Path, examples: list, task: str, dev_fraction: float, record: dict, chars: int | None) -> None:
    """The linear head and calibration of the model in ``out``, on the same train and dev split."""
    from enrich.data import split
    from enrich.ensemble import fit_ensemble, head_config
    from mediawatch.config import get_settings

    labeled = [ex for ex in examples if task in ex.labels and (ex.text or ex.title)]
    train_rows, dev_rows = split(labeled, dev_fraction)
    fitted = fit_ensemble(out, train_rows, dev_rows, task, get_settings().enrich, record=record,
                          head=head_config(task, chars), say=lambda message: console.print(message, highlight=False))
    shipped = fitted["dev"]["shipped"]
    console.print(
        f"linear head and calibration written: head weight {fitted['head_weight']}, temperature "
        f"{fitted['temperature']:.3f}; dev macro-F1 {shipped['macro_f1']:.4f}, ECE {shipped['ece']:.4f}",
        highlight=False,
    )


# -- eval ----------------------------------------------------------------------------------------
@enrich_app.command("eval")
def eval_command(
    data: Path | None = typer.Option(
        None, "--data", "-d",
        help="Labeled JSONL or JSONL.xz (text, title?, topic/sentiment). Without it: the quality report, each "
             "sentiment corpus's held-out split and the topic dev split against the TF-IDF + SVM baseline.",
    ),
    split_name: str = typer.Option(
        "auto", "--split", help="dev (the held-out 10%), all, or auto: dev for a model's training file, else all."
    ),
    as_json: bool = typer.Option(False, "--json", help='Print {"topic": {"macro_f1", "accuracy", "per_label"}, ...}.'),
    topic_model: str | None = typer.Option(None, "--topic-model", help="Model directory or hub id (default: config)."),
    sentiment_model: str | None = typer.Option(None, "--sentiment-model", help="Model directory or hub id."),
    task: str = typer.Option("both", "--task", help="Quality report: sentiment, topic or both."),
    corpus: list[str] = typer.Option([], "--corpus", "-c", help="Quality report: only these sentiment corpora."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Where the corpora are (default: ../shared/data)."),
    rounds: int = typer.Option(1000, "--rounds", min=10, help="Quality report: bootstrap resamples."),
) -> None:
    """Score the topic and sentiment models on labeled data: per-label P/R/F1, macro-F1, accuracy, confusion;
    without --data, per corpus against the TF-IDF + linear-SVM baseline trained in the same run."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from enrich.evaluate import evaluate_file
    from mediawatch.config import get_settings

    if split_name not in ("auto", "dev", "all"):
        raise typer.BadParameter("must be dev, all or auto", param_hint="--split")
    settings = get_settings().enrich
    changes = {k: v for k, v in {"topic_model": topic_model, "sentiment_model": sentiment_model}.items() if v}
    if changes:
        settings = settings.model_copy(update=changes)
    if data is None:
        if task not in ("sentiment", "topic", "both"):
            raise typer.BadParameter("must be sentiment, topic or both", param_hint="--task")
        quality_report(settings, data_dir, task, corpus, rounds, as_json)
        return
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


def quality_report(settings, data_dir: Path | None, task: str, corpus: list[str], rounds: int, as_json: bool) -> None:
    """Sentiment per corpus and topics on the dev split, each beside the baseline, with bootstrap noise."""
    from enrich.corpora import DEFAULT_DATA_DIR
    from enrich.quality import sentiment_quality, topic_quality

    where = data_dir or DEFAULT_DATA_DIR
    say = (lambda message: err_console.print(message, highlight=False)) if as_json else (
        lambda message: console.print(f"[dim]{message}[/]", highlight=False))
    out: dict[str, object] = {}
    if task in ("sentiment", "both"):
        sentiment = sentiment_quality(settings, where, corpora=corpus, rounds=rounds, say=say)
        out["sentiment"] = sentiment.to_json()
        if not as_json:
            print_comparisons(
                f"sentiment: {sentiment.version} vs TF-IDF + LinearSVC (both trained on {', '.join(sentiment.mix)}; "
                f"baseline {sentiment.baseline_train_rows:,} rows)",
                [*sentiment.rows, *([sentiment.average] if sentiment.average else [])], rounds,
            )
            for note in sentiment.notes:
                console.print(f"note: {note}", highlight=False)
    if task in ("topic", "both"):
        topic = topic_quality(settings, where, rounds=rounds, say=say)
        out["topic"] = topic.to_json()
        if not as_json:
            print_comparisons(f"topic: {topic.version} on the VNTC dev split ({topic.n:,} articles) vs TF-IDF + "
                              "LinearSVC", topic.rows, rounds)
            console.print(
                "expected calibration error (10 bins, top label): "
                + "; ".join(f"{name} {value:.4f}" for name, value in topic.ece.items()), highlight=False)
            console.print(
                f"calibration: temperature {topic.calibration['temperature']}, head weight "
                f"{topic.calibration['head_weight']}, head temperature {topic.calibration['head_temperature']}; "
                f"the tagger gives a topic to {topic.coverage:.1%} of dev articles, {topic.covered_accuracy:.1%} "
                f"of them right", highlight=False)
            print_reliability(topic.reliability)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))


def print_comparisons(title: str, rows: list, rounds: int) -> None:
    from rich.table import Table

    table = Table(title=title, caption=f"diff 95% CI: paired bootstrap over the rows, {rounds} resamples; "
                  "beats = the whole interval above 0")
    for name in ("rows", "n", "model macro-F1", "baseline macro-F1", "diff", "diff 95% CI", "beats", "model acc.",
                 "baseline acc."):
        table.add_column(name, justify="left" if name == "rows" else "right")
    for row in rows:
        table.add_row(
            row.name + (f" ({row.note})" if row.note else ""), f"{row.n:,}", f"{row.model:.4f}", f"{row.baseline:.4f}",
            f"{row.diff:+.4f}", f"{row.diff_low:+.4f} .. {row.diff_high:+.4f}", "yes" if row.beats else "[bold]no[/]",
            f"{row.model_accuracy:.4f}", f"{row.baseline_accuracy:.4f}",
        )
    console.print(table)


def print_reliability(tables: dict[str, list[dict]]) -> None:
    from rich.table import Table

    table = Table(title="topic reliability (top-label confidence bins: rows, mean confidence, accuracy)")
    table.add_column("bin")
    for name in tables:
        table.add_column(name, justify="right")
    first = next(iter(tables.values()))
    for b, row in enumerate(first):
        cells = []
        for rows in tables.values():
            cell = rows[b]
            cells.append(f"{cell['n']:,}: {cell['confidence']:.3f} / {cell['accuracy']:.3f}" if cell["n"] else "-")
        table.add_row(f"{row['low']:.1f}-{row['high']:.1f}", *cells)
    console.print(table)
