"""Extraction throughput: ``extract_article`` (decode + trafilatura + dates + language + cleanup)
against plain trafilatura on the same pages with the same options, in one run.

    .venv/bin/python -m bench.extract_bench [--rounds 5]

Pages are the generated test site's article pages (UTF-8, one windows-1258, a broken one and a
5 MB one). Plain trafilatura is timed twice: ``trafilatura.extract`` (parse + extract + serialise)
and ``trafilatura.bare_extraction`` (parse + extract), both with ``TRAFILATURA_OPTIONS``. The three
run in turn within each round, timed in CPU seconds of this process (``time.process_time``), so other
load on a shared machine skews them less. Prints the median pages/second of each and the median of the
per-round ratios with their range; correctness is the tests' job.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import trafilatura

from crawlers.extract import TRAFILATURA_OPTIONS, extract_article
from tests.site import build_site

Corpus = list[tuple[str, bytes, str]]


def pages() -> Corpus:
    site = build_site("http://127.0.0.1:8765")
    out = []
    for article in site.catalog.articles:
        page = site.pages[article.path]
        out.append((article.url, page.body, page.content_type))
    return out


def ours(corpus: Corpus) -> None:
    for url, body, content_type in corpus:
        extract_article(body, url=url, content_type=content_type)


def bare(corpus: Corpus) -> None:
    for url, body, _ in corpus:
        trafilatura.extract(body, url=url, **TRAFILATURA_OPTIONS)


def bare_extraction(corpus: Corpus) -> None:
    for url, body, _ in corpus:
        trafilatura.bare_extraction(body, url=url, **TRAFILATURA_OPTIONS)


def measure(runs: dict[str, Callable[[Corpus], None]], corpus: Corpus, rounds: int) -> dict[str, list[float]]:
    """CPU seconds of each run per round, the runs taking turns (after one warm-up pass each)."""
    for run in runs.values():
        run(corpus[:5])
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.process_time()
            run(corpus)
            seconds[name].append(time.process_time() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    corpus = pages()
    size = sum(len(b) for _, b, _ in corpus) / 1e6
    runs = {
        "bare trafilatura.extract": bare,
        "bare trafilatura.bare_extraction": bare_extraction,
        "extract_article": ours,
    }
    seconds = measure(runs, corpus, args.rounds)
    print(f"{len(corpus)} pages, {size:.1f} MB, median of {args.rounds} interleaved rounds (CPU time)")
    for name, values in seconds.items():
        print(f"{name:40s}: {len(corpus) / statistics.median(values):7.1f} pages/s")
    mine = seconds["extract_article"]
    for name in ("bare trafilatura.extract", "bare trafilatura.bare_extraction"):
        ratios = [theirs / own for theirs, own in zip(seconds[name], mine, strict=True)]
        label = f"ratio ours / {name.split()[-1]}"
        print(f"{label:40s}: {statistics.median(ratios):7.2f}  (rounds {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
