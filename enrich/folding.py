"""Diacritic folding done in Python, because the local node has no analysis-common module
(no ``asciifolding``): documents carry ``<field>_folded`` copies and queries are folded the same way.

``fold("Lũ Lụt ở Đông Anh") == "lu lut o dong anh"``.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Letters that Unicode NFD does not decompose (đ matters for Vietnamese).
_EXTRA = {"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th"}


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """One character lowercased and without diacritics (may be empty for a lone combining mark)."""
    low = ch.lower()
    if low in _EXTRA:
        return _EXTRA[low]
    if low.isascii():
        return low
    return "".join(c for c in unicodedata.normalize("NFD", low) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lowercase, strip diacritics: what the ``*_folded`` fields hold and folded queries send."""
    if text.isascii():
        return text.lower()
    return "".join(fold_char(ch) for ch in unicodedata.normalize("NFC", text))


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` plus, for each folded character, the index of the original character it
    came from (``text`` must be NFC), so matches in folded text map back to the original."""
    pieces: list[str] = []
    offsets: list[int] = []
    for index, ch in enumerate(text):
        folded = fold_char(ch)
        pieces.append(folded)
        offsets.extend([index] * len(folded))
    return "".join(pieces), offsets
