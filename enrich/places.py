"""Places: the administrative units a document is about — province and commune/ward of Vietnam's
two-level structure of 1 July 2025 (34 provinces, 3,321 communes, wards and special zones).

Model card
----------
* **Output.** :func:`find_places` returns a list of dicts, provinces first, then wards, each in the
  order of first mention: ``{"code": "24", "name": "Bắc Ninh", "level": "province", "province": "24",
  "province_name": "Bắc Ninh", "matched": "tỉnh Bắc Ninh"}`` and ``{"code": "09367", "name": "Phường Từ
  Sơn", "level": "ward", "province": "24", "province_name": "Bắc Ninh", "matched": "phường Từ Sơn"}``.
  Every ward brings its province (without ``matched`` when the province itself was not named), so a
  filter on a province code finds documents that name only one of its communes. Codes are the General
  Statistics Office codes (2 digits for a province, 5 for a ward), as strings.
* **Data, not typed lists.** Today's units come from ``vietnam-provinces`` (the official list and codes
  of the 2025 structure). Names from before 2025 and how they map onto today's units come from
  ``vietnamadminunits`` (MIT, ships the 63-province list with its 10,040 communes/wards and 696 districts,
  and the 63 → 34 mapping of the 2025 resolutions); its modules import shapely and geopy, so only its
  data files are read here (SQLite ``dataset.db`` and ``converter_2025.json``), located without
  importing it. Its unit codes of 2025 predate the final list in 114 places, so its units are joined to
  ``vietnam-provinces`` by province code and name, never by its codes.
* **Old names.** A commune/ward of before 2025 maps to the one unit it was merged into; one that was
  split maps to its province. A district (abolished in 2025: ``huyện``, ``quận``, ``thị xã``, a provincial
  ``thành phố``) maps to the one unit all of its communes went into, else to its province. A province
  merged into another maps to today's province.
* **Matching.** Over the title and text, on words folded like search folds them
  (:func:`enrich.folding.fold`), so "phuong Tu Son" matches as "phường Từ Sơn"; where a word carries
  diacritics they must be the official ones (tone placement aside: "Hoà" = "Hòa"), so "Huệ" is not
  "Huế". A name with its type word before it ("xã", "phường", "đặc khu", "thị trấn", "tỉnh",
  "thành phố"/"TP.", "huyện", "quận", "thị xã"/"TX.", in any case) or after it in English ("Tu Son
  ward", "Bac Ninh province") is taken; names listed after one type word inherit it ("các phường Đình
  Bảng, Tân Hồng"). Without a type word, a province name (or a province's alias in the data: "HCM")
  is taken when capitalised; a commune, ward or old district name only when it has two or more
  syllables (one only right after "ở", "tại", "về", "đến", "từ", "qua", "sang"), every one
  capitalised, is not part of a longer capitalised name ("Nguyễn Văn An"), does not follow a street or
  person word (:data:`NOT_A_PLACE_BEFORE`), and lies in a province the document names or in the
  source's home province. Words typed without diacritics are names only in a passage without them
  ("cho biết" is not the old "thị trấn Chờ").
* **Ambiguity.** A name held by units in several provinces goes to the one province among them that
  the document names elsewhere (the nearest mention when several), else to the source's home province
  (``province`` in ``sources.yaml``), else, for a name written with its type word, to the one province
  where it names a unit of today (not only an old one); else it is dropped. Within one province, a
  unit of today beats an old name, and the type word as written beats another; two units still tied
  give the province alone, and so does a bare name that was also a district's ("Từ Sơn": the old city,
  now four wards, or the ward of that name?).
* **Figures** on 133 documents of the local test site labeled by hand (``tests/fixtures/places/``,
  whose README says how), the source's home province Bắc Ninh: provinces precision 0.99, recall 0.97;
  communes/wards precision 0.94, recall 0.97 (on the 116 pages written before this module: 0.93 and
  0.96). The misses and false places are mostly real ambiguity: "Kinh Bắc" the historic region read
  as today's ward, commune names inside product names ("bánh phu thê Đình Bảng"), one-syllable names
  without a type word ("hồ Lim"). ``bench/README.md`` ("Places") has the breakdown;
  ``tests/test_places.py`` keeps floors under them.
* **Limits.** No street addresses, villages or landmarks; no spelling mistakes; text in capitals only
  matches with type words; an old commune split between new ones gives its province only; a commune's
  name inside a product's or an organisation's name may count as a place.
* **Cost.** The index is built once per process (about 0.35 s CPU, 45 MB). Matching is one
  Aho-Corasick pass (``pyahocorasick``) over the document's folded words joined by single spaces:
  about 9,000 patterns at once, 0.07 ms for a 2,200-character article, where one regex alternation of
  the same names took 9 ms (measured on 100 VNTC articles). Folding is ``str.translate`` with a table
  built from :func:`index.folding.fold_char` (the same folding as search, at C speed). Cheap filters
  (a capital, or a type word next to it) drop most matches before a name is read. In all about 0.5 ms
  of CPU per 2,200-character article; the crawl runs it beside the models (``crawlers.pipelines``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from enrich.folding import fold_char

#: Bump when the matching rules change: it is part of :func:`places_version`, so backfill re-tags.
RULES_VERSION = "1"

PROVINCE = "province"
WARD = "ward"

# Type words, folded, as they precede a name: word tuple -> (class, official spelling or None for an abbreviation).
_TYPES: dict[tuple[str, ...], tuple[str, str | None]] = {
    ("xa",): ("xa", "xã"),
    ("phuong",): ("phuong", "phường"),
    ("dac", "khu"): ("dac khu", "đặc khu"),
    ("thi", "tran"): ("thi tran", "thị trấn"),
    ("tinh",): ("tinh", "tỉnh"),
    ("thanh", "pho"): ("thanh pho", "thành phố"),
    ("tp",): ("thanh pho", None),
    ("huyen",): ("huyen", "huyện"),
    ("quan",): ("quan", "quận"),
    ("thi", "xa"): ("thi xa", "thị xã"),
    ("tx",): ("thi xa", None),
}
# English type words after a name ("Tu Son ward"): word -> classes it stands for.
_TYPES_AFTER: dict[str, tuple[str, ...]] = {
    "ward": ("phuong",),
    "commune": ("xa",),
    "province": ("tinh",),
    "district": ("huyen", "quan"),
    "town": ("thi xa", "thi tran"),
    "city": ("thanh pho",),
}
#: The last word of every type word: where to look for one before a name.
_TYPE_ENDS = frozenset(words[-1] for words in _TYPES)
_WARD_TYPES = frozenset({"xa", "phuong", "dac khu", "thi tran"})
_OLD_WARD_TYPES = frozenset({"xa", "phuong", "thi tran"})
_DISTRICT_TYPES = frozenset({"huyen", "quan", "thi xa", "thanh pho"})
#: Folded words after which a capitalised name is a street, a landmark or a person, not a place
#: ("đường Trần Phú", "bà Tân Hồng"). Hand-written: no package lists them; measured on the labeled set.
NOT_A_PLACE_BEFORE = frozenset(
    "duong pho ngo ngach hem kiet ong ba anh chi co chu bac cu em thay nguoi ten dai lo tuyen".split()
)
#: Capitalised words that may start a sentence right before a bare name ("Tại Từ Sơn, …", "Đi Đình Bảng …").
_LEADING_WORDS = frozenset("o tai tu ve den qua sang gan khu va cac nhu trong ngoai di len xuong ra vao".split())
#: Words after which a capitalised one-syllable name is a place ("ở Lim", "về Lim"); other one-syllable names
#: need their type word ("thị trấn Lim"): alone they are too often given names.
_PLACE_PREPOSITIONS = frozenset("o tai ve den tu qua sang".split())
_SINGLE_TRIGGERS_BEFORE = _TYPE_ENDS | _PLACE_PREPOSITIONS
#: Words joining names listed after one type word ("các xã Đông Thọ, Văn Môn và Dũng Liệt").
_LIST_JOINERS = frozenset({"va", "hoac", "cung", "and", "or"})

_WORD = re.compile(r"[^\W_]+")
_SPLIT = re.compile(r"([^\W_]+)")
_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}


@dataclass(frozen=True)
class Unit:
    """A unit of today: a province or a commune/ward/special zone."""

    code: str
    name: str  # official, with the type for wards: "Phường Từ Sơn"; "Bắc Ninh", "Thành phố Hà Nội"
    level: str  # PROVINCE | WARD
    province: str  # the province's code (its own for a province)
    province_name: str
    short: str = ""  # the name without its type word: "Từ Sơn", "Hà Nội"

    def as_dict(self, matched: str | None = None) -> dict[str, Any]:
        out = {"code": self.code, "name": self.name, "level": self.level, "province": self.province,
               "province_name": self.province_name}
        if matched:
            out["matched"] = matched
        return out


@dataclass(frozen=True)
class _Entry:
    """One way a folded name can be read: what it resolves to, and how it may be written."""

    target: Unit  # a ward, or a province where an old name is ambiguous
    kind: str  # province | ward | old_province | old_district | old_ward
    types: frozenset[str]  # type classes that may stand before it
    own_type: str  # the type it has (or had)
    form: tuple[str, ...]  # the official name's syllables, tone-canonical, lower case

    @property
    def current(self) -> bool:
        return not self.kind.startswith("old_")

    @property
    def province_level(self) -> bool:
        return self.kind in ("province", "old_province")


@dataclass
class _Hit:
    start: int  # first token of the name
    end: int  # one past its last token
    type_start: int  # first token of the type word (== start when untyped)
    type_class: str | None
    entries: list[_Entry]
    provinces: set[str] = field(default_factory=set)
    chosen: Unit | None = None


# -- text helpers -----------------------------------------------------------------------------------


def _fold_table() -> dict[int, str]:
    """Each precomposed Latin letter (Latin-1 to Latin Extended-B, Latin Extended Additional: all of
    Vietnamese) -> :func:`enrich.folding.fold_char` of it, for ``str.translate``: the same folding as
    search, at C speed (``fold`` goes character by character in Python)."""
    table: dict[int, str] = {}
    for lo, hi in ((0xC0, 0x250), (0x1E00, 0x1F00)):
        for code in range(lo, hi):
            ch = chr(code)
            if ch.isalpha() and (folded := fold_char(ch)) and folded != ch:
                table[code] = folded
    return table


_FOLD = _fold_table()


def fold_text(text: str) -> str:
    """``enrich.folding.fold`` for Latin text (the only text names are in), at C speed."""
    return text.translate(_FOLD).lower()


@lru_cache(maxsize=200_000)
def _fold_word(word: str) -> str:
    return fold_text(word)


@lru_cache(maxsize=200_000)
def canonical(word: str) -> str:
    """A syllable lower-cased with its tone mark moved to the end, so old and new tone placement
    compare equal (``canonical("Hoà") == canonical("hòa")``) while different tones or vowels do not."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [_TONES[ch] for ch in decomposed if ch in _TONES]
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
    return base + "".join(tones)


def _name_key(name: str) -> str:
    return " ".join(_fold_word(w) for w in _WORD.findall(name))


def _form(name: str) -> tuple[str, ...]:
    return tuple(canonical(w) for w in _WORD.findall(name))


def _strip_type(name: str) -> tuple[str, str]:
    """``"Phường Từ Sơn"`` -> (``"phuong"``, ``"Từ Sơn"``); the class is "" when no type word leads."""
    words = name.split()
    folded = [_fold_word(w) for w in words]
    for n in (2, 1):
        key = tuple(folded[:n])
        if key in _TYPES and len(words) > n:
            return _TYPES[key][0], " ".join(words[n:])
    return "", name


# -- the gazetteer ----------------------------------------------------------------------------------


class Gazetteer:
    """Today's units and every name they, or the units before 2025, go by. Build once (:func:`gazetteer`)."""

    def __init__(self) -> None:
        import ahocorasick
        from vietnam_provinces import Province, Ward

        self.provinces: dict[str, Unit] = {}
        self.wards: dict[str, Unit] = {}
        self.names: dict[str, list[_Entry]] = {}
        for p in Province.iter_all():
            code = f"{int(p.code):02d}"
            kind, short = _strip_type(p.name)
            unit = Unit(code, p.name, PROVINCE, code, p.name, short)
            self.provinces[code] = unit
            own = "thanh pho" if kind == "thanh pho" else "tinh"
            self._add(short, _Entry(unit, PROVINCE, frozenset({own}), own, _form(short)))
        for w in Ward.iter_all():
            code = f"{int(w.code):05d}"
            province = self.provinces[f"{int(w.province_code):02d}"]
            kind, short = _strip_type(w.name)
            unit = Unit(code, w.name, WARD, province.code, province.name, short)
            self.wards[code] = unit
            self._add(short, _Entry(unit, WARD, _WARD_TYPES, kind, _form(short)))
        self.old_names = self._add_old_names()
        self._add_aliases()
        self.province_keys = frozenset(k for k, entries in self.names.items() if any(e.province_level for e in entries))
        # One-syllable names ("Lim", "Chờ", "Hồ") are ordinary syllables too: they are looked up only after a
        # type word or a preposition (or before an English type word), not scanned for.
        self.single = frozenset(k for k in self.names if " " not in k and k not in self.province_keys)
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for key in self.names:  # pattern -> (the name, characters after it in the pattern)
            if key not in self.single:
                self.automaton.add_word(f" {key} ", (key, 0))
                continue
            for word in _SINGLE_TRIGGERS_BEFORE:
                self.automaton.add_word(f" {word} {key} ", (key, 0))
            for word in _TYPES_AFTER:
                self.automaton.add_word(f" {key} {word} ", (key, len(word) + 1))
        self.automaton.make_automaton()

    def _add(self, name: str, entry: _Entry) -> None:
        key = _name_key(name)
        if key:
            self.names.setdefault(key, []).append(entry)

    def _add_old_names(self) -> int:
        """Names from before 2025 (vietnamadminunits' data), each mapped to today's unit or province."""
        data = _vau_data_dir()
        if data is None:
            return 0
        by_name: dict[tuple[str, str], list[Unit]] = {}
        by_key: dict[tuple[str, str], list[Unit]] = {}
        for unit in self.wards.values():
            by_name.setdefault((unit.province, " ".join(_form(unit.name))), []).append(unit)
            by_key.setdefault((unit.province, _name_key(unit.name)), []).append(unit)

        def ward_of(province: str, name: str) -> Unit | None:
            found = by_name.get((province, " ".join(_form(name)))) or by_key.get((province, _name_key(name))) or []
            return found[0] if len(found) == 1 else None

        with sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True) as db:
            new_rows = db.execute("SELECT provinceKey, wardKey, provinceCode, ward FROM admin_units").fetchall()
            old_rows = db.execute(
                "SELECT provinceKey, districtKey, wardKey, province, district, ward, districtType, wardType "
                "FROM admin_units_legacy"
            ).fetchall()
        mapping = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))
        new_province_code: dict[str, str] = {}
        new_ward: dict[tuple[str, str], Unit | None] = {}
        for pkey, wkey, pcode, ward in new_rows:
            code = f"{int(pcode):02d}"
            new_province_code[pkey] = code
            new_ward[(pkey, wkey)] = ward_of(code, ward)
        old_province: dict[str, str] = {}
        for new_key, old_keys in mapping["DICT_PROVINCE"].items():
            for old_key in old_keys:
                old_province[old_key] = new_province_code[new_key]
        whole: dict[str, Unit | None] = {}  # old "province_district_ward" key -> the new ward it went into
        for new_pkey, wards in mapping["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
            for new_wkey, old_keys in wards.items():
                for old_key in old_keys:
                    whole[old_key] = new_ward.get((new_pkey, new_wkey))
        split: set[str] = {old for wards in mapping["DICT_PROVINCE_WARD_DIVIDED"].values() for old in wards}

        districts: dict[tuple[str, str], tuple[str, str, set[str | None], str]] = {}
        seen_provinces: set[str] = set()
        count = 0
        for pkey, dkey, wkey, pname, dname, wname, dtype, wtype in old_rows:
            province = old_province.get(pkey)
            if province is None:
                continue
            if pkey not in seen_provinces:
                seen_provinces.add(pkey)
                kind, short = _strip_type(pname)
                own = "thanh pho" if kind == "thanh pho" else "tinh"
                self._add(short, _Entry(self.provinces[province], "old_province", frozenset({own}), own, _form(short)))
            old_key = f"{pkey}_{dkey}_{wkey or ''}"
            target: Unit | None = None if old_key in split else whole.get(old_key)
            district = districts.setdefault((pkey, dkey), (dname, province, set(), _fold_word(dtype or "")))
            district[2].add(target.code if target else None)
            if not wname:
                continue
            _, short = _strip_type(wname)
            own = _fold_word(wtype or "")
            unit = target or self.provinces[province]
            self._add(short, _Entry(unit, "old_ward", _OLD_WARD_TYPES, own, _form(short)))
            count += 1
        for dname, province, targets, dtype in districts.values():
            _, short = _strip_type(dname)
            only = next(iter(targets)) if len(targets) == 1 else None
            unit = self.wards[only] if only else self.provinces[province]
            self._add(short, _Entry(unit, "old_district", _DISTRICT_TYPES, dtype, _form(short)))
        return count

    def _add_aliases(self) -> None:
        """Provinces' short names in vietnamadminunits' data ("hcm", "hn"), read as written in capitals."""
        data = _vau_data_dir()
        if data is None:
            return
        with sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT DISTINCT provinceCode, provinceAlias FROM admin_units "
                              "WHERE provinceAlias IS NOT NULL").fetchall()
        for code, aliases in rows:
            unit = self.provinces[f"{int(code):02d}"]
            for alias in json.loads(aliases):
                self._add(alias, _Entry(unit, PROVINCE, frozenset({"thanh pho", "tinh"}), "thanh pho",
                                        (canonical(alias.upper()),)))

    # -- lookups for people (search filters) -------------------------------------------------------
    def unit(self, code: str) -> Unit | None:
        code = code.strip()
        if code.isdigit():
            return self.provinces.get(f"{int(code):02d}") if len(code) <= 2 else self.wards.get(f"{int(code):05d}")
        return None

    def lookup(self, text: str) -> list[Unit]:
        """Today's units a person means by ``text``: a code, or a name with or without diacritics and
        type word, optionally followed by ``, <province>`` ("Tân Tiến, Hưng Yên"). A name that is a
        province's means the province unless a ward type word says otherwise. Several units: ambiguous."""
        if (unit := self.unit(text)) is not None:
            return [unit]
        name, _, within = text.partition(",")
        type_class, short = _strip_type(name.strip())
        key = _name_key(short)
        entries = [e for e in self.names.get(key, ()) if e.current]
        if type_class:
            entries = [e for e in entries if type_class in e.types]
        if within.strip():
            provinces = {u.code for u in self.lookup(within.strip()) if u.level == PROVINCE}
            entries = [e for e in entries if e.target.province in provinces]
        exact = [e for e in entries if e.form == _form(short)]
        entries = exact or entries
        if not type_class or type_class in ("tinh", "thanh pho"):
            provinces_only = [e for e in entries if e.province_level]
            entries = provinces_only or entries
        if type_class:
            typed = [e for e in entries if e.own_type == type_class]
            entries = typed or entries
        units = {e.target.code: e.target for e in entries}
        return sorted(units.values(), key=lambda u: (u.level != PROVINCE, u.province, u.code))


def _vau_data_dir() -> Path | None:
    """vietnamadminunits' data folder, found without importing the package (its modules need shapely)."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "data"
    return path if (path / "dataset.db").is_file() else None


_GAZETTEER: Gazetteer | None = None
_LOCK = threading.Lock()


def gazetteer() -> Gazetteer:
    """The process's gazetteer, built on first use."""
    global _GAZETTEER
    with _LOCK:
        if _GAZETTEER is None:
            _GAZETTEER = Gazetteer()
        return _GAZETTEER


@lru_cache(maxsize=1)
def places_version() -> str:
    """``places-<rules>@<digest>``: changes when the rules or either package's data (version) change."""
    parts = [RULES_VERSION]
    for dist in ("vietnam-provinces", "vietnamadminunits"):
        try:
            parts.append(f"{dist}={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{dist}=none")
    return f"places-{RULES_VERSION}@{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:12]}"


@lru_cache(maxsize=1)
def _province_names() -> dict[str, str]:
    """Folded province name (with and without its type word) or code -> code, from vietnam-provinces
    alone: validating a sources file does not build the whole gazetteer."""
    from vietnam_provinces import Province

    names: dict[str, str] = {}
    for p in Province.iter_all():
        code = f"{int(p.code):02d}"
        _, short = _strip_type(p.name)
        for key in (code, str(int(p.code)), _name_key(p.name), _name_key(short), f"tinh {_name_key(short)}",
                    f"tp {_name_key(short)}"):
            names[key] = code
    return names


def normalize_province(value: str | int) -> str:
    """A province's code from its code or name ("24", 24, "Bắc Ninh", "bac ninh", "tỉnh Bắc Ninh");
    ValueError naming a few valid values otherwise."""
    text = str(value).strip()
    code = _province_names().get(text if text.isdigit() else _name_key(text))
    if code is None:
        raise ValueError(f"not a province of the 2025 list: {value!r} (give its code or name, e.g. 24 or Bắc Ninh)")
    return code


# -- matching ---------------------------------------------------------------------------------------


class _Text:
    """A text's words: originals, folded forms, the separators before them (``gaps[i]`` precedes word
    ``i``; one more, the tail, ends the list), and the folded words joined by single spaces."""

    def __init__(self, text: str) -> None:
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
        parts = _SPLIT.split(text)
        self.words: list[str] = parts[1::2]
        self.gaps: list[str] = parts[0::2]
        folded = fold_text(" ".join(self.words))
        self.folded = folded.split(" ")
        if len(self.folded) != len(self.words):  # a letter that folds to nothing: fold word by word
            self.folded = [fold_text(w) for w in self.words]
            folded = " ".join(self.folded)
        self.joined = f" {folded} "

    def word_at(self, pos: int) -> int:
        """The index of the word starting at ``pos`` in ``joined`` (after ``i + 1`` spaces)."""
        return self.joined.count(" ", 0, pos) - 1

    def span(self, start: int, end: int) -> str:
        out = self.words[start]
        for i in range(start + 1, end):
            out += self.gaps[i] + self.words[i]
        return out

    def adjacent(self, i: int) -> bool:
        """Whether word ``i`` follows word ``i - 1`` on the same line with only spaces between."""
        gap = self.gaps[i]
        return i > 0 and (not gap or gap == " " or (gap.isspace() and "\n" not in gap))

    def capitalised(self, i: int) -> bool:
        return self.words[i][:1].isupper()


def _diacritics_ok(words: Sequence[str], form: Sequence[str], plain: bool = True) -> bool:
    """Words typed without diacritics match any name where the passage around them has none either
    (``plain``); words with diacritics must match the name's spelling."""
    if all(w.isascii() for w in words):
        return plain or all(f.isascii() for f in form)
    return len(words) == len(form) and all(canonical(w) == f for w, f in zip(words, form, strict=True))


def _plain_around(text: _Text, start: int, end: int) -> bool:
    """Whether the words next to ``start``..``end`` carry no diacritics (a passage typed without them)."""
    near = [text.words[i] for i in (start - 1, end) if 0 <= i < len(text.words)]
    return all(w.isascii() for w in near)


def _type_before(text: _Text, start: int) -> tuple[str, int] | None:
    """The type word right before word ``start`` (class, its first word), if any."""
    for n in (2, 1):
        first = start - n
        if first < 0 or not all(text.adjacent(i) or text.gaps[i].strip() == "." for i in range(first + 1, start + 1)):
            continue
        key = tuple(text.folded[first:start])
        if key not in _TYPES:
            continue
        cls, spelling = _TYPES[key]
        words = text.words[first:start]
        if spelling is not None and not all(w.isascii() for w in words):
            if [canonical(w) for w in words] != [canonical(s) for s in spelling.split()]:
                continue
        return cls, first
    return None


def _types_after(text: _Text, end: int) -> tuple[str, ...]:
    if end < len(text.words) and text.adjacent(end):
        return _TYPES_AFTER.get(text.folded[end], ())
    return ()


def find_places(title: str | None, text: str | None, *, home: str | None = None,
                gaz: Gazetteer | None = None) -> list[dict[str, Any]]:
    """The units ``title`` and ``text`` are about (see the module docstring); ``home``: the source's
    home province code, used to resolve names held by several provinces. Never raises on text."""
    gaz = gaz or gazetteer()
    body = "\n".join(part for part in (title, text) if part)
    if not body.strip():
        return []
    words = _Text(body)
    hits = _hits(gaz, words)
    if not hits:
        return []
    _resolve(gaz, hits, home)
    provinces: dict[str, str | None] = {}
    wards: dict[str, str] = {}
    for hit in hits:
        unit = hit.chosen
        if unit is None:
            continue
        matched = words.span(hit.type_start, hit.end)
        if unit.level == WARD:
            wards.setdefault(unit.code, matched)
            provinces.setdefault(unit.province, None)
        elif provinces.get(unit.code) is None:
            provinces[unit.code] = matched
    out = [gaz.provinces[code].as_dict(matched) for code, matched in provinces.items()]
    out += [gaz.wards[code].as_dict(matched) for code, matched in wards.items()]
    return out


def _hits(gaz: Gazetteer, text: _Text) -> list[_Hit]:
    """Every name occurrence that the rules accept, with the entries it may stand for, left to right.
    A type word followed by a name reads as such even where the type word could start another name
    ("xã Lương Tài", not "Xá Lượng" + "Tài")."""
    raw: dict[int, list[tuple[int, str]]] = {}  # start word -> [(end word, key)], longest first
    words, folded, count = text.words, text.folded, len(text.words)
    for end_pos, (key, after) in gaz.automaton.iter(text.joined):
        # The match is " [word ]key[ word] ", end_pos its last character (a space).
        start = text.word_at(end_pos - after - len(key))
        end = start + key.count(" ") + 1
        # A cheap filter first (most matches are ordinary words): a name needs a type word before or after it,
        # or a capital.
        if not ((start > 0 and folded[start - 1] in _TYPE_ENDS) or (end < count and folded[end] in _TYPES_AFTER)):
            if not words[start][:1].isupper():
                continue
        raw.setdefault(start, []).append((end, key))
    for found in raw.values():
        found.sort(reverse=True)
    hits: list[_Hit] = []
    covered = 0
    previous: _Hit | None = None
    for start in sorted(raw):
        if start < covered:
            continue  # inside a name read already
        hit = None
        for n in (2, 1):
            after_type = start + n
            if tuple(text.folded[start:after_type]) in _TYPES and after_type in raw:
                hit = _first(gaz, text, after_type, raw[after_type], previous)
                if hit is not None and hit.type_start == start:
                    break
                hit = None
        hit = hit or _first(gaz, text, start, raw[start], previous)
        if hit is not None:
            hits.append(hit)
            covered = hit.end
            previous = hit
    return hits


def _first(gaz: Gazetteer, text: _Text, start: int, found: list[tuple[int, str]], previous: _Hit | None
           ) -> _Hit | None:
    for end, key in found:
        hit = _read(gaz, text, start, end, key, previous)
        if hit is not None:
            return hit
    return None


def _read(gaz: Gazetteer, text: _Text, start: int, end: int, key: str, previous: _Hit | None) -> _Hit | None:
    name_words = text.words[start:end]
    capitalised = all(w[:1].isupper() for w in name_words)
    before = _type_before(text, start) if start > 0 and text.folded[start - 1] in _TYPE_ENDS else None
    classes: tuple[str, ...] = ()
    type_start = start
    if before is not None:
        classes, type_start = (before[0],), before[1]
    elif after := _types_after(text, end):
        classes = after
    elif (capitalised and previous is not None and previous.type_class and previous.end <= start and end - start > 1
          and _listed(text, previous.end, start)):
        classes = (previous.type_class,)
    elif not capitalised:
        return None  # a bare name must be capitalised
    entries = gaz.names[key]
    if classes:
        plain = _plain_around(text, type_start, end)
        chosen = [e for e in entries
                  if any(c in e.types for c in classes) and _diacritics_ok(name_words, e.form, plain)]
        if not chosen:
            return None
        exact = [e for e in chosen if e.own_type in classes]
        return _Hit(start, end, type_start, classes[0], exact + [e for e in chosen if e not in exact])
    # A bare name: a whole proper name, not a street or a person.
    if start > 0 and text.adjacent(start):
        if text.capitalised(start - 1) and not _sentence_lead(text, start - 1):
            return None
        if text.folded[start - 1] in NOT_A_PLACE_BEFORE:
            return None
    if end < len(text.words) and text.adjacent(end) and text.capitalised(end):
        return None
    plain = _plain_around(text, start, end)
    chosen = [e for e in entries if _diacritics_ok(name_words, e.form, plain)]
    provinces = [e for e in chosen if e.province_level]
    if provinces:
        return _Hit(start, end, start, None, provinces)
    if end - start < 2 and not (start > 0 and text.adjacent(start) and text.folded[start - 1] in _PLACE_PREPOSITIONS):
        return None
    chosen = [e for e in chosen if not e.province_level]
    return _Hit(start, end, start, None, chosen) if chosen else None


def _sentence_lead(text: _Text, i: int) -> bool:
    """Word ``i`` starts a sentence and is a preposition or the like ("Tại", "Ở")."""
    gap = text.gaps[i].strip()
    starts_sentence = i == 0 or gap[-1:] in (".", "!", "?", ":", "\n", "“", '"', "(", "-", "–") or "\n" in text.gaps[i]
    return starts_sentence and text.folded[i] in _LEADING_WORDS


def _listed(text: _Text, end: int, start: int) -> bool:
    """Words ``end``..``start`` (exclusive) only join list items: ", ", " và ", "; " (at least one)."""
    joined = False
    for i in range(end, start + 1):
        gap = text.gaps[i].strip()
        if gap not in ("", ",", ";"):
            return False
        if i < start and text.folded[i] not in _LIST_JOINERS:
            return False
        joined = joined or bool(gap) or i < start
    return joined


def _resolve(gaz: Gazetteer, hits: list[_Hit], home: str | None) -> None:
    """Choose each hit's unit: by the document's other places, then the source's home province."""
    for hit in hits:
        hit.provinces = {e.target.province for e in hit.entries}
    context: dict[str, list[int]] = {}  # province -> positions of unambiguous mentions
    for hit in hits:
        if len(hit.provinces) == 1 and (hit.type_class or hit.entries[0].province_level):
            context.setdefault(next(iter(hit.provinces)), []).append(hit.start)
    for hit in hits:
        province = _pick_province(hit, context, home)
        if province is None:
            continue
        bare_ward = hit.type_class is None and not hit.entries[0].province_level
        if bare_ward and province not in context and province != home:
            continue
        entries = [e for e in hit.entries if e.target.province == province]
        hit.chosen = _pick_unit(entries, hit.type_class) or gaz.provinces[province]


def _pick_province(hit: _Hit, context: dict[str, list[int]], home: str | None) -> str | None:
    if len(hit.provinces) == 1:
        return next(iter(hit.provinces))
    named = [p for p in hit.provinces if p in context]
    if len(named) == 1:
        return named[0]
    if named:
        return min(named, key=lambda p: min(abs(pos - hit.start) for pos in context[p]))
    if home in hit.provinces:
        return home
    today = {e.target.province for e in hit.entries if e.current}
    return next(iter(today)) if len(today) == 1 and hit.type_class else None


def _pick_unit(entries: list[_Entry], type_class: str | None) -> Unit | None:
    """Within one province: today's unit over an old name, the type as written over another; a tie of
    different units gives None (the province)."""
    if type_class is None and any(e.kind == "old_district" and e.target.level == PROVINCE for e in entries):
        return None  # a bare "Từ Sơn" may mean the old district, which is several of today's units

    def rank(e: _Entry) -> tuple[bool, bool]:
        return (e.current, type_class is not None and e.own_type == type_class)

    best = max(rank(e) for e in entries)
    targets = {e.target.code: e.target for e in entries if rank(e) == best}
    return next(iter(targets.values())) if len(targets) == 1 else None


def document_places(docs: Iterable[dict[str, Any]], provinces: dict[str, str] | None = None
                    ) -> list[list[dict[str, Any]]]:
    """``places`` for each doc (keys read: ``title``, ``text``, ``source``); ``provinces``: source id ->
    home province code."""
    gaz = gazetteer()
    homes = provinces or {}
    return [find_places(d.get("title"), d.get("text"), home=homes.get(d.get("source") or ""), gaz=gaz) for d in docs]
