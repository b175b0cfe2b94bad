"""Tagging throughput: the full tagging path (``Tagger.tag``: clipping, tokenisation, batching,
both models, post-processing) against the bare forward passes of the same two models on the same
texts and batches, pre-tokenised outside the timer. One run, same process.

    .venv/bin/python -m bench.tagging_bench [--docs 512] [--batch-size 32] [--rounds 5]

The bare forward runs two ways: the batches in turn on torch's intra-op threads (the library at its
defaults), and the same batches spread over the tagger's CPU workers, one single-threaded batch per
worker (the schedule the full path uses). The ratio that counts is against the faster of the two.
The full path also runs with one worker (one batch at a time on torch's threads, the next tokenised
alongside) for comparison. Texts are held-out VNTC articles (title + text). Also prints end-to-end
cost per document, including the story signature (MinHash) the crawl computes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial
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
    settings = get_settings().enrich.model_copy(update={"batch_size": args.batch_size})
    tagger = Tagger(settings).load()
    one_worker = Tagger(settings.model_copy(update={"workers": 1})).load()

    # The same batches the full path builds (length-sorted, same clipping, longest first), tokenised up front.
    budget = topic_char_budget(tagger.topic)
    bodies = [d["text"][:budget] for d in docs]
    titles = [d["title"] for d in docs]
    sentiment_texts = [f"{d['title']} . {' '.join(d['text'].split())[:SENTIMENT_CHARS]}" for d in docs]
    parts = tagger.workers.count
    topic_batches = [
        tagger.topic.encode_chunks([bodies[i] for i in idx], [titles[i] for i in idx])[0]
        for idx in reversed(tagger.topic.batches(bodies, parts))
    ]
    sentiment_batches = [
        tagger.sentiment.encode([sentiment_texts[i] for i in idx])
        for idx in reversed(tagger.sentiment.batches(sentiment_texts, parts))
    ]
    forward_jobs = [partial(tagger.topic.forward, b) for b in topic_batches] + [
        partial(tagger.sentiment.forward, b) for b in sentiment_batches
    ]

    def bare() -> None:
        for job in forward_jobs:
            job()

    def bare_workers() -> None:
        tagger.workers.run(forward_jobs)

    def full() -> None:
        tagger.tag(docs)

    def full_one_worker() -> None:
        one_worker.tag(docs)

    def stories() -> None:
        for d in docs:
            signature(d["text"])

    runs = interleaved([bare, bare_workers, full, full_one_worker, stories], args.rounds)
    t_bare, t_workers, t_full, t_one, t_story = (statistics.median(r) for r in runs)
    bare_runs, worker_runs, full_runs, one_runs, _ = runs

    def ratios(bases: list[float], tested: list[float]) -> str:
        values = sorted(b / t for b, t in zip(bases, tested, strict=True))
        median = statistics.median(values)
        return f"{median:6.3f}  (median of the rounds' ratios; range {values[0]:.3f}-{values[-1]:.3f})"

    faster = [min(a, b) for a, b in zip(bare_runs, worker_runs, strict=True)]
    n = len(docs)
    print(
        f"{n} VNTC dev articles, batch size {args.batch_size}, device {tagger.topic.device}, "
        f"{torch.get_num_threads()} torch threads, {tagger.workers.count} workers, "
        f"{args.rounds} interleaved rounds (medians)"
    )
    w = tagger.workers.count
    rows: list[tuple[str, str]] = [
        ("bare forward, batches in turn on torch's threads", f"{n / t_bare:8.1f} docs/s"),
        ("bare forward, the batches over the workers", f"{n / t_workers:8.1f} docs/s"),
        (f"full tagging path, {w} workers", f"{n / t_full:8.1f} docs/s"),
        ("full tagging path, 1 worker", f"{n / t_one:8.1f} docs/s"),
        ("ratio full / faster bare forward (the target)", ratios(faster, full_runs)),
        ("ratio full / bare in turn", ratios(bare_runs, full_runs)),
        ("ratio full / bare over the workers", ratios(worker_runs, full_runs)),
        ("ratio full with 1 worker / bare in turn", ratios(bare_runs, one_runs)),
        ("end-to-end cost per document", f"{1000 * t_full / n:8.2f} ms tagging + {1000 * t_story / n:.2f} ms stories"),
    ]
    for label, value in rows:
        print(f"{label:<49}: {value}")


if __name__ == "__main__":
    main()
