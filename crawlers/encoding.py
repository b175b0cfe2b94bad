"""Decode fetched HTML bytes to text, distrusting charset declarations that the bytes contradict.

Vietnamese legacy pages are often windows-1258 (which writes tones as *combining* marks) labelled
utf-8 or iso-8859-1/windows-1252. ``decode_html`` therefore scores candidate decodings by how
plausible the resulting text looks instead of believing the label.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator

from enrich.language import is_vietnamese_syllable

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([\w.:+-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:+-]+)""",
    re.IGNORECASE,
)
_META_SCAN_BYTES = 64 * 1024
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_MAX_TOKENS = 4000
_SAMPLE_BYTES_FOR_DETECTOR = 256 * 1024
# Labels that browsers (WHATWG) treat as windows-1252.
_AS_CP1252 = {"latin-1", "iso8859-1", "ascii", "us-ascii", "cp819", "iso-8859-1"}
# Tie-break order among equally plausible decodings (declared always comes first).
_PREFERENCE = ("utf-8", "cp1252", "cp1258")


def canonical_encoding(label: str | None) -> str | None:
    """Python codec name for a charset label (``"windows-1258"`` -> ``"cp1258"``), or None if unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    if name in _AS_CP1252:
        return "cp1252"
    return name


def http_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value, as a codec name."""
    if not content_type:
        return None
    match = _HTTP_CHARSET.search(content_type)
    return canonical_encoding(match.group(1)) if match else None


def meta_charset(data: bytes) -> str | None:
    """The charset declared in the first 64 KiB (``<meta charset>``, http-equiv, XML declaration)."""
    match = _META_CHARSET.search(data[:_META_SCAN_BYTES])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "ignore")
    name = canonical_encoding(label)
    # A UTF-16/32 declaration inside ASCII-readable markup is impossible; browsers read it as UTF-8.
    if name and name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return name


def _tokens_with_non_ascii(text: str) -> Iterator[str]:
    """Whitespace-delimited runs around non-ASCII characters (bounded; linear in ``len(text)``)."""
    count = 0
    end = 0
    n = len(text)
    for match in _NON_ASCII.finditer(text):
        if match.start() < end:
            continue
        start = match.start()
        while start > 0 and start > match.start() - 32 and text[start - 1].isalpha():
            start -= 1
        end = match.end()
        while (
            end < n
            and end < match.end() + 32
            and not text[end].isspace()
            and (text[end].isalpha() or not text[end].isascii())
        ):
            end += 1
        yield text[start:end]
        count += 1
        if count >= _MAX_TOKENS:
            return


def _strip_punctuation(token: str) -> str:
    start, end = 0, len(token)
    while start < end and unicodedata.category(token[start])[0] in "PSZ":
        start += 1
    while end > start and unicodedata.category(token[end - 1])[0] in "PSZ":
        end -= 1
    return token[start:end]


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def plausibility(text: str) -> float:
    """Higher is more plausible: rewards Vietnamese syllables and clean words in any one script,
    penalises replacement characters, C1 controls, stray combining marks and symbol-riddled words."""
    score = 0.0
    for raw in _tokens_with_non_ascii(text):
        bad = sum(ch == "\ufffd" or "\x80" <= ch <= "\x9f" for ch in raw)
        if bad:
            score -= 5 * bad
            continue
        word = _strip_punctuation(raw)
        if not word or word.isascii():
            continue
        if not word.isalpha():
            score -= 2  # symbols or combining marks glued to letters: "Viá»‡t", "Vie\u0323t"
        elif is_vietnamese_syllable(word):
            score += 2
        else:
            scripts = {_script(ch) for ch in word if not ch.isascii()}
            if len(scripts) == 1 and "LATIN" not in scripts:
                score += 1  # a word in one non-Latin script (Cyrillic, CJK...)
            elif (
                scripts == {"LATIN"}
                and sum(not ch.isascii() for ch in word) * 2 <= len(word)
                and (word.isupper() or not any(ch.isupper() for ch in word[1:]))
            ):
                score += 1  # European accents: "café", "Müller"
            else:
                score -= 2
    return score


def _decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return None


def _charset_normalizer_guess(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:_SAMPLE_BYTES_FOR_DETECTOR]).best()
    except Exception:  # the detector is a heuristic helper; never let it break decoding
        return None
    return canonical_encoding(best.encoding) if best is not None else None


def looks_utf16(data: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when BOM-less bytes have the NUL pattern of UTF-16 text."""
    head = data[:4096]
    if len(head) < 8:
        return None
    even_nuls = head[0::2].count(0)
    odd_nuls = head[1::2].count(0)
    half = len(head) / 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def _finish(text: str, encoding: str) -> tuple[str, str]:
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text, encoding


def decode_html(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode an HTML document: ``(NFC text, Python codec name used)``. Never raises on bytes input.

    Order of evidence: byte-order mark; valid UTF-8 (accepted whatever the label says);
    otherwise the HTTP charset, the ``<meta>`` charset, utf-8, cp1258, cp1252 and charset-normalizer's
    guess are all decoded and scored by :func:`plausibility`; declared labels win ties.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"decode_html expects bytes, not {type(data).__name__}")
    data = bytes(data)

    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _finish(data[len(bom) :].decode(encoding, errors="replace"), encoding)

    declared = [e for e in (http_charset(content_type), meta_charset(data)) if e]
    if data.isascii():
        ascii_compatible = [
            e for e in declared if e in ("utf-8", "cp1252", "cp1258") or e.startswith("iso8859")
        ]
        return data.decode("ascii"), (ascii_compatible[0] if ascii_compatible else "utf-8")

    utf16 = looks_utf16(data)
    if utf16 is not None:
        try:
            return _finish(data.decode(utf16), utf16)
        except UnicodeDecodeError:
            pass

    # Valid UTF-8 (a sequence cut off by a size cap at the very end is tolerated) is UTF-8.
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return _finish(text, "utf-8")

    candidates: list[str] = []
    for name in (*declared, *_PREFERENCE, _charset_normalizer_guess(data)):
        if name and name not in candidates:
            candidates.append(name)

    best: tuple[float, int, str, str] | None = None
    for rank, name in enumerate(candidates):
        text = _decode(data, name)
        if text is None:
            continue
        text = unicodedata.normalize("NFC", text)
        score = plausibility(text)
        if best is None or score > best[0]:
            best = (score, rank, name, text)
    if best is None:  # unreachable in practice: cp1252 always decodes
        return _finish(data.decode("cp1252", errors="replace"), "cp1252")
    return best[3], best[2]
