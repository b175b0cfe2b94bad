"""The labeled corpora the shipped models learn from, their terms of use and their held-out splits.

``SENTIMENT_CORPORA`` names each sentiment corpus in ``../shared/data`` (file, domain, licence, what
its terms allow). ``holdout(examples, fraction)`` sets aside a corpus's held-out split: within each
label, the ``fraction`` of rows with the lowest SHA-256 of ``"holdout:" + id`` (so every label keeps
its share, and the split is the same on every machine). Held-out rows are never trained on and never
pick a checkpoint; ``mediawatch enrich eval`` scores the models on them. Training then holds out its
own dev split from what is left (``enrich.data.split``: a different hash), for model selection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from enrich.data import DataError, Example, read_examples

HOLDOUT_SALT = "holdout:"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass(frozen=True)
class Corpus:
    """One labeled corpus: where it is under the data directory and the terms that come with it."""

    name: str
    file: str  # relative to the data directory
    task: str
    domain: str
    holdout: float  # share of each label held out for evaluation
    licence: str
    terms: str  # what a user of a model derived from it must know
    citation: str

    def path(self, data_dir: str | Path) -> Path:
        return Path(data_dir) / self.file


SENTIMENT_CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in (
        Corpus(
            "uit-vsfc", "uit-vsfc-train.jsonl", "sentiment", "students' feedback", 0.15,
            "research dataset",
            "research use; cite it and keep its notice with derived models",
            "Kiet Van Nguyen et al., \"UIT-VSFC: Vietnamese Students' Feedback Corpus for Sentiment Analysis\", "
            "KSE 2018",
        ),
        Corpus(
            "uit-vsmec", "sentiment/uit-vsmec-train.jsonl", "sentiment", "Facebook comments", 0.15,
            "released for research",
            "research use; cite it and keep its notice with derived models",
            "Vong Anh Ho et al., \"Emotion Recognition for Vietnamese Social Media Text\", PACLING 2019",
        ),
        Corpus(
            "uit-visfd", "sentiment/uit-visfd-train.jsonl", "sentiment", "smartphone reviews (e-commerce)", 0.15,
            "free for research",
            "research use; commercial use needs the authors' permission",
            "Luong Luc Phan et al., \"SA2SL: From Aspect-Based Sentiment Analysis to Social Listening System "
            "for Business Intelligence\", KSEM 2021",
        ),
        Corpus(
            # The smallest corpus (23 neutral rows in all): a quarter held out, for a less noisy figure.
            "uts2017-bank", "sentiment/uts2017-bank-train.jsonl", "sentiment", "social posts about banks", 0.25,
            "GNU GPL v3",
            "GNU GPL v3 (undertheseanlp/resources): a model trained on it may be a derived work under the GPL",
            "Vu Anh and Bui Nhat Anh, UTS2017_Bank (Underthesea Bank Sentiment corpus), 2017",
        ),
        Corpus(
            "aivivn2019", "sentiment/aivivn2019-train.jsonl", "sentiment", "e-commerce product reviews", 0.15,
            "no licence stated",
            "published for the public AIVIVN 2019 competition, no licence stated; cite the challenge",
            "AIVIVN 2019 Sentiment Classification challenge",
        ),
    )
}
# Scored beside the held-out splits: UIT-VSFC's official validation file, never trained on.
SENTIMENT_EXTRA = {"uit-vsfc-val": "uit-vsfc-val.jsonl"}

TOPIC_CORPORA: dict[str, Corpus] = {
    "vntc": Corpus(
        "vntc", "vntc-train.jsonl.xz", "topic", "news articles, 2006-2007", 0.0, "MIT",
        "MIT licence", "Vu Cong Duy Hoang et al., VNTC (Vietnamese News Text Classification corpus), 2007",
    ),
}


def holdout_bucket(example: Example) -> int:
    """The row's place in the held-out order (the first 8 bytes of SHA-256 of ``"holdout:" + id``)."""
    return int.from_bytes(hashlib.sha256((HOLDOUT_SALT + example.id).encode("utf-8")).digest()[:8], "big")


def holdout(examples: Iterable[Example], fraction: float, task: str) -> tuple[list[Example], list[Example]]:
    """``(rest, held_out)``: within each ``task`` label, the ``round(fraction * n)`` rows first in the
    held-out order are held out; rows in file order on both sides. Unlabeled rows stay in ``rest``."""
    rows = list(examples)
    by_label: dict[str, list[int]] = {}
    for i, ex in enumerate(rows):
        if task in ex.labels:
            by_label.setdefault(ex.labels[task], []).append(i)
    held: set[int] = set()
    for members in by_label.values():
        members.sort(key=lambda i: (holdout_bucket(rows[i]), rows[i].id))
        held.update(members[: round(fraction * len(members))])
    return [ex for i, ex in enumerate(rows) if i not in held], [ex for i, ex in enumerate(rows) if i in held]


@dataclass
class CorpusSplit:
    corpus: Corpus
    path: Path
    train: list[Example]  # everything but the held-out rows (training takes its dev split from these)
    held_out: list[Example]


def resolve(names: Sequence[str], task: str = "sentiment") -> list[Corpus]:
    """Corpora by name (``all``: every one for the task); an unknown name is a one-line error."""
    known = SENTIMENT_CORPORA if task == "sentiment" else TOPIC_CORPORA
    if not names or "all" in names:
        return list(known.values())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DataError(f"unknown {task} corpus {unknown[0]!r}; known: {', '.join(known)} (or all)")
    return [known[n] for n in dict.fromkeys(names)]


def load(corpora: Sequence[Corpus], data_dir: str | Path) -> list[CorpusSplit]:
    """Each corpus read from ``data_dir`` and split into its training part and held-out split."""
    out = []
    for corpus in corpora:
        path = corpus.path(data_dir)
        if not path.is_file():
            raise DataError(f"corpus {corpus.name}: {path} not found (--data-dir is where ../shared/data is)")
        rows = [ex for ex in read_examples([path]) if corpus.task in ex.labels]
        rest, held = holdout(rows, corpus.holdout, corpus.task)
        out.append(CorpusSplit(corpus, path, rest, held))
    return out
