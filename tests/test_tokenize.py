"""The Python ``standard`` analyzer (alerts.tokenize) gives exactly the cluster's tokens and positions.

Compared with ``_analyze`` on the real node: every safe character in letter, digit, mark and punctuation
contexts; every sequence of up to four characters drawn from one representative per Word_Break class (and up
to three inside letters and digits); random safe strings; runs around the 255-character cap; and a large
sample of real news (VNTC, as stored, decomposed and folded). Then the same comparison is run with
deliberately wrong tables (a character added to the safe set in the wrong class) and must catch each one.
"""

from __future__ import annotations

import itertools
import json
import lzma
import random
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from alerts.tokenize import (
    GRAMMAR_CLASS,
    MAX_RUN,
    SAFE,
    SAFE_CLASSES,
    StandardTokenizer,
    standard_tokens,
    word_break_classes,
)
from enrich.folding import fold
from index.analysis import analyze_terms
from tests.conftest import Cluster

VNTC = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "vntc-train.jsonl.xz"
VNTC_SAMPLE = 1500

CONTEXTS = [
    "{}", "{}{}", "{}{}{}", "a{}b", "a{}{}b", "1{}2", "1{}{}2", "a{}1", "1{}a", "{}a", "a{}", "{}1", "1{}",
    "_{}_", "a_{}b", "a{}_b", "1{}_2", "a\u0301{}b", "a{}\u0301b", "1{}\u03012", "{}\u0301", "\u0301{}",
    "Ab{}Cd", "a {}b", "a{} b", "a.{}b", "a{}.b", "1.{}2", "1{}.2", "a'{}b", "x{}\u00adb", "{}a{}", "{}1{}",
    "Đ{}Ư", "ạ{}ộ", "a{}\u0301\u0323b",
]
"""Where each safe character is tried ({} is the character)."""

REPRESENTATIVES = {
    "ALetter": "aÉ", "Numeric": "7", "ExtendNumLet": "_", "MidLetter": ":", "MidNum": ",", "MidNumLet": ".",
    "Single_Quote": "'", "Double_Quote": '"', "Extend": "\u0301", "Format": "\u00ad", "WSegSpace": " ",
    "Other": "@-",
}


def mismatches(
    client: Elasticsearch, tokenizer: StandardTokenizer, texts: Iterable[str]
) -> list[tuple[str, object, object]]:
    """``(text, python, cluster)`` for each text the tokenizer accepts and tokenises differently."""
    accepted = [(text, tokens) for text in dict.fromkeys(texts) if (tokens := tokenizer.tokens(text)) is not None]
    cluster = analyze_terms(client, [text for text, _ in accepted])
    out = []
    for (text, tokens), expected in zip(accepted, cluster, strict=True):
        mine = list(enumerate(tokens))
        if mine != expected:
            out.append((text, mine, expected))
    return out


def in_contexts(chars: Iterable[str]) -> list[str]:
    return [context.format(*([ch] * context.count("{}"))) for ch in chars for context in CONTEXTS]


def class_sequences() -> list[str]:
    reps = [ch for chars in REPRESENTATIVES.values() for ch in chars]
    out = ["".join(seq) for size in range(1, 5) for seq in itertools.product(reps, repeat=size)]
    for seq in itertools.product(reps, repeat=3):
        middle = "".join(seq)
        out += [f"a{middle}b", f"1{middle}2", f"a{middle}1", f"1{middle}a"]
    return out


def random_strings(rng: random.Random, alphabet: Sequence[str], count: int) -> list[str]:
    weighted = list(alphabet) + [ch for chars in REPRESENTATIVES.values() for ch in chars] * 20 + list("aaeo19 ") * 40
    return ["".join(rng.choice(weighted) for _ in range(rng.randint(1, 40))) for _ in range(count)]


@pytest.fixture(scope="module")
def client(cluster: Cluster) -> Elasticsearch:
    return Elasticsearch(cluster.url, request_timeout=120)


def assert_none(found: list[tuple[str, object, object]]) -> None:
    shown = "\n".join(f"  {text!r}: python {mine} cluster {theirs}" for text, mine, theirs in found[:20])
    assert not found, f"{len(found)} texts tokenised differently:\n{shown}"


# --------------------------------------------------------------------------- the table


def test_safe_set_is_what_the_module_says() -> None:
    assert {"a", "Z", "0", "_", ".", ":", "'", "\u0301", "\u00ad", "đ", "Ư", "ạ", "ỹ", "’", "–", "…"} <= SAFE
    assert not {"©", "®", "™", "İ", "\u200b", "\u200d", "\u2028", "\ufeff", "😀", "中", "α"} & SAFE
    for ch, name in SAFE_CLASSES.items():  # lower-casing keeps a character in the set and in its class
        assert len(ch.lower()) == 1 and SAFE_CLASSES[ch.lower()] == name
    assert word_break_classes(["a", "1", "_", "\u0301"]) == {"a": "ALetter", "1": "Numeric", "_": "ExtendNumLet",
                                                            "\u0301": "Extend"}


def test_declines_outside_the_safe_set_and_long_runs() -> None:
    assert standard_tokens("Bắc Ninh – TP.HCM: covid-19") == ["bắc", "ninh", "tp.hcm", "covid", "19"]
    assert standard_tokens("x©y") is None
    assert standard_tokens("a\u200bb") is None
    assert standard_tokens("中文") is None
    assert standard_tokens("a" * MAX_RUN) == ["a" * MAX_RUN]
    assert standard_tokens("a" * (MAX_RUN + 1)) is None
    assert standard_tokens("a.b" * 100) is None  # one run of 300 token characters
    assert standard_tokens("ab " * 100) is not None


# --------------------------------------------------------------------------- against the node


def test_every_safe_character_in_every_context(client: Elasticsearch) -> None:
    assert_none(mismatches(client, StandardTokenizer(), in_contexts(sorted(SAFE))))


def test_every_short_sequence_of_word_break_classes(client: Elasticsearch) -> None:
    assert_none(mismatches(client, StandardTokenizer(), class_sequences()))


def test_random_safe_strings(client: Elasticsearch) -> None:
    rng = random.Random(29)
    assert_none(mismatches(client, StandardTokenizer(), random_strings(rng, sorted(SAFE), 4000)))


def test_runs_up_to_the_cap(client: Elasticsearch) -> None:
    texts = []
    for size in range(MAX_RUN - 12, MAX_RUN + 1):
        texts += ["a" * size, f"x {'b' * size} y", "1" * size, ("a." * size)[:size], "_" + "c" * (size - 1),
                  ("ab_" * size)[: size - 1] + ".", "d" * (size - 1) + "\u0301"]
    tokenizer = StandardTokenizer()
    assert all(tokenizer.tokens(text) is not None for text in texts)
    assert_none(mismatches(client, tokenizer, texts))


def vntc_rows(count: int) -> list[dict[str, str]]:
    if not VNTC.is_file():
        pytest.skip(f"corpus not found: {VNTC}")
    with lzma.open(VNTC, "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    return [json.loads(line) for line in random.Random(5).sample(lines, count)]


def test_real_news_as_stored_decomposed_and_folded(client: Elasticsearch) -> None:
    rows = vntc_rows(VNTC_SAMPLE)
    texts = [row[name] for row in rows for name in ("title", "text")]
    texts += [unicodedata.normalize("NFD", text) for text in texts[:600]]
    texts += [fold(text) for text in texts[:600]]
    texts += [text.upper() for text in texts[:200]]
    accepted = sum(standard_tokens(text) is not None for text in texts)
    assert accepted > 0.97 * len(texts)  # news is nearly all safe; the rest goes to the cluster
    assert_none(mismatches(client, StandardTokenizer(), texts))


# --------------------------------------------------------------------------- the test catches wrong tables

WRONG = {
    "·": "Other",  # a middle dot is MidLetter: "a·b" is one token
    "’": "Other",  # the typographic apostrophe is MidNumLet: "Ninh’s" is one token
    "_": "Other",  # ExtendNumLet joins: "a_b" is one token, "_a_" too
    ":": "Other",  # MidLetter: "a:b" is one token
    "@": "MidLetter",  # Other: "a@b" is two tokens
    ",": "MidNumLet",  # MidNum only: "a,b" is two tokens
    "©": "Other",  # an emoji: a token of its own
    "İ": "ALetter",  # Java lower-cases it to "i", Python to "i̇"
    "\u2044": "Other",  # FRACTION SLASH is MidNum: "1⁄2" is one token
    "\u02bc": "Other",  # MODIFIER LETTER APOSTROPHE is ALetter
    "\u00b4": "ALetter",  # ACUTE ACCENT is Other, although a modifier
}


@pytest.mark.parametrize("char", sorted(WRONG))
def test_a_wrongly_widened_table_is_caught(client: Elasticsearch, char: str) -> None:
    table = {**SAFE_CLASSES, char: WRONG[char]}
    if char not in SAFE_CLASSES and len(char.lower()) == 1:
        table.setdefault(char.lower(), WRONG[char])
    wrong = StandardTokenizer(table)
    rng = random.Random(ord(char))
    texts = in_contexts([char]) + random_strings(rng, [char] * 30 + sorted(SAFE), 200)
    assert mismatches(client, wrong, texts), f"adding {char!r} as {WRONG[char]} went unnoticed"


def test_the_contexts_tell_every_class_from_every_other() -> None:
    """Reassigning a character to any other class changes its tokens in some context, so agreeing with the
    node in every context (above) pins each safe character's class."""
    used = set("".join(CONTEXTS))
    groups: dict[str, str] = {}
    for ch, name in sorted(SAFE_CLASSES.items(), key=lambda item: (item[0] in used, item[0])):
        if ch.lower() != ch:  # tokenised through its lower case, which has the same class (checked above)
            continue
        groups.setdefault(GRAMMAR_CLASS.get(name, "Other"), ch)
    right = StandardTokenizer()
    for key, ch in groups.items():
        expected = [right.tokens(text) for text in in_contexts([ch])]
        for other in {GRAMMAR_CLASS.get(n, "Other") for n in SAFE_CLASSES.values()} - {key}:
            name = next(n for n in SAFE_CLASSES.values() if GRAMMAR_CLASS.get(n, "Other") == other)
            wrong = StandardTokenizer({**SAFE_CLASSES, ch: name})
            assert [wrong.tokens(text) for text in in_contexts([ch])] != expected, (ch, name)
