"""Generated documents of realistic length for the indexing and search benchmarks.

Texts and titles are real Vietnamese news articles (VNTC, ``shared/data/vntc-train.jsonl.xz``: 33,759
articles of 2006–2007, 3,000 characters on average), each used as often as needed; the metadata varies per
document (source, kind, section, author, topic, sentiment, places, two years of publication dates) and
copies of one article form a story (5 documents) and share a content hash in threes (syndicated copies),
so collapse, facets and the "also at" lookups have real work. The ``*_folded`` siblings are what
``crawlers.items.DocumentItem.to_source`` stores (``enrich.folding.fold``), computed once per article with
an equivalent translation table (``fold`` works character by character on NFC text; the corpus is NFC).
"""

from __future__ import annotations

import hashlib
import json
import lzma
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from enrich.folding import fold, fold_char

REPO = Path(__file__).resolve().parent.parent
CORPUS_CANDIDATES = (REPO.parent / "shared" / "data" / "vntc-train.jsonl.xz",
                     Path("/work/shared/data/vntc-train.jsonl.xz"))
SOURCES = [f"bao{i:02d}" for i in range(24)]
SECTIONS = {
    "politics_society": "Thời sự", "lifestyle": "Đời sống", "science": "Khoa học", "business": "Kinh doanh",
    "law": "Pháp luật", "health": "Sức khỏe", "world": "Thế giới", "sports": "Thể thao", "culture": "Văn hóa",
    "technology": "Công nghệ",
}  # fmt: skip
AUTHORS = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng", "Phạm Minh Tuấn", "Hoàng Lan", "Vũ Đức Thắng",
           "Đỗ Quang Huy", "Bùi Thu Hà"]
PLACES = [("01", "Hà Nội"), ("79", "Hồ Chí Minh"), ("31", "Hải Phòng"), ("48", "Đà Nẵng"), ("92", "Cần Thơ"),
          ("24", "Bắc Ninh"), ("38", "Thanh Hóa"), ("40", "Nghệ An"), ("46", "Huế"), ("51", "Quảng Ngãi"),
          ("56", "Khánh Hòa"), ("66", "Đắk Lắk"), ("68", "Lâm Đồng"), ("75", "Đồng Nai"), ("96", "Cà Mau")]
SENTIMENTS = (("negative", 3), ("neutral", 5), ("positive", 2))
BASE = datetime(2024, 12, 1, tzinfo=UTC)
SPAN_MINUTES = 2 * 365 * 24 * 60
STORY_SIZE = 5
HASH_GROUP = 3


@dataclass(frozen=True)
class Article:
    title: str
    text: str
    topic: str
    title_folded: str
    text_folded: str
    word_count: int


def corpus_path() -> Path:
    for candidate in CORPUS_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise SystemExit(f"corpus not found: {CORPUS_CANDIDATES[0]} (the VNTC training file of shared/data)")


def load_pool(limit: int | None = None, seed: int = 5) -> list[Article]:
    """The corpus' articles (``limit`` of them drawn at random), folded once."""
    with lzma.open(corpus_path(), "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    if limit is not None and limit < len(lines):
        lines = random.Random(seed).sample(lines, limit)
    rows = [json.loads(line) for line in lines]
    table: dict[int, str] = {}
    for row in rows:
        for ch in set(row["title"]) | set(row["text"]):
            if ord(ch) not in table:
                table[ord(ch)] = fold_char(ch)
    pool = []
    for row in rows:
        title = unicodedata.normalize("NFC", row["title"])
        text = unicodedata.normalize("NFC", row["text"])
        pool.append(Article(title, text, row["topic"], title.translate(table), text.translate(table),
                            len(text.split())))
    assert pool[0].text_folded == fold(pool[0].text)  # the table is fold() itself
    return pool


def document(number: int, pool: list[Article], rng: random.Random) -> tuple[str, dict[str, Any]]:
    """Document ``number`` (deterministic given the pool; ``rng`` only varies the independent metadata)."""
    article_index = number % len(pool)
    copy = number // len(pool)
    art = pool[article_index]
    source = SOURCES[(article_index * 7 + copy) % len(SOURCES)]
    published = BASE + timedelta(minutes=(article_index * 9973 + copy * 37) % SPAN_MINUTES)
    story_seed = f"{article_index}-{copy // STORY_SIZE}"
    story = hashlib.blake2b(story_seed.encode(), digest_size=8).hexdigest()
    content_hash = hashlib.blake2b(f"{article_index}-{copy // HASH_GROUP}".encode(), digest_size=16).hexdigest()
    doc_id = hashlib.blake2b(f"doc-{number}".encode(), digest_size=12).hexdigest()
    url = f"https://{source}.example.vn/{SECTIONS.get(art.topic, 'tin')[:3].lower()}/bai-{number}.html"
    kind = "forum" if rng.random() < 0.12 else "news"
    label = rng.choices([s for s, _ in SENTIMENTS], [w for _, w in SENTIMENTS])[0]
    section = SECTIONS.get(art.topic, "Tin tức")
    crawled = published + timedelta(minutes=rng.randint(1, 600))
    doc: dict[str, Any] = {
        "id": doc_id,
        "url": url,
        "canonical_url": url,
        "source": source,
        "source_name": source.upper(),
        "kind": kind,
        "title": art.title,
        "text": art.text,
        "content_hash": content_hash,
        "language": "vi",
        "published": published.isoformat(),
        "section": section,
        "date_source": "meta",
        "encoding": "utf-8",
        "crawled_at": crawled.isoformat(),
        "changed_at": crawled.isoformat(),
        "first_seen": crawled.isoformat(),
        "topic": art.topic,
        "topics": [{"label": art.topic, "score": round(0.5 + rng.random() / 2, 3)}],
        "sentiment": {"label": label, "score": round(0.4 + rng.random() / 2, 3)},
        "story": story,
        "story_bands": [hashlib.blake2b(f"{story_seed}-{b}".encode(), digest_size=6).hexdigest() for b in range(4)],
        "story_minhash": [rng.getrandbits(31) for _ in range(16)],
        "story_origin": {"source": SOURCES[(article_index * 7) % len(SOURCES)], "url": url,
                         "published": published.isoformat(), "doc_id": doc_id},
        "models": {"topic": "bench", "sentiment": "bench", "places": "bench"},
        "word_count": art.word_count,
        "title_folded": art.title_folded,
        "text_folded": art.text_folded,
        "section_folded": fold(section),
        "alert_pending": False,
    }
    if rng.random() < 0.4:
        author = rng.choice(AUTHORS)
        doc["author"] = author
        doc["author_folded"] = fold(author)
    places = rng.sample(PLACES, rng.choice((0, 1, 1, 2, 3)))
    if places:
        doc["places"] = [{"code": code, "name": name, "level": "province", "province": code, "province_name": name,
                          "matched": name} for code, name in places]
    if kind == "forum":
        doc["thread"] = {"url": url, "title": art.title, "title_folded": art.title_folded, "post_id": str(number),
                         "position": 1, "page_url": url}
    return doc_id, doc


def documents(start: int, stop: int, pool: list[Article], seed: int = 7) -> Iterator[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed * 1_000_003 + start)
    for number in range(start, stop):
        yield document(number, pool, rng)
