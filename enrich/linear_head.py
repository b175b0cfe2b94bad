"""A linear classifier over hashed TF-IDF word 1–2-grams, shipped beside a transformer and averaged with it.

``LinearHead.fit(texts, labels, label_order)`` learns it; ``save(dir)`` writes ``head.safetensors``
(the IDF weights, the label weights and biases: plain arrays) and ``head.json`` (labels and the
featurisation's settings); ``LinearHead.load(dir)`` reads them back, offline, without unpickling
anything. Features: scikit-learn's stateless ``HashingVectorizer`` (word 1–2-grams of the lowercased
text, ``\\b\\w+\\b`` tokens: syllables and syllable pairs, the Vietnamese compound words; optionally
character 2–n-grams within words in a second block, for misspelt and unaccented text), sublinear tf,
IDF from the training texts (buckets seen in fewer than ``min_df`` texts weigh nothing), L2 norm.
The classifier is scikit-learn's ``LinearSVC`` (as the baseline, ``enrich.baseline``) or logistic
regression; its scores are logits that ``enrich.calibration`` turns into calibrated probabilities.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

HEAD_WEIGHTS = "head.safetensors"
HEAD_CONFIG = "head.json"
TOKEN_PATTERN = r"(?u)\b\w+\b"


@dataclass(frozen=True)
class HeadConfig:
    labels: list[str]
    n_features: int = 2**18
    ngram_max: int = 2
    min_df: int = 2
    # Also character n-grams within words (``char_wb``) from 2 to this many characters, hashed into a
    # second block of n_features (0: words only). They read misspelt, abbreviated and unaccented words.
    char_ngram_max: int = 0
    classifier: str = "svm"  # svm (LinearSVC) | logreg
    c: float = 1.0
    temperature: float = 1.0  # softmax(logits / temperature): fitted on held-out rows by the caller


def head_text(text: str, title: str | None) -> str:
    """What the head reads: the title (when there is one) and the text, as the baseline does."""
    return f"{title}\n{text}" if title else text


def vectorizers(config: HeadConfig) -> list[Any]:
    """The stateless featurisers: word n-grams, then character n-grams when the config asks for them."""
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"n_features": config.n_features, "lowercase": True, "alternate_sign": False, "norm": None,
              "dtype": np.float32}
    out = [HashingVectorizer(ngram_range=(1, config.ngram_max), token_pattern=TOKEN_PATTERN, **common)]
    if config.char_ngram_max >= 2:
        out.append(HashingVectorizer(analyzer="char_wb", ngram_range=(2, config.char_ngram_max), **common))
    return out


class LinearHead:
    """Hashed TF-IDF features and one linear score per label."""

    def __init__(self, config: HeadConfig, idf: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> None:

        self.config = config
        self.idf = idf.astype(np.float32)
        self.weight = weight.astype(np.float32)  # labels x features
        self.bias = bias.astype(np.float32)
        self.vectorizers = vectorizers(config)

    @property
    def labels(self) -> list[str]:
        return list(self.config.labels)

    @staticmethod
    def _counts(vectorizers: Sequence[Any], texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        texts = list(texts)
        blocks = [v.transform(texts).tocsr() for v in vectorizers]
        counts = blocks[0] if len(blocks) == 1 else hstack(blocks, format="csr")
        counts.sum_duplicates()
        counts.data = 1.0 + np.log(counts.data)  # sublinear tf
        return counts

    def features(self, texts: Sequence[str]) -> Any:
        """L2-normalised TF-IDF rows (a sparse matrix)."""
        from sklearn.preprocessing import normalize

        x = self._counts(self.vectorizers, texts)
        x = x.multiply(self.idf[np.newaxis, :]).tocsr()
        return normalize(x, copy=False)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores (``len(texts) x labels``): margins for the SVM, log-odds for logistic regression."""
        if not texts:
            return np.zeros((0, len(self.config.labels)), dtype=np.float32)
        return np.asarray(self.features(texts) @ self.weight.T, dtype=np.float32) + self.bias

    # -- fitting and files ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], config: HeadConfig) -> LinearHead:
        """Fit on ``texts`` and their ``labels`` (``config.labels`` gives the order of the outputs)."""
        counts = cls._counts(vectorizers(config), texts)
        width = counts.shape[1]
        df = np.bincount(counts.indices, minlength=width).astype(np.float64)
        n = counts.shape[0]
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        idf[df < config.min_df] = 0.0
        head = cls(config, idf.astype(np.float32), np.zeros((len(config.labels), width)), np.zeros(len(config.labels)))
        x = head.features(texts)
        y = np.asarray([config.labels.index(label) for label in labels])
        if config.classifier == "svm":
            from sklearn.svm import LinearSVC

            model: Any = LinearSVC(C=config.c)
        elif config.classifier == "logreg":
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(C=config.c, max_iter=1000)
        else:
            raise ValueError(f"unknown classifier {config.classifier!r} (svm or logreg)")
        model.fit(x, y)
        weight = np.zeros((len(config.labels), width), dtype=np.float32)
        bias = np.full(len(config.labels), -10.0, dtype=np.float32)  # labels never seen in training
        classes = [int(c) for c in model.classes_]
        coef, intercept = np.asarray(model.coef_), np.asarray(model.intercept_)
        if len(classes) == 2 and coef.shape[0] == 1:  # binary: one score, for the second class
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        for row, label in enumerate(classes):
            weight[label], bias[label] = coef[row], intercept[row]
        head.weight, head.bias = weight, bias
        return head

    def with_temperature(self, temperature: float) -> LinearHead:
        config = HeadConfig(**{**asdict(self.config), "temperature": float(temperature)})
        return LinearHead(config, self.idf, self.weight, self.bias)

    def save(self, directory: str | Path) -> None:
        from safetensors.numpy import save_file

        where = Path(directory)
        where.mkdir(parents=True, exist_ok=True)
        # float16 halves the files; scores move by well under 0.1% of a margin.
        save_file({"idf": self.idf.astype(np.float16), "weight": self.weight.astype(np.float16),
                   "bias": self.bias.astype(np.float32)}, str(where / HEAD_WEIGHTS))
        (where / HEAD_CONFIG).write_text(json.dumps(asdict(self.config), ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> LinearHead | None:
        """The head saved in ``directory``, or None when there is none."""
        from safetensors.numpy import load_file

        where = Path(directory)
        if not (where / HEAD_WEIGHTS).is_file() or not (where / HEAD_CONFIG).is_file():
            return None
        config = HeadConfig(**json.loads((where / HEAD_CONFIG).read_text(encoding="utf-8")))
        arrays = load_file(str(where / HEAD_WEIGHTS))
        return cls(config, arrays["idf"], arrays["weight"], arrays["bias"])
