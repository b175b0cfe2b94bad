"""Snippets: matches found on folded text, marked in the original, HTML-escaped."""

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enrich.folding import fold, fold_char, fold_with_offsets
from index.highlight import positive_patterns, render, snippet, window
from index.query import parse

TEXT = ("Mưa lớn gây ngập lụt ở Bắc Ninh. " + "Câu đệm không liên quan. " * 20
        + "Người dân Từ Sơn khắc phục hậu quả lũ lụt & <b>dọn dẹp</b>.")


@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ('lu lut AND "bac ninh"', ["lụt", "Bắc Ninh", "lũ", "lụt"]),
        ("ngap*", ["ngập"]),
        ('"Từ Sơn" -"Hà Nội"', ["Từ Sơn"]),
        ("lũ NOT lụt", ["lũ"]),
    ],
)
def test_marks_follow_the_query_on_folded_text(query: str, marked: list[str]) -> None:
    out = snippet(TEXT, positive_patterns(parse(query)))
    found = [part.split("</mark>")[0] for part in out.split("<mark>")[1:]]
    assert found == marked


def test_snippets_are_escaped_windowed_and_fall_back_to_the_opening() -> None:
    out = snippet(TEXT, positive_patterns(parse("dọn")))
    assert "&lt;b&gt;<mark>dọn</mark>" in out and out.startswith("…") and "<b>" not in out
    assert snippet(TEXT, positive_patterns(parse("xyz"))).startswith("Mưa lớn gây ngập lụt")
    assert snippet("", []) == ""
    assert len(snippet(TEXT, positive_patterns(parse("lũ")), fragments=1, size=60)) < 140


@given(st.text(alphabet=st.sampled_from("aAeđĐơƯũỤ ßæİ\u0301\u0323xyz.,"), max_size=40))
def test_folding_with_offsets_agrees_with_folding_one_character_at_a_time(text: str) -> None:
    """The translate table (filled on first sight) gives what folding each character alone gives, and each
    folded character's offset is the original character it came from, uneven folds (ß, æ, İ, a lone
    combining mark) included."""
    text = unicodedata.normalize("NFC", text)
    folded, offsets = fold_with_offsets(text)
    expected = [(fold_char(ch), i) for i, ch in enumerate(text)]
    assert folded == "".join(f for f, _ in expected) == fold(text)
    assert list(offsets) == [i for f, i in expected for _ in f]


def _snippet_scanning_everything(text: str, patterns: list[str], fragments: int = 2, size: int = 160) -> str:
    """The snippet as first written (every match collected before the windows are chosen): the oracle for
    the early stop in ``index.highlight.snippet``."""
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if not text:
        return ""
    matches = []
    if patterns:
        folded, offsets = fold_with_offsets(text)
        for m in re.finditer("|".join(patterns), folded):
            if m.end() > m.start():
                matches.append((offsets[m.start()], offsets[m.end() - 1] + 1))
    windows: list[tuple[int, int]] = []
    for start, end in matches:
        if len(windows) == fragments:
            break
        if not (windows and start < windows[-1][1]):
            windows.append(window(text, start, end, windows[-1][1] if windows else 0, size))
    return render(text, matches, windows)


@given(
    st.lists(st.sampled_from(["lũ", "lụt", "mưa", "lu", "Lũ lụt", "ở", "đê", "vỡ", "x", ".", ",", "\n"]),
             max_size=400),
    st.sampled_from(["lũ", "lu lut", '"mưa lũ"', "lũ OR đê", "mua*", "x OR lu", "de -lu"]),
    st.integers(1, 3), st.integers(10, 200),
)
def test_snippet_stops_scanning_without_changing_what_it_shows(words: list[str], query: str, fragments: int,
                                                                size: int) -> None:
    text = " ".join(words)
    patterns = positive_patterns(parse(query))
    assert snippet(text, patterns, fragments=fragments, size=size) == _snippet_scanning_everything(
        text, patterns, fragments, size)
