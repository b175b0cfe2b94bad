"""Score the configured topic and sentiment models on labeled JSONL, through the real inference path.

``evaluate_file(path, settings)`` reads the file (``enrich.data``), keeps its dev split when it is one
of the files a configured model was trained on (``training.json`` records their SHA-256) or when
asked, classifies the texts with ``enrich.classifier.TextClassifier`` exactly as the tagger does
(same max lengths, same title/lead and sentiment text), and returns per-task figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from enrich.classifier import TextClassifier
from enrich.data import DataError, Example, file_digest, read_examples, split, tasks_present
from enrich.tagger import Tagger, topic_char_budget
from enrich.train import scores
from enrich.zeroshot import ZeroShotClassifier
from mediawatch.config import EnrichSettings

Split = Literal["auto", "dev", "all"]
# Advance(task, done, total) is called as predictions come in.
Advance = Callable[[str, int, int], None]
CHUNK = 256


@dataclass
class TaskReport:
    task: str
    model: str
    version: str
    split: str
    figures: dict[str, Any]
    gold: list[str] = field(default_factory=list)  # per row, in the order given
    predicted: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        f = self.figures
        return {"macro_f1": f["macro_f1"], "accuracy": f["accuracy"], "per_label": f["per_label"]}


def trained_on(path: str | Path, model_dirs: Sequence[str]) -> bool:
    """True when ``path`` is one of the files recorded in a model directory's ``training.json``."""
    digest: str | None = None
    for model_dir in model_dirs:
        record_path = Path(model_dir) / "training.json"
        if not record_path.is_file():
            continue
        try:
            files = json.loads(record_path.read_text(encoding="utf-8")).get("data_files") or []
        except (OSError, ValueError):
            continue
        if files and digest is None:
            digest = file_digest(path)
        if any(f.get("sha256") == digest for f in files):
            return True
    return False


def select(examples: list[Example], which: Literal["dev", "all"]) -> list[Example]:
    return split(examples)[1] if which == "dev" else examples


def topic_inputs(
    examples: Sequence[Example], classifier: TextClassifier | ZeroShotClassifier
) -> tuple[list[str], list[str | None]]:
    """Bodies and titles as the tagger passes them (body cut to the same character budget)."""
    budget = topic_char_budget(classifier)
    return [ex.text[:budget] for ex in examples], [ex.title for ex in examples]


def sentiment_inputs(examples: Sequence[Example]) -> list[str]:
    """Sentiment text as the tagger builds it for an article (headline and lead) or a post."""
    from enrich.tagger import _sentiment_text

    return [_sentiment_text({"title": ex.title, "text": ex.text}) for ex in examples]


def evaluate_examples(
    examples: Sequence[Example], settings: EnrichSettings, *, which: str = "all",
    advance: Advance | None = None, tasks: Sequence[str] | None = None,
) -> dict[str, TaskReport]:
    """Figures for each task labeled in ``examples`` (or ``tasks``)."""
    reports: dict[str, TaskReport] = {}
    for task in tasks or tasks_present(examples):
        rows = [ex for ex in examples if task in ex.labels]
        if not rows:
            continue
        # The tagger's own classifiers: same lengths, windows, zero-shot label set.
        tagger = Tagger(settings)
        classifier = (tagger.topic if task == "topic" else tagger.sentiment).load()
        model_path = classifier.name_or_path
        predict = (
            partial(classifier.predict, workers=tagger.workers)
            if isinstance(classifier, TextClassifier)
            else classifier.predict
        )
        predicted: list[str] = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            if task == "topic":
                texts, titles = topic_inputs(chunk, classifier)
                out = predict(texts, titles)
            else:
                out = predict(sentiment_inputs(chunk))
            predicted.extend(p.label for p in out)
            if advance:
                advance(task, len(predicted), len(rows))
        gold = [ex.labels[task] for ex in rows]
        labels = list(classifier.labels) + sorted({g for g in gold} - set(classifier.labels))
        reports[task] = TaskReport(task, model_path, classifier.version, which, scores(gold, predicted, labels),
                                   gold, predicted)
    return reports


def evaluate_file(
    path: str | Path, settings: EnrichSettings, *, which: Split = "auto", advance: Advance | None = None,
) -> dict[str, TaskReport]:
    """Read ``path`` and evaluate on its dev split (``auto``: when it is a training file) or all of it."""
    examples = read_examples([path])
    if which == "auto":
        which = "dev" if trained_on(path, [settings.topic_model, settings.sentiment_model]) else "all"
    chosen = select(examples, which)
    if not chosen:
        raise DataError(f"{path}: the {which} split is empty")
    return evaluate_examples(chosen, settings, which=which, advance=advance)
