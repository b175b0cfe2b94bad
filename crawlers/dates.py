"""Publication dates: parse free-form date strings (Vietnamese first) and find dates in HTML pages.

Everything here is a pure function of its inputs (``now`` included), returning tz-aware UTC datetimes.
Numeric dates are day-first; naive times are in the source's timezone.
"""

from __future__ import annotations

import email.utils
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from datetime import timezone as fixed_timezone
from functools import lru_cache
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import lxml.etree
from lxml.html import HtmlElement

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
MIN_YEAR = 1990

# --- parsing one string ---------------------------------------------------------------------------

_UNITS = {
    "giây": "seconds", "giay": "seconds", "second": "seconds", "sec": "seconds", "s": "seconds",
    "phút": "minutes", "phut": "minutes", "minute": "minutes", "min": "minutes", "mins": "minutes",
    "giờ": "hours", "gio": "hours", "tiếng": "hours", "tieng": "hours", "hour": "hours", "hr": "hours",
    "h": "hours", "m": "minutes", "ngày": "days", "ngay": "days", "day": "days", "d": "days",
    "tuần": "weeks", "tuan": "weeks", "week": "weeks", "tháng": "months", "thang": "months",
    "month": "months", "năm": "years", "nam": "years", "year": "years",
}  # fmt: skip
_RELATIVE_VI = re.compile(
    r"(\d+)\s*(giây|giay|phút|phut|giờ|gio|tiếng|tieng|ngày|ngay|tuần|tuan|tháng|thang|năm|nam)\s*(?:trước|truoc)"
)
_RELATIVE_EN = re.compile(
    r"\b(\d+|an?|one)\s*(second|sec|minute|min|hour|hr|day|week|month|year|[smhd])s?\s+ago\b"
)
_JUST_NOW = re.compile(r"\b(?:vừa xong|vừa mới đăng|vừa mới|mới đây|vua xong|just now|moments? ago)\b")
_DAY_WORDS = (
    (re.compile(r"\b(?:hôm qua|hom qua|yesterday)\b"), -1),
    (re.compile(r"\b(?:hôm kia|hom kia)\b"), -2),
    (re.compile(r"\b(?:hôm nay|hom nay|today)\b"), 0),
)
_YMD = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_DMY = re.compile(r"(?<![\d/.-])(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4}|\d{2})(?![\d/])")
_VI_WORDS = re.compile(
    r"(?:ngày|ngay)?\s*(\d{1,2})\s*(?:tháng|thang)\s*(\d{1,2})\s*(?:,|năm|nam|/)?\s*(\d{4})(?!\d)"
)
_EN_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_EN_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(?:[a-z]*\.?)"
_EN_MONTH_FIRST = re.compile(rf"\b{_EN_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)")
_EN_DAY_FIRST = re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_EN_MONTH},?\s+(\d{{4}})(?!\d)")
_DM_WITH_TIME = re.compile(r"(?<![\d/.-])(\d{1,2})/(\d{1,2})(?![\d/])")
_TIME = re.compile(
    r"(?<![\d+:.-])(\d{1,2})\s*(?::|h|g|giờ|gio)\s*(\d{2})(?:\s*(?::|phút|phut)\s*(\d{2}))?(?!\d)"
    r"(?:\s*(am|pm|a\.m\.|p\.m\.|sa|ch|sáng|sang|chiều|chieu|tối|toi))?"
)
_OFFSET = re.compile(
    r"(?:gmt|utc)\s*(?:([+-])\s*(\d{1,2})(?:[:h]?(\d{2}))?)?|(?<=\d)\s*([+-])(\d{2}):?(\d{2})\b|(?<=\d)z\b"
)
_RFC822 = re.compile(r"^(?:[a-z]{3},?\s*)?\d{1,2}\s+[a-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}|$)")
_HAS_DIGIT = re.compile(r"\d")
_PM = {"pm", "p.m.", "ch", "chiều", "chieu", "tối", "toi"}
_AM = {"am", "a.m.", "sa", "sáng", "sang"}


@lru_cache(maxsize=32)
def zone(name: str) -> tzinfo:
    """The ``ZoneInfo`` for an IANA name; ValueError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def _aware_now(now: datetime | None, tz: tzinfo) -> datetime:
    """``now`` as an aware datetime; a naive ``now`` is read in the source timezone."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=tz)


def _to_utc(value: datetime, tz: tzinfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _plausible(value: datetime | None) -> datetime | None:
    if value is None or not MIN_YEAR <= value.year <= 2200:
        return None
    return value


def _normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def _parse_relative(s: str, now: datetime, tz: tzinfo) -> datetime | None:
    if _JUST_NOW.search(s):
        return now.astimezone(UTC)
    match = _RELATIVE_VI.search(s) or _RELATIVE_EN.search(s)
    if match:
        raw, unit = match.group(1), _UNITS[match.group(2)]
        amount = int(raw) if raw.isdigit() else 1
        if unit == "months":
            return _shift_months(now, -amount).astimezone(UTC)
        if unit == "years":
            return _shift_months(now, -12 * amount).astimezone(UTC)
        return (now - timedelta(**{unit: amount})).astimezone(UTC)
    for pattern, days in _DAY_WORDS:
        if pattern.search(s):
            local = now.astimezone(tz)
            found = _find_time(s)
            if found is None:
                return (local + timedelta(days=days)).astimezone(UTC)
            day = local.date() + timedelta(days=days)
            return datetime.combine(day, found[0], tzinfo=tz).astimezone(UTC)
    return None


def _shift_months(value: datetime, months: int) -> datetime:
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    for day in (value.day, 30, 29, 28):
        try:
            return value.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    return value


def _find_time(s: str) -> tuple[time, int] | None:
    """The first valid clock time in ``s`` and the position just after it."""
    for match in _TIME.finditer(s):
        hour, minute = int(match.group(1)), int(match.group(2))
        second = int(match.group(3) or 0)
        marker = match.group(4)
        if marker in _PM and hour < 12:
            hour += 12
        elif marker in _AM and hour == 12:
            hour = 0
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second), match.end()
    return None


def _find_offset(s: str) -> tzinfo | None:
    """A UTC offset written in ``s`` ("GMT+7", "+07:00", "UTC", "Z"), or None."""
    for match in _OFFSET.finditer(s):
        if match.group(0) == "z":
            return UTC
        sign, hours, minutes = match.group(4, 5, 6) if match.group(4) else match.group(1, 2, 3)
        if not sign:  # bare "GMT"/"UTC"
            return UTC
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta <= timedelta(hours=14):
            return fixed_timezone(-delta if sign == "-" else delta)
    return None


def _make_date(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 1900 if year >= 70 else 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _find_calendar_date(s: str, now: datetime, tz: tzinfo) -> date | None:
    match = _YMD.search(s)
    if match:
        found = _make_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if found:
            return found
    match = _VI_WORDS.search(s)
    if match:
        found = _make_date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if found:
            return found
    for match in _DMY.finditer(s):
        first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        # Day-first; month-first only when day-first is impossible ("11/24/2026").
        found = _make_date(year, second, first) or _make_date(year, first, second)
        if found:
            return found
    # "November 23, 2026" / "23 Nov 2026" here rather than in dateparser: English bylines are common
    # and dateparser costs milliseconds per string.
    match = _EN_MONTH_FIRST.search(s)
    if match:
        found = _make_date(int(match.group(3)), _EN_MONTHS[match.group(1)], int(match.group(2)))
        if found:
            return found
    match = _EN_DAY_FIRST.search(s)
    if match:
        found = _make_date(int(match.group(3)), _EN_MONTHS[match.group(2)], int(match.group(1)))
        if found:
            return found
    if _TIME.search(s):  # forum style "24/11 08:30": the current year, or last year if that is ahead
        match = _DM_WITH_TIME.search(_TIME.sub(" ", s))
        if match:
            today = now.astimezone(tz).date()
            found = _make_date(today.year, int(match.group(2)), int(match.group(1)))
            if found and found > today + timedelta(days=1):
                found = _make_date(today.year - 1, int(match.group(2)), int(match.group(1)))
            return found
    return None


def _parse_iso(s: str, tz: tzinfo) -> datetime | None:
    if not _ISO_START.match(s):
        return None
    candidate = s.upper().replace(" UTC", "Z")
    candidate = re.sub(r"(\.\d{6})\d+", r"\1", candidate)  # nanoseconds -> microseconds
    try:
        return _to_utc(datetime.fromisoformat(candidate), tz)
    except ValueError:
        return None


def _parse_rfc822(s: str) -> datetime | None:
    if not _RFC822.match(s):
        return None
    try:
        value = email.utils.parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_numeric(s: str, now: datetime, tz: tzinfo) -> datetime | None:
    day = _find_calendar_date(s, now, tz)
    if day is None:
        return None
    found = _find_time(s)
    if found is None:
        return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)
    clock, end = found
    # An offset counts only after the time ("08:30 +07:00", "08:30 (GMT+7)"), never inside the date.
    offset = _find_offset(s[end:])
    return datetime.combine(day, clock, tzinfo=offset or tz).astimezone(UTC)


def _parse_with_dateparser(s: str, now: datetime, tz_name: str) -> datetime | None:
    if len(s) > 80 or not _HAS_DIGIT.search(s):
        return None
    import dateparser

    settings: dict[str, Any] = {
        "DATE_ORDER": "DMY",
        "TIMEZONE": tz_name,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RELATIVE_BASE": now.astimezone(zone(tz_name)).replace(tzinfo=None),
        "PREFER_DATES_FROM": "past",
        "REQUIRE_PARTS": ["day", "month", "year"],
    }
    try:
        value = dateparser.parse(s, languages=["vi", "en"], settings=settings)
    except Exception:  # dateparser raises assorted errors on odd input
        return None
    return value.astimezone(UTC) if value is not None else None


def parse_date(
    text: str, *, timezone: str = DEFAULT_TIMEZONE, now: datetime | None = None
) -> datetime | None:
    """Parse a date string into a tz-aware UTC datetime, or None.

    Handles Vietnamese formats ("Thứ hai, 24/11/2026, 08:30 (GMT+7)", "ngày 24 tháng 11 năm 2026"),
    relative phrases ("2 giờ trước", "hôm qua", "vừa xong", "3 hours ago") measured from ``now``
    (default: the current time), ISO 8601, RFC 822 and English month names. Day-first for numeric dates;
    times without an offset are in ``timezone``; a date without a time is local midnight.
    """
    if not isinstance(text, str):
        return None
    s = _normalize(text)
    if not s or len(s) > 300:
        return None
    tz = zone(timezone)
    current = _aware_now(now, tz)
    for attempt in (
        lambda: _parse_iso(s, tz),
        lambda: _parse_rfc822(s),
        lambda: _parse_numeric(s, current, tz),
        lambda: _parse_relative(s, current, tz),
        lambda: _parse_with_dateparser(s, current, timezone),
    ):
        value = _plausible(attempt())
        if value is not None:
            return value
    return None


def is_relative(text: str) -> bool:
    """True if ``text`` expresses a date relative to now ("2 giờ trước", "hôm qua", "3 days ago")."""
    s = _normalize(text)
    if _YMD.search(s) or _DMY.search(s) or _VI_WORDS.search(s):
        return False
    return bool(
        _JUST_NOW.search(s)
        or _RELATIVE_VI.search(s)
        or _RELATIVE_EN.search(s)
        or any(p.search(s) for p, _ in _DAY_WORDS)
    )


# --- dates in a page ------------------------------------------------------------------------------

_PUBLISHED_META = (
    "article:published_time", "og:published_time", "og:article:published_time", "datepublished",
    "pubdate", "publishdate", "publish-date", "publish_date", "published_time", "dc.date",
    "dc.date.issued", "dcterms.created", "dcterms.date", "date", "sailthru.date", "parsely-pub-date",
    "article.published", "cxenseparse:recs:publishtime", "itemprop:datepublished",
)  # fmt: skip
_UPDATED_META = (
    "article:modified_time", "og:updated_time", "datemodified", "dcterms.modified", "last-modified",
    "lastmod", "article.updated", "modified_time", "cxenseparse:recs:articlemodifiedtime",
)  # fmt: skip
_ARTICLE_TYPES = {
    "newsarticle", "article", "blogposting", "reportagenewsarticle", "analysisnewsarticle", "report",
    "liveblogposting", "discussionforumposting", "socialmediaposting", "opinionnewsarticle", "webpage",
}  # fmt: skip
_DATE_CLASS = re.compile(r"date|time|publish|posted|created|updated|ngay|thoi-?gian|meta", re.IGNORECASE)
_NOT_ARTICLE = re.compile(
    r"comment|binh-?luan|reply|related|lien-?quan|sidebar|footer|widget|popular|most-?read|xem-?nhieu|"
    r"tin-?khac|box-?news|newsletter|weather|calendar",
    re.IGNORECASE,
)
_UPDATE_LABEL = re.compile(r"cập nhật|cap nhat|updated|update|chỉnh sửa|sửa lúc", re.IGNORECASE)
_DATE_LIKE = re.compile(
    r"\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{2,4}|\d{4}-\d{2}-\d{2}|tháng\s*\d|thang\s*\d|"
    r"\d+\s*(?:giây|phút|giờ|tiếng|ngày|tuần|tháng|năm)\s*trước|hôm qua|hôm nay|vừa xong|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}|\bago\b"
)  # matched against lower-cased text, which is much faster than re.IGNORECASE
_DATE_HINT = re.compile(r"\d|hôm|vừa|ago")  # every _DATE_LIKE match holds one: a cheap first test
_URL_DATE = (
    re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})(?:/|$|[^\d])"),
    re.compile(r"[/_.-]((?:19|20)\d{2})(\d{2})(\d{2})(?:\d{2,})?(?=[/_.-]|\.html?|$)"),
    re.compile(r"/((?:19|20)\d{2})-(\d{2})-(\d{2})(?:[/_-]|$)"),
)
_TEXT_SCAN_AFTER_TITLE = 60
#: A byline stamp may sit this many elements above the ``<h1>`` (Tuổi Trẻ-style "date above title");
#: further up is the page header, whose "today" clock is not the article's date.
_STAMP_SCAN_BEFORE_TITLE = 12
_MAX_STAMP_TEXT = 80
_MAX_DATE_TEXT = 160
_MAX_RELATIVE_TEXT = 40


@dataclass(frozen=True)
class PageDates:
    """Dates found in a page; ``source`` says how ``published`` was found:

    "meta" (a ``<meta>`` tag or ``itemprop``), "jsonld" (the article's JSON-LD), "time" (a
    ``<time datetime>`` element), "text" (a date printed on the page, such as the byline stamp, also
    when it overrode metadata that contradicted it), "relative" ("2 giờ trước", measured from now),
    "htmldate" (htmldate's guess), "url" (a date in the URL; also htmldate's guess on the same day).
    :func:`crawlers.extract.extract_article` adds "selector" (a per-source CSS selector)."""

    published: datetime | None = None
    updated: datetime | None = None
    source: str | None = None


def _attr_key(element: HtmlElement) -> str:
    for attr in ("property", "name", "itemprop", "http-equiv"):
        value = element.get(attr)
        if value:
            return value.strip().lower()
    return ""


def _future_limit(now: datetime) -> datetime:
    return now.astimezone(UTC) + timedelta(days=1)


def _first_valid(values: Iterable[str | None], tz_name: str, now: datetime) -> datetime | None:
    return _first_valid_raw(values, tz_name, now)[0]


def _first_valid_raw(
    values: Iterable[str | None], tz_name: str, now: datetime
) -> tuple[datetime | None, str | None]:
    """The first value that parses to a date not after ``now`` plus a day, with the string it came from."""
    limit = _future_limit(now)
    for value in values:
        if value:
            parsed = parse_date(value, timezone=tz_name, now=now)
            if parsed is not None and parsed <= limit:
                return parsed, value
    return None, None


def _meta_values(tree: HtmlElement, keys: tuple[str, ...]) -> list[str]:
    found: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        key = _attr_key(element)
        if key in keys:
            found.setdefault(key, []).append(element.get("content") or "")
    return [v for key in keys for v in found.get(key, [])]


def _walk_jsonld(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk_jsonld(item)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if key in node:
                yield from _walk_jsonld(node[key])


def jsonld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    """All JSON-LD objects in the page (``@graph`` flattened); broken blocks are skipped."""
    objects: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        try:
            data = json.loads(script.text.strip().rstrip(";"))
        except ValueError:
            continue
        objects.extend(_walk_jsonld(data))
    return objects


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


def article_jsonld(tree: HtmlElement) -> dict[str, Any] | None:
    """The JSON-LD object describing the article itself (NewsArticle, Article...), if any."""
    objects = jsonld_objects(tree)
    for obj in objects:
        if _types(obj) & (_ARTICLE_TYPES - {"webpage"}):
            return obj
    for obj in objects:
        if "datePublished" in obj or "headline" in obj:
            return obj
    return None


def dates_from_metadata(
    tree: HtmlElement, *, timezone: str = DEFAULT_TIMEZONE, now: datetime | None = None
) -> PageDates:
    """Dates declared as metadata: ``<meta>`` tags, JSON-LD, ``itemprop`` and ``<time datetime>``."""
    return _metadata_dates(tree, timezone, _aware_now(now, zone(timezone)))[0]


_ITEMPROP = {
    prop: lxml.etree.XPath(f"//*[translate(@itemprop, 'DPM', 'dpm')='{prop}']")
    for prop in ("datepublished", "datemodified")
}
_PUBDATE_TIMES = lxml.etree.XPath("//time[@pubdate][@datetime]")
_DATETIME_TIMES = lxml.etree.XPath("//time[@datetime]")


def _metadata_dates(tree: HtmlElement, timezone: str, current: datetime) -> tuple[PageDates, str | None]:
    """:func:`dates_from_metadata`, plus the string the published date was read from."""
    published, raw = _first_valid_raw(_meta_values(tree, _PUBLISHED_META), timezone, current)
    updated = _first_valid(_meta_values(tree, _UPDATED_META), timezone, current)
    source = "meta" if published else None

    article = article_jsonld(tree)
    if article is not None:
        if published is None:
            published, raw = _first_valid_raw(
                [_str(article.get("datePublished")), _str(article.get("dateCreated"))], timezone, current
            )
            source = "jsonld" if published else None
        if updated is None:
            updated = _first_valid([_str(article.get("dateModified"))], timezone, current)

    if published is None or updated is None:
        for prop, is_published in (("datepublished", True), ("datemodified", False)):
            if (published if is_published else updated) is not None:
                continue
            values = [
                el.get("content") or el.get("datetime") or el.text_content()
                for el in _ITEMPROP[prop](tree)
            ]
            value, value_raw = _first_valid_raw(values, timezone, current)
            if is_published and value is not None:
                published, raw, source = value, value_raw, "meta"
            elif value is not None:
                updated = value

    if published is None:
        times = _PUBDATE_TIMES(tree) or _DATETIME_TIMES(tree)
        usable = [t for t in times if not _in_boilerplate(t)]
        published, raw = _first_valid_raw([t.get("datetime") for t in usable[:3]], timezone, current)
        source = "time" if published else None
    return PageDates(published, updated, source), raw


def _str(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) else None


def _is_boilerplate_node(node: HtmlElement) -> bool:
    if node.tag in ("footer", "aside", "nav"):
        return True
    if node.tag in ("html", "body", "main", "article"):
        return False  # page-level classes such as "comments-open" say nothing about the node
    marker = f"{node.get('class', '')} {node.get('id', '')}"
    return bool(marker.strip()) and bool(_NOT_ARTICLE.search(marker))


def _in_boilerplate(element: HtmlElement) -> bool:
    """True inside comments, related links, sidebars, footers and navigation (the element included)."""
    return any(_is_boilerplate_node(node) for node in chain([element], element.iterancestors()))


_STRING = lxml.etree.XPath("string()", smart_strings=False)


@lru_cache(maxsize=4096)
def _date_marker(css_class: str, element_id: str) -> bool:
    """The class/id of an element that holds a date ("post-date", "thoi-gian"); cached: pages repeat them."""
    marker = f"{css_class} {element_id}"
    return bool(marker.strip()) and bool(_DATE_CLASS.search(marker))


def _short_text(element: HtmlElement, limit: int) -> str | None:
    """The element's whitespace-normalised text, or None when it exceeds ``limit`` characters (or its
    raw text ``4 × limit``)."""
    whole = _STRING(element)  # the text of itertext() in one C call; the cap below is the same
    if len(whole) > limit * 4:
        return None
    text = " ".join(whole.split())
    return text if len(text) <= limit else None


def dates_from_text(
    tree: HtmlElement, *, timezone: str = DEFAULT_TIMEZONE, now: datetime | None = None
) -> PageDates:
    """Dates printed on the page: elements whose class/id mentions date/time, and short date-like
    texts just after the ``<h1>``; comments and sidebars are skipped. A byline stamp (a short text with a
    date and a clock time, or a relative phrase) after the title or just above it beats a bare date
    anywhere; otherwise the candidate nearest the title wins, after the title before above it.
    ``source`` is "relative" for phrases like "2 giờ trước", else "text"."""
    return _text_dates(tree, timezone, _aware_now(now, zone(timezone)))[0]


@dataclass(frozen=True)
class _Stamp:
    """The visible byline stamp with a calendar date and a clock time: ``value`` in UTC, ``wall`` the
    naive local time as printed (in the offset written next to it, else the source's timezone)."""

    value: datetime
    wall: datetime


def _is_clock_stamp(text: str) -> bool:
    """A short text with a calendar date and a clock time ("Thứ hai, 24/11/2026, 08:30 (GMT+7)")."""
    s = _normalize(text)
    if len(s) > _MAX_STAMP_TEXT or _find_time(s) is None:
        return False
    return bool(
        _YMD.search(s) or _DMY.search(s) or _VI_WORDS.search(s) or _EN_MONTH_FIRST.search(s) or _EN_DAY_FIRST.search(s)
        or _DM_WITH_TIME.search(_TIME.sub(" ", s))
    )


def _wall_clock(text: str, value: datetime, tz: tzinfo) -> datetime:
    s = _normalize(text)
    found = _find_time(s)
    offset = _find_offset(s[found[1] :]) if found else None
    return value.astimezone(offset or tz).replace(tzinfo=None, second=0, microsecond=0)


def _text_dates(tree: HtmlElement, timezone: str, current: datetime) -> tuple[PageDates, _Stamp | None]:
    """:func:`dates_from_text`, plus the byline stamp when the published date is one with a clock time."""
    elements = list(tree.iter(lxml.etree.Element))  # elements only: no comments or processing instructions
    if not elements:
        return PageDates(), None
    h1 = next((i for i, el in enumerate(elements) if el.tag == "h1"), None)
    # (tier, after, distance, text): tier 0 is a byline stamp in the article's head, 1 anything else
    candidates: list[tuple[int, int, int, str, bool]] = []
    date_like: dict[str, bool] = {}  # nested elements often share one text
    for index, element in enumerate(elements):
        if element.tag in ("script", "style", "head", "title", "meta", "html", "body"):
            continue
        near_title = h1 is not None and h1 < index <= h1 + _TEXT_SCAN_AFTER_TITLE
        if not near_title and not _date_marker(element.get("class", ""), element.get("id", "")):
            continue
        text = _short_text(element, _MAX_DATE_TEXT)
        if not text:
            continue
        looks = date_like.get(text)
        if looks is None:
            low = text.lower()
            looks = date_like[text] = bool(_DATE_HINT.search(low) and _DATE_LIKE.search(low))
        if not looks or _in_boilerplate(element):
            continue
        distance = abs(index - h1) if h1 is not None else index
        after = 0 if h1 is None or index > h1 else 1
        clock = _is_clock_stamp(text)
        stamp = clock or (len(text) <= _MAX_RELATIVE_TEXT and is_relative(text))
        in_head = after == 0 or distance <= _STAMP_SCAN_BEFORE_TITLE
        candidates.append((0 if stamp and in_head else 1, after, distance, text, clock))

    published: datetime | None = None
    updated: datetime | None = None
    source: str | None = None
    updated_kind: str | None = None
    byline: _Stamp | None = None
    limit = _future_limit(current)
    tz = zone(timezone)
    for tier, _, _, text, clock in sorted(candidates, key=lambda c: c[:3]):
        is_update = bool(_UPDATE_LABEL.match(text.lstrip(" -|:(")))
        if (updated if is_update else published) is not None:
            continue  # decided already: no need to parse it
        value = parse_date(text, timezone=timezone, now=current)
        if value is None or value > limit:
            continue
        kind = "relative" if is_relative(text) else "text"
        if kind == "relative" and len(text) > _MAX_RELATIVE_TEXT:
            continue  # "Giá vàng hôm nay tăng" is a headline, not a date label
        if is_update:
            updated, updated_kind = value, kind
            continue
        published, source = value, kind
        if tier == 0 and clock and kind == "text":
            byline = _Stamp(value, _wall_clock(text, value, tz))
    if published is None and updated is not None:
        published, source = updated, updated_kind  # "Cập nhật: ..." is the only date shown
    return PageDates(published, updated, source), byline


def date_from_url(url: str | None, *, timezone: str = DEFAULT_TIMEZONE) -> datetime | None:
    """A date written in the URL path (``/2026/11/20/`` or ``-20261120``) as local midnight in UTC."""
    if not url:
        return None
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]+", "", url, flags=re.IGNORECASE).split("?", 1)[0]
    for pattern in _URL_DATE:
        match = pattern.search(path)
        if match:
            found = _make_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            if found:
                return datetime.combine(found, time(0, 0), tzinfo=zone(timezone)).astimezone(UTC)
    return None


def without_boilerplate(tree: HtmlElement) -> HtmlElement:
    """A copy of ``tree`` without comments, related links, sidebars, footers and navigation."""
    pruned = deepcopy(tree)
    doomed = [el for el in pruned.iter() if isinstance(el.tag, str) and _is_boilerplate_node(el)]
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()
    return pruned


def date_from_htmldate(
    html: HtmlElement | str,
    url: str | None = None,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> datetime | None:
    """htmldate's best guess at the original publication date (URL dates left to :func:`date_from_url`)."""
    from htmldate import find_date

    current = _aware_now(now, zone(timezone))
    if isinstance(html, HtmlElement):
        html = without_boilerplate(html)
    try:
        found = find_date(
            html,
            url=url,
            original_date=True,
            extensive_search=True,
            outputformat="%Y-%m-%dT%H:%M:%S",
            max_date=_future_limit(current).strftime("%Y-%m-%d"),
            deferred_url_extractor=True,
        )
    except Exception:  # htmldate is a heuristic fallback; a failure there must not lose the page
        return None
    if not found:
        return None
    return _plausible(_to_utc(datetime.fromisoformat(found), zone(timezone)))


def find_dates_in_html(
    tree: HtmlElement,
    url: str | None = None,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
    use_htmldate: bool = True,
) -> PageDates:
    """Published/updated dates of a parsed page: metadata, visible date text near the title, htmldate,
    then a date in the URL. Dates more than a day after ``now`` are ignored.

    Where the page shows a byline stamp with a date and a clock time, ``published`` is that stamp to the
    minute: metadata wins only when it agrees with it (to the minute) or when no such stamp is shown. So
    an offset written next to the stamp ("(GMT+7)") beats a contradicting meta/JSON-LD offset, and a
    date-only value never beats a stamp with a time. When the metadata time is the stamp's wall-clock
    time under a wrong offset (local time labelled UTC), its ``updated`` time is corrected the same way."""
    current = _aware_now(now, zone(timezone))
    meta, meta_raw = _metadata_dates(tree, timezone, current)
    text, byline = _text_dates(tree, timezone, current)
    updated = meta.updated or text.updated
    if meta.published is not None:
        if byline is None or _same_minute(meta.published, byline.value):
            return _ordered(meta.published, updated, meta.source)
        if meta.updated is not None and _iso_wall_clock(meta_raw) == byline.wall:
            updated = meta.updated + (byline.value - meta.published)
        return _ordered(byline.value, updated, "text")
    if text.published is not None:
        return _ordered(text.published, updated, text.source)
    from_url = date_from_url(url, timezone=timezone)
    if use_htmldate:
        guess = date_from_htmldate(tree, url, timezone=timezone, now=current)
        if guess is not None:
            tz = zone(timezone)
            same_day = from_url is not None and from_url.astimezone(tz).date() == guess.astimezone(tz).date()
            return _ordered(guess, updated, "url" if same_day else "htmldate")
    if from_url is not None and from_url <= _future_limit(current):
        return _ordered(from_url, updated, "url")
    if updated is not None:  # only a modification date is known: better than none for ordering
        return PageDates(updated, updated, "meta" if meta.updated is not None else text.source)
    return PageDates()


def _same_minute(a: datetime, b: datetime) -> bool:
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


_ISO_WALL = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})")


def _iso_wall_clock(raw: str | None) -> datetime | None:
    """The local time an ISO 8601 string writes, ignoring its offset ("2026-11-24T08:30:00Z" -> 08:30)."""
    match = _ISO_WALL.match(raw or "")
    if match is None:
        return None
    try:
        return datetime(*(int(part) for part in match.groups()))  # type: ignore[arg-type]
    except ValueError:
        return None


def _ordered(published: datetime, updated: datetime | None, source: str | None) -> PageDates:
    if updated is not None and updated < published:
        updated = None
    return PageDates(published, updated, source)
