"""Story grouping: syndicated copies and lightly edited reprints share one ``story`` id.

Each text gets a MinHash :class:`Signature` over word shingles of its normalised text, plus LSH band
keys: two texts whose shingle sets have Jaccard similarity ``J`` share at least one band key with
probability ``1 - (1 - J**ROWS) ** BANDS`` (about 0.99 at J = 0.6, 0.23 at 0.3, 0.003 at 0.1).
:func:`assign_stories` joins each new document to the story of its most similar known member at or
above a threshold, or founds a new story, and names the story's earliest publisher (its origin).

Pure Python and no I/O: the caller stores ``bands`` (keyword) and ``minhash`` (long) on documents
and supplies the candidate lookup (an Elasticsearch ``terms`` query on the bands field).

Signatures are persisted, so everything that shapes them is pinned here: normalisation, shingle
size, the hash function, the MinHash scheme and seed, and the band layout. Whoever changes any of
them must bump :data:`SCHEME`: it is mixed into the band keys, so old and new documents never collide.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np

#: Identifies everything that shapes a signature; part of every band key.
SCHEME = "mediawatch-stories-v1"
#: MinHash permutations, and their split into LSH bands of ``ROWS`` values each.
NUM_PERM = 128
BANDS = 32
ROWS = 4
#: Word shingle size; texts shorter than this use all their words as one shingle.
SHINGLE_SIZE = 5
#: Texts with fewer words get no signature (greetings and one-liners are not stories).
MIN_WORDS = 4
#: Fixed seed of the MinHash permutations (stable across processes and releases).
SEED = 20240917
DEFAULT_THRESHOLD = 0.6

_CHUNK = 4096  # shingles permuted at a time


# Latin combining diacritics (after NFD): Vietnamese tones and vowel marks, French accents, etc.
_COMBINING = re.compile("[\u0300-\u036f]+")
_NON_WORD = re.compile(r"[\W_]+")
_FOLD = str.maketrans({"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ß": "ss", "æ": "ae", "œ": "oe"})


def normalize(text: str) -> str:
    """Lowercase words without diacritics or punctuation, separated by single spaces.

    Folding diacritics makes NFC/NFD, old/new tone placement ("hoà"/"hòa") and copies typed without
    diacritics compare equal; five-word shingles stay specific enough for Vietnamese.
    """
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFC", text).lower())
    text = _COMBINING.sub("", text).translate(_FOLD)
    return _NON_WORD.sub(" ", text).strip()


def shingles(text: str, k: int = SHINGLE_SIZE) -> set[str]:
    """Word k-shingles of the normalised text; texts under ``k`` words give one shingle of all words."""
    if k < 1:
        raise ValueError("shingle size must be at least 1")
    words = normalize(text).split()
    return _shingle_words(words, k) if words else set()


@dataclass(frozen=True)
class Signature:
    """MinHash values (``NUM_PERM`` ints below 2**32) and LSH band keys such as ``"b03:9f2c1a…"``."""

    minhash: tuple[int, ...]
    bands: tuple[str, ...]


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # NumPy's legacy RandomState stream is frozen by NumPy's compatibility policy, so these never move.
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)  # odd: a bijection
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer: spreads the input hashes before the affine permutations."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _minhash(grams: Iterable[str]) -> np.ndarray:
    """MinHash of a non-empty set of strings.

    The same numbers as ``datasketch.MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")`` fed
    UTF-8 strings (SHA-1 32-bit hashes, fmix32, ``a*h + b mod 2**32``), computed here so that a
    datasketch release cannot change stored signatures, and without importing it (and SciPy).
    """
    hv = np.fromiter(
        (int.from_bytes(hashlib.sha1(g.encode("utf-8")).digest()[:4], "little") for g in grams), dtype=np.uint32
    )
    hv = _fmix32(hv)[:, None]
    a, b = _permutations()
    # In chunks, so that a 1 MB text needs a few MB of scratch rather than 100.
    return np.minimum.reduce([(hv[i : i + _CHUNK] * a + b).min(axis=0) for i in range(0, len(hv), _CHUNK)])


def _shingle_words(words: Sequence[str], k: int) -> set[str]:
    k = min(k, len(words))
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def signature(text: str, *, min_words: int = MIN_WORDS) -> Signature | None:
    """The text's :class:`Signature`, or None when it has fewer than ``min_words`` words."""
    words = normalize(text).split()
    if not words or len(words) < min_words:
        return None
    values = _minhash(_shingle_words(words, SHINGLE_SIZE))
    return Signature(tuple(values.tolist()), band_keys(values))


def band_keys(minhash: Sequence[int] | np.ndarray) -> tuple[str, ...]:
    """LSH band keys of MinHash values: ``BANDS`` keys of ``ROWS`` values each, tagged with the band."""
    raw = np.asarray(minhash, dtype="<u4").tobytes()
    width = ROWS * 4
    key = SCHEME.encode()
    return tuple(
        f"b{i:02d}:" + hashlib.blake2b(raw[i * width : (i + 1) * width], digest_size=8, key=key).hexdigest()
        for i in range(BANDS)
    )


def jaccard(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (0.0 for incompatible signatures)."""
    if not a.minhash or len(a.minhash) != len(b.minhash):
        return 0.0
    return sum(x == y for x, y in zip(a.minhash, b.minhash, strict=True)) / len(a.minhash)


def story_id_for(doc_id: str) -> str:
    """The id of a story founded by ``doc_id``: deterministic, so re-running gives the same ids."""
    return "s-" + hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Origin:
    """The earliest known publisher of a story."""

    source: str
    url: str
    published: datetime | None
    doc_id: str | None = None


@dataclass(frozen=True)
class StoryMember:
    """A document as story grouping sees it; ``story`` is None for a new, unassigned document.

    ``origin`` is the story's origin as recorded on the stored document, when the caller has it: it
    lets a story's earliest publisher win even when that member shares no band with the new document.
    """

    doc_id: str
    story: str | None
    signature: Signature
    published: datetime | None = None
    source: str = ""
    url: str = ""
    origin: Origin | None = None


@dataclass(frozen=True)
class StoryAssignment:
    """Where a new document went.

    ``similarity`` is the estimated Jaccard to ``matched`` (the member it joined), 1.0 for a founder.
    ``existing`` says the story already had members in the index: when it does and ``origin.doc_id`` is
    a document of this batch, the origin recorded on the stored members may need updating.
    """

    story: str
    similarity: float
    origin: Origin
    matched: str | None = None
    existing: bool = False


def _timestamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _chronological(member: StoryMember) -> tuple[bool, float, str]:
    ts = _timestamp(member.published)
    return (ts is None, ts or 0.0, member.doc_id)


def _earliest(story: str, origins: Iterable[Origin]) -> Origin:
    """Earliest by ``published`` (unknown dates last); ties and unknown dates go to the founder."""

    def key(o: Origin) -> tuple[bool, float, bool, str]:
        ts = _timestamp(o.published)
        founder = o.doc_id is not None and story_id_for(o.doc_id) == story
        return (ts is None, ts or 0.0, not founder, o.doc_id or "")

    return min(origins, key=key)


def _origin_of(member: StoryMember) -> Origin:
    return Origin(source=member.source, url=member.url, published=member.published, doc_id=member.doc_id)


def assign_stories(
    new: Sequence[StoryMember],
    candidates: Callable[[Sequence[str]], Iterable[StoryMember]],
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, StoryAssignment]:
    """Assign each new document to a story; returns ``{doc_id: StoryAssignment}``.

    ``candidates(bands)`` returns stored members sharing at least one band key (members without a
    story, and stored copies of documents in ``new``, are ignored). New documents are processed by
    ``published`` then id, each joining the story of its most similar candidate — stored, or new and
    already processed — at or above ``threshold``, else founding the story :func:`story_id_for` names.
    The result does not depend on the order of ``new``.
    """
    batch_ids = {m.doc_id for m in new}
    members_by_story: dict[str, dict[str, Origin]] = {}  # every known member's origin, per story
    stored_stories: set[str] = set()
    batch_by_band: dict[str, list[StoryMember]] = {}
    decided: dict[str, tuple[str, float, str | None]] = {}

    def remember(story: str, origin: Origin, *, current: bool = False) -> None:
        key = origin.doc_id or f"{origin.source}\x00{origin.url}"
        known = members_by_story.setdefault(story, {})
        if current or key not in known:  # a new document's own fields beat what was stored about it
            known[key] = origin

    for member in sorted(new, key=_chronological):
        if member.doc_id in decided:  # the same id twice: the earlier (by published) wins
            continue
        bands = member.signature.bands
        pool: dict[str, StoryMember] = {}
        for cand in candidates(bands):
            if not cand.story or cand.doc_id in batch_ids:
                continue
            pool.setdefault(cand.doc_id, cand)
            stored_stories.add(cand.story)
            remember(cand.story, _origin_of(cand))
            if cand.origin is not None:
                remember(cand.story, cand.origin)
        for band in bands:
            for other in batch_by_band.get(band, ()):
                pool.setdefault(other.doc_id, other)

        best: StoryMember | None = None
        best_key: tuple[float, tuple[bool, float, str]] | None = None
        for cand in pool.values():
            sim = jaccard(member.signature, cand.signature)
            if sim < threshold:
                continue
            key = (-sim, _chronological(cand))
            if best_key is None or key < best_key:
                best, best_key = cand, key
        if best is not None and best.story and best_key is not None:
            story, similarity, matched = best.story, -best_key[0], best.doc_id
        else:
            story, similarity, matched = story_id_for(member.doc_id), 1.0, None
        decided[member.doc_id] = (story, similarity, matched)
        remember(story, _origin_of(member), current=True)
        assigned = replace(member, story=story)
        for band in bands:
            batch_by_band.setdefault(band, []).append(assigned)

    origins = {story: _earliest(story, found.values()) for story, found in members_by_story.items()}
    return {
        doc_id: StoryAssignment(
            story=story,
            similarity=similarity,
            origin=origins[story],
            matched=matched,
            existing=story in stored_stories,
        )
        for doc_id, (story, similarity, matched) in decided.items()
    }


@dataclass(frozen=True, slots=True)
class _Kept:
    """A remembered member in a third of the memory of a :class:`StoryMember`: the MinHash values as 512
    bytes instead of a tuple of 128 ints (about 5 KB)."""

    doc_id: str
    story: str | None
    minhash: bytes
    bands: tuple[str, ...]
    published: datetime | None
    source: str
    url: str
    origin: Origin | None

    @classmethod
    def of(cls, member: StoryMember) -> _Kept:
        raw = np.asarray(member.signature.minhash, dtype="<u4").tobytes()
        return cls(member.doc_id, member.story, raw, member.signature.bands, member.published, member.source,
                   member.url, member.origin)

    def member(self) -> StoryMember:
        values = tuple(np.frombuffer(self.minhash, dtype="<u4").tolist())
        return StoryMember(self.doc_id, self.story, Signature(values, self.bands), self.published, self.source,
                           self.url, self.origin)


class RecentStories:
    """Members this process assigned recently, by band key: the crawl's own documents, which the index
    may not show yet (unwritten, or written but not yet refreshed). Holds at most ``capacity`` members,
    dropping the oldest: by then they are long searchable, so memory stays flat however long the crawl.

    Kept compact (about 5 KB a member rather than 15): MinHash values as bytes (:class:`_Kept`, a
    :class:`StoryMember` again only when it is a candidate), and the band index as band key -> a tuple of
    member ids rather than a dict per band."""

    def __init__(self, capacity: int = 5000) -> None:
        from collections import OrderedDict

        self.capacity = capacity
        self._members: OrderedDict[str, _Kept] = OrderedDict()
        self._by_band: dict[str, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._members)

    def remember(self, member: StoryMember) -> None:
        self._forget(member.doc_id)
        self._members[member.doc_id] = _Kept.of(member)
        for band in member.signature.bands:
            self._by_band[band] = self._by_band.get(band, ()) + (member.doc_id,)
        while len(self._members) > self.capacity:
            self._forget(next(iter(self._members)))

    def candidates(self, bands: Sequence[str]) -> list[StoryMember]:
        found: dict[str, None] = {}
        for band in bands:
            found.update(dict.fromkeys(self._by_band.get(band, ())))
        return [self._members[doc_id].member() for doc_id in found]

    def _forget(self, doc_id: str) -> None:
        old = self._members.pop(doc_id, None)
        if old is None:
            return
        for band in old.bands:
            left = tuple(other for other in self._by_band.get(band, ()) if other != doc_id)
            if left:
                self._by_band[band] = left
            else:
                self._by_band.pop(band, None)


def member_from_stored(stored: dict[str, Any]) -> StoryMember:
    """A stored document's story fields (``story``, ``story_minhash``, ``story_bands``, ``published``,
    ``source``, ``url``, ``story_origin``, plus ``doc_id``) as a :class:`StoryMember`."""
    recorded = stored.get("story_origin") or {}
    origin = None
    if recorded.get("url"):
        origin = Origin(
            source=recorded.get("source", ""), url=recorded["url"], published=_stored_time(recorded.get("published")),
            doc_id=recorded.get("doc_id"),
        )
    return StoryMember(
        doc_id=stored["doc_id"],
        story=stored.get("story"),
        signature=Signature(tuple(stored.get("story_minhash") or ()), tuple(stored.get("story_bands") or ())),
        published=_stored_time(stored.get("published")),
        source=stored.get("source", ""),
        url=stored.get("url", ""),
        origin=origin,
    )


def _stored_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
