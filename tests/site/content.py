"""Raw material for the generated site: places, names, story kits and forum scripts (from the .txt files)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .text import WEEKDAYS_EN, WEEKDAYS_VI, strip_diacritics, to_local, vi_dec, vi_int

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Place:
    name: str  # "Từ Sơn"
    kind: str  # "thành phố" | "thị xã" | "huyện"
    communes: tuple[tuple[str, str], ...]  # (kind, name): ("phường", "Đình Bảng")

    @property
    def full(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def en(self) -> str:
        return strip_diacritics(self.name)


PLACES: tuple[Place, ...] = (
    Place("Bắc Ninh", "thành phố",
          (("phường", "Vũ Ninh"), ("phường", "Kinh Bắc"), ("phường", "Đại Phúc"), ("phường", "Võ Cường"))),
    Place("Từ Sơn", "thành phố",
          (("phường", "Đình Bảng"), ("phường", "Đồng Kỵ"), ("phường", "Tân Hồng"), ("phường", "Phù Chẩn"))),
    Place("Yên Phong", "huyện",
          (("thị trấn", "Chờ"), ("xã", "Đông Thọ"), ("xã", "Dũng Liệt"), ("xã", "Văn Môn"))),
    Place("Quế Võ", "thị xã",
          (("phường", "Phương Liễu"), ("phường", "Phố Mới"), ("xã", "Việt Hùng"), ("xã", "Châu Phong"))),
    Place("Tiên Du", "huyện",
          (("thị trấn", "Lim"), ("xã", "Liên Bão"), ("xã", "Phật Tích"), ("xã", "Hoàn Sơn"))),
    Place("Thuận Thành", "thị xã",
          (("phường", "Hồ"), ("phường", "Gia Đông"), ("xã", "Đình Tổ"), ("phường", "Song Hồ"))),
    Place("Gia Bình", "huyện",
          (("thị trấn", "Gia Bình"), ("xã", "Đông Cứu"), ("xã", "Vạn Ninh"), ("xã", "Cao Đức"))),
    Place("Lương Tài", "huyện",
          (("thị trấn", "Thứa"), ("xã", "Lâm Thao"), ("xã", "Trung Kênh"), ("xã", "An Thịnh"))),
)
PLACE_NAMES: tuple[str, ...] = tuple(p.name for p in PLACES)
PLACE_NAMES_EN: tuple[str, ...] = tuple(p.en for p in PLACES)

SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Ngô", "Dương", "Đặng", "Bùi", "Nguyễn")
MALE_MIDDLE = ("Văn", "Minh", "Quang", "Đức", "Hữu", "Thanh", "Xuân")
MALE_GIVEN = ("Hùng", "Tuấn", "Dũng", "Long", "Bình", "Sơn", "Hải", "Thắng", "Cường", "Khánh", "Quân")
FEMALE_MIDDLE = ("Thị", "Thu", "Ngọc", "Thanh", "Minh")
FEMALE_GIVEN = ("Lan", "Hương", "Hà", "Thảo", "Nga", "Mai", "Hạnh", "Hoa", "Huyền", "Loan", "Trang")
REPORTERS_VI = ("Nguyễn Thu Hà", "Trần Minh Đức", "Lê Thanh Hương", "Phạm Quang Huy", "Đỗ Ngọc Lan",
                "Vũ Hoàng Nam", "Ngô Thị Mai", "Hoàng Văn Tuấn", "Bùi Thanh Tùng")
REPORTERS_EN = ("Minh Anh", "Thu Trang", "Hoang Long")
COMMENTERS = ("Minh Tuấn", "Bạn đọc Hà", "Hương Giang", "Nguyễn Nam", "Lan Anh", "Quốc Bảo", "Thanh Tâm",
              "Đức Huy", "Phương Linh")
ROADS = ("ĐT.295B", "ĐT.276", "ĐT.287", "ĐT.280", "ĐT.282", "ĐT.285B", "ĐT.277")
KCN = ("Yên Phong", "Quế Võ", "VSIP Bắc Ninh", "Tiên Sơn", "Thuận Thành II", "Gia Bình")
QUARTERS = ("I", "II", "III", "IV")
SCORES = ("2-1", "3-1", "1-0", "2-0", "3-2")


def _parse_blocks(name: str) -> list[tuple[str, str, dict[str, list[str]]]]:
    """Parse '[kind name]' blocks of 'key: value' lines; ';' starts a comment line."""
    blocks: list[tuple[str, str, dict[str, list[str]]]] = []
    for raw in (HERE / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            kind, _, block_name = line.strip("[]").partition(" ")
            blocks.append((kind, block_name, {}))
            continue
        key, sep, value = line.partition(":")
        if not sep or not blocks:
            raise ValueError(f"{name}: bad line {raw!r}")
        blocks[-1][2].setdefault(key.strip(), []).append(value.strip())
    return blocks


@dataclass(frozen=True)
class Kit:
    key: str
    section: str
    language: str
    floods: bool
    titles: tuple[str, ...]
    leads: tuple[str, ...]
    paras: tuple[str, ...]


@dataclass(frozen=True)
class ThreadScript:
    key: str
    section: str
    title: str
    starter: str
    first: str
    replies: tuple[str, ...]
    posts: int
    start_days: int
    floods: bool = False
    sticky: bool = False


@dataclass
class Stories:
    kits: dict[str, Kit] = field(default_factory=dict)
    generic: dict[str, tuple[str, ...]] = field(default_factory=dict)
    comments: dict[str, tuple[str, ...]] = field(default_factory=dict)


def load_stories() -> Stories:
    stories = Stories()
    for kind, name, values in _parse_blocks("stories.txt"):
        if kind == "kit":
            stories.kits[name] = Kit(
                key=name,
                section=values["section"][0],
                language=values.get("lang", ["vi"])[0],
                floods=values.get("floods", ["no"])[0] == "yes",
                titles=tuple(values["title"]),
                leads=tuple(values["lead"]),
                paras=tuple(values["para"]),
            )
        elif kind == "generic":
            stories.generic[name] = tuple(values["para"])
        elif kind == "comments":
            stories.comments[name] = tuple(values["text"])
    return stories


def load_forum() -> tuple[tuple[str, ...], tuple[str, ...], list[ThreadScript]]:
    """(handles, reactions, thread scripts) from forum.txt."""
    handles: tuple[str, ...] = ()
    reactions: tuple[str, ...] = ()
    threads: list[ThreadScript] = []
    for kind, name, values in _parse_blocks("forum.txt"):
        if kind == "handles":
            handles = tuple(values["handle"])
        elif kind == "reactions":
            reactions = tuple(values["reply"])
        elif kind == "thread":
            threads.append(ThreadScript(
                key=name,
                section=values["section"][0],
                title=values["title"][0],
                starter=values["starter"][0],
                first=values["first"][0],
                replies=tuple(values.get("reply", [])),
                posts=int(values["posts"][0]),
                start_days=int(values["start_days"][0]),
                floods=values.get("floods", ["no"])[0] == "yes",
                sticky=values.get("sticky", ["no"])[0] == "yes",
            ))
    return handles, reactions, threads


@dataclass(frozen=True)
class PlaceArticle:
    """A hand-written article naming communes and wards (places.txt), for the place tests."""

    key: str
    section: str
    language: str
    hours: int
    date_mode: str
    title: str
    lead: str
    paras: tuple[str, ...]


def load_place_articles() -> list[PlaceArticle]:
    return [
        PlaceArticle(
            key=name, section=values["section"][0], language=values.get("lang", ["vi"])[0],
            hours=int(values["hours"][0]), date_mode=values["date"][0], title=values["title"][0],
            lead=values["lead"][0], paras=tuple(values["para"]),
        )
        for kind, name, values in _parse_blocks("places.txt") if kind == "article"
    ]


def person(rng: random.Random, female: bool) -> str:
    middle, given = (FEMALE_MIDDLE, FEMALE_GIVEN) if female else (MALE_MIDDLE, MALE_GIVEN)
    return f"{rng.choice(SURNAMES)} {rng.choice(middle)} {rng.choice(given)}"


def slots(rng: random.Random, place: Place, now: datetime) -> dict[str, str]:
    """Values for the {placeholders} of one article, drawn once so numbers stay consistent within it."""
    commune, commune2 = rng.sample(place.communes, 2)
    local_now = to_local(now)
    weekday = rng.randrange(7)
    usd = rng.randrange(50, 480)
    values = {
        "place": place.name,
        "place_full": place.full,
        "Place_full": place.full[0].upper() + place.full[1:],
        "place_en": place.en,
        "commune": f"{commune[0]} {commune[1]}",
        "commune_name": commune[1],
        "commune2": f"{commune2[0]} {commune2[1]}",
        "commune_en": f"{strip_diacritics(commune[1])} {'ward' if commune[0] == 'phường' else 'commune'}",
        "man": person(rng, female=False),
        "man2": person(rng, female=False),
        "woman": person(rng, female=True),
        "woman2": person(rng, female=True),
        "weekday": WEEKDAYS_VI[weekday].lower() if weekday < 6 else "Chủ nhật",
        "weekday_en": WEEKDAYS_EN[weekday],
        "n": str(rng.randrange(3, 13)),
        "n2": str(rng.randrange(14, 60)),
        "n_big": vi_int(rng.randrange(1200, 9800)),
        "n_big_en": f"{rng.randrange(1200, 9800):,}",
        "n_people": vi_int(rng.randrange(3, 25) * 100),
        "n_people_en": f"{rng.randrange(3, 25) * 100:,}",
        "n_workers": vi_int(rng.randrange(8, 50) * 100),
        "n_workers_en": f"{rng.randrange(8, 50) * 100:,}",
        "n_students": vi_int(rng.randrange(20, 60) * 1000),
        "n_house": vi_int(rng.randrange(20, 80) * 100),
        "n_mil": str(rng.randrange(15, 90) * 10),
        "pct": str(rng.randrange(5, 35)),
        "pct2": str(rng.randrange(72, 98)),
        "money": vi_int(rng.randrange(120, 950)),
        "money_small": str(rng.randrange(5, 45)),
        "usd": str(usd),
        "bn_usd": vi_dec(rng.randrange(350, 550) / 10),
        "bn_usd_en": f"{rng.randrange(350, 550) / 10:.1f}",
        "km": vi_dec(rng.randrange(20, 150) / 10),
        "lanes": rng.choice(("4", "6")),
        "mins": str(rng.randrange(30, 55)),
        "ha": vi_int(rng.randrange(200, 3000)),
        "ha_en": f"{rng.randrange(200, 3000):,}",
        "mm": str(rng.randrange(120, 180)),
        "mm2": str(rng.randrange(200, 280)),
        "yield_": vi_dec(rng.randrange(580, 660) / 10),
        "quarter": rng.choice(QUARTERS),
        "year": str(local_now.year),
        "next_year": str(local_now.year + 1),
        "next_year2": str(local_now.year + 2),
        "road": rng.choice(ROADS),
        "kcn": rng.choice(KCN),
        "kcn_en": strip_diacritics(rng.choice(KCN)),
        "score": rng.choice(SCORES),
    }
    return values
