"""Alert matching means exactly what search means (alerts.matcher).

The property test draws queries from the whole query grammar (words with and without diacritics, joined
words, phrases, prefixes, field scopes, AND/OR/NOT/-, parentheses) and random filters, and checks that the
matcher's answer over a few hundred random documents indexed in a real node equals what
``index.search.search`` returns for the same query and filters — with the documents' terms from the cluster's
term vectors, and as match_documents reads them: from ``_source``, tokenised in Python where the text is
safe (alerts.tokenize), from term vectors where it is not (a fifth of the documents hold a word outside the
safe set). Generators take a ``Pick`` so the same code draws from Hypothesis (shrinkable examples) and from a
seeded ``random.Random`` (one matcher with hundreds of subscriptions at once, through
:func:`alerts.matcher.match_documents`).
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from alerts.matcher import (
    SOURCE_FIELDS,
    DocTerms,
    Matcher,
    MatcherSubscription,
    SourceReader,
    _read_sources,
    match_documents,
    search_matches,
)
from alerts.presearch import Presearcher
from enrich.folding import fold
from index.analysis import TermStats, analyze_terms, date_millis, document_terms, term_shares
from index.client import make_client
from index.mappings import docs_alias, ensure_indices
from index.query import parse
from index.search import search
from index.writer import BulkWriter
from mediawatch.config import Settings
from mediawatch.errors import QuerySyntaxError
from tests.conftest import Cluster

DOCS = 300
EXAMPLES = 300

# --------------------------------------------------------------------------- vocabulary

WORDS = [
    "lũ", "lụt", "ngập", "bão", "mưa", "gió", "sạt", "lở", "cháy", "rừng", "dân", "tỉnh", "xã", "phường",
    "Bắc", "Ninh", "Từ", "Sơn", "Hà", "Nội", "Đông", "Anh", "đường", "Thời", "sự", "Nguyễn", "Văn", "An",
    "Trần", "Thị", "Bình", "ổ", "gà", "điện", "nước", "học", "sinh",
    "flood", "storm", "river", "Hanoi", "the", "news", "rain", "fire", "Ninh's", "don't",
]
PHRASES = ["Bắc Ninh", "Từ Sơn", "lũ lụt", "Hà Nội", "sạt lở", "cháy rừng", "học sinh", "ổ gà", "mưa gió",
           "TP.HCM covid-19", "Bắc Ninh's flood", "the river", "Nguyễn Văn An", "điện nước sinh"]
JOINED = ["covid-19", "TP.HCM", "H5N1", "Bắc-Ninh", "e-mail", "15/10", "lũ-lụt", "A.B.C", "3,5"]
PUNCT = [",", ".", ";", "!", ":", "?", "…", "—", "(", ")", '"', "'"]
UNSAFE = ["İstanbul", "Hà©Nội", "α-β", "中文", "lũ\u200blụt", "🙂", "Bắc™", "x\u2028y"]
"""Words with characters outside alerts.tokenize.SAFE: documents holding one are read from term vectors."""
AUTHORS = ["Nguyễn Văn An", "nguyen van an", "Trần Thị Bình", "PV Bắc Ninh", "Anh Sơn", "NGUYỄN VĂN AN"]
SECTIONS = ["Thời sự", "thoi su", "Xã hội", "Pháp luật", "Đời sống", "News"]
SOURCES = ["bn-news", "hn-forum", "vne", "tuoitre"]
KINDS = ["news", "forum"]
LANGUAGES = ["vi", "en"]
TOPICS = ["politics_society", "health", "sports", "law"]
SENTIMENTS = ["negative", "neutral", "positive"]
FIELD_NAMES = ["title", "text", "author", "section"]
BASE = datetime(2026, 11, 1, tzinfo=UTC)


class Pick:
    """The choices a generator makes, from Hypothesis (``draw``) or from ``random.Random``."""

    def __init__(self, draw: Any = None, rng: random.Random | None = None) -> None:
        self.draw, self.rng = draw, rng

    def choice(self, items: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(items)) if self.draw else self.rng.choice(items)

    def between(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high)) if self.draw else self.rng.randint(low, high)

    def chance(self, p: float) -> bool:
        return self.between(0, 999) < p * 1000


def variant(pick: Pick, word: str) -> str:
    """The word as people type it: folded, upper/lower/title case, or decomposed (NFD)."""
    form = pick.between(0, 9)
    if form == 0:
        return fold(word)
    if form == 1:
        return word.upper()
    if form == 2:
        return word.lower()
    if form == 3:
        return unicodedata.normalize("NFD", word)
    if form == 4:
        return word.title()
    return word


# --------------------------------------------------------------------------- documents


def text_of(pick: Pick, low: int, high: int) -> str:
    parts: list[str] = []
    for _ in range(pick.between(low, high)):
        roll = pick.between(0, 9)
        if roll < 2:
            parts.extend(variant(pick, w) for w in pick.choice(PHRASES).split())
        else:
            parts.append(variant(pick, pick.choice(JOINED) if roll == 2 else pick.choice(WORDS)))
        if pick.chance(0.15):
            parts[-1] += pick.choice(PUNCT)
    return " ".join(parts)


def make_doc(pick: Pick, number: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": f"d{number:04d}", "url": f"https://example.vn/{number}"}
    if pick.chance(0.95):
        doc["title"] = text_of(pick, 1, 8)
    if pick.chance(0.9):
        doc["text"] = text_of(pick, 0, 40)
    if pick.chance(0.2):
        name = pick.choice(["title", "text"])
        doc[name] = f"{doc.get(name, '')} {pick.choice(UNSAFE)} {pick.choice(WORDS)}"
    if pick.chance(0.6):
        doc["author"] = variant(pick, pick.choice(AUTHORS))
    if pick.chance(0.6):
        doc["section"] = pick.choice(SECTIONS)
    for name in ("title", "text", "author", "section"):
        if doc.get(name):
            doc[f"{name}_folded"] = fold(doc[name])
    doc["source"] = pick.choice(SOURCES)
    doc["kind"] = pick.choice(KINDS)
    if pick.chance(0.9):
        doc["language"] = pick.choice(LANGUAGES)
    if pick.chance(0.8):
        doc["topic"] = pick.choice(TOPICS)
    if pick.chance(0.8):
        doc["sentiment"] = {"label": pick.choice(SENTIMENTS), "score": 0.5}
    if pick.chance(0.9):
        doc["published"] = instant(pick).isoformat(timespec="milliseconds")
    return doc


def instant(pick: Pick) -> datetime:
    """One of a few dozen instants (to the millisecond), so date filters often fall right on a document."""
    return BASE + timedelta(hours=7 * pick.between(0, 14), milliseconds=pick.choice([0, 1, 499, 999]))


# --------------------------------------------------------------------------- queries


def atom(pick: Pick, scoped: bool) -> str:
    """A word, joined word, phrase or prefix, possibly with a ``field:`` scope."""
    kind = pick.between(0, 9)
    if kind <= 3:
        text = variant(pick, pick.choice(WORDS))
    elif kind == 4:
        text = variant(pick, pick.choice(JOINED))
    elif kind <= 7:
        if pick.chance(0.5):
            words = [variant(pick, w) for w in pick.choice(PHRASES).split()]
        else:
            words = [variant(pick, pick.choice(WORDS + JOINED)) for _ in range(pick.between(1, 3))]
        if pick.chance(0.2):
            words[0] += pick.choice([",", ".", "!", " -"])
        text = '"' + " ".join(words) + '"'
    else:
        word = variant(pick, pick.choice([w for w in WORDS if w.isalpha()]))
        word = unicodedata.normalize("NFC", word)
        text = word[: pick.between(2, max(2, len(word)))] + "*"
    if not scoped and pick.chance(0.2):
        return f"{pick.choice(FIELD_NAMES)}:{text}"
    return text


def query_of(pick: Pick, depth: int = 0, scoped: bool = False) -> str:
    """``or`` of ``and`` groups, each with at least one positive part (so never a bare exclusion)."""
    branches = []
    for _ in range(pick.between(1, 3 if depth < 2 else 1)):
        items = []
        for _ in range(pick.choice([1, 1, 2, 2, 3])):
            items.append(part(pick, depth, scoped))
        for _ in range(pick.between(0, 1) if pick.chance(0.4) else 0):
            items.append(pick.choice(["NOT ", "-"]) + part(pick, depth, scoped))
        glue = " AND " if pick.chance(0.3) else " "
        branches.append(glue.join(items))
    return " OR ".join(branches)


def part(pick: Pick, depth: int, scoped: bool) -> str:
    if depth < 2 and pick.chance(0.2):
        inner = query_of(pick, depth + 1, scoped)
        if not scoped and pick.chance(0.3):
            return f"{pick.choice(FIELD_NAMES)}:({query_of(pick, depth + 1, True)})"
        return f"({inner})"
    return atom(pick, scoped)


def filters_of(pick: Pick) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in (("sources", SOURCES), ("kinds", KINDS), ("languages", LANGUAGES),
                         ("topics", TOPICS), ("sentiments", SENTIMENTS)):
        if pick.chance(0.12):
            out[name] = tuple(sorted({pick.choice(values) for _ in range(pick.between(1, 2))}))
    for name in ("date_from", "date_to"):
        if pick.chance(0.2):  # on an instant, or a microsecond either side of it
            out[name] = instant(pick) + timedelta(microseconds=pick.choice([0, 0, 1, -1, 999, 1000]))
    return out


def subscription_of(pick: Pick, number: int = 0) -> MatcherSubscription | None:
    query = query_of(pick)
    try:
        parse(query)
    except QuerySyntaxError:
        return None
    return MatcherSubscription(id=f"s{number}", query=query, **filters_of(pick))


@st.composite
def subscriptions(draw: Any) -> MatcherSubscription:
    sub = subscription_of(Pick(draw=draw))
    if sub is None:
        from hypothesis import reject

        reject()
    return sub


# --------------------------------------------------------------------------- the indexed set


@dataclass
class Corpus:
    client: Elasticsearch
    settings: Settings
    docs: dict[str, dict[str, Any]]
    terms: list[DocTerms]
    """Every document's terms from the cluster's term vectors."""
    read: list[DocTerms]
    """Every document as match_documents sees it: read from _source where it can be, else ``terms``'."""
    python: set[str]
    """Ids of the documents read from _source."""


ALL_FIELDS = [*FIELD_NAMES, *(f"{n}_folded" for n in FIELD_NAMES), "source", "kind", "language", "topic",
              "sentiment.label"]


@pytest.fixture(scope="module")
def corpus(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    prefix = f"mwt-{uuid.uuid4().hex[:8]}"
    settings_ = cluster.settings(prefix, tmp_path_factory.mktemp("matcher"))
    client = make_client(settings_)
    try:
        ensure_indices(client, settings_)
        pick = Pick(rng=random.Random(20261201))
        docs = {d["id"]: d for d in (make_doc(pick, n) for n in range(DOCS))}
        writer = BulkWriter(client, batch_size=500)
        for doc_id, doc in docs.items():
            writer.add(docs_alias(settings_), doc_id, doc)
        stats = writer.flush(refresh=True)
        assert stats.created == DOCS, stats.errors
        found, errors = document_terms(client, docs_alias(settings_), sorted(docs), ALL_FIELDS)
        assert not errors and len(found) == DOCS
        terms = [
            DocTerms(doc_id, found[doc_id], {"published": [date_millis(docs[doc_id]["published"])]}
                     if "published" in docs[doc_id] else {})
            for doc_id in sorted(docs)
        ]
        reader = SourceReader(ALL_FIELDS, ["published"])
        sources = _read_sources(client, docs_alias(settings_), sorted(docs), list(SOURCE_FIELDS))
        read = [reader.read(doc.id, sources[doc.id]) or doc for doc in terms]
        python = {doc.id for doc in read if doc.sequences}
        yield Corpus(client, settings_, docs, terms, read, python)
    finally:
        drop(cluster.url, prefix)


def drop(url: str, prefix: str) -> None:
    """``conftest.delete_prefix`` with patience for a busy shared node."""
    client = Elasticsearch(url, request_timeout=120)
    names = list(client.indices.get(index=f"{prefix}-*", allow_no_indices=True))
    if names:
        client.indices.delete(index=",".join(names))
    found = client.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for template in found.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])


def searched(corpus: Corpus, sub: MatcherSubscription) -> set[str]:
    req = sub.request()
    req.size = DOCS + 10
    result = search(corpus.client, corpus.settings, req)
    assert result.total == len(result.hits)
    return {hit.id for hit in result.hits}


def explain(corpus: Corpus, sub: MatcherSubscription, ids: set[str]) -> str:
    filters = {k: v for k, v in sub.__dict__.items() if k not in ("id", "query") and v}
    lines = [f"query: {sub.query!r}  filters: {filters}"]
    for doc_id in sorted(ids)[:5]:
        doc = corpus.docs[doc_id]
        lines.append(f"  {doc_id}: " + repr({k: v for k, v in doc.items() if not k.endswith("_folded")}))
    return "\n".join(lines)


# --------------------------------------------------------------------------- the property


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(sub=subscriptions())
def test_matcher_returns_what_search_returns(corpus: Corpus, sub: MatcherSubscription) -> None:
    matcher = Matcher.build([sub], lambda texts: analyze_terms(corpus.client, texts))
    assert not matcher.fallback and not matcher.rejected
    found = matcher.match(corpus.terms)
    matched = {doc_id for doc_id, subs in found.items() if subs}
    expected = searched(corpus, sub)
    event(f"search finds {'none' if not expected else 'some' if len(expected) < DOCS // 2 else 'most'}")
    missing, extra = expected - matched, matched - expected
    assert not missing and not extra, (
        f"matcher differs from search\n{explain(corpus, sub, missing | extra)}\n"
        f"missing (search found, matcher did not): {sorted(missing)}\nextra: {sorted(extra)}"
    )
    # The presearcher only narrows: evaluating every plan gives the same answer.
    assert matcher.match(corpus.terms, presearch=False) == found
    # Documents read from _source (tokenised in Python where safe) match the same.
    assert matcher.match(corpus.read) == found


def test_both_ways_of_reading_documents_are_exercised(corpus: Corpus) -> None:
    unsafe = {doc_id for doc_id, doc in corpus.docs.items() if any(w in doc.get(f, "") for w in UNSAFE
                                                                   for f in ("title", "text"))}
    assert unsafe and corpus.python
    assert not unsafe & corpus.python
    assert len(corpus.python) + len(unsafe) == DOCS


def test_documents_read_from_source_hold_the_term_vectors(corpus: Corpus) -> None:
    """Terms and positions of every field, for every document the reader accepts, as the cluster indexed them."""
    vectors = {doc.id: doc for doc in corpus.terms}
    for doc in corpus.read:
        if doc.id not in corpus.python:
            continue
        expected = vectors[doc.id].terms
        assert set(doc.terms) == set(expected), doc.id
        for name, terms in doc.terms.items():
            assert set(terms) == set(expected[name]), (doc.id, name)
            if name in doc.sequences:
                positions: dict[str, list[int]] = {}
                for position, term in enumerate(doc.sequences[name]):
                    positions.setdefault(term, []).append(position)
                assert positions == {t: list(p) for t, p in expected[name].items()}, (doc.id, name)
        assert doc.values == vectors[doc.id].values


def test_many_subscriptions_through_match_documents(corpus: Corpus) -> None:
    """One matcher over 400 random subscriptions, documents fetched by match_documents, against one search
    per subscription (search_matches, the same query with an ids filter) and against index.search.search."""
    pick = Pick(rng=random.Random(7))
    subs = [s for s in (subscription_of(pick, n) for n in range(450)) if s is not None][:400]
    index = docs_alias(corpus.settings)
    matcher = Matcher.build(
        subs,
        lambda texts: analyze_terms(corpus.client, texts),
        doc_freq=lambda wanted: term_shares(corpus.client, index, wanted),
    )
    ids = sorted(corpus.docs)
    found = match_documents(corpus.client, corpus.settings, matcher, [*ids, "no-such-document"])
    assert set(found) == set(ids)
    # With the documents' _source given (as the alert pass has it), and a batch too small to share out.
    sources = _read_sources(corpus.client, index, ids, list(SOURCE_FIELDS))
    assert match_documents(corpus.client, corpus.settings, matcher, ids, sources=sources) == found
    assert match_documents(corpus.client, corpus.settings, matcher, ids[:10]) == {i: found[i] for i in ids[:10]}
    got = {(doc_id, sub_id) for doc_id, sub_ids in found.items() for sub_id in sub_ids}
    expected = set(search_matches(corpus.client, index, [(s, ids) for s in subs]))
    assert got == expected
    assert len(expected) > 2000  # the random set really matches things
    for sub in subs[:40]:  # and the ids-filtered search is search itself
        assert {d for d, s in expected if s == sub.id} == searched(corpus, sub)


# --------------------------------------------------------------------------- presearcher


def whitespace_analyzer(texts: list[str]) -> list[list[tuple[int, str]]]:
    """A stand-in for the cluster's analyzer in unit tests: lower-cased words split on spaces."""
    return [[(i, w) for i, w in enumerate(t.lower().replace('"', " ").split())] for t in texts]


def doc_terms(doc_id: str, **fields: str) -> DocTerms:
    terms: dict[str, dict[str, list[int]]] = {}
    for name, text in fields.items():
        for field_name, value in ((name, text.lower()), (f"{name}_folded", fold(text))):
            for position, word in enumerate(value.split()):
                terms.setdefault(field_name, {}).setdefault(word, []).append(position)
    return DocTerms(doc_id, terms)


def test_presearcher_keeps_every_true_match_and_narrows_selective_queries() -> None:
    rng = random.Random(3)
    places = [f"xa{n}" for n in range(2000)]
    subs = [MatcherSubscription(f"p{n}", f'"{place} {rng.choice(WORDS).lower()}"') for n, place in enumerate(places)]
    subs += [MatcherSubscription(f"w{n}", f"{place} AND (lũ OR lụt) -bão") for n, place in enumerate(places)]
    subs += [MatcherSubscription(f"x{n}", f"{place[:4]}* {place}") for n, place in enumerate(places[:500])]
    subs += [MatcherSubscription("common", "lũ", kinds=("news",))]
    docs = []
    for n in range(200):
        words = [rng.choice(WORDS).lower() for _ in range(60)] + rng.sample(places, 3)
        rng.shuffle(words)
        docs.append(doc_terms(f"d{n}", title=" ".join(words[:8]), text=" ".join(words[8:])))

    def doc_freq(wanted: dict[str, set[str]]) -> dict[tuple[str, str], TermStats]:
        out = {}
        for name, terms in wanted.items():
            tokens = sum(len(ps) for d in docs for ps in d.terms.get(name, {}).values())
            for term in terms:
                share = sum(term in d.terms.get(name, {}) for d in docs) / len(docs)
                count = sum(len(d.terms.get(name, {}).get(term, ())) for d in docs)
                out[(name, term)] = TermStats(share, count / max(tokens, 1), tokens / len(docs))
        return out

    matcher = Matcher.build(subs, whitespace_analyzer, doc_freq=doc_freq)
    fast = matcher.match(docs)
    assert fast == matcher.match(docs, presearch=False)
    assert sum(map(len, fast.values())) > 0
    sizes = [len(matcher.candidates(doc)) for doc in docs]
    # Each document names 3 of the 2,000 places: a handful of the 6,501 subscriptions are candidates.
    assert max(sizes) <= 12
    assert matcher.plans == len(subs)


def test_anchors_of_each_form() -> None:
    def anchors(query: str, **filters: Any) -> Any:
        matcher = Matcher.build([MatcherSubscription("s", query, **filters)], whitespace_analyzer)
        return matcher._presearcher

    # AND anchors on one part only; OR on all parts; NOT on nothing.
    pre = anchors("lũ AND xaxaxa")
    assert not pre.always
    assert {t for table in pre.terms.values() for t in table} == {"xaxaxa"}
    pre = anchors("lũ OR bão")
    assert {t for table in pre.terms.values() for t in table} == {"lũ", "lu", "bão", "bao"}
    assert set(pre.terms) == {"title", "text", "title_folded", "text_folded"}
    pre = anchors("lũ -bão")
    assert {t for table in pre.terms.values() for t in table} == {"lũ", "lu"}
    pre = anchors("lu*")
    assert {p for table in pre.prefixes.values() for p in table} == {"lu"}
    assert not pre.terms
    # A query whose only positive parts are inside an OR with a NOT branch nested under AND still anchors.
    pre = anchors("x1 (a OR NOT b)")
    assert not pre.always
    # Filters anchor only when the query cannot.
    pre = anchors("lũ", sources=("bn",))
    assert "source" not in pre.terms


def test_presearcher_unbounded_plans_are_always_candidates() -> None:
    pre = Presearcher([None, frozenset({("t", "title", "a")}), frozenset()])
    assert pre.candidates({"title": {"b": [0]}})[0] == {0}
    assert pre.candidates({"title": {"a": [0]}})[0] == {0, 1}


def test_date_millis_truncates_like_elasticsearch() -> None:
    assert date_millis("2026-11-01T00:00:00.0009Z") == date_millis("2026-11-01T00:00:00Z")
    assert date_millis("2026-11-01T07:00:00+07:00") == date_millis("2026-11-01T00:00:00Z")
    assert date_millis("2026-11-01", round_up=True) == date_millis("2026-11-01T23:59:59.999Z")
    assert date_millis("2026-11-01T08:00:00+00:00", round_up=True) == date_millis("2026-11-01T08:00:00.999Z")
    assert date_millis("2026-11-01T08:00Z", round_up=True) == date_millis("2026-11-01T08:00:59.999Z")
    assert date_millis("2026-11-01T08:00:00.000Z", round_up=True) == date_millis("2026-11-01T08:00:00Z")
    assert date_millis("2026-02", round_up=True) == date_millis("2026-02-28T23:59:59.999Z")
    assert date_millis("2026", round_up=True) == date_millis("2026-12-31T23:59:59.999Z")
    assert date_millis("1969-12-31T23:59:59.9995Z") == -1
    assert date_millis("1730419200000") == 1730419200000
    assert date_millis("not a date") is None


def test_analyze_terms_hands_tokens_back_to_their_texts(cluster: Cluster) -> None:
    client = Elasticsearch(cluster.url)
    texts = ["TP.HCM covid-19", "", "  x😀y  ", "²", "Bắc Ninh's  ", "a\u0301b c", "z" * 300]
    out = analyze_terms(client, texts)
    assert [[t for _, t in tokens] for tokens in out[:6]] == [
        ["tp.hcm", "covid", "19"], [], ["x", "😀", "y"], [], ["bắc", "ninh's"], ["a\u0301b", "c"],
    ]
    assert [p for p, _ in out[0]] == [0, 1, 2]
    # Many texts split over several requests keep their order.
    many = [f"từ{n} sơn{n}" for n in range(3000)]
    assert analyze_terms(client, many)[2999] == [(0, "từ2999"), (1, "sơn2999")]


def test_compact_positions_is_exact_or_declines() -> None:
    from index.analysis import _compact_positions

    raw = (b'{"docs":[{"_id":"a","found":true,"term_vectors":{"text":{"terms":{"x":{"tokens":[{"position":0},'
           b'{"position":12}]},"y":{"tokens":[{"position":1}]}}}}},{"_id":"b","found":false}]}')
    assert _compact_positions(raw) == [
        {"_id": "a", "found": True, "term_vectors": {"text": {"terms": {"x": [0, 12], "y": [1]}}}},
        {"_id": "b", "found": False},
    ]
    # A string holding the closing pattern would be rewritten too: the counts differ, so it declines.
    assert _compact_positions(raw.replace(b'"_id":"b"', b'"_id":"b7}]}"')) is None
    assert _compact_positions(b'{"error":"x"}') is None


def test_fast_and_plain_term_vectors_agree(corpus: Corpus) -> None:
    index = docs_alias(corpus.settings)
    ids = [*sorted(corpus.docs)[:120], "no-such-document"]
    plain = document_terms(corpus.client, index, ids, ALL_FIELDS)
    assert document_terms(corpus.client, index, ids, ALL_FIELDS, fast={}) == plain
    assert len(plain[0]) == 120 and not plain[1]


def test_auth_headers_follow_the_settings(tmp_path: Any) -> None:
    from index.analysis import auth_headers

    assert auth_headers(Settings(es={"url": "http://127.0.0.1:9"}, data_dir=tmp_path)) == {}
    key = Settings(es={"url": "http://127.0.0.1:9", "api_key": "abc"}, data_dir=tmp_path)
    assert auth_headers(key) == {"authorization": "ApiKey abc"}
    basic = Settings(es={"url": "http://127.0.0.1:9", "username": "u", "password": "p"}, data_dir=tmp_path)
    assert auth_headers(basic) == {"authorization": "Basic dTpw"}


def test_batches_shared_with_worker_processes_match_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """match_sources hands shares of a batch to forked workers; their answers are the same, and a failing
    worker's share is matched in the calling process."""
    import alerts.matcher

    queries = ["lũ lụt", '"Bắc Ninh"', "ngập*", "bão -mưa", "title:sạt", '"sạt lở" OR cháy']
    matcher = Matcher.build([MatcherSubscription(f"s{n}", q) for n, q in enumerate(queries)], whitespace_analyzer)
    pick = Pick(rng=random.Random(5))
    items = []
    for number in range(80):
        doc = make_doc(pick, number)
        items.append((doc["id"], {k: v for k, v in doc.items() if k != "id"}))
    monkeypatch.setattr(alerts.matcher, "PARALLEL_MIN", 10**9)
    alone = matcher.match_sources(items)
    assert matcher._pool is None and sum(map(len, alone[0].values())) > 0 and alone[1]
    monkeypatch.setattr(alerts.matcher, "PARALLEL_MIN", 8)
    assert matcher.match_sources(items) == alone
    assert (matcher._pool is not None) == (alerts.matcher._cores() > 1)
    matcher.close()

    def broken(*args: Any) -> Any:
        raise RuntimeError("worker lost")

    monkeypatch.setattr(alerts.matcher, "_match_in_worker", broken)
    assert matcher.match_sources(items) == alone
    matcher.close()


def test_phrases_where_terms_share_a_position_are_read_from_positions() -> None:
    """Term vectors with two terms at one position (never from the standard analyzer, but possible from the
    cluster) have no single sequence: phrases fall back to positions, with the same answers as the plan nodes."""
    from alerts.matcher import _View

    queries = ['"a b"', '"x b c"', '"a b c"', '"b a"', "a -\"x c\"", '"c d"']
    matcher = Matcher.build([MatcherSubscription(f"s{n}", q) for n, q in enumerate(queries)], whitespace_analyzer)
    stacked = {"a": [0, 5], "x": [0], "b": [1], "c": [2, 7], "d": [9]}
    doc = DocTerms("d", {"text": stacked, "text_folded": stacked})
    found = matcher.match([doc], presearch=False)["d"]
    view = _View(doc, set())
    expected = [sub for root, subs in zip(matcher._roots, matcher._subscribers, strict=True) if root.check(view)
                for sub in subs]
    assert found == expected == ["s0", "s1", "s2", "s4"]
    assert matcher.match([doc]) == {"d": found}


def test_a_kept_matcher_is_built_once_per_set_of_subscriptions(corpus: Corpus, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """The scheduler keeps the matcher ``default_matcher`` gave it: passes over the same subscriptions reuse the
    compiled one; a subscription edited (its ``updated`` moves) rebuilds it, and the answers follow the edit."""
    from alerts import matcher as matcher_module
    from alerts.service import default_matcher
    from alerts.subscriptions import Subscription

    builds: list[int] = []
    real_build = matcher_module.Matcher.build.__func__  # type: ignore[attr-defined]

    def counting_build(cls: type, subs: Any, *args: Any, **kwargs: Any) -> Any:
        builds.append(len(subs))
        return real_build(cls, subs, *args, **kwargs)

    monkeypatch.setattr(matcher_module.Matcher, "build", classmethod(counting_build))
    ids = sorted(corpus.docs)
    words = (w for i in ids for w in str(corpus.docs[i].get("title") or "").split() if w.isalpha())
    word = next(w for w in words if searched(corpus, MatcherSubscription(id="w", query=w)))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    subs = [Subscription(id="s1", owner="u", name="a", query=word, created=now, updated=now),
            Subscription(id="s2", owner="u", name="b", query="xyzzyquux", created=now, updated=now)]
    match = default_matcher(corpus.client, corpus.settings)
    try:
        first = match(subs, [{"id": i} for i in ids])
        assert match(subs, [{"id": i} for i in ids]) == first
        assert builds == [2]  # the second pass reused the compiled matcher
        assert {d for d, s in first.items() if "s1" in s} == searched(corpus, MatcherSubscription(id="s1", query=word))
        edited = subs[0].model_copy(update={"query": "xyzzyquux", "updated": now + timedelta(minutes=1)})
        second = match([edited, subs[1]], [{"id": i} for i in ids])
        assert builds == [2, 2]
        assert not any(second.values())
    finally:
        match.close()  # type: ignore[attr-defined]
