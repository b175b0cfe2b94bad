"""Topic and sentiment quality: the shipped transformers against a TF-IDF + linear-SVM baseline,
trained and scored in one run on the same splits.

    .venv/bin/python -m bench.classify_bench [--data-dir ../shared/data] [--json]

For each task the baseline (``enrich.baseline``: word 1–2-gram TF-IDF, sublinear tf, LinearSVC) is
fitted on the train split of the labeled file and both it and the configured model (through the real
inference path, ``enrich.evaluate``) are scored on the held-out dev split (``enrich.data.split``).
UIT-VSFC's own validation file is scored too, as data neither model was selected on.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from enrich.baseline import train_baseline
from enrich.data import read_examples, split
from enrich.evaluate import evaluate_examples
from enrich.train import scores
from mediawatch.config import get_settings

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
# (task, training file, extra scored file or None)
CASES = [
    ("topic", "vntc-train.jsonl.xz", None),
    ("sentiment", "uit-vsfc-train.jsonl", "uit-vsfc-val.jsonl"),
]


def run_case(task: str, train_file: Path, extra: Path | None) -> list[dict]:
    settings = get_settings().enrich
    examples = [ex for ex in read_examples([train_file]) if task in ex.labels]
    train_rows, dev_rows = split(examples)
    started = time.perf_counter()
    baseline = train_baseline(train_rows, task)
    fit_s = time.perf_counter() - started
    scored = [(f"{train_file.name} dev", dev_rows)]
    if extra is not None and extra.is_file():
        scored.append((f"{extra.name} (all)", [ex for ex in read_examples([extra]) if task in ex.labels]))
    rows = []
    for name, rows_ in scored:
        gold = [ex.labels[task] for ex in rows_]
        labels = sorted(set(gold) | set(baseline.pipeline.classes_))
        base = scores(gold, baseline.predict(rows_), labels)
        started = time.perf_counter()
        model = evaluate_examples(rows_, settings, tasks=[task])[task]
        model_s = time.perf_counter() - started
        rows.append({
            "task": task, "data": name, "n": len(rows_), "train_rows": len(train_rows),
            "baseline": {"macro_f1": base["macro_f1"], "accuracy": base["accuracy"], "fit_s": round(fit_s, 1)},
            "model": {"version": model.version, "macro_f1": model.figures["macro_f1"],
                      "accuracy": model.figures["accuracy"], "predict_s": round(model_s, 1)},
            "per_label_f1": {label: {"baseline": base["per_label"][label]["f1"],
                                     "model": model.figures["per_label"].get(label, {}).get("f1", 0.0)}
                             for label in labels},
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="where the labeled files are")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = []
    for task, train_name, extra in CASES:
        train_file = args.data_dir / train_name
        if not train_file.is_file():
            print(f"skipping {task}: {train_file} not found")
            continue
        results.extend(run_case(task, train_file, args.data_dir / extra if extra else None))
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    header = f"{'task':<10} {'scored on':<28} {'n':>6}  {'SVM F1':>7} {'SVM acc':>7}  {'ours F1':>7} {'ours acc':>8}"
    print(f"{header}  model")
    for r in results:
        b, m = r["baseline"], r["model"]
        print(f"{r['task']:<10} {r['data']:<28} {r['n']:>6}  {b['macro_f1']:>7.4f} {b['accuracy']:>7.4f}  "
              f"{m['macro_f1']:>7.4f} {m['accuracy']:>8.4f}  {m['version']}")
    for r in results:
        print(f"\n{r['task']} on {r['data']}: per-label F1 (baseline -> ours)")
        for label, f in r["per_label_f1"].items():
            print(f"  {label:<18} {f['baseline']:.3f} -> {f['model']:.3f}")


if __name__ == "__main__":
    main()
