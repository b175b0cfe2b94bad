"""The classical bar to clear: TF-IDF (word 1–2-grams, sublinear tf) + a linear SVM.

Trained on the same train split and scored on the same dev split as the transformer
(``enrich.data.split``); the benchmark prints both side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from enrich.data import Example


def example_text(example: Example) -> str:
    """What the baseline reads: the title (when there is one) and the whole text, lowercased."""
    return f"{example.title}\n{example.text}" if example.title else example.text


@dataclass
class Baseline:
    """A fitted TF-IDF + LinearSVC pipeline for one task."""

    task: str
    pipeline: Any

    def predict(self, examples: Sequence[Example]) -> list[str]:
        return [str(label) for label in self.pipeline.predict([example_text(ex) for ex in examples])]


def train_baseline(train: Sequence[Example], task: str, *, c: float = 1.0) -> Baseline:
    """Fit on the examples of ``train`` labeled for ``task``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    rows = [ex for ex in train if task in ex.labels]
    pipeline = make_pipeline(
        TfidfVectorizer(
            lowercase=True, ngram_range=(1, 2), sublinear_tf=True, min_df=2, token_pattern=r"(?u)\b\w+\b",
            dtype=np.float32,
        ),
        LinearSVC(C=c),
    )
    pipeline.fit([example_text(ex) for ex in rows], [ex.labels[task] for ex in rows])
    return Baseline(task, pipeline)
