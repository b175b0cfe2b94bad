"""Tagging throughput: the full tagging path (``Tagger.tag``: clipping, tokenisation, batching,
both models, post-processing) against the bare forward passes of the same two models on the same
texts and batches, pre-tokenised outside the timer. One run, same process.

    .venv/bin/python -m bench.tagging_bench [--docs 512] [--batch-size 32] [--rounds 5]

Texts are held-out VNTC articles (title + text). Also prints end-to-end cost per document,
including the story signature (MinHash) the crawl computes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from enrich.data import read_examples, split
from enrich.stories import signature
from enrich.tagger import SENTIMENT_CHARS, Tagger, topic_char_budget
from mediawatch.config import get_settings

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "vntc-train.jsonl.xz"


def interleaved(fns, rounds: int) -> list[list[float]]:
    """Seconds per round of each function, the functions taking turns within every round (after one
    warm-up call each), so a slow spell of the machine hits all of them alike."""
    for fn in fns:
        fn()
    runs: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, times in zip(fns, runs, strict=True):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    examples = split(read_examples([args.data]))[1][: args.docs]
    docs = [{"title": e.title, "text": e.text, "language": "vi", "kind": "news"} for e in examples]
    tagger = Tagger(get_settings().enrich.model_copy(update={"batch_size": args.batch_size})).load()

    # The same batches the full path builds (length-sorted, same clipping), tokenised up front.
    budget = topic_char_budget(tagger.topic)
    bodies = [d["text"][:budget] for d in docs]
    order = sorted(range(len(docs)), key=lambda i: len(bodies[i]))
    topic_batches, sentiment_batches = [], []
    sentiment_texts = [f"{d['title']} . {' '.join(d['text'].split())[:SENTIMENT_CHARS]}" for d in docs]
    sent_order = sorted(range(len(docs)), key=lambda i: len(sentiment_texts[i]))
    for start in range(0, len(docs), args.batch_size):
        idx = order[start : start + args.batch_size]
        encoded, _ = tagger.topic.encode_chunks([bodies[i] for i in idx], [docs[i]["title"] for i in idx])
        topic_batches.append(encoded)
        sidx = sent_order[start : start + args.batch_size]
        sentiment_batches.append(tagger.sentiment.encode([sentiment_texts[i] for i in sidx]))

    def bare() -> None:
        for batch in topic_batches:
            tagger.topic.forward(batch)
        for batch in sentiment_batches:
            tagger.sentiment.forward(batch)

    def full() -> None:
        tagger.tag(docs)

    def stories() -> None:
        for d in docs:
            signature(d["text"])

    bare_runs, full_runs, story_runs = interleaved([bare, full, stories], args.rounds)
    t_bare, t_full, t_story = (statistics.median(runs) for runs in (bare_runs, full_runs, story_runs))
    ratios = sorted(b / f for b, f in zip(bare_runs, full_runs, strict=True))
    n = len(docs)
    print(
        f"{n} VNTC dev articles, batch size {args.batch_size}, device {tagger.topic.device}, "
        f"{torch.get_num_threads()} threads, {args.rounds} interleaved rounds (medians)"
    )
    print(f"bare forward (topic + sentiment) : {n / t_bare:8.1f} docs/s")
    print(f"full tagging path                : {n / t_full:8.1f} docs/s")
    print(
        f"ratio (full / bare)              : {statistics.median(ratios):8.3f}"
        f"  (median of the rounds' ratios; range {ratios[0]:.3f}-{ratios[-1]:.3f})"
    )
    print(
        f"end-to-end cost per document     : {1000 * t_full / n:8.2f} ms tagging"
        f" + {1000 * t_story / n:.2f} ms story signature"
    )


if __name__ == "__main__":
    main()
