"""Alert matching: documents/second matched against 10,000 subscriptions, the matcher against one search per
subscription, in one run.

    .venv/bin/python -m bench.match_bench [--subscriptions 10000] [--background 8000] [--stream 2000]
                                          [--batch 50,100,200] [--baseline-batches 2]

Documents are real news texts (VNTC, ``shared/data/vntc-train.jsonl.xz``: title and body, 450 words on
average) indexed into a throw-away prefix: ``--background`` older ones, then ``--stream`` new ones to match,
in batches of each ``--batch`` size in turn (an alert pass gets the documents written since the last one).
Subscriptions are generated as staff would write them: province and commune/ward names from
``vietnam_provinces`` (the 2025 list), topic words and two-syllable words drawn from the corpus by document
frequency, as phrases, words typed with or without diacritics, prefixes, OR groups, NOT exclusions,
``title:`` scopes, ``TP.HCM``/``H5N1``, and a quarter with source/kind/topic/sentiment filters.

* **matcher**: ``alerts.matcher.match_documents`` per batch, reading the batch's ``_source`` included (the
  alert pass hands it the documents it already read; here it reads them itself), as it runs (sharing big
  batches with a worker process per further core) and held to one process; the matcher is built once and its
  worker started by one untimed batch (build time reported apart);
* **baseline**: one search per subscription restricted to the batch's ids (``alerts.matcher.search_matches``:
  the query ``mediawatch search`` builds plus an ``ids`` filter, 200 searches per ``_msearch``), for the
  first ``--baseline-batches`` batches of each size, interleaved with the matcher's turns on the same batches.

Both answers are compared on the baseline's batches (they must be equal), and the matcher's two ways on every
batch. Uses ``MEDIAWATCH_ES_URL`` when set, else starts the local node.
"""

from __future__ import annotations

import argparse
import itertools
import json
import lzma
import os
import platform
import random
import re
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

import alerts.matcher
from alerts.matcher import Matcher, MatcherSubscription, match_documents, search_matches
from enrich.folding import fold
from index.analysis import analyze_terms, term_shares
from index.mappings import docs_alias, ensure_indices
from mediawatch.config import Settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "data" / "vntc-train.jsonl.xz"
SOURCES = ["vnexpress", "tuoitre", "thanhnien", "nld", "bacninh-news", "otofun-forum"]
SECTIONS = {
    "politics_society": "Thời sự", "lifestyle": "Đời sống", "science": "Khoa học", "business": "Kinh doanh",
    "law": "Pháp luật", "health": "Sức khỏe", "world": "Thế giới", "sports": "Thể thao", "culture": "Văn hóa",
    "technology": "Công nghệ",
}
AUTHORS = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng", "Phạm Minh Tuấn", "Hoàng Lan", "Vũ Đức Thắng"]
SENTIMENTS = ["negative", "neutral", "positive"]
BASE = datetime(2026, 11, 1, tzinfo=UTC)
_WORD = re.compile(r"\w+")
DEFAULT_PARALLEL_MIN = alerts.matcher.PARALLEL_MIN


# --------------------------------------------------------------------------- documents


def corpus_path() -> Path:
    for candidate in (CORPUS, Path("/work/shared/data/vntc-train.jsonl.xz")):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"corpus not found: {CORPUS}")


def read_corpus(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` articles drawn at random from the whole corpus (the file is ordered by topic)."""
    with lzma.open(corpus_path(), "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    return [json.loads(line) for line in rng.sample(lines, min(count, len(lines)))]


def to_doc(row: dict[str, Any], number: int, rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": f"b{number:06d}",
        "url": f"https://bao.example.vn/{number}",
        "title": row["title"],
        "text": row["text"],
        "source": rng.choice(SOURCES),
        "kind": "forum" if rng.random() < 0.15 else "news",
        "language": "vi",
        "topic": row["topic"],
        "sentiment": {"label": rng.choices(SENTIMENTS, (3, 5, 2))[0], "score": 0.8},
        "section": SECTIONS.get(row["topic"], "Tin tức"),
        "published": (BASE + timedelta(minutes=number)).isoformat(),
    }
    if rng.random() < 0.4:
        doc["author"] = rng.choice(AUTHORS)
    for name in ("title", "text", "author", "section"):
        if doc.get(name):
            doc[f"{name}_folded"] = fold(doc[name])
    return doc


def index_docs(client: Elasticsearch, index: str, docs: list[dict[str, Any]]) -> float:
    start = time.monotonic()
    actions = ({"_index": index, "_id": d["id"], "_source": d} for d in docs)
    for ok, item in helpers.streaming_bulk(client, actions, chunk_size=500, raise_on_error=False):
        if not ok:
            raise SystemExit(f"indexing failed: {item}")
    client.indices.refresh(index=index)
    return time.monotonic() - start


# --------------------------------------------------------------------------- subscriptions


def place_names() -> list[str]:
    """Provinces and communes/wards of the 2025 list, without "Tỉnh", "Thành phố", "Phường", "Xã"…"""
    try:
        import vietnam_provinces as vp
    except ImportError:
        raise SystemExit("this bench reads place names from vietnam-provinces: pip install vietnam-provinces") from None

    names = [p.name for p in vp.Province.iter_all()] + [w.name for w in vp.Ward.iter_all()]
    out = []
    for name in names:
        for head in ("Thành phố ", "Tỉnh ", "Phường ", "Xã ", "Đặc khu ", "Thị trấn "):
            name = name.removeprefix(head)
        if any(ch.isalpha() for ch in name) and len(name.split()) >= 2:
            out.append(name)
    return sorted(set(out))


def vocabulary(rows: list[dict[str, Any]]) -> tuple[list[str], list[str], Counter[str]]:
    """Words (syllables) and two-syllable words of the corpus in the document-frequency bands of topic words
    (syllables 0.1-3%, pairs 0.05-1.5%, neither syllable of a pair in more than 8% of the documents: not
    function words or their collocations, not typos), most frequent first; and every syllable's frequency."""
    df_words: Counter[str] = Counter()
    df_pairs: Counter[str] = Counter()
    for row in rows:
        words = [w.lower() for w in _WORD.findall(f"{row['title']} {row['text']}") if not w.isdigit()]
        df_words.update(set(words))
        df_pairs.update({f"{a} {b}" for a, b in itertools.pairwise(words)})
    total = len(rows)
    words = [w for w, n in df_words.most_common() if 0.001 * total <= n <= 0.03 * total and len(w) > 1]
    common = {w for w, n in df_words.items() if n > 0.08 * total}
    pairs = [
        p for p, n in df_pairs.most_common()
        if 0.0005 * total <= n <= 0.015 * total and not common.intersection(p.split())
    ]
    return words, pairs, df_words


def generate_subscriptions(count: int, rows: list[dict[str, Any]], rng: random.Random) -> list[MatcherSubscription]:
    places = place_names()
    words, pairs, _ = vocabulary(rows)
    topics = sorted(SECTIONS)

    def typed(text: str) -> str:
        return fold(text) if rng.random() < 0.25 else text

    def place() -> str:
        return f'"{typed(rng.choice(places))}"'

    def word() -> str:
        return typed(rng.choice(words[:1500]))

    def pair(quoted: bool = True) -> str:
        text = typed(rng.choice(pairs[:3000]))
        return f'"{text}"' if quoted else text

    def prefix() -> str:
        stem = fold(rng.choice([w for w in words[:800] if len(w) >= 4]))
        return stem[: rng.randint(3, len(stem))] + "*"

    templates = [
        (20, lambda: place()),
        (15, lambda: f"{place()} AND ({pair()} OR {word()})"),
        (10, lambda: pair(quoted=False)),
        (10, lambda: " OR ".join(pair() for _ in range(rng.randint(2, 4)))),
        (4, lambda: f"{place()} AND {prefix()}"),
        (4, lambda: f"{word()} {prefix()}"),
        (6, lambda: f"{place()} -{pair()}"),
        (6, lambda: f"{pair(quoted=False)} NOT ({word()} OR {word()})"),
        (4, lambda: f"title:{place()}"),
        (4, lambda: f"title:({pair()} OR {word()}) {place()}"),
        (3, lambda: f"{rng.choice(['TP.HCM', 'H5N1', 'WTO', 'Hà Nội', 'tp.hcm'])} AND {pair()}"),
        (12, lambda: f"({place()} OR {place()}) AND ({pair()} OR {word()}) -{word()}"),
        (2, lambda: f"author:{typed(rng.choice(AUTHORS).split()[-1])} {word()}"),
    ]
    weights = [w for w, _ in templates]
    subs = []
    for number in range(count):
        make = rng.choices([t for _, t in templates], weights)[0]
        filters: dict[str, Any] = {}
        if rng.random() < 0.25:
            pick = rng.randint(0, 4)
            if pick == 0:
                filters["sources"] = tuple(rng.sample(SOURCES, rng.randint(1, 2)))
            elif pick == 1:
                filters["kinds"] = (rng.choice(["news", "forum"]),)
            elif pick == 2:
                filters["topics"] = tuple(rng.sample(topics, rng.randint(1, 2)))
            elif pick == 3:
                filters["sentiments"] = ("negative",)
            else:
                filters["date_from"] = BASE + timedelta(days=rng.randint(0, 3))
        subs.append(MatcherSubscription(id=f"sub{number:05d}", query=make(), **filters))
    return subs


# --------------------------------------------------------------------------- the run


def batches(ids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), CPython {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--background", type=int, default=8_000)
    parser.add_argument("--stream", type=int, default=2_000)
    parser.add_argument("--batch", default="50,100,200", help="batch sizes, comma-separated")
    parser.add_argument("--baseline-batches", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the throw-away indices")
    args = parser.parse_args()
    sizes = [int(size) for size in args.batch.split(",")]

    es_url = os.environ.get("MEDIAWATCH_ES_URL")
    if not es_url:
        from index import node
        from mediawatch.config import load_settings

        es_url = node.ensure_started(load_settings(), log=lambda *a: None)
    prefix = f"bench-match-{uuid.uuid4().hex[:6]}"
    settings = Settings(es={"url": es_url, "request_timeout": 300}, index={"prefix": prefix})
    client = Elasticsearch(es_url, request_timeout=300)
    rng = random.Random(args.seed)
    try:
        ensure_indices(client, settings)
        index = docs_alias(settings)
        rows = read_corpus(args.background + args.stream, rng)
        docs = [to_doc(row, n, rng) for n, row in enumerate(rows)]
        took = index_docs(client, index, docs[: args.background])
        print(f"indexed {args.background} background documents in {took:.1f}s")
        subs = generate_subscriptions(args.subscriptions, rows[: args.background], rng)
        print("examples:", *(s.query for s in subs[:8]), sep="\n  ")

        start = time.monotonic()
        matcher = Matcher.build(
            subs,
            lambda texts: analyze_terms(client, texts),
            doc_freq=lambda wanted: term_shares(client, index, wanted),
        )
        build_s = time.monotonic() - start
        print(f"matcher built in {build_s:.1f}s: {len(matcher)} subscriptions, {matcher.plans} plans, "
              f"{len(matcher.rejected)} rejected, {len(matcher.fallback)} fallback")

        stream = docs[args.background :]
        took = index_docs(client, index, stream)
        print(f"indexed {len(stream)} new documents in {took:.1f}s")
        ids = [d["id"] for d in stream]
        start = time.monotonic()
        match_documents(client, settings, matcher, ids[: max(sizes)])  # forks the worker process (once per build)
        print(f"first batch, worker started: {time.monotonic() - start:.2f}s (not counted)")

        results = []
        agree = True
        matches = 0
        load_before = os.getloadavg()[0]
        for size in sizes:
            shared, single, baseline = [], [], []
            for number, chunk in enumerate(batches(ids, size)):
                times: dict[bool, float] = {}
                answers = {}
                for parallel in (number % 2 == 0, number % 2 == 1):  # alternate which goes first
                    alerts.matcher.PARALLEL_MIN = DEFAULT_PARALLEL_MIN if parallel else 10**9
                    start = time.monotonic()
                    answers[parallel] = match_documents(client, settings, matcher, chunk)
                    times[parallel] = time.monotonic() - start
                alerts.matcher.PARALLEL_MIN = DEFAULT_PARALLEL_MIN
                shared.append(times[True])
                single.append(times[False])
                found = answers[True]
                mine = {(d, s) for d, subs_ in found.items() for s in subs_}
                if size == sizes[0]:
                    matches += len(mine)
                if answers[False] != found:
                    agree = False
                    print(f"MISMATCH between one and two processes in batch {number} of {size}")
                if number < args.baseline_batches:
                    start = time.monotonic()
                    pairs = set(search_matches(client, index, [(s, chunk) for s in subs]))
                    baseline.append(time.monotonic() - start)
                    if mine != pairs:
                        agree = False
                        print(f"MISMATCH in batch {number} of {size}: {len(mine - pairs)} extra, "
                              f"{len(pairs - mine)} missing")
            rates = [size / statistics.median(t) for t in (shared, single, baseline)]
            results.append((size, *rates))
            print(f"batch {size}: matcher {rates[0]:,.0f} docs/s ({rates[1]:,.0f} in one process), "
                  f"baseline {rates[2]:,.1f} docs/s ({statistics.median(baseline):.1f}s a batch): "
                  f"{rates[0] / rates[2]:,.0f}x")
        split = _breakdown(client, settings, matcher, ids[: sizes[-1]])

        versions = _versions(client)
        print()
        print(f"{datetime.now(UTC).date()}, {machine()}, {versions}; {len(subs):,} subscriptions, {len(ids):,} new "
              f"documents (+{args.background:,} indexed); load average {load_before:.1f} before the timed "
              f"batches, {os.getloadavg()[0]:.1f} after (other work on the machine)")
        print()
        print("| batch | matcher | matcher, one process | baseline | ratio |")
        print("|---|---|---|---|---|")
        for size, both, one, base in results:
            print(f"| {size} | {both:,.0f} docs/s | {one:,.0f} docs/s | {base:,.1f} docs/s | {both / base:,.0f}× |")
        print()
        print(f"matcher build {build_s:.1f}s; matches {matches:,} ({matches / len(ids):.1f} per document); "
              f"candidate subscriptions per document {split['candidates']:.0f} of {len(matcher):,}; "
              f"documents read from term vectors (text outside the safe set) {split['declined']:.1%}; "
              f"answers equal to the baseline on {args.baseline_batches} batches of each size: {agree}")
        print(f"{sizes[-1]} documents, step by step in one process: _source {split['fetch']:.3f}s (wall), "
              f"read and tokenise {split['read']:.3f}s, presearch {split['presearch']:.3f}s, "
              f"evaluation {split['evaluation']:.3f}s (CPU)")
        if not agree:
            raise SystemExit(1)
    finally:
        if not args.keep:
            for name in client.indices.get(index=f"{prefix}-*", allow_no_indices=True):
                client.indices.delete(index=name)
            found = client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
            for template in found.get("index_templates", []):
                client.indices.delete_index_template(name=template["name"])


def _breakdown(client: Elasticsearch, settings: Settings, matcher: Matcher, chunk: list[str]) -> dict[str, float]:
    """Where one batch's time goes in one process, each step alone and in turn: reading ``_source`` (wall),
    reading it into terms, presearch and evaluation (CPU); the mean number of candidate subscriptions per
    document and the share of documents the reader declines."""
    from alerts.matcher import _read_sources

    start = time.monotonic()
    sources = _read_sources(client, docs_alias(settings), chunk, matcher.reader.includes)
    fetch = time.monotonic() - start
    start = time.process_time()
    read = [matcher.reader.read(doc_id, source) for doc_id, source in sources.items()]
    reading = time.process_time() - start
    docs = [doc for doc in read if doc is not None]
    start = time.process_time()
    sizes = [len(matcher.candidates(doc)) for doc in docs]
    presearch = time.process_time() - start
    start = time.process_time()
    matcher.match(docs)
    total = time.process_time() - start
    return {"fetch": fetch, "read": reading, "presearch": presearch, "evaluation": max(total - presearch, 0.0),
            "candidates": statistics.mean(sizes) if sizes else 0.0, "declined": 1 - len(docs) / max(len(read), 1)}


def _versions(client: Elasticsearch) -> str:
    import elasticsearch

    try:
        server = str(client.cat.nodes(h="version")).split()[0]
    except Exception:  # noqa: BLE001 - a version string is only decoration
        server = "?"
    return f"Elasticsearch {server} (client {elasticsearch.__versionstr__})"


if __name__ == "__main__":
    main()
