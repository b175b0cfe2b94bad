"""Language identification (ISO 639-1 codes) tuned for Vietnamese news and forums, plus small
Vietnamese orthography helpers shared with encoding detection.

``detect_language`` never raises on text input; the py3langid model loads lazily, once per process.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

UNKNOWN = "unknown"

#: Languages the classifier may answer; restricting the set makes short texts far more reliable.
CANDIDATE_LANGUAGES: tuple[str, ...] = (
    "vi", "en", "fr", "de", "es", "it", "pt", "nl", "ru", "uk",
    "zh", "ja", "ko", "th", "lo", "km", "id", "ms", "tl",
)  # fmt: skip

# Tone marks as combining characters (NFD): grave, acute, tilde, hook above, dot below.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_SYLLABLE = re.compile(
    r"(ngh|ng|nh|gh|gi|kh|ph|th|tr|ch|qu|[bcdđghklmnprstvx])?([aăâeêioôơuưy]{1,3})(ng|nh|ch|[cmnpt])?"
)
_NUCLEI = frozenset(
    "a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo ua uâ uê ui uô uơ uy "
    "ưa ưi ươ ưu yê iêu oai oay oao oeo uây uôi uya uyê uyu ươi ươu yêu".split()
)
# The same nuclei typed without diacritics ("nguoi", "duoc", "biet").
_NUCLEI_ASCII = frozenset(n.translate(str.maketrans("ăâêôơư", "aaeoou")) for n in _NUCLEI)
# Letters that (among Latin-script languages) practically only Vietnamese uses.
_VI_SPECIFIC = re.compile("[ăđơưĩũạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)
# Frequent Vietnamese words as typed without diacritics (forums, SMS style); none is a common English word.
_VI_UNACCENTED_WORDS = frozenset(
    """ko k khong hok dc duoc nhung nguoi nuoc cua va la cho voi cac nhieu mot nay da dang se thi ma minh
    roi nhu trong tren ve den tu khi neu vi nen cung lai hay gi sao nao oi nha di lam bi co rat qua em anh
    toi chung ho viec ngay thang nam tinh huyen xa phuong dan duong nhat hon moi dau ca biet bao gio hoi
    thoi chua van ra vao len xuong chinh quyen tai theo sau truoc ngoai giua day kia cai con nhe
    mn mik mk ae bac ninh ha noi lu lut ngap mua xe""".split()
)
_WORD = re.compile(r"[^\W\d_]+")

_lock = threading.Lock()
_identifier: Any = None


def normalize_language_code(code: str | None) -> str | None:
    """``"vi-VN"``/``"en_US"``/``"VI"`` -> ``"vi"``/``"en"``/``"vi"``; anything unusable -> None."""
    if not code:
        return None
    primary = re.split(r"[-_\s]", code.strip().lower(), maxsplit=1)[0]
    return primary if len(primary) == 2 and primary.isascii() and primary.isalpha() else None


def is_vietnamese_syllable(word: str) -> bool:
    """True if ``word`` is a well-formed Vietnamese syllable (diacritics optional, at most one tone)."""
    if not word or len(word) > 8 or not word.isalpha():
        return False
    if not word.isupper() and any(ch.isupper() for ch in word[1:]):
        return False  # "thiÌ": an uppercase letter inside a lowercase word is a decoding artefact
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(ch in _TONE_MARKS for ch in decomposed) > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))
    match = _SYLLABLE.fullmatch(base)
    if not match:
        return False
    return match.group(2) in (_NUCLEI_ASCII if base.isascii() else _NUCLEI)


def looks_like_unaccented_vietnamese(text: str) -> bool:
    """Heuristic for Vietnamese typed without diacritics: mostly valid syllables, many frequent words."""
    words = [w.lower() for w in _WORD.findall(text)[:400]]
    if len(words) < 3 or not all(w.isascii() for w in words):
        return False
    common = sum(w in _VI_UNACCENTED_WORDS for w in words)
    syllables = sum(is_vietnamese_syllable(w) for w in words)
    return common >= 2 and common / len(words) >= 0.25 and syllables / len(words) >= 0.8


def _get_identifier() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(list(CANDIDATE_LANGUAGES))
            _identifier = identifier
        return _identifier


def _sample(text: str, limit: int = 6000) -> str:
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"https?://\S+|\S+@\S+", " ", text)
    if len(text) > limit:
        half = limit // 2
        middle = len(text) // 2
        text = text[:half] + " " + text[middle : middle + half]
    return " ".join(text.split())


def detect_language(text: str, hint: str | None = None) -> str:
    """ISO 639-1 code of ``text`` (``"vi"``, ``"en"``...), or ``"unknown"``.

    Empty text (or text without letters) is ``"unknown"``; short or ambiguous text falls back to ``hint``
    (any form such as ``"vi-VN"``). Vietnamese written without diacritics is recognised heuristically.
    """
    if not isinstance(text, str):
        raise TypeError("detect_language expects str")
    hint_code = normalize_language_code(hint)
    sample = _sample(text)
    words = _WORD.findall(sample)
    if not words:
        return UNKNOWN
    letters = sum(len(w) for w in words)
    vi_specific = len(_VI_SPECIFIC.findall(sample))
    short = len(words) < 3 or letters < 12

    if short:
        if vi_specific:
            return "vi"
        if hint_code:
            return hint_code
        label, prob = _get_identifier().classify(sample)
        return str(label) if prob >= 0.95 else UNKNOWN

    if vi_specific / len(words) >= 0.2:
        return "vi"
    if looks_like_unaccented_vietnamese(sample):
        return "vi"
    label, prob = _get_identifier().classify(sample)
    if prob < 0.5 and hint_code:
        return hint_code
    return str(label)
