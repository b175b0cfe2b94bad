"""A trained transformer's linear head and calibration: fitted after training, saved beside the model.

``fit_ensemble(model_dir, train_rows, dev_rows, task, settings)``:

1. fits a ``LinearHead`` (hashed TF-IDF word 1–2-grams, linear SVM: ``enrich.linear_head``) on the rows
   the transformer was trained on, reading the text as the tagger hands it to that model (topic: title and
   the body cut to the model's character budget; sentiment: ``_sentiment_text``);
2. scores the dev split with both (the transformer through the real inference path,
   ``TextClassifier.components``), fits one temperature for each (lowest NLL on dev,
   ``enrich.calibration.fit_temperature``);
3. picks the head's weight in the average of the two calibrated distributions, from ``WEIGHTS``: by the
   best dev macro-F1 for sentiment (its figures are taken on the corpora's held-out splits, never seen
   here), by the lowest dev NLL for topics (whose figures are taken on this very dev split, so picking on
   its F1 would flatter them); see ``SELECT``;
4. writes ``head.safetensors`` + ``head.json`` and ``calibration.json`` into ``model_dir`` and records
   the fit (rows, temperatures, weight, dev figures of each part) in its ``training.json``.

The held-out corpus splits (``enrich.corpora``) are never read here. Writes only into ``model_dir``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from enrich.calibration import ece, fit_calibration, mixture, nll
from enrich.classifier import CALIBRATION_FILE, TextClassifier
from enrich.data import Example
from enrich.linear_head import HeadConfig, LinearHead, head_text
from enrich.train import _readable
from mediawatch.config import EnrichSettings

WEIGHTS = tuple(round(w, 2) for w in np.arange(0.0, 1.0001, 0.05))
Say = Callable[[str], None]


def _quiet(message: str) -> None:
    return None


# The head's featurisation per task: words only. Character 2-5-grams beside them were tried for sentiment
# (short text written as people type) and did worse on the dev split (ensemble 0.7050 against 0.7089 at the
# best weight, 2026-12-02); news articles are long and their cost matters.
HEAD_CHARS = {"sentiment": 0, "topic": 0}
# How the head's weight is picked on the dev split: by macro-F1 where the figures that count are taken on
# other rows (sentiment: each corpus's held-out split), by NLL where the dev split is itself the
# evaluation split (topic: picking on its F1 would flatter the reported figure).
SELECT = {"sentiment": "f1", "topic": "nll"}


def head_config(task: str, chars: int | None = None) -> HeadConfig:
    """The head's settings for ``task`` (labels filled in by ``fit_ensemble``)."""
    return HeadConfig(labels=[], char_ngram_max=HEAD_CHARS.get(task, 0) if chars is None else chars)


def model_inputs(
    rows: Sequence[Example], task: str, classifier: TextClassifier
) -> tuple[list[str], list[str | None] | None]:
    """``(texts, titles)`` as the tagger hands them to the model of ``task``."""
    from enrich.evaluate import sentiment_inputs, topic_inputs

    if task == "topic":
        return topic_inputs(rows, classifier)
    return sentiment_inputs(rows), None


def macro_f1(gold: np.ndarray, pred: np.ndarray, k: int) -> float:
    f1s = []
    for c in range(k):
        tp = int(((pred == c) & (gold == c)).sum())
        support, predicted = int((gold == c).sum()), int((pred == c).sum())
        if support:
            f1s.append(2 * tp / (support + predicted))
    return float(np.mean(f1s)) if f1s else 0.0


def fit_ensemble(
    model_dir: str | Path, train_rows: Sequence[Example], dev_rows: Sequence[Example], task: str,
    settings: EnrichSettings, *, head: HeadConfig | None = None, say: Say = _quiet,
    record: dict[str, Any] | None = None, select: str | None = None,
) -> dict[str, Any]:
    """Fit and save the linear head and the calibration of the model in ``model_dir`` (see the module
    docstring); returns what it records in ``training.json`` under ``ensemble`` (``record``: more keys to
    merge into ``training.json``, such as the corpora trained on)."""
    from enrich.tagger import Tagger

    model_dir = Path(model_dir)
    (model_dir / CALIBRATION_FILE).unlink(missing_ok=True)  # score the bare transformer below
    key = "topic_model" if task == "topic" else "sentiment_model"
    tagger = Tagger(settings.model_copy(update={key: str(model_dir)}))
    classifier = (tagger.topic if task == "topic" else tagger.sentiment).load()
    assert isinstance(classifier, TextClassifier)
    labels = list(classifier.labels)
    train_rows = [ex for ex in train_rows if ex.labels.get(task) in labels]
    dev_rows = [ex for ex in dev_rows if ex.labels.get(task) in labels]
    config = head or head_config(task)
    if list(config.labels) != labels:
        config = HeadConfig(**{**config.__dict__, "labels": labels})

    texts, titles = model_inputs(train_rows, task, classifier)
    chars = f" and character 2-{config.char_ngram_max}-grams" if config.char_ngram_max >= 2 else ""
    say(f"linear head: {config.classifier} over hashed word 1-{config.ngram_max}-grams{chars} "
        f"on {len(train_rows):,} rows")
    fitted = LinearHead.fit([head_text(t, titles[i] if titles else None) for i, t in enumerate(texts)],
                            [ex.labels[task] for ex in train_rows], config)

    say(f"scoring {len(dev_rows):,} dev rows with the transformer and the head")
    dev_texts, dev_titles = model_inputs(dev_rows, task, classifier)
    logprobs, _ = classifier.components(dev_texts, dev_titles)
    head_logits = fitted.logits([head_text(t, dev_titles[i] if dev_titles else None) for i, t in enumerate(dev_texts)])
    gold = np.array([labels.index(ex.labels[task]) for ex in dev_rows])
    temperature, head_temperature = fit_calibration(logprobs, head_logits, gold)
    k = len(labels)
    table = []
    for weight in map(float, WEIGHTS):
        probs = mixture(logprobs, head_logits, temperature, head_temperature, weight)
        table.append({"head_weight": weight, "nll": round(-float(np.log(np.clip(probs[np.arange(len(gold)), gold],
                                                                                     1e-12, None)).mean()), 5),
                      "macro_f1": round(macro_f1(gold, probs.argmax(1), k), 4),
                      "ece": round(ece(probs, gold), 4)})
    select = select or SELECT.get(task, "nll")
    if select == "f1":
        best = max(table, key=lambda row: (row["macro_f1"], -row["nll"]))
    else:
        best = min(table, key=lambda row: (row["nll"], row["head_weight"]))
    weight = float(best["head_weight"])

    fitted.with_temperature(head_temperature).save(model_dir)
    (model_dir / CALIBRATION_FILE).write_text(
        json.dumps({"temperature": round(temperature, 5), "head_weight": weight}, indent=2) + "\n", encoding="utf-8")
    raw = mixture(logprobs, None, 1.0, 1.0, 0.0)
    result = {
        "head": {k_: v for k_, v in config.__dict__.items() if k_ != "labels"},
        "head_train_rows": len(train_rows),
        "fitted_on": f"the dev split ({len(dev_rows)} rows): temperatures by NLL, the head's weight by "
                     f"{'macro-F1' if select == 'f1' else 'NLL'} among {WEIGHTS[0]}..{WEIGHTS[-1]} step 0.05",
        "temperature": round(temperature, 5),
        "head_temperature": round(head_temperature, 5),
        "head_weight": weight,
        "dev": {
            "transformer": {"macro_f1": round(macro_f1(gold, logprobs.argmax(1), k), 4),
                            "nll": round(nll(logprobs, gold), 5), "ece": round(ece(raw, gold), 4)},
            "head": {"macro_f1": round(macro_f1(gold, head_logits.argmax(1), k), 4)},
            "shipped": best,
        },
        "weights": table,
    }
    path = model_dir / "training.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data.update(record or {})
    data["ensemble"] = result
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _readable(model_dir)
    say(f"head weight {weight} (dev NLL {best['nll']}, macro-F1 {best['macro_f1']}; transformer alone "
        f"{result['dev']['transformer']['macro_f1']}, head alone {result['dev']['head']['macro_f1']})")
    return result
