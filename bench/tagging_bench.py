"""Tagging throughput: the full tagging path (``Tagger.tag``: clipping, tokenisation, batching,
both models, post-processing) against the bare forward passes of the same two models on the same
texts and batches, pre-tokenised outside the timer. One run, same process.

    .venv/bin/python -m bench.tagging_bench [--docs 512] [--batch-size 32] [--rounds 5]

The whole enrichment of a document is timed too: language identification, topic and sentiment, places
(``enrich.places``) and the story signature, done one after the other, and done the way the crawl's
tagging thread does it (places and the story signature found on a helper thread while the models run, as
``crawlers.pipelines.EnrichPipeline`` does; language is found by the spider, on another thread, also
alongside the tagging). Its ratio against the faster bare forward is the figure with places included.

The shipped models carry a linear head each (hashed TF-IDF, averaged with the transformer's calibrated
probabilities: ``enrich.linear_head``). The bare forward is the transformers' alone, so the heads count
as overhead of the full path; the full path without its heads (the tagging as it was before them) is
timed too, and the ratio of the two is the heads' cost per document.

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
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import torch

from enrich.data import read_examples, split
from enrich.language import detect_language
from enrich.places import find_places, gazetteer
from enrich.stories import signature
from enrich.tagger import SENTIMENT_CHARS, Tagger, topic_char_budget
from mediawatch.config import get_settings

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "vntc-train.jsonl.xz"
HOME = "24"  # the sources' home province: resolves place names several provinces share


def interleaved(fns, rounds: int, cpu: list[list[float]] | None = None) -> list[list[float]]:
    """Seconds per round of each function, the functions taking turns within every round (after one
    warm-up call each), so a slow spell of the machine hits all of them alike. ``cpu``, when given, gets
    the process's CPU seconds per round of each (all threads: less sensitive to other load on a shared
    machine, blind to how well the cores are kept busy)."""
    for fn in fns:
        fn()
    runs: list[list[float]] = [[] for _ in fns]
    if cpu is not None:
        cpu.extend([] for _ in fns)
    for _ in range(rounds):
        for i, (fn, times) in enumerate(zip(fns, runs, strict=True)):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times.append(time.perf_counter() - start)
            if cpu is not None:
                cpu[i].append(time.process_time() - start_cpu)
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
    bare_heads = Tagger(settings).load()  # the transformers alone, uncalibrated: the path before the heads
    for classifier in (bare_heads.topic, bare_heads.sentiment):
        classifier.head = None
        classifier.calibration = type(classifier.calibration)()

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

    def full_without_heads() -> None:
        bare_heads.tag(docs)

    def stories() -> None:
        for d in docs:
            signature(d["text"])

    def places() -> None:
        for d in docs:
            find_places(d["title"], d["text"], home=HOME)

    def language() -> None:
        for d in docs:
            detect_language(d["text"], hint="vi")

    def rest(batch: list[dict]) -> None:
        """What the crawl does beside the models for a batch: language, places, story signatures."""
        for d in batch:
            detect_language(d["text"], hint="vi")
            find_places(d["title"], d["text"], home=HOME)
            signature(d["text"])

    def tags_and_places() -> None:
        for start in range(0, n, args.batch_size):
            batch = docs[start:start + args.batch_size]
            tagger.tag(batch)
            for d in batch:
                find_places(d["title"], d["text"], home=HOME)

    def everything_in_turn() -> None:
        for start in range(0, n, args.batch_size):
            batch = docs[start:start + args.batch_size]
            tagger.tag(batch)
            rest(batch)

    beside = ThreadPoolExecutor(1, thread_name_prefix="places")

    def everything_beside() -> None:
        for start in range(0, n, args.batch_size):
            batch = docs[start:start + args.batch_size]
            pending = beside.submit(rest, batch)
            tagger.tag(batch)
            pending.result()

    gazetteer()
    n = len(docs)
    cpu: list[list[float]] = []
    runs = interleaved([bare, bare_workers, full, full_one_worker, stories, places, language, everything_in_turn,
                        everything_beside, tags_and_places, full_without_heads], args.rounds, cpu)
    t_bare, t_workers, t_full, t_one, t_story, t_places, t_lang, t_all, t_beside, t_tp, t_nohead = (
        statistics.median(r) for r in runs)
    bare_runs, worker_runs, full_runs, one_runs, _, _, _, all_runs, beside_runs, tp_runs, nohead_runs = runs

    def ratios(bases: list[float], tested: list[float]) -> str:
        values = sorted(b / t for b, t in zip(bases, tested, strict=True))
        median = statistics.median(values)
        return f"{median:6.3f}  (median of the rounds' ratios; range {values[0]:.3f}-{values[-1]:.3f})"

    faster = [min(a, b) for a, b in zip(bare_runs, worker_runs, strict=True)]
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
        ("full tagging path without the linear heads", f"{n / t_nohead:8.1f} docs/s"),
        ("ratio full / faster bare forward (the target)", ratios(faster, full_runs)),
        ("cost per document: with heads / without (<= 1.25)", ratios(full_runs, nohead_runs)),
        ("  in CPU time", ratios(cpu[2], cpu[10])),
        ("ratio full / bare in turn", ratios(bare_runs, full_runs)),
        ("ratio full / bare over the workers", ratios(worker_runs, full_runs)),
        ("ratio full with 1 worker / bare in turn", ratios(bare_runs, one_runs)),
        ("end-to-end cost per document", f"{1000 * t_full / n:8.2f} ms tagging + {1000 * t_story / n:.2f} ms stories"),
        ("  and each alone: places, language",
         f"{1000 * t_places / n:8.2f} ms places + {1000 * t_lang / n:.2f} ms language"),
        ("tags + places, in turn", f"{n / t_tp:8.1f} docs/s"),
        ("language+tags+places+stories, in turn", f"{n / t_all:8.1f} docs/s"),
        ("the same, places etc. beside the models (crawl)", f"{n / t_beside:8.1f} docs/s"),
        ("ratio tags + places / faster bare", ratios(faster, tp_runs)),
        ("ratio with places, in turn / faster bare", ratios(faster, all_runs)),
        ("ratio with places, as the crawl / faster bare", ratios(faster, beside_runs)),
        ("CPU time: ratio tagging path / bare over workers", ratios(cpu[1], cpu[2])),
        ("CPU time: ratio tags + places / bare workers", ratios(cpu[1], cpu[9])),
        ("CPU time: ratio with places, in turn / bare workers", ratios(cpu[1], cpu[7])),
        ("CPU time: ratio with places, as the crawl / bare workers", ratios(cpu[1], cpu[8])),
        ("CPU time per document: places, language, stories",
         f"{1000 * statistics.median(cpu[5]) / n:8.2f} ms + {1000 * statistics.median(cpu[6]) / n:.2f} ms + "
         f"{1000 * statistics.median(cpu[4]) / n:.2f} ms"),
    ]
    for label, value in rows:
        print(f"{label:<56}: {value}")


if __name__ == "__main__":
    main()
