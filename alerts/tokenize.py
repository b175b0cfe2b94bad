"""The ``standard`` analyzer in Python, for the texts where it is provably the cluster's: ``None`` elsewhere.

Alert matching needs every new document's terms. Asking the cluster (``_mtermvectors``) costs more than the
matching itself (the node re-analyses each text and answers with ~30 KB of JSON per article), so texts made
only of :data:`SAFE` characters are tokenised here, and every other text still goes to the cluster.

**What is reproduced.** Elasticsearch's ``standard`` analyzer is Lucene's ``StandardTokenizer`` (max token
length 255) followed by ``LowerCaseFilter`` (``Character.toLowerCase`` per code point; ES's default stop
word list for it is empty). The tokenizer is a JFlex scanner (``StandardTokenizerImpl.jflex``, UAX#29 word
break rules as of Unicode 9): at each position it takes the longest match of its rules, the first rule on a
tie, and a character no rule matches is skipped. Restricted to :data:`SAFE` — ASCII, Latin-1 and Latin
Extended-A/B/Additional letters (Vietnamese, precomposed or with combining marks), digits, whitespace and
common punctuation — the only Word_Break classes present are ALetter, Numeric, ExtendNumLet (``_``),
MidLetter, MidNum, MidNumLet, Single_Quote, Double_Quote, Extend (combining marks), Format (soft hyphen) and
Other; no Emoji (``©``, ``®`` are left out), Katakana, Hebrew, Hangul, Han, Hiragana, South-East Asian,
Regional_Indicator or ZWJ character is. Over those classes the emoji, Hangul, Katakana, ideographic and
South-East Asian rules never match, and the numeric rule's matches are also matches of the word rule (same
text, only the token type differs, which is not indexed), so a token is exactly the longest match of::

    ENL* R (ENL* R)* ENL*
    R   = A+ (ML A+)*  |  N+ (MN N+)*
    A   = ALetter X      N  = Numeric X       ENL = ExtendNumLet X
    ML  = (MidLetter | MidNumLet | Single_Quote) X      MN = (MidNum | MidNumLet | Single_Quote) X
    X   = (Extend | Format)*

which :attr:`StandardTokenizer.pattern` is (written with one character class per step, and the first
character consumed before the rest is chosen by what it was, which lets Python's engine skip ahead between
tokens). Python's leftmost, greedy search finds that longest match: the alternatives are told apart by
their first character's class (a letter starts ``A``, a digit ``N``, ``_`` an ``ENL``; a ``.`` after letters
can only continue ``A+ (ML A+)*``, after digits only ``N+ (MN N+)*``), so no greedy step ever has to give
back what a longer match needs; and ``findall`` moving on one character where nothing matches is the scanner
skipping that character. The grammar is written out here rather than taken from the ``regex`` module's
``\\b{w}`` segmentation because Lucene differs from plain UAX#29 segments in what it keeps (a lone ``_`` is
no token, ``_a_`` is one, ``©`` is an emoji token) and follows Unicode 9 (``¸`` was not yet a letter); the
classes are read from the ``regex`` module's Unicode tables, less :data:`CHANGED_SINCE_UNICODE_9`, and
``tests/test_tokenize.py`` checks every safe character in every context against the node — and that a
character put in the wrong class would be caught.

**Lower-casing** is ``str.lower`` on the whole text, before tokenising: on :data:`SAFE` it maps every
character to exactly one character of :data:`SAFE` in the same class (checked when the table is built, so
tokenising the lowered text finds the same tokens, lowered), and it equals ``Character.toLowerCase`` there
(``İ``, which Python lowers to two characters, is left out; ``tests/test_tokenize.py`` checks every character
against the node).

**Long tokens.** The scanner's buffer is capped at 255 characters (longer tokens are cut), so a text holding
a run of more than :data:`MAX_RUN` characters that can belong to a token goes to the cluster: every token and
every look-ahead of the scanner lies inside such a run, so shorter runs never reach the cap.

**Positions** are token indices (the standard analyzer removes nothing and stacks nothing). Multi-valued
fields (their position gap) are not handled here: callers send those to the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import regex

__all__ = [
    "GRAMMAR_CLASS", "MAX_RUN", "SAFE", "SAFE_CLASSES", "StandardTokenizer", "standard_tokens", "word_break_classes",
]

MAX_RUN = 250
"""Longest run of token characters (letters, digits, ``_``, mid-word punctuation, marks) tokenised here."""

CANDIDATES = (
    "\t\n\r",
    "\x20-\x7e",  # ASCII
    "\xa0-\xff",  # Latin-1
    "\u0100-\u024f",  # Latin Extended-A and -B (ă ơ ư đ …)
    "\u0250-\u02af",  # IPA extensions (lower cases of some Latin Extended-B capitals)
    "\u0300-\u036f",  # combining diacritical marks (decomposed Vietnamese)
    "\u1e00-\u1eff",  # Latin Extended Additional (ạ ả ấ … ỹ)
    "\u2010-\u2027",  # dashes, quotation marks, bullet, ellipsis, hyphenation point
    "\u2030-\u203a",  # per mille, primes, angle quotation marks
    "\u20ab\u20ac",  # đồng and euro signs
)
"""Where :data:`SAFE` is drawn from; characters of other classes than the handled ones are left out."""

CHANGED_SINCE_UNICODE_9 = "\u00b8"
"""Candidates whose Word_Break class in today's tables is not Lucene's (Unicode 9): CEDILLA became ALetter.
Found by ``tests/test_tokenize.py``, which tries every safe character in every context against the node."""

HANDLED = ("ALetter", "Numeric", "ExtendNumLet", "MidLetter", "MidNum", "MidNumLet", "Single_Quote",
           "Double_Quote", "Extend", "Format", "CR", "LF", "WSegSpace", "Other")
"""Word_Break classes the grammar above covers (CR, LF, WSegSpace and Other: characters no rule starts or
continues with, like Double_Quote outside Hebrew)."""

_LETTER, _DIGIT, _ENL, _MID_LETTER, _MID_NUM, _MID_BOTH, _EXTEND, _OTHER = "A", "N", "E", "ML", "MN", "MB", "X", "O"
GRAMMAR_CLASS = {
    "ALetter": _LETTER,
    "Numeric": _DIGIT,
    "ExtendNumLet": _ENL,
    "MidLetter": _MID_LETTER,
    "MidNum": _MID_NUM,
    "MidNumLet": _MID_BOTH,
    "Single_Quote": _MID_BOTH,
    "Extend": _EXTEND,
    "Format": _EXTEND,
}
"""Word_Break class -> its part in the token grammar (letter, digit, ``_``, mid-letter, mid-number, both, mark);
classes not listed take no part in tokens."""


def _expand(ranges: Iterable[str]) -> list[str]:
    chars: list[str] = []
    for spec in ranges:
        for match in re.finditer(r"(.)-(.)|(.)", spec, re.S):
            if match.group(3) is not None:
                chars.append(match.group(3))
            else:
                chars.extend(chr(o) for o in range(ord(match.group(1)), ord(match.group(2)) + 1))
    return chars


def word_break_classes(chars: Iterable[str]) -> dict[str, str]:
    """Each character's Unicode Word_Break class (the ``regex`` module's tables), ``"?"`` if none is known."""
    tests = [(name, regex.compile(rf"\p{{Word_Break={name}}}")) for name in (*HANDLED, "ZWJ", "Hebrew_Letter",
             "Katakana", "Regional_Indicator", "Newline")]
    out = {}
    for ch in chars:
        out[ch] = next((name for name, test in tests if test.match(ch)), "?")
    return out


def _safe_classes() -> dict[str, str]:
    """:data:`SAFE` with each character's Word_Break class: the candidates of a handled class that are no
    emoji and lower-case to one character of the set in the same class."""
    # Emoji characters are tokens of their own; 0-9 # * are emoji only before U+20E3 (not in the set).
    emoji = regex.compile(r"[\p{Extended_Pictographic}\p{Emoji}--[0-9#*]]", regex.V1)
    classes = word_break_classes(_expand(CANDIDATES))
    chosen = {ch: name for ch, name in classes.items()
              if name in HANDLED and not emoji.match(ch) and ch not in CHANGED_SINCE_UNICODE_9}
    while True:  # drop characters whose lower case falls outside the set or in another class
        bad = [ch for ch, name in chosen.items() if len(ch.lower()) != 1 or chosen.get(ch.lower()) != name]
        if not bad:
            return chosen
        for ch in bad:
            del chosen[ch]


SAFE_CLASSES: Mapping[str, str] = _safe_classes()
"""Safe character -> its Word_Break class."""
SAFE = frozenset(SAFE_CLASSES)
"""The characters :func:`standard_tokens` tokenises itself."""


def _char_class(chars: Iterable[str]) -> str:
    """A regular-expression character class (without brackets) matching exactly ``chars``."""
    codes = sorted({ord(ch) for ch in chars})
    parts: list[str] = []
    start = prev = None
    for code in [*codes, None]:
        if code is not None and prev is not None and code == prev + 1:
            prev = code
            continue
        if start is not None:
            parts.append(f"\\U{start:08x}" if start == prev else f"\\U{start:08x}-\\U{prev:08x}")
        start = prev = code
    return "".join(parts)


class StandardTokenizer:
    """The ``standard`` analyzer over texts made of the characters of ``classes`` (character -> Word_Break
    class, :data:`SAFE_CLASSES` by default); :meth:`tokens` returns ``None`` for any other text.

    Built from a table so tests can build deliberately wrong ones and see the equivalence test catch them."""

    def __init__(self, classes: Mapping[str, str] | None = None) -> None:
        classes = SAFE_CLASSES if classes is None else classes
        unknown = {name for name in classes.values() if name not in HANDLED}
        if unknown:
            raise ValueError(f"Word_Break classes {sorted(unknown)} are not handled by this tokenizer")
        groups: dict[str, list[str]] = {}
        for ch, name in classes.items():
            groups.setdefault(GRAMMAR_CLASS.get(name, _OTHER), []).append(ch)

        def of(*kinds: str) -> str:
            chars = [ch for kind in kinds for ch in groups.get(kind, ())]
            return f"[{_char_class(chars)}]" if chars else "(?!)"

        # The grammar of the module docstring, written for Python's engine: (A X*)+ as [A][AX]* (one class per
        # step), likewise for digits and ``_``; the first character consumed by one class (the engine then skips
        # to the next possible start instead of trying the pattern at every position) and the rest chosen by
        # what that character was (a one-character look-behind).
        x, a, n, e = of(_EXTEND), of(_LETTER), of(_DIGIT), of(_ENL)
        ml, mn = of(_MID_LETTER, _MID_BOTH), of(_MID_NUM, _MID_BOTH)
        more_letters, more_digits, more_underscores = of(_LETTER, _EXTEND), of(_DIGIT, _EXTEND), of(_ENL, _EXTEND)
        letters, digits = f"{a}{more_letters}*", f"{n}{more_digits}*"
        part = f"(?:{letters}(?:{ml}{x}*{letters})*|{digits}(?:{mn}{x}*{digits})*)"
        underscores = f"(?:{e}{more_underscores}*)?"
        tail = f"(?:{underscores}{part})*{underscores}"
        after_letter = f"{more_letters}*(?:{ml}{x}*{letters})*{tail}"
        after_digit = f"{more_digits}*(?:{mn}{x}*{digits})*{tail}"
        after_underscore = f"{more_underscores}*{part}{tail}"
        # Most tokens are plain words: letters and marks followed by nothing that could continue them; that
        # branch is one step. When it fails, the full grammar from a letter decides.
        plain = f"{more_letters}*+(?!{of(_DIGIT, _ENL, _MID_LETTER, _MID_BOTH)})"
        self.pattern = re.compile(
            f"{of(_LETTER, _DIGIT, _ENL)}(?:(?<={a}){plain}|(?<={a}){after_letter}|(?<={n}){after_digit}"
            f"|(?<={e}){after_underscore})"
        )
        # Only characters of the table, and no run of token characters longer than MAX_RUN: one pass.
        joining = _char_class(ch for ch, name in classes.items() if name in GRAMMAR_CLASS)
        other = _char_class(ch for ch, name in classes.items() if name not in GRAMMAR_CLASS)
        runs = f"[{joining}]{{0,{MAX_RUN}}}+"
        self._accepted = re.compile(f"(?:{runs}[{other}]++)*+{runs}" if other else runs)
        self.classes = dict(classes)

    def tokens(self, text: str) -> list[str] | None:
        """The analyzed terms of ``text`` in order (position = index), or ``None`` if ``text`` holds a
        character outside the table or a run longer than :data:`MAX_RUN` (ask the cluster)."""
        if self._accepted.fullmatch(text) is None:
            return None
        return self.pattern.findall(text.lower())


_STANDARD = StandardTokenizer()


def standard_tokens(text: str) -> list[str] | None:
    """``text``'s terms as the cluster's ``standard`` analyzer makes them (position = index in the list), or
    ``None`` when that is not certain here (:class:`StandardTokenizer`)."""
    return _STANDARD.tokens(text)
