"""Calibrated probabilities: temperature scaling, expected calibration error and reliability tables.

``fit_temperature(logprobs, gold)`` finds the one number T that makes ``softmax(logprobs / T)`` best
predict the gold labels (lowest negative log-likelihood) on held-out rows; ``ece`` and
``reliability`` say how far a model's top-label confidence is from its accuracy (equal-width bins).
Pure numpy, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

BINS = 10


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def nll(logprobs: np.ndarray, gold: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``gold`` (label ids) under ``softmax(logprobs / temperature)``."""
    scaled = log_softmax(np.asarray(logprobs, dtype=np.float64) / temperature)
    return float(-scaled[np.arange(len(gold)), gold].mean())


def fit_temperature(logprobs: np.ndarray, gold: Sequence[int] | np.ndarray, *, low: float = 0.05,
                    high: float = 20.0) -> float:
    """The temperature in ``[low, high]`` with the lowest NLL (golden-section search on log T; the NLL
    of temperature scaling is unimodal in T)."""
    gold = np.asarray(gold, dtype=np.int64)
    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(logprobs, gold, np.exp(c)), nll(logprobs, gold, np.exp(d))
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(logprobs, gold, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(logprobs, gold, np.exp(d))
    return float(np.exp((a + b) / 2))


def reliability(probs: np.ndarray, gold: Sequence[int] | np.ndarray, bins: int = BINS) -> list[dict[str, Any]]:
    """Per equal-width bin of top-label confidence: its range, rows, mean confidence and accuracy."""
    probs = np.asarray(probs, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.int64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == gold
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    table = []
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        table.append({
            "low": b / bins, "high": (b + 1) / bins, "n": n,
            "confidence": float(confidence[mask].mean()) if n else None,
            "accuracy": float(correct[mask].mean()) if n else None,
        })
    return table


def ece(probs: np.ndarray, gold: Sequence[int] | np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error of the top label: sum over bins of (rows / all) x |accuracy - confidence|."""
    table = reliability(probs, gold, bins)
    total = sum(row["n"] for row in table)
    return float(sum(row["n"] / total * abs(row["accuracy"] - row["confidence"]) for row in table if row["n"]))


def mixture(logprobs: np.ndarray, head_logits: np.ndarray | None, temperature: float, head_temperature: float,
            head_weight: float) -> np.ndarray:
    """What ``TextClassifier.calibrated`` computes, in numpy: ``softmax(logprobs / T)``, averaged with
    ``softmax(head_logits / T_head)`` with weight ``head_weight`` when there is a head."""
    probs = softmax(np.asarray(logprobs, dtype=np.float64) / temperature)
    if head_logits is None or head_weight <= 0:
        return probs
    head = softmax(np.asarray(head_logits, dtype=np.float64) / head_temperature)
    return (1 - head_weight) * probs + head_weight * head


def fit_calibration(logprobs: np.ndarray, head_logits: np.ndarray | None,
                    gold: Sequence[int] | np.ndarray) -> tuple[float, float]:
    """``(T, T_head)``: each component's own temperature, fitted on the same held-out rows."""
    temperature = fit_temperature(logprobs, gold)
    return temperature, (fit_temperature(head_logits, gold) if head_logits is not None else 1.0)


def halves(ids: Sequence[str]) -> np.ndarray:
    """0 or 1 per row, from SHA-256 of ``"calibration:" + id``: two stable halves of a split."""
    import hashlib

    return np.array([hashlib.sha256(f"calibration:{i}".encode()).digest()[0] & 1 for i in ids], dtype=np.int64)


def crossfit_probs(logprobs: np.ndarray, head_logits: np.ndarray | None, gold: Sequence[int] | np.ndarray,
                   head_weight: float, ids: Sequence[str]) -> np.ndarray:
    """Calibrated probabilities for every row from temperatures fitted on the *other* half of the rows
    (``halves``): calibration figures that are not measured on the rows they were fitted on."""
    gold = np.asarray(gold, dtype=np.int64)
    half = halves(ids)
    out = np.zeros(np.asarray(logprobs).shape, dtype=np.float64)
    for h in (0, 1):
        fit, apply = half != h, half == h
        if not fit.any() or not apply.any():
            fit = apply = np.ones(len(gold), dtype=bool)  # too few rows to cross-fit
        t, th = fit_calibration(logprobs[fit], None if head_logits is None else head_logits[fit], gold[fit])
        out[apply] = mixture(logprobs[apply], None if head_logits is None else head_logits[apply], t, th, head_weight)
    return out
