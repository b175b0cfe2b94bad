"""How good the configured models are, against the TF-IDF + linear-SVM baseline, with the noise of the splits.

``sentiment_quality`` scores the sentiment model on each corpus's held-out split (``enrich.corpora``)
and on UIT-VSFC's validation file; ``topic_quality`` scores the topic path on VNTC's dev split
(``enrich.data.split``), calibration included. In both, the baseline (``enrich.baseline``) is trained in
the same run on the rows the model was trained on (for sentiment: the mix of corpora its
``training.json`` records, less the held-out splits and the dev split). Models run through the real
inference path (``enrich.evaluate`` / ``TextClassifier``, as the tagger calls them).

Noise: a paired bootstrap over the held-out rows (``rounds`` resamples with replacement, seeded):
each resample scores model and baseline on the same rows; the 2.5th and 97.5th percentiles of the
difference in macro-F1 are its 95% interval, and the model "beats the baseline by more than the noise"
when that interval lies above zero. The average over corpora resamples every corpus independently.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from enrich.baseline import train_baseline
from enrich.calibration import crossfit_probs, ece, reliability, softmax
from enrich.corpora import SENTIMENT_CORPORA, SENTIMENT_EXTRA, TOPIC_CORPORA, Corpus, load, resolve
from enrich.data import DataError, Example, file_digest, read_examples, split
from mediawatch.config import EnrichSettings

ROUNDS = 1000
SEED = 13
Say = Callable[[str], None]


def _quiet(message: str) -> None:
    return None


# -- metrics and the bootstrap -------------------------------------------------------------------
def macro_f1_ids(gold: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Macro-F1 over the labels present in ``gold`` (label ids ``0..k-1``; ``pred`` may hold ``k`` for
    "unknown", which is never right), as ``enrich.train.scores`` computes it."""
    matrix = np.bincount(gold * (k + 1) + pred, minlength=(k + 1) * (k + 1)).reshape(k + 1, k + 1)[:k]
    tp = np.diag(matrix[:, :k]).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix[:, :k].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
    present = support > 0
    return float(f1[present].mean()) if present.any() else 0.0


def bootstrap(gold: np.ndarray, model: np.ndarray, baseline: np.ndarray, k: int, rounds: int = ROUNDS,
              seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Macro-F1 of model and baseline on ``rounds`` resamples (with replacement) of the same rows."""
    rng = np.random.default_rng(seed)
    n = len(gold)
    a, b = np.empty(rounds), np.empty(rounds)
    for r in range(rounds):
        idx = rng.integers(0, n, n)
        a[r] = macro_f1_ids(gold[idx], model[idx], k)
        b[r] = macro_f1_ids(gold[idx], baseline[idx], k)
    return a, b


@dataclass
class Comparison:
    """Model against baseline on one set of rows, with the bootstrap's 95% intervals."""

    name: str
    n: int
    model: float
    baseline: float
    model_accuracy: float
    baseline_accuracy: float
    diff_low: float
    diff_high: float
    model_sd: float  # the model's macro-F1 spread over the resamples: the noise of this split
    note: str = ""
    samples: np.ndarray | None = field(default=None, repr=False)  # per-resample differences

    @property
    def diff(self) -> float:
        return self.model - self.baseline

    @property
    def beats(self) -> bool:
        """Ahead by more than the noise: the whole 95% interval of the difference is above zero."""
        return self.diff_low > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "n": self.n, "model_macro_f1": round(self.model, 4),
            "baseline_macro_f1": round(self.baseline, 4), "diff": round(self.diff, 4),
            "diff_ci95": [round(self.diff_low, 4), round(self.diff_high, 4)], "model_sd": round(self.model_sd, 4),
            "model_accuracy": round(self.model_accuracy, 4), "baseline_accuracy": round(self.baseline_accuracy, 4),
            "beats_baseline_beyond_noise": self.beats, **({"note": self.note} if self.note else {}),
        }


def compare(name: str, gold: Sequence[str], model: Sequence[str], baseline: Sequence[str], labels: Sequence[str],
            rounds: int = ROUNDS, seed: int = SEED, note: str = "") -> Comparison:
    """Model and baseline predictions on the same rows, with a paired bootstrap of the difference.
    Predictions outside ``labels`` (``unknown``) count as wrong."""
    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    g = np.array([index[x] for x in gold], dtype=np.int64)
    m = np.array([index.get(x, k) for x in model], dtype=np.int64)
    b = np.array([index.get(x, k) for x in baseline], dtype=np.int64)
    a_s, b_s = bootstrap(g, m, b, k, rounds, seed)
    diffs = a_s - b_s
    return Comparison(
        name, len(g), macro_f1_ids(g, m, k), macro_f1_ids(g, b, k), float((m == g).mean()), float((b == g).mean()),
        float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5)), float(a_s.std()), note, diffs,
    )


def average(name: str, parts: Sequence[Comparison]) -> Comparison:
    """The unweighted mean over ``parts`` (each resampled independently: their resamples pair up)."""
    diffs = np.mean([p.samples for p in parts if p.samples is not None], axis=0)
    model_sd = float(np.sqrt(sum(p.model_sd**2 for p in parts)) / len(parts))
    mean = lambda values: float(np.mean(values))  # noqa: E731
    return Comparison(
        name, sum(p.n for p in parts), mean([p.model for p in parts]), mean([p.baseline for p in parts]),
        mean([p.model_accuracy for p in parts]), mean([p.baseline_accuracy for p in parts]),
        float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5)), model_sd, "", diffs,
    )


# -- sentiment -----------------------------------------------------------------------------------
@dataclass
class SentimentQuality:
    model: str
    version: str
    mix: list[str]  # corpora the model (and the baseline) trained on
    rows: list[Comparison]  # each corpus's held-out split, then the extra files
    average: Comparison | None  # over the corpora's held-out splits
    baseline_train_rows: int
    rounds: int
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "version": self.version, "mix": self.mix,
            "baseline_train_rows": self.baseline_train_rows,
            "bootstrap_rounds": self.rounds, "rows": [r.to_json() for r in self.rows],
            "average": self.average.to_json() if self.average else None, "notes": self.notes,
        }


def training_record(model_dir: str) -> dict[str, Any]:
    path = Path(model_dir) / "training.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def model_mix(record: dict[str, Any], data_dir: Path, task: str = "sentiment") -> tuple[list[Corpus], list[str]]:
    """The corpora a model was trained on (its ``training.json``: ``corpora``, else the data files whose
    SHA-256 matches a corpus file) and notes on what that means for its held-out figures."""
    known = SENTIMENT_CORPORA if task == "sentiment" else TOPIC_CORPORA
    names = [c["name"] if isinstance(c, dict) else c for c in record.get("corpora") or []]
    if names:
        return [known[n] for n in names if n in known], []
    digests = {f.get("sha256") for f in record.get("data_files") or []}
    matched = [c for c in known.values() if c.path(data_dir).is_file() and file_digest(c.path(data_dir)) in digests]
    notes = [f"the model was trained on all of {c.file} (no held-out split): its {c.name} figure is not held out"
             for c in matched]
    return matched, notes


def sentiment_quality(
    settings: EnrichSettings, data_dir: str | Path, *, corpora: Sequence[str] = (), rounds: int = ROUNDS,
    say: Say = _quiet, advance: Callable[[str, int, int], None] | None = None,
) -> SentimentQuality:
    """Per-corpus held-out macro-F1 of the configured sentiment model and of the baseline trained on its mix."""
    from enrich.evaluate import evaluate_examples

    data_dir = Path(data_dir)
    record = training_record(settings.sentiment_model)
    mix, notes = model_mix(record, data_dir)
    present = [c for c in SENTIMENT_CORPORA.values() if c.path(data_dir).is_file()]
    reported = resolve(list(corpora)) if corpora else present
    if not reported:
        raise DataError(f"no sentiment corpus under {data_dir} (expected {', '.join(SENTIMENT_CORPORA)})")
    if not mix:
        mix = reported
        notes.append("the model's training.json names no corpus: the baseline trains on every reported one")
    splits = {s.corpus.name: s for s in load(list(dict.fromkeys([*mix, *reported])), data_dir)}
    train_rows, _ = split([ex for c in mix for ex in splits[c.name].train])
    say(f"baseline: TF-IDF + LinearSVC on {len(train_rows):,} rows of {', '.join(c.name for c in mix)}")
    baseline = train_baseline(train_rows, "sentiment")
    scored: list[tuple[str, list[Example], str]] = [
        (c.name, splits[c.name].held_out, "" if c in mix else "not in the training mix") for c in reported
    ]
    for name, file in SENTIMENT_EXTRA.items():
        if (data_dir / file).is_file() and (not corpora or name in corpora or "uit-vsfc" in corpora):
            scored.append((name, [ex for ex in read_examples([data_dir / file]) if "sentiment" in ex.labels],
                           "all rows"))
    everything = [ex for _, rows, _ in scored for ex in rows]
    say(f"model: {settings.sentiment_model} on {len(everything):,} held-out rows")
    report = evaluate_examples(everything, settings, tasks=["sentiment"], advance=advance)["sentiment"]
    base_pred = baseline.predict(everything)
    labels = sorted({*report.gold, *baseline.pipeline.classes_})
    results: list[Comparison] = []
    start = 0
    for name, rows, note in scored:
        end = start + len(rows)
        results.append(compare(name, report.gold[start:end], report.predicted[start:end], base_pred[start:end],
                               labels, rounds, SEED + len(results), note))
        start = end
    corpora_rows = [r for r in results if r.name in SENTIMENT_CORPORA]
    avg = average(f"average of {len(corpora_rows)} corpora", corpora_rows) if len(corpora_rows) > 1 else None
    return SentimentQuality(settings.sentiment_model, report.version, [c.name for c in mix], results, avg,
                            len(train_rows), rounds, notes)


# -- topic ---------------------------------------------------------------------------------------
@dataclass
class TopicQuality:
    model: str
    version: str
    n: int
    rows: list[Comparison]  # model variants against the baseline
    ece: dict[str, float]
    reliability: dict[str, list[dict[str, Any]]]
    coverage: float  # share of dev rows the shipped path gives a topic (not unknown)
    covered_accuracy: float
    settings: dict[str, Any]
    calibration: dict[str, Any]
    rounds: int
    seconds: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "version": self.version, "n": self.n, "rows": [r.to_json() for r in self.rows],
            "ece": {k: round(v, 4) for k, v in self.ece.items()}, "reliability": self.reliability,
            "coverage": round(self.coverage, 4), "covered_accuracy": round(self.covered_accuracy, 4),
            "settings": self.settings, "calibration": self.calibration, "bootstrap_rounds": self.rounds,
            "seconds": self.seconds,
        }


def topic_quality(
    settings: EnrichSettings, data_dir: str | Path, *, rounds: int = ROUNDS, say: Say = _quiet,
) -> TopicQuality:
    """The topic path on VNTC's dev split: the transformer alone, the linear head alone, their calibrated
    average (what the tagger ships), and the tagger's decision with ``unknown``, each against the baseline;
    expected calibration error and reliability before and after calibration."""
    from enrich.classifier import TextClassifier
    from enrich.evaluate import topic_inputs
    from enrich.tagger import Tagger, long_enough

    corpus = TOPIC_CORPORA["vntc"]
    path = corpus.path(data_dir)
    if not path.is_file():
        raise DataError(f"{path} not found (--data-dir is where ../shared/data is)")
    train_rows, dev = split([ex for ex in read_examples([path]) if "topic" in ex.labels])
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    say(f"baseline: TF-IDF + LinearSVC on {len(train_rows):,} VNTC articles")
    baseline = train_baseline(train_rows, "topic")
    base_pred = baseline.predict(dev)
    seconds["baseline"] = round(time.perf_counter() - started, 1)
    classifier = Tagger(settings).topic.load()
    if not isinstance(classifier, TextClassifier):
        raise DataError("topic quality needs a sequence-classification topic model (not zero-shot topics)")
    labels = list(classifier.labels)
    gold_names = [ex.labels["topic"] for ex in dev]
    gold = np.array([labels.index(g) for g in gold_names])
    say(f"model: {classifier.version} on {len(dev):,} dev articles")
    started = time.perf_counter()
    texts, titles = topic_inputs(dev, classifier)
    logprobs, head_logits = classifier.components(texts, titles)
    seconds["model"] = round(time.perf_counter() - started, 1)
    shipped = classifier.calibrated(logprobs, head_logits).numpy()
    raw = softmax(logprobs.astype(np.float64))
    rows = [compare("transformer alone (uncalibrated)", gold_names, [labels[i] for i in raw.argmax(1)], base_pred,
                    labels, rounds, SEED)]
    if head_logits is not None:
        rows.append(compare("linear head alone", gold_names, [labels[i] for i in head_logits.argmax(1)], base_pred,
                            labels, rounds, SEED))
    rows.append(compare("shipped: calibrated average" if head_logits is not None else "shipped: calibrated",
                        gold_names, [labels[i] for i in shipped.argmax(1)], base_pred, labels, rounds, SEED))
    docs = [{"title": ex.title, "text": ex.text} for ex in dev]
    decided = [
        labels[int(p.argmax())]
        if long_enough(doc, settings.topic_min_words) and p.max() >= settings.topic_min_confidence else "unknown"
        for doc, p in zip(docs, shipped, strict=True)
    ]
    rows.append(compare(f"tagger: unknown under {settings.topic_min_words} words or "
                        f"{settings.topic_min_confidence:.2f} confidence (unknown counted wrong)",
                        gold_names, decided, base_pred, labels, rounds, SEED))
    covered = [i for i, d in enumerate(decided) if d != "unknown"]
    weight = classifier.calibration.head_weight
    crossed = crossfit_probs(logprobs, head_logits if weight > 0 else None, gold, weight, [ex.id for ex in dev])
    return TopicQuality(
        settings.topic_model, classifier.version, len(dev), rows,
        {"before (transformer softmax)": ece(raw, gold), "after, cross-fitted (2 halves of dev)": ece(crossed, gold),
         "after, as shipped (fitted on all of dev)": ece(shipped, gold)},
        {"before": reliability(raw, gold), "after (cross-fitted)": reliability(crossed, gold)},
        len(covered) / len(dev), float(np.mean([decided[i] == gold_names[i] for i in covered])) if covered else 0.0,
        {"topic_min_words": settings.topic_min_words, "topic_min_confidence": settings.topic_min_confidence},
        {"temperature": classifier.calibration.temperature, "head_weight": weight,
         "head_temperature": classifier.head.config.temperature if classifier.head is not None else None},
        rounds, seconds,
    )
