"""Assemble the whole site (news portal + forum) for one base URL and one `now`."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

from .content import (
    COMMENTERS,
    PLACE_NAMES,
    PLACE_NAMES_EN,
    PLACES,
    REPORTERS_EN,
    REPORTERS_VI,
    Place,
    Stories,
    load_place_articles,
    load_stories,
    slots,
)
from .forum import build_forum
from .model import HTML_UTF8, Article, Catalog, Page, Site, Special
from .news import (
    BOILERPLATE_MARKERS,
    CSS,
    PAGE_SIZE,
    SECTIONS,
    SITE_NAME,
    Draft,
    Theme,
    article_page,
    broken_article_page,
    home_page,
    listing_page,
    news_sitemap,
    rss_feed,
    simple_page,
    sitemap_index,
    story_item,
    urlset,
)
from .text import encode_cp1258, local_midnight_utc, short_time, slugify, to_local

DEFAULT_NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
SEED = 20261124

# section -> [(story kit, number of articles)]
PLAN: dict[str, list[tuple[str, int]]] = {
    "thoi-su": [("flood_rain", 2), ("flood_response", 1), ("road_upgrade", 3), ("traffic_safety", 3),
                ("council", 3)],
    "kinh-te": [("fdi", 3), ("factory_orders", 2), ("craft_village", 2), ("ocop", 2), ("harvest", 2)],
    "xa-hoi": [("flood_aid", 2), ("flood_response", 1), ("dengue", 2), ("hospital", 2), ("festival", 3),
               ("welfare", 2)],
    "giao-duc": [("new_school", 3), ("teachers_day", 3), ("exams", 2), ("scholarships", 3)],
    "the-thao": [("football", 3), ("running", 2), ("wrestling", 3), ("badminton", 3)],
    "english": [("en_flood", 2), ("en_invest", 3), ("en_culture", 4), ("en_society", 3)],
}
FLOOD_PLACES = ("Từ Sơn", "Yên Phong", "Từ Sơn", "Gia Bình", "Quế Võ", "Lương Tài", "Bắc Ninh")
RELATIVE = (("thoi-su", timedelta(minutes=20)), ("kinh-te", timedelta(minutes=35)),
            ("giao-duc", timedelta(hours=2)), ("the-thao", timedelta(hours=5)))
FEED_SIZE = 20
NEWS_SITEMAP_SIZE = 30

REDIRECT_START = "/tin-tuc/chuyen-huong-1.html"
REDIRECT_HOP = "/r/2"
DISALLOWED_PATH = "/noi-bo/tin-tuc/bao-cao-noi-bo-999.html"
DISALLOWED_TOKEN = "NOIBOSECRET"
CP1258_SENTENCE = "Người dân xã Phù Chẩn khắc phục hậu quả ngập lụt"

PLACE_FIRST_ID = 312601
PLACE_AUTHORS = ("Nguyễn Thu Hà", "Trần Minh Đức", "Lê Thanh Hương")

MAX_KIT_SIMILARITY = 0.4  # 5-word-shingle Jaccard between two stories of one kit

_FLOOD_WORDS = re.compile(r"lụt|ngập|flood", re.IGNORECASE)


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i:i + 5]) for i in range(len(words) - 4)}


def normalize_now(now: datetime | None) -> datetime:
    if now is None:
        return DEFAULT_NOW
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).replace(microsecond=0)


def _place(name: str) -> Place:
    return next(p for p in PLACES if p.name == name)


def _random_time(rng: random.Random, now: datetime, min_age: timedelta, max_age: timedelta) -> datetime:
    """A newsroom-hours (06:00–22:59 Vietnam time) moment between max_age and min_age before now."""
    while True:
        moment = now - timedelta(seconds=rng.uniform(min_age.total_seconds(), max_age.total_seconds()))
        if 6 <= to_local(moment).hour <= 22:
            return moment.replace(second=0, microsecond=0)


class _Writer:
    def __init__(self, rng: random.Random, stories: Stories, now: datetime) -> None:
        self.rng, self.stories, self.now = rng, stories, now
        self.used_titles: set[str] = set()
        self.shingles: dict[str, list[set[tuple[str, ...]]]] = {}  # kit -> texts written so far
        self.next_special_id = 312501

    def compose(self, kit_key: str, section: str, place: Place | None = None) -> tuple[str, str, list[str]]:
        """(title, lead, body paragraphs) for one article of a kit; titles are unique site-wide."""
        rng, kit = self.rng, self.stories.kits[kit_key]
        generic = self.stories.generic.get(section, ())
        for _ in range(300):
            values = slots(rng, place or rng.choice(PLACES), self.now)
            index = rng.randrange(len(kit.titles))
            title = kit.titles[index].format_map(values)
            if title in self.used_titles:
                continue
            lead = kit.leads[index % len(kit.leads)].format_map(values)
            n_generic = rng.randint(1, 2) if generic else 0
            n_specific = rng.randint(max(2, 3 - n_generic), min(5, len(kit.paras)))
            chosen = sorted(rng.sample(range(len(kit.paras)), n_specific))
            paras = [kit.paras[i].format_map(values) for i in chosen]
            for text in rng.sample(generic, n_generic):
                paras.insert(rng.randint(1, len(paras)), text.format_map(values))
            # Stories from one kit must not read as near-duplicates of each other (only the syndicated
            # copy is meant to be one).
            mine = _shingles(" ".join((lead, *paras)))
            if any(len(mine & other) / len(mine | other) > MAX_KIT_SIMILARITY
                   for other in self.shingles.get(kit_key, [])):
                continue
            self.shingles.setdefault(kit_key, []).append(mine)
            self.used_titles.add(title)
            return title, lead, paras
        raise RuntimeError(f"cannot find an unused title for kit {kit_key}")

    def draft(self, kit_key: str, section: str, published: datetime, *, place: Place | None = None,
              date_mode: str = "visible", role: str | None = None) -> Draft:
        kit = self.stories.kits[kit_key]
        title, lead, paras = self.compose(kit_key, section, place)
        reporters = REPORTERS_EN if kit.language == "en" else REPORTERS_VI
        draft = Draft(
            id=0, section=section, language=kit.language, floods=kit.floods, title=title, lead=lead,
            paras=paras, author=self.rng.choice(reporters), published=published, date_mode=date_mode,
            kit=kit_key, role=role,
        )
        if role:
            draft.id = self.next_special_id
            self.next_special_id += 1
        return draft


def _regular_drafts(writer: _Writer, rng: random.Random, now: datetime) -> list[Draft]:
    flood_places = iter(FLOOD_PLACES)
    drafts: list[Draft] = []
    for section, plan in PLAN.items():
        for kit_key, count in plan:
            kit = writer.stories.kits[kit_key]
            for _ in range(count):
                place = _place(next(flood_places)) if kit.floods and kit.language == "vi" else None
                if kit.floods:  # the flood event was a few days ago
                    published = _random_time(rng, now, timedelta(days=2), timedelta(days=7))
                else:
                    published = _random_time(rng, now, timedelta(hours=6), timedelta(days=60))
                draft = writer.draft(kit_key, section, published, place=place,
                                     date_mode="meta" if rng.random() < 0.5 else "visible")
                draft.section_meta = rng.random() < 0.35
                drafts.append(draft)
    for section, age in RELATIVE:
        candidates = [d for d in drafts
                      if d.section == section and not d.floods and d.date_mode != "relative"]
        chosen = rng.choice(candidates)
        chosen.published, chosen.date_mode = now - age, "relative"
    drafts.sort(key=lambda d: d.published)
    for i, draft in enumerate(drafts):
        draft.id = 312001 + i
        draft.path = f"/tin-tuc/{draft.section}/{slugify(draft.title)}-{draft.id}.html"
    return drafts


def _add_comments(rng: random.Random, stories: Stories, drafts: list[Draft], now: datetime) -> None:
    for draft in drafts:
        if draft.date_mode in ("relative", "url") or draft.role in ("syndicated", "disallowed"):
            continue
        earliest = draft.published + timedelta(minutes=20)
        latest = now - timedelta(minutes=2)
        if earliest >= latest:
            continue
        pool = stories.comments["en" if draft.language == "en" else "vi"]
        for text in rng.sample(pool, rng.randint(0, 4)):
            minutes = rng.uniform(0, min(1500.0, (latest - earliest).total_seconds() / 60))
            when = (earliest + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
            draft.comments.append((rng.choice(COMMENTERS), when, text))
        draft.comments.sort(key=lambda c: c[1])
    # Reader comments mentioning floods under articles that are not about floods.
    traps = [d for d in drafts if d.role is None and d.kit in ("road_upgrade", "traffic_safety", "council")
             and d.date_mode != "relative"]
    for draft, text in zip(rng.sample(traps, 3), stories.comments["trap"] * 2, strict=False):
        when = min(draft.published + timedelta(hours=3), now - timedelta(minutes=5)).replace(second=0)
        draft.comments.append(("Người dân Từ Sơn", when, text))


def _special_drafts(writer: _Writer, rng: random.Random, now: datetime,
                    regular: list[Draft]) -> dict[str, Draft]:
    year = to_local(now).year
    specials: dict[str, Draft] = {}

    cp = Draft(
        id=writer.next_special_id, section="thoi-su", language="vi", floods=True,
        title=CP1258_SENTENCE,
        lead=(f"{CP1258_SENTENCE} sau nhiều ngày nước dâng cao; nhiều tuyến đường thôn xóm ở thành phố "
              "Từ Sơn, tỉnh Bắc Ninh vẫn còn ngổn ngang bùn đất."),
        paras=[
            "Từ sáng sớm, hàng trăm đoàn viên thanh niên, dân quân tự vệ đã có mặt tại các thôn để giúp bà "
            "con dọn dẹp nhà cửa, khơi thông cống rãnh, thu gom rác thải sau khi nước rút.",
            "Ông Nguyễn Văn Thưởng, trưởng thôn, cho biết đợt mưa lớn vừa qua khiến hơn 200 hộ dân bị ảnh "
            "hưởng; nhiều gia đình phải đưa người già và trẻ nhỏ sang nhà văn hóa thôn để tránh nước.",
            "Ngành y tế thành phố Từ Sơn đã cử cán bộ hướng dẫn người dân xử lý nước giếng, phun khử khuẩn "
            "khu vực chuồng trại để phòng dịch bệnh sau ngập lụt.",
            "Chính quyền địa phương đề nghị tỉnh Bắc Ninh sớm hỗ trợ giống lúa, rau màu để bà con kịp gieo "
            "trồng vụ đông, đồng thời nạo vét kênh mương trước mùa mưa năm sau.",
        ],
        author="Lê Thanh Hương",
        published=_random_time(rng, now, timedelta(days=2), timedelta(days=5)),
        date_mode="visible", kit="cp1258", role="cp1258",
    )
    writer.next_special_id += 1
    cp.path = f"/tin-tuc/thoi-su/{slugify(cp.title)}-{cp.id}.html"
    specials["cp1258"] = cp

    day = (to_local(now) - timedelta(days=4)).date()
    dated = writer.draft("welfare", "xa-hoi", local_midnight_utc(day), date_mode="url", role="date_in_url")
    dated.path = f"/tin-tuc/{day:%Y/%m/%d}/xa-hoi/{slugify(dated.title)}-{dated.id}.html"
    specials["date_in_url"] = dated

    original = rng.choice([d for d in regular if d.section == "giao-duc" and d.date_mode != "relative"
                           and d.published < now - timedelta(days=1)])
    copy = Draft(
        id=writer.next_special_id, section="ban-doc", language="vi", floods=original.floods,
        title=original.title, lead=original.lead, paras=list(original.paras), author=None,
        published=original.published + timedelta(hours=3), date_mode="visible", kit=original.kit,
        role="syndicated", source_line="Theo Báo Bắc Ninh",
    )
    writer.next_special_id += 1
    copy.path = f"/tin-tuc/ban-doc/{slugify(copy.title)}-{copy.id}.html"
    specials["syndicated"] = copy

    for role, kit_key, section, mode in (("broken_html", "hospital", "xa-hoi", "visible"),
                                         ("huge", "fdi", "kinh-te", "meta"),
                                         ("redirect_target", "festival", "xa-hoi", "visible")):
        published = _random_time(rng, now, timedelta(days=1), timedelta(days=30))
        draft = writer.draft(kit_key, section, published, date_mode=mode, role=role)
        draft.path = f"/tin-tuc/{section}/{slugify(draft.title)}-{draft.id}.html"
        specials[role] = draft

    internal = Draft(
        id=999, section="thoi-su", language="vi", floods=False,
        title=f"Báo cáo nội bộ: tổng hợp ý kiến bạn đọc quý IV/{year}",
        lead="Tài liệu lưu hành nội bộ của tòa soạn, không phát hành ra ngoài.",
        paras=[
            f"Mã tài liệu {DISALLOWED_TOKEN}. Trong quý, tòa soạn tiếp nhận hơn 1.200 ý kiến của bạn đọc qua "
            "thư điện tử, đường dây nóng và mạng xã hội.",
            "Các nội dung được quan tâm nhiều nhất gồm giao thông, môi trường, giá đất và tuyển sinh "
            "đầu cấp.",
            "Ban Biên tập đề nghị các phòng nghiệp vụ phân công phóng viên xác minh, phản hồi bạn đọc "
            "đúng hạn.",
        ],
        author="Ban Thư ký tòa soạn",
        published=_random_time(rng, now, timedelta(days=3), timedelta(days=20)),
        date_mode="visible", kit="internal", role="disallowed", path=DISALLOWED_PATH,
    )
    specials["disallowed"] = internal
    return specials


def _place_drafts(now: datetime) -> list[Draft]:
    """The hand-written place articles (places.txt), at fixed ages, ids from PLACE_FIRST_ID."""
    drafts = []
    for i, item in enumerate(load_place_articles()):
        published = (now - timedelta(hours=item.hours)).replace(second=0, microsecond=0)
        draft = Draft(
            id=PLACE_FIRST_ID + i, section=item.section, language=item.language, floods=False, title=item.title,
            lead=item.lead, paras=list(item.paras), author=PLACE_AUTHORS[i % len(PLACE_AUTHORS)],
            published=published, date_mode=item.date_mode, kit=f"places:{item.key}",
        )
        draft.path = f"/tin-tuc/{draft.section}/{slugify(draft.title)}-{draft.id}.html"
        drafts.append(draft)
    return drafts


SCALED_FIRST_ID = 400001


def _scaled_drafts(stories: Stories, now: datetime, count: int, generated: dict[str, list[Draft]]) -> list[Draft]:
    """`count` more articles for a scaled site, drawn like the regular ones (kits in the proportions of
    PLAN, flood stories a few days old) by a generator of their own; titles may repeat, paths do not."""
    rng = random.Random(SEED + 2)
    plan = [(section, kit_key) for section, kits in PLAN.items() for kit_key, n in kits for _ in range(n)]
    drafts: list[Draft] = []
    for i in range(count):
        section, kit_key = rng.choice(plan)
        kit = stories.kits[kit_key]
        place = _place(rng.choice(FLOOD_PLACES)) if kit.floods and kit.language == "vi" else None
        values = slots(rng, place or rng.choice(PLACES), now)
        index = rng.randrange(len(kit.titles))
        generic = stories.generic.get(section, ())
        n_generic = rng.randint(1, 2) if generic else 0
        n_specific = rng.randint(max(2, 3 - n_generic), min(5, len(kit.paras)))
        paras = [kit.paras[j].format_map(values) for j in sorted(rng.sample(range(len(kit.paras)), n_specific))]
        for text in rng.sample(generic, n_generic):
            paras.insert(rng.randint(1, len(paras)), text.format_map(values))
        if kit.floods:
            published = _random_time(rng, now, timedelta(days=2), timedelta(days=7))
        else:
            published = _random_time(rng, now, timedelta(hours=6), timedelta(days=60))
        draft = Draft(
            id=SCALED_FIRST_ID + i, section=section, language=kit.language, floods=kit.floods,
            title=kit.titles[index].format_map(values), lead=kit.leads[index % len(kit.leads)].format_map(values),
            paras=paras, author=rng.choice(REPORTERS_EN if kit.language == "en" else REPORTERS_VI),
            published=published, date_mode="meta" if rng.random() < 0.5 else "visible", kit=kit_key,
        )
        draft.section_meta = rng.random() < 0.35
        draft.path = f"/tin-tuc/{section}/{slugify(draft.title)}-{draft.id}.html"
        draft.related = rng.sample(generated.get(section) or generated["giao-duc"], 3)
        pool = stories.comments["en" if draft.language == "en" else "vi"]
        latest = now - timedelta(minutes=2)
        for text in rng.sample(pool, rng.randint(0, 4)):
            when = draft.published + timedelta(minutes=rng.uniform(20, 1500))
            if when < latest:
                draft.comments.append((rng.choice(COMMENTERS), when.replace(second=0, microsecond=0), text))
        draft.comments.sort(key=lambda c: c[1])
        drafts.append(draft)
    return drafts


def _to_article(draft: Draft, base: str, now: datetime) -> Article:
    text = "\n".join((draft.title, draft.lead, *draft.paras))
    if draft.language == "en":
        places = tuple(vi for vi, en in zip(PLACE_NAMES, PLACE_NAMES_EN, strict=True) if en in text)
    else:
        places = tuple(name for name in PLACE_NAMES if name in text)
    if draft.floods:
        ok = ("flooding in Bac Ninh" in text if draft.language == "en"
              else ("lũ lụt" in text or "ngập lụt" in text) and "Bắc Ninh" in text)
        if not ok:
            raise AssertionError(f"flood article without flood words: {draft.title}")
    elif _FLOOD_WORDS.search(text):
        raise AssertionError(f"non-flood article mentions floods: {draft.title}")
    for marker in BOILERPLATE_MARKERS:
        if marker in text:
            raise AssertionError(f"boilerplate marker {marker!r} inside article text: {draft.title}")
    return Article(
        path=draft.path,
        url=base + draft.path,
        title=draft.title,
        section=draft.section,
        language=draft.language,
        published=draft.published,
        floods=draft.floods,
        author=draft.author,
        lead=draft.lead,
        paragraphs=tuple(draft.paras),
        date_source=draft.date_mode,
        date_text=draft.date_text(now),
        places=places,
        comments=tuple(text for _, _, text in draft.comments),
        via=tuple(sorted(draft.via)),
        role=draft.role,
        has_section_meta=draft.section_meta,
    )


def _padding(target: int) -> str:
    """~target bytes of inline JSON state, the kind SPA-ish CMS pages embed."""
    head = '<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"adSlots":['
    parts = [head]
    size = len(head)
    i = 0
    while size < target:
        item = (
            f'{{"id":{i},"slot":"banner-{i % 97}","creative":"{(i * 2654435761) % 2**32:08x}",'
            f'"impressions":[{i % 13},{i % 17},{i % 19}],"tracking":"https://ads.example.invalid/t?c={i:07d}"}},'
        )
        parts.append(item)
        size += len(item)
        i += 1
    parts.append('{"id":-1}]}}}</script>\n')
    return "".join(parts)


def _error_page(status: int, title: str) -> bytes:
    return (
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
        f"<title>{status} {title}</title></head>\n"
        f"<body><center><h1>{status} {title}</h1></center><hr><center>nginx</center></body></html>\n"
    ).encode()


def build_site(base_url: str, now: datetime | None = None, scale: int = 1) -> Site:
    """Generate every page of the site for `base_url` (e.g. "http://127.0.0.1:8765"). Deterministic.

    `scale` > 1 (benchmarks) adds `scale - 1` times the generated articles and forum threads, drawn from the
    same kits and scripts, linked from the listings, feed and sitemaps; `scale=1` is the test site, unchanged."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    base = base_url.rstrip("/")
    now = normalize_now(now)
    year = to_local(now).year
    rng = random.Random(SEED)
    stories = load_stories()
    writer = _Writer(rng, stories, now)

    regular = _regular_drafts(writer, rng, now)
    specials = _special_drafts(writer, rng, now, regular)
    places = _place_drafts(now)
    # Related links and comments of the generated articles are drawn as before the place articles existed
    # (same random sequence); the place articles draw theirs from a generator of their own.
    generated = {s: [d for d in sorted(regular, key=lambda d: d.published, reverse=True) if d.section == s]
                 for s in SECTIONS}
    for draft in [*regular, *specials.values()]:
        pool = generated.get(draft.section) or generated["giao-duc"]
        draft.related = rng.sample([d for d in pool if d.title != draft.title], 3)
    _add_comments(rng, stories, [*regular, *specials.values()], now)
    place_rng = random.Random(SEED + 1)
    for draft in places:
        pool = generated.get(draft.section) or generated["giao-duc"]
        draft.related = place_rng.sample(pool, 3)
    generated_drafts = regular
    regular = [*regular, *places]
    if scale > 1:
        regular += _scaled_drafts(stories, now, len(generated_drafts) * (scale - 1), generated)
    newest = sorted(regular, key=lambda d: d.published, reverse=True)
    by_section = {s: [d for d in newest if d.section == s] for s in SECTIONS}

    theme = Theme(base, now, latest=newest[:6], most_read=rng.sample(generated_drafts, 5))
    pages: dict[str, Page] = {}

    # Entry points: feed, sitemaps, listings, home page.
    for rank, draft in enumerate(newest):
        draft.via.add("listing")
        if rank < FEED_SIZE:
            draft.via.add("feed")
        if rank < NEWS_SITEMAP_SIZE:
            draft.via.add("news_sitemap")
        elif rank % 3 != 2:
            draft.via.add("sitemap")
    for key, via in (("cp1258", ("listing", "sitemap")), ("date_in_url", ("listing",)),
                     ("syndicated", ("home",)), ("broken_html", ("listing",)), ("huge", ("listing",)),
                     ("redirect_target", ("redirect",)), ("disallowed", ("home", "sitemap"))):
        specials[key].via.update(via)

    blocks = {s: by_section[s][:4] for s in SECTIONS}
    home_links = {d.path for d in [*newest[:15], *theme.latest, *theme.most_read]}
    home_links |= {d.path for ds in blocks.values() for d in ds}
    for draft in regular:
        if draft.path in home_links:
            draft.via.add("home")
    home = home_page(theme, newest[0], newest[1:15], blocks, [specials["syndicated"]],
                     (DISALLOWED_PATH, specials["disallowed"].title))
    pages["/"] = Page(home.encode(), last_modified=newest[0].published)

    # Section listings, with the hard cases mixed in.
    not_found = f"/tin-tuc/xa-hoi/cong-bo-ket-qua-tuyen-dung-vien-chuc-giao-duc-nam-{year}-9404.html"
    server_error = f"/tin-tuc/thoi-su/toan-canh-ky-hop-hdnd-tinh-cuoi-nam-{year}-9500.html"
    redirect_target = specials["redirect_target"]
    extra: dict[str, list[tuple[datetime, str]]] = {s: [] for s in SECTIONS}
    for key, section in (("cp1258", "thoi-su"), ("date_in_url", "xa-hoi"), ("broken_html", "xa-hoi"),
                         ("huge", "kinh-te")):
        d = specials[key]
        when = d.published + timedelta(hours=12) if d.date_mode == "url" else d.published
        extra[section].append((when, story_item(d.path, d.title, d.lead, d.listing_time(now))))
    extra["xa-hoi"].append((redirect_target.published, story_item(
        REDIRECT_START, redirect_target.title, redirect_target.lead, redirect_target.listing_time(now))))
    fake_404 = _random_time(rng, now, timedelta(days=3), timedelta(days=20))
    extra["xa-hoi"].append((fake_404, story_item(
        not_found, f"Công bố kết quả tuyển dụng viên chức giáo dục năm {year}",
        "Sở Nội vụ công bố danh sách thí sinh trúng tuyển kỳ tuyển dụng viên chức giáo dục.",
        short_time(fake_404))))
    fake_500 = _random_time(rng, now, timedelta(days=3), timedelta(days=20))
    extra["thoi-su"].append((fake_500, story_item(
        server_error, f"Toàn cảnh kỳ họp HĐND tỉnh cuối năm {year}",
        "Chùm ảnh ghi lại những hoạt động nổi bật tại kỳ họp.", short_time(fake_500))))
    for section in SECTIONS:
        entries = [(d.published, story_item(d.path, d.title, d.lead, d.listing_time(now)))
                   for d in by_section[section]] + extra[section]
        entries.sort(key=lambda e: e[0], reverse=True)
        count = -(-len(entries) // PAGE_SIZE)
        for n in range(1, count + 1):
            chunk = entries[(n - 1) * PAGE_SIZE:n * PAGE_SIZE]
            path = f"/chuyen-muc/{section}/" + (f"?page={n}" if n > 1 else "")
            html = listing_page(theme, section, [item for _, item in chunk], n, count)
            pages[path] = Page(html.encode(), last_modified=min(chunk[0][0], now))

    # Article pages.
    for draft in regular:
        pages[draft.path] = Page(article_page(theme, draft).encode(), last_modified=draft.published)
    cp = specials["cp1258"]
    pages[cp.path] = Page(encode_cp1258(article_page(theme, cp)), content_type="text/html",
                          last_modified=cp.published)
    dated = specials["date_in_url"]
    pages[dated.path] = Page(article_page(theme, dated).encode(), last_modified=now)
    for key in ("syndicated", "redirect_target", "disallowed"):
        d = specials[key]
        pages[d.path] = Page(article_page(theme, d).encode(), last_modified=d.published)
    broken = specials["broken_html"]
    pages[broken.path] = Page(broken_article_page(theme, broken).encode(), last_modified=broken.published)
    huge = specials["huge"]
    huge_body = article_page(theme, huge, tail_html=_padding(5_300_000)).encode()
    pages[huge.path] = Page(huge_body, last_modified=huge.published)

    # Redirects and errors.
    pages[REDIRECT_START] = Page(b"<html><body>Moved Permanently</body></html>", status=301,
                                 location=base + REDIRECT_HOP)
    pages[REDIRECT_HOP] = Page(b"<html><body>Found</body></html>", status=302, location=redirect_target.path)
    gone = simple_page(theme, "Không tìm thấy trang",
                       ["Bài viết bạn tìm không tồn tại hoặc đã bị gỡ bỏ.", "Mời bạn quay lại trang chủ."])
    pages[not_found] = Page(gone.encode(), status=404)
    pages[server_error] = Page(_error_page(500, "Internal Server Error"), status=500)
    fallback = Page(pages[not_found].body, status=404)

    # Feed, sitemaps, robots, static and about pages.
    pages["/rss/tin-moi.rss"] = Page(rss_feed(theme, newest[:FEED_SIZE]).encode(),
                                     content_type="application/rss+xml; charset=utf-8",
                                     last_modified=newest[0].published)
    in_sitemap = [d for d in newest if "sitemap" in d.via] + [cp, specials["disallowed"]]
    in_sitemap.sort(key=lambda d: d.published, reverse=True)
    in_news = newest[:NEWS_SITEMAP_SIZE]
    xml = "application/xml; charset=utf-8"
    plain = urlset(theme, [(d.path, d.published) for d in in_sitemap])
    pages["/sitemaps/articles-1.xml"] = Page(plain.encode(), content_type=xml,
                                             last_modified=in_sitemap[0].published)
    pages["/sitemaps/news.xml"] = Page(news_sitemap(theme, in_news).encode(), content_type=xml,
                                       last_modified=in_news[0].published)
    pages["/sitemap.xml"] = Page(sitemap_index(theme, [("/sitemaps/articles-1.xml", in_sitemap[0].published),
                                                      ("/sitemaps/news.xml", in_news[0].published)]).encode(),
                                 content_type=xml, last_modified=newest[0].published)
    robots = f"User-agent: *\nDisallow: /noi-bo/\n\nSitemap: {base}/sitemap.xml\n"
    pages["/robots.txt"] = Page(robots.encode(), content_type="text/plain; charset=utf-8")
    pages["/static/css/main.css"] = Page(CSS.encode(), content_type="text/css; charset=utf-8")
    pages["/static/js/app.js"] = Page(b"document.documentElement.className+=' js';\n",
                                      content_type="application/javascript; charset=utf-8")
    pages["/gioi-thieu.html"] = Page(simple_page(theme, "Giới thiệu", [
        f"{SITE_NAME} là cơ quan ngôn luận của tỉnh Bắc Ninh, cập nhật tin tức 24/7.",
        "Bản điện tử ra mắt bạn đọc từ năm 2005."]).encode())
    pages["/lien-he.html"] = Page(simple_page(theme, "Liên hệ", [
        "Mọi thông tin xin gửi về hộp thư toasoan@baobacninh.local.",
        "Liên hệ quảng cáo: 0222.3822.xxx."]).encode())

    forum_pages, threads = build_forum(base, now, scale=scale)
    pages.update(forum_pages)
    for page in pages.values():
        if page.content_type == HTML_UTF8 and page.status == 200:
            page.headers.setdefault("Cache-Control", "max-age=60")

    articles = [_to_article(d, base, now) for d in newest]
    articles += [_to_article(specials[k], base, now)
                 for k in ("cp1258", "date_in_url", "syndicated", "broken_html", "huge", "redirect_target")]
    _to_article(specials["disallowed"], base, now)  # same content checks
    catalog = Catalog(
        articles=articles,
        threads=threads,
        disallowed=Special("disallowed", DISALLOWED_PATH, token=DISALLOWED_TOKEN),
        cp1258=Special("cp1258", cp.path, sentence=CP1258_SENTENCE),
        date_in_url=Special("date_in_url", dated.path, date=day_of(dated)),
        syndicated=Special("syndicated", specials["syndicated"].path,
                           original=next(d.path for d in regular if d.title == specials["syndicated"].title)),
        broken_html=Special("broken_html", broken.path),
        huge=Special("huge", huge.path, size=len(huge_body)),
        redirect_chain=Special("redirect_chain", REDIRECT_START, final=redirect_target.path,
                               hops=((REDIRECT_START, 301), (REDIRECT_HOP, 302))),
        not_found=Special("not_found", not_found),
        server_error=Special("server_error", server_error),
        boilerplate_markers=BOILERPLATE_MARKERS,
        place_articles={d.kit.removeprefix("places:"): d.path for d in places},
        place_thread=next(t.path for t in threads if t.title.startswith("Địa chỉ mới sau sắp xếp")),
    )
    return Site(base_url=base, now=now, pages=pages, catalog=catalog, fallback=fallback)


def day_of(draft: Draft) -> date:
    return to_local(draft.published).date()
