"""Extraction throughput: ``extract_article`` (decode + trafilatura + dates + language + cleanup)
against bare ``trafilatura.extract`` on the same pages, in one run.

    .venv/bin/python -m bench.extract_bench [--rounds 3]

Pages are the generated test site's article pages (UTF-8, one windows-1258, a broken one and a
5 MB one). Prints pages/second for both and the ratio; correctness is the tests' job.
"""

from __future__ import annotations

import argparse
import statistics
import time

import trafilatura

from crawlers.extract import extract_article
from tests.site import build_site


def pages() -> list[tuple[str, bytes, str]]:
    site = build_site("http://127.0.0.1:8765")
    out = []
    for article in site.catalog.articles:
        page = site.pages[article.path]
        out.append((article.url, page.body, page.content_type))
    return out


def run(fn, corpus, rounds: int) -> float:
    """Median pages/second over ``rounds`` passes (after one warm-up pass)."""
    fn(corpus[:5])
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(corpus)
        rates.append(len(corpus) / (time.perf_counter() - start))
    return statistics.median(rates)


def ours(corpus) -> None:
    for url, body, content_type in corpus:
        extract_article(body, url=url, content_type=content_type)


def bare(corpus) -> None:
    for url, body, _ in corpus:
        trafilatura.extract(body, url=url, include_comments=False, favor_precision=True, with_metadata=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus = pages()
    size = sum(len(b) for _, b, _ in corpus) / 1e6
    base = run(bare, corpus, args.rounds)
    mine = run(ours, corpus, args.rounds)
    print(f"{len(corpus)} pages, {size:.1f} MB, median of {args.rounds} rounds")
    print(f"bare trafilatura.extract : {base:7.1f} pages/s")
    print(f"extract_article          : {mine:7.1f} pages/s")
    print(f"ratio (ours / bare)      : {mine / base:7.2f}")


if __name__ == "__main__":
    main()
