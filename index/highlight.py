"""Highlighted snippets that honour folding: "lu lut" marks "lũ lụt" in the original text.

Matching runs on folded text; ``fold_with_offsets`` maps every match back to the original
characters, so snippets show the article as written with ``<mark>`` around the hits.
"""

from __future__ import annotations

import re
import unicodedata
from html import escape

from enrich.folding import fold, fold_with_offsets
from index.query import And, Node, Not, Or, Phrase, Term

FRAGMENT_CHARS = 160
OPENING_CHARS = 240


def positive_patterns(node: Node | None) -> list[str]:
    """Regex sources (over folded text) for the words, prefixes and phrases a hit must contain."""
    found: list[str] = []

    def walk(item: Node, negated: bool) -> None:
        if isinstance(item, Not):
            walk(item.item, not negated)
        elif isinstance(item, And | Or):
            for child in item.items:
                walk(child, negated)
        elif not negated and isinstance(item, Term | Phrase):
            words = re.findall(r"\w+", fold(item.text))
            if not words:
                return
            source = r"\W+".join(re.escape(w) for w in words)
            tail = r"\w*" if isinstance(item, Term) and item.prefix else r"\b"
            found.append(rf"\b{source}{tail}")

    if node is not None:
        walk(node, False)
    return sorted(set(found), key=len, reverse=True)


def snippet(text: str, patterns: list[str], *, fragments: int = 2, size: int = FRAGMENT_CHARS) -> str:
    """Up to ``fragments`` windows of about ``size`` characters around matches, HTML-escaped, with
    ``<mark>`` around each match; the opening of the text when nothing matches."""
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if not text:
        return ""
    matches: list[tuple[int, int]] = []
    windows: list[tuple[int, int]] = []
    if patterns:
        folded, offsets = fold_with_offsets(text)
        # Lazily: once the windows are all chosen, matches past the last one cannot show, so the rest of
        # a long text is not scanned (most of the cost of a page of hits).
        for m in re.finditer("|".join(patterns), folded):
            if m.end() == m.start():
                continue
            start, end = offsets[m.start()], offsets[m.end() - 1] + 1
            if len(windows) == fragments and start >= windows[-1][1]:
                break
            matches.append((start, end))
            if len(windows) < fragments and not (windows and start < windows[-1][1]):
                windows.append(window(text, start, end, windows[-1][1] if windows else 0, size))
    return render(text, matches, windows)


def window(text: str, start: int, end: int, after: int, size: int) -> tuple[int, int]:
    """The window of about ``size`` characters shown around the match ``start``–``end``: from a word
    boundary a third of ``size`` before it (never before ``after``, the end of the previous window) to a
    word boundary past ``size``."""
    lo = max(0, start - size // 3)
    lo = text.rfind(" ", 0, lo) + 1 if lo > 0 else 0
    lo = max(lo, after)
    hi = min(len(text), lo + size)
    space = text.find(" ", hi)
    hi = space if space != -1 else len(text)
    return lo, max(hi, end)


def render(text: str, matches: list[tuple[int, int]], windows: list[tuple[int, int]]) -> str:
    """The windows of ``text``, HTML-escaped, with ``<mark>`` around the matches inside them; the opening of
    the text when nothing matched."""
    if not matches:
        return escape(text[:OPENING_CHARS]) + ("…" if len(text) > OPENING_CHARS else "")
    parts = []
    for lo, hi in windows:
        piece, cursor = [], lo
        for start, end in matches:
            if start >= lo and end <= hi:
                piece += [escape(text[cursor:start]), "<mark>", escape(text[start:end]), "</mark>"]
                cursor = end
        piece.append(escape(text[cursor:hi]))
        parts.append(("…" if lo > 0 else "") + "".join(piece) + ("…" if hi < len(text) else ""))
    return " ".join(parts).replace("… …", "…")
