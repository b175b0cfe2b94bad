"""Situation reports: periods in local time, checking a report's settings, and the document itself (numbers
from :mod:`index.reports` turned into short sentences and small tables, in Vietnamese or English).

* :func:`parse_period` reads ``2026-12-02`` (a daily report's day) or ``2026-W49`` (a weekly report's ISO week,
  Monday to Sunday; a date means its week) in the report's zone; the default is the last complete period. A
  period still running is compared with the same stretch of the one before ("today so far" against "yesterday
  up to the same hour").
* :func:`clean_report` checks what a person or an API call sent and returns the record's fields, or what is
  wrong, field by field, in the page's language.
* :func:`build_view` computes the report for one period: everything the page, the print view, the PDF and
  the e-mail show. :func:`print_html` renders the print view without a request (the scheduler uses it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from elasticsearch import Elasticsearch

from enrich.labels import searchable_sentiments, searchable_topics, sentiment_name, topic_name
from index.query import parse
from index.reports import FILTER_FIELDS, PeriodCounts, ReportNumbers, Window, report_numbers
from mediawatch.config import Settings
from mediawatch.errors import QuerySyntaxError, UserError
from web.i18n import gettext, register

PERIODS = ("daily", "weekly")
MAX_SEARCHES = 10
MAX_RECIPIENTS = 20
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_KINDS = ("news", "forum")
_SENTIMENT_ORDER = ("negative", "neutral", "positive", "unknown")
QUOTE_CHARS = 240

register({
    # the document
    "report.doc_title": {"vi": "BÁO CÁO TÌNH HÌNH DƯ LUẬN TRÊN BÁO CHÍ VÀ DIỄN ĐÀN",
                         "en": "SITUATION REPORT: PUBLIC OPINION IN THE PRESS AND ON FORUMS"},
    "report.issued": {"vi": "{place}ngày {d:02d} tháng {m:02d} năm {y}", "en": "{place}{y}-{m:02d}-{d:02d}"},
    "report.issuer": {"vi": "Hệ thống theo dõi thông tin mediawatch", "en": "mediawatch monitoring system"},
    "report.province": {"vi": "TỈNH {name}", "en": "{name} PROVINCE"},
    "report.period.daily": {"vi": "Ngày {day}", "en": "Day {day}"},
    "report.period.weekly": {"vi": "Tuần {week} ({first} – {last})", "en": "Week {week} ({first} – {last})"},
    "report.so_far": {"vi": "tính đến {clock}", "en": "up to {clock}"},
    "report.s1": {"vi": "Tình hình chung", "en": "Overview"},
    "report.s2": {"vi": "Diễn biến tăng, giảm", "en": "What rose and fell"},
    "report.s3": {"vi": "Sự việc được đưa tin nhiều nhất", "en": "Most-covered stories"},
    "report.s4": {"vi": "Sắc thái dư luận", "en": "Tone"},
    "report.s5": {"vi": "Chủ đề diễn đàn có nhiều ý kiến tiêu cực", "en": "Forum threads with the most negative posts"},
    "report.scope": {"vi": "Phạm vi theo dõi", "en": "What this report covers"},
    "report.in.daily": {"vi": "Trong ngày {day}", "en": "On {day}"},
    "report.in.weekly": {"vi": "Trong tuần từ {first} đến {last}", "en": "In the week from {first} to {last}"},
    "report.prev.daily": {"vi": "hôm trước", "en": "the day before"},
    "report.prev.weekly": {"vi": "tuần trước", "en": "the week before"},
    "report.prev_same.daily": {"vi": "cùng thời điểm hôm trước", "en": "the same hours the day before"},
    "report.prev_same.weekly": {"vi": "cùng thời điểm tuần trước", "en": "the same stretch of the week before"},
    "report.overview": {"vi": "{when}, có {news} bài báo và {forum} bài đăng diễn đàn về {about}, {change}.",
                        "en": "{when}, there were {news} news articles and {forum} forum posts about {about}, "
                              "{change}."},
    "report.about_one": {"vi": "nội dung “{label}”", "en": "“{label}”"},
    "report.about_many": {"vi": "các nội dung theo dõi ({labels})", "en": "the monitored subjects ({labels})"},
    "report.change.up": {"vi": "tăng {pct}% so với {prev} ({n} bài)", "en": "up {pct}% on {prev} ({n})"},
    "report.change.down": {"vi": "giảm {pct}% so với {prev} ({n} bài)", "en": "down {pct}% on {prev} ({n})"},
    "report.change.same": {"vi": "bằng {prev}", "en": "the same as {prev}"},
    "report.change.new": {"vi": "trong khi {prev} không có bài nào", "en": "while {prev} there were none"},
    "report.change.none": {"vi": "{prev} cũng không có bài nào", "en": "none {prev} either"},
    "report.spread": {"vi": "Các bài viết đến từ {outlets} trang tin và diễn đàn; tin báo chí thuộc {stories} sự "
                            "việc khác nhau.",
                      "en": "They came from {outlets} news sites and forums; the news covered {stories} distinct "
                            "stories."},
    "report.m.documents": {"vi": "Tổng số bài", "en": "All documents"},
    "report.m.news": {"vi": "Bài báo", "en": "News articles"},
    "report.m.forum": {"vi": "Bài đăng diễn đàn", "en": "Forum posts"},
    "report.m.outlets": {"vi": "Trang tin, diễn đàn", "en": "Outlets"},
    "report.m.stories": {"vi": "Sự việc (tin báo chí)", "en": "Stories (news)"},
    "report.col.measure": {"vi": "Chỉ số", "en": "Measure"},
    "report.col.current": {"vi": "Kỳ này", "en": "This period"},
    "report.col.previous": {"vi": "Kỳ trước", "en": "Previous"},
    "report.col.change": {"vi": "Thay đổi", "en": "Change"},
    "report.col.search": {"vi": "Nội dung theo dõi", "en": "Subject"},
    "report.col.kind": {"vi": "Loại", "en": "Kind"},
    "report.col.name": {"vi": "Tên", "en": "Name"},
    "report.col.tone": {"vi": "Sắc thái", "en": "Tone"},
    "report.col.share": {"vi": "Tỷ lệ", "en": "Share"},
    "report.col.share_prev": {"vi": "Kỳ trước", "en": "Previous"},
    "report.col.points": {"vi": "Thay đổi (điểm %)", "en": "Change (points)"},
    "report.dim.topic": {"vi": "Chủ đề", "en": "Topic"},
    "report.dim.place": {"vi": "Địa bàn", "en": "Place"},
    "report.dim.source": {"vi": "Nguồn", "en": "Source"},
    "report.rise": {"vi": "Tăng nhiều nhất: {items}.", "en": "Rose most: {items}."},
    "report.fall": {"vi": "Giảm nhiều nhất: {items}.", "en": "Fell most: {items}."},
    "report.search_rise": {"vi": "Nội dung “{label}” tăng mạnh nhất ({delta} bài, {pct}).",
                           "en": "“{label}” rose most ({delta}, {pct})."},
    "report.search_fall": {"vi": "Nội dung “{label}” giảm nhiều nhất ({delta} bài, {pct}).",
                           "en": "“{label}” fell most ({delta}, {pct})."},
    "report.no_moves": {"vi": "Không có biến động đáng kể so với kỳ trước.",
                        "en": "No notable change on the previous period."},
    "report.movers_intro": {"vi": "Những chủ đề, địa bàn và nguồn có số bài thay đổi nhiều nhất:",
                            "en": "Topics, places and sources whose counts changed most:"},
    "report.story": {"vi": "{documents} bài trên {outlets} trang", "en": "{documents} articles on {outlets} outlets"},
    "report.first_at": {"vi": "đăng đầu tiên {when}", "en": "first at {when}"},
    "report.no_stories": {"vi": "Không có tin báo chí nào trong kỳ.", "en": "No news coverage in this period."},
    "report.stories_intro": {"vi": "Các sự việc được nhiều trang đưa tin nhất (trang đăng sớm nhất đứng trước):",
                             "en": "The stories most outlets carried (earliest publisher first):"},
    "report.tone": {"vi": "Bài mang sắc thái tiêu cực chiếm {neg}% ({n} bài), {change}; tích cực {pos}%, trung "
                          "tính {neu}%.",
                    "en": "Negative documents were {neg}% ({n}), {change}; positive {pos}%, neutral {neu}%."},
    "report.tone_up": {"vi": "tăng {p} điểm phần trăm so với {prev}", "en": "up {p} points on {prev}"},
    "report.tone_down": {"vi": "giảm {p} điểm phần trăm so với {prev}", "en": "down {p} points on {prev}"},
    "report.tone_same": {"vi": "không đổi so với {prev}", "en": "unchanged on {prev}"},
    "report.no_tone": {"vi": "Không có bài nào được gắn sắc thái trong kỳ.",
                       "en": "No document in this period has a tone."},
    "report.threads_intro": {"vi": "Các chủ đề diễn đàn có nhiều bài đăng tiêu cực nhất trong kỳ:",
                             "en": "The forum threads with the most negative posts in the period:"},
    "report.thread": {"vi": "{negative}/{posts} bài đăng tiêu cực", "en": "{negative} of {posts} posts negative"},
    "report.no_threads": {"vi": "Không có bài đăng diễn đàn tiêu cực nào trong kỳ.",
                          "en": "No negative forum post in this period."},
    "report.all_documents": {"vi": "(tất cả)", "en": "(everything)"},
    "report.footer": {"vi": "Số liệu do hệ thống mediawatch tổng hợp tự động từ các nguồn đang theo dõi; giờ theo múi "
                            "{zone}. Báo cáo lập lúc {issued}.",
                      "en": "Figures compiled automatically by mediawatch from the monitored sources; times in "
                            "{zone}. Issued {issued}."},
    # checking a report
    "report.err.name": {"vi": "Hãy đặt tên cho báo cáo (tối đa 120 ký tự).",
                        "en": "Give the report a name (at most 120 characters)."},
    "report.err.period": {"vi": "Chọn kỳ báo cáo: hằng ngày hoặc hằng tuần.", "en": "Choose daily or weekly."},
    "report.err.searches": {"vi": "Cần ít nhất một nội dung theo dõi (tối đa {n}).",
                            "en": "Add at least one subject to monitor (at most {n})."},
    "report.err.label": {"vi": "Tên nội dung tối đa 80 ký tự.", "en": "A subject's name has at most 80 characters."},
    "report.err.query": {"vi": "Câu truy vấn lỗi: {error}", "en": "Query error: {error}"},
    "report.err.query_long": {"vi": "Câu truy vấn tối đa 1000 ký tự.", "en": "A query has at most 1000 characters."},
    "report.err.filter": {"vi": "Giá trị không hợp lệ {value}; hợp lệ: {valid}.",
                          "en": "{value} cannot be used; valid: {valid}."},
    "report.err.place": {"vi": "Không tìm thấy địa danh {value}.", "en": "No place named {value}."},
    "report.err.place_many": {"vi": "{value} chỉ nhiều địa danh: {names}. Hãy ghi rõ hơn hoặc dùng mã.",
                              "en": "{value} means several places: {names}. Be more precise or use a code."},
    "report.err.send_at": {"vi": "Giờ gửi theo dạng GG:PP, ví dụ 07:30.", "en": "Send time as HH:MM, e.g. 07:30."},
    "report.err.recipients": {"vi": "Địa chỉ e-mail không hợp lệ: {error}", "en": "Bad e-mail address: {error}"},
    "report.err.too_many": {"vi": "Tối đa {n} người nhận.", "en": "At most {n} recipients."},
    "report.err.need_recipients": {"vi": "Để gửi theo lịch, hãy nhập ít nhất một địa chỉ e-mail.",
                                   "en": "To send on a schedule, give at least one e-mail address."},
    "report.err.need_time": {"vi": "Chọn giờ gửi, hoặc xoá danh sách người nhận.",
                             "en": "Choose a send time, or clear the recipients."},
    "report.err.timezone": {"vi": "Múi giờ không hợp lệ.", "en": "Unknown time zone."},
    "reports.f.sources": {"vi": "nguồn", "en": "sources"},
    "reports.f.kinds": {"vi": "loại", "en": "kind"},
    "reports.f.languages": {"vi": "ngôn ngữ", "en": "languages"},
    "reports.f.topics": {"vi": "chủ đề", "en": "topics"},
    "reports.f.sentiments": {"vi": "sắc thái", "en": "tone"},
    "reports.f.places": {"vi": "địa bàn", "en": "places"},
    "report.err.period_early": {"vi": "Kỳ {value} quá xa trong quá khứ.", "en": "Period {value} is too far back."},
    "report.err.period_future": {"vi": "Kỳ {value} chưa bắt đầu.", "en": "Period {value} has not started yet."},
    "report.err.period_value": {"vi": "Kỳ {value} không đọc được: dùng {form}.", "en": "Cannot read period {value}: "
                                                                                        "use {form}."},
})


# --------------------------------------------------------------------------------------------- numbers in words


def number(value: float, lang: str, decimals: int = 0) -> str:
    """``1.234`` / ``3,5`` in Vietnamese, ``1,234`` / ``3.5`` in English."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".") if lang == "vi" else text


def percent_change(current: int, previous: int) -> int | None:
    """Whole-percent change; None when there was nothing before."""
    if previous == 0:
        return None
    return round((current - previous) * 100 / previous)


def signed(value: int, lang: str) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "±") + number(abs(value), lang)


def change_cell(current: int, previous: int, lang: str) -> str:
    """``+12 (+40%)``, ``−3 (−25%)``, ``+4 (mới)``, ``0``."""
    delta = current - previous
    if delta == 0:
        return "0"
    pct = percent_change(current, previous)
    if pct is None:
        return f"{signed(delta, lang)} ({'mới' if lang == 'vi' else 'new'})"
    return f"{signed(delta, lang)} ({signed(pct, lang)}%)"


# --------------------------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """One report period in a zone: ``key`` (``2026-12-02`` / ``2026-W49``), its window, the window it is
    compared with, and whether it is still running (``until`` the moment it is cut at)."""

    kind: str
    key: str
    first: date
    last: date
    window: Window
    previous: Window
    zone: ZoneInfo
    until: datetime | None = None

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def label(self, lang: str) -> str:
        if self.kind == "daily":
            return gettext("report.period.daily", lang, day=fmt_date(self.first, lang))
        week = self.first.isocalendar()
        return gettext("report.period.weekly", lang, week=week.week, first=fmt_date(self.first, lang, year=False),
                       last=fmt_date(self.last, lang))

    def neighbour(self, step: int) -> str:
        """The key of the period ``step`` periods away."""
        return period_key(self.kind, self.first + timedelta(days=step * self.days))


def fmt_date(day: date, lang: str, *, year: bool = True) -> str:
    if lang == "vi":
        return day.strftime("%d/%m/%Y" if year else "%d/%m")
    return day.strftime("%Y-%m-%d" if year else "%m-%d")


def fmt_time(moment: datetime | None, zone: ZoneInfo, lang: str) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return local.strftime("%H:%M %d/%m/%Y" if lang == "vi" else "%Y-%m-%d %H:%M")


def period_key(kind: str, day: date) -> str:
    if kind == "weekly":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return day.isoformat()


def zone_of(name: str | None, settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(name or settings.crawl.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo(settings.crawl.timezone)


def _start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def parse_period(kind: str, text: str | None, zone: ZoneInfo, now: datetime | None = None, lang: str = "en"
                 ) -> Period:
    """The period ``text`` names for a ``daily`` or ``weekly`` report (see the module docstring); the last complete
    one when ``text`` is empty. :class:`UserError` (one line) for text that is neither form or lies in the future."""
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).date()
    raw = (text or "").strip()
    form = "YYYY-MM-DD" if kind == "daily" else "YYYY-Www (ISO week) or YYYY-MM-DD"
    if not raw:
        day = today - timedelta(days=1 if kind == "daily" else 7)
    else:
        match = _WEEK.match(raw)
        try:
            if match and kind == "weekly":
                day = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
            elif match:
                raise ValueError(raw)
            else:
                day = date.fromisoformat(raw)
        except ValueError:
            raise UserError(gettext("report.err.period_value", lang, value=repr(raw[:40]), form=form)) from None
    if day.year < 1971:
        raise UserError(gettext("report.err.period_early", lang, value=repr(raw[:40])))
    if kind == "weekly":
        day = day - timedelta(days=day.weekday())
    if day > today:
        raise UserError(gettext("report.err.period_future", lang, value=repr(raw[:40])))
    length = 7 if kind == "weekly" else 1
    first, last = day, day + timedelta(days=length - 1)
    start, end = _start(first, zone), _start(last + timedelta(days=1), zone)
    prev_start = _start(first - timedelta(days=length), zone)
    until = None
    prev_end = start
    if end > now:
        until = now
        end = now
        prev_end = min(start, prev_start + (now - start))
    return Period(kind, period_key(kind, first), first, last, Window(start, end), Window(prev_start, prev_end),
                  zone, until)


# --------------------------------------------------------------------------------------------- checking a report


@dataclass
class Choices:
    """Valid filter values for saved searches."""

    topics: list[str] | None
    sentiments: list[str]


def choices_of(settings: Settings) -> Choices:
    return Choices(searchable_topics(settings.enrich.topic_model, settings.enrich.topic_labels),
                   list(searchable_sentiments(settings.enrich.sentiment_model)))


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [str(v).strip() for v in value if v is not None and str(v).strip()]


def _resolve_places(values: list[str], lang: str) -> tuple[list[str], str | None]:
    from enrich.places import gazetteer

    codes = []
    for value in values:
        units = gazetteer().lookup(value)
        if not units:
            return codes, gettext("report.err.place", lang, value=repr(value))
        if len(units) > 1:
            names = ", ".join(f"{u.name} ({u.code})" for u in units[:5])
            return codes, gettext("report.err.place_many", lang, value=repr(value), names=names)
        codes.append(units[0].code)
    return codes, None


def clean_report(data: Mapping[str, Any], settings: Settings, lang: str = "vi"
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """The record fields for ``data`` ``{name, period, searches: [{label, query, filters}], send_at, recipients,
    timezone}`` and the problems found (field -> one line in ``lang``; ``searches.N.query`` for a search's)."""
    from alerts.channels.email import format_address

    errors: dict[str, str] = {}
    name = " ".join(str(data.get("name") or "").split())
    if not name or len(name) > 120:
        errors["name"] = gettext("report.err.name", lang)
    period = str(data.get("period") or "daily")
    if period not in PERIODS:
        errors["period"] = gettext("report.err.period", lang)
    ch = choices_of(settings)
    valid = {"kinds": list(_KINDS), "topics": ch.topics, "sentiments": ch.sentiments}
    searches: list[dict[str, Any]] = []
    raw_searches = data.get("searches")
    if not isinstance(raw_searches, list | tuple):
        raw_searches = []
    for i, raw in enumerate(raw_searches):
        if not isinstance(raw, Mapping):
            continue
        label = " ".join(str(raw.get("label") or "").split())
        query = str(raw.get("query") or "").strip()
        filters_in = raw.get("filters") if isinstance(raw.get("filters"), Mapping) else {}
        filters: dict[str, list[str]] = {}
        for name_ in FILTER_FIELDS:
            values = _strings(filters_in.get(name_))
            allowed = valid.get(name_)
            if name_ == "places" and values:
                values, problem = _resolve_places(values, lang)
                if problem:
                    errors[f"searches.{i}.places"] = problem
            elif allowed is not None:
                bad = [v for v in values if v not in allowed]
                if bad:
                    errors[f"searches.{i}.{name_}"] = gettext("report.err.filter", lang, value=repr(bad[0]),
                                                              valid=", ".join(allowed))
            elif name_ == "languages":
                values = [v.lower() for v in values if re.fullmatch(r"[a-z]{2,3}|unknown", v.lower())]
            values = values[:50]
            if values:
                filters[name_] = values
        if not label and not query and not filters:
            continue  # an empty row of the form
        if len(label) > 80:
            errors[f"searches.{i}.label"] = gettext("report.err.label", lang)
        if len(query) > 1000:
            errors[f"searches.{i}.query"] = gettext("report.err.query_long", lang)
        elif query:
            try:
                parse(query)
            except QuerySyntaxError as exc:
                errors[f"searches.{i}.query"] = gettext("report.err.query", lang, error=str(exc))
        searches.append({"label": label or query or gettext("report.all_documents", lang), "query": query,
                         "filters": filters})
    if not searches or len(searches) > MAX_SEARCHES:
        errors["searches"] = gettext("report.err.searches", lang, n=MAX_SEARCHES)
    send_at = str(data.get("send_at") or "").strip()
    if send_at and not _HHMM.match(send_at):
        errors["send_at"] = gettext("report.err.send_at", lang)
    recipients: list[str] = []
    raw_recipients = data.get("recipients")
    if isinstance(raw_recipients, str):
        raw_recipients = re.split(r"[,;\n]+", raw_recipients)
    for value in _strings(raw_recipients):
        try:
            address = format_address(value)
        except ValueError as exc:
            errors["recipients"] = gettext("report.err.recipients", lang, error=str(exc))
            break
        if address not in recipients:
            recipients.append(address)
    if len(recipients) > MAX_RECIPIENTS:
        errors["recipients"] = gettext("report.err.too_many", lang, n=MAX_RECIPIENTS)
    if send_at and not recipients and "recipients" not in errors:
        errors["recipients"] = gettext("report.err.need_recipients", lang)
    if recipients and not send_at and "send_at" not in errors:
        errors["send_at"] = gettext("report.err.need_time", lang)
    timezone = str(data.get("timezone") or settings.crawl.timezone).strip()
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        errors["timezone"] = gettext("report.err.timezone", lang)
    record = {"name": name, "period": period, "searches": searches, "send_at": send_at or None,
              "recipients": recipients, "timezone": timezone}
    return record, errors


# --------------------------------------------------------------------------------------------- the document


def province_of(settings: Settings, client: Elasticsearch) -> str | None:
    """The province the monitored sources are in (the most common home province of the source registry:
    ``sources.yaml`` and the sources added in the web app)."""
    try:
        from enrich.places import gazetteer
        from web.context import source_registry

        codes = Counter(s.province for s in source_registry(settings, client) if s.province)
        if not codes:
            return None
        unit = gazetteer().unit(codes.most_common(1)[0][0])
        return unit.name if unit else None
    except (UserError, OSError, ImportError):
        return None


def _province_heading(name: str | None, lang: str) -> str:
    if not name:
        return ""
    if name.lower().startswith(("thành phố", "tỉnh")):
        return name.upper() if lang == "vi" else name
    return gettext("report.province", lang, name=name.upper() if lang == "vi" else name)


def _rows_movers(kind: str, current: dict[str, int], previous: dict[str, int], names: Mapping[str, str], lang: str,
                 limit: int = 3) -> list[dict[str, Any]]:
    deltas = [(key, current.get(key, 0) - previous.get(key, 0)) for key in set(current) | set(previous)]
    rising = sorted((d for d in deltas if d[1] > 0), key=lambda d: (-d[1], names.get(d[0], d[0])))[:limit]
    falling = sorted((d for d in deltas if d[1] < 0), key=lambda d: (d[1], names.get(d[0], d[0])))[:limit]
    return [{"kind": gettext(f"report.dim.{kind}", lang), "dim": kind, "key": key, "name": names.get(key, key),
             "current": current.get(key, 0), "previous": previous.get(key, 0), "delta": delta,
             "change": change_cell(current.get(key, 0), previous.get(key, 0), lang)}
            for key, delta in rising + falling]


def _shares(counts: PeriodCounts) -> dict[str, float]:
    total = counts.documents
    return {label: (counts.sentiment.get(label, 0) * 100 / total if total else 0.0) for label in _SENTIMENT_ORDER}


def build_view(client: Elasticsearch, settings: Settings, record: Mapping[str, Any], period: Period, lang: str,
               now: datetime | None = None) -> dict[str, Any]:
    """Everything one report shows for ``period``: the title block, the five sections' sentences and tables,
    and the raw numbers (``numbers``). QuerySyntaxError / UserError from :func:`report_numbers`."""
    now = now or datetime.now(UTC)
    zone = period.zone
    searches = list(record.get("searches") or [])
    numbers: ReportNumbers = report_numbers(client, settings, searches, period.window, period.previous)
    cur, prev = numbers.current, numbers.previous
    n = lambda value: number(value, lang)  # noqa: E731
    partial = period.until is not None
    prev_words = gettext(f"report.prev_same.{period.kind}" if partial else f"report.prev.{period.kind}", lang)
    if period.kind == "daily":
        when = gettext("report.in.daily", lang, day=fmt_date(period.first, lang))
    else:
        when = gettext("report.in.weekly", lang, first=fmt_date(period.first, lang, year=False),
                       last=fmt_date(period.last, lang))
    if partial:
        when += f" ({gettext('report.so_far', lang, clock=period.until.astimezone(zone).strftime('%H:%M'))})"
    labels = [s["label"] for s in searches]
    about = (gettext("report.about_one", lang, label=labels[0]) if len(labels) == 1 else
             gettext("report.about_many", lang, labels="; ".join(labels)))

    def change_words(current: int, previous: int) -> str:
        if current == previous == 0:
            return gettext("report.change.none", lang, prev=prev_words)
        if previous == 0:
            return gettext("report.change.new", lang, prev=prev_words)
        pct = percent_change(current, previous) or 0
        if current > previous:
            return gettext("report.change.up", lang, pct=n(pct), prev=prev_words, n=n(previous))
        if current < previous:
            return gettext("report.change.down", lang, pct=n(abs(pct)), prev=prev_words, n=n(previous))
        return gettext("report.change.same", lang, prev=prev_words)

    overview = [
        gettext("report.overview", lang, when=when, news=n(cur.news), forum=n(cur.forum), about=about,
                change=change_words(cur.documents, prev.documents)),
        gettext("report.spread", lang, outlets=n(cur.outlets), stories=n(cur.stories)),
    ]
    headline = [{"key": key, "label": gettext(f"report.m.{key}", lang), "current": getattr(cur, key),
                 "previous": getattr(prev, key), "change": change_cell(getattr(cur, key), getattr(prev, key), lang)}
                for key in ("documents", "news", "forum", "outlets", "stories")]

    # rose and fell
    search_rows = []
    for i, search in enumerate(searches):
        c = cur.per_search[i] if i < len(cur.per_search) else 0
        p = prev.per_search[i] if i < len(prev.per_search) else 0
        search_rows.append({"label": search["label"], "query": search.get("query") or "", "current": c,
                            "previous": p, "delta": c - p, "change": change_cell(c, p, lang)})
    moves_text = []
    if len(search_rows) > 1:
        top = max(search_rows, key=lambda r: r["delta"])
        low = min(search_rows, key=lambda r: r["delta"])
        for row, key in ((top, "report.search_rise"), (low, "report.search_fall")):
            if (row["delta"] > 0 and key.endswith("rise")) or (row["delta"] < 0 and key.endswith("fall")):
                pct = percent_change(row["current"], row["previous"])
                moves_text.append(gettext(key, lang, label=row["label"], delta=signed(row["delta"], lang),
                                          pct=(signed(pct, lang) + "%") if pct is not None else
                                          ("mới" if lang == "vi" else "new")))
    topic_names = {key: topic_name(key, lang) for key in set(cur.topic) | set(prev.topic)}  # type: ignore[arg-type]
    movers = (_rows_movers("topic", cur.topic, prev.topic, topic_names, lang)
              + _rows_movers("place", cur.place, prev.place, numbers.place_names, lang)
              + _rows_movers("source", cur.source, prev.source, numbers.source_names, lang))
    rising = [m for m in movers if m["delta"] > 0]
    falling = [m for m in movers if m["delta"] < 0]
    if rising:
        top_rise = sorted(rising, key=lambda m: -m["delta"])[:4]
        moves_text.append(gettext("report.rise", lang, items=", ".join(
            f"{m['kind'].lower()} {m['name']} ({signed(m['delta'], lang)})" for m in top_rise)))
    if falling:
        top_fall = sorted(falling, key=lambda m: m["delta"])[:4]
        moves_text.append(gettext("report.fall", lang, items=", ".join(
            f"{m['kind'].lower()} {m['name']} ({signed(m['delta'], lang)})" for m in top_fall)))
    if not moves_text:
        moves_text.append(gettext("report.no_moves", lang))

    # stories
    stories = []
    for story in numbers.stories:
        outlets = [{"name": o.name, "first": fmt_time(o.first, zone, lang), "documents": o.documents}
                   for o in story.outlets]
        stories.append({"title": story.title, "url": story.url, "outlets": outlets,
                        "summary": gettext("report.story", lang, documents=n(story.documents),
                                           outlets=n(len(story.outlets)))})

    # tone
    now_share, prev_share = _shares(cur), _shares(prev)
    tone_rows = []
    for label in _SENTIMENT_ORDER:
        if label == "unknown" and not (cur.sentiment.get(label) or prev.sentiment.get(label)):
            continue
        points = round(now_share[label] - prev_share[label])
        tone_rows.append({"label": label, "name": sentiment_name(label, lang),  # type: ignore[arg-type]
                          "current": cur.sentiment.get(label, 0), "previous": prev.sentiment.get(label, 0),
                          "share": n(round(now_share[label])) + "%", "share_prev": n(round(prev_share[label])) + "%",
                          "points": signed(points, lang) if points else "0"})
    if sum(cur.sentiment.get(label, 0) for label in ("negative", "neutral", "positive")):
        points = round(now_share["negative"]) - round(prev_share["negative"])
        if not prev.documents:
            tone_change = gettext("report.change.new", lang, prev=prev_words)
        elif points > 0:
            tone_change = gettext("report.tone_up", lang, p=n(points), prev=prev_words)
        elif points < 0:
            tone_change = gettext("report.tone_down", lang, p=n(-points), prev=prev_words)
        else:
            tone_change = gettext("report.tone_same", lang, prev=prev_words)
        tone_text = gettext("report.tone", lang, neg=n(round(now_share["negative"])),
                            n=n(cur.sentiment.get("negative", 0)), change=tone_change,
                            pos=n(round(now_share["positive"])), neu=n(round(now_share["neutral"])))
    else:
        tone_text = gettext("report.no_tone", lang)

    # threads
    threads = []
    for thread in numbers.threads:
        quote = thread.quote if len(thread.quote) <= QUOTE_CHARS else thread.quote[:QUOTE_CHARS - 1].rstrip() + "…"
        threads.append({"title": thread.title, "url": thread.url, "source": thread.source_name or thread.source,
                        "summary": gettext("report.thread", lang, negative=n(thread.negative), posts=n(thread.posts)),
                        "quote": quote, "quote_url": thread.quote_url,
                        "quote_when": fmt_time(thread.quote_published, zone, lang)})

    local_now = now.astimezone(zone)
    province = province_of(settings, client)
    issued_place = (province.removeprefix("Thành phố ").removeprefix("Tỉnh ") + ", ") if province else ""
    return {
        "name": record.get("name") or "",
        "lang": lang,
        "period": period,
        "period_label": period.label(lang),
        "partial": partial,
        "province": _province_heading(province, lang),
        "issued": gettext("report.issued", lang, place=issued_place, d=local_now.day, m=local_now.month,
                          y=local_now.year),
        "issued_at": fmt_time(now, zone, lang),
        "zone": str(zone),
        "overview": overview,
        "headline": headline,
        "searches": search_rows,
        "moves_text": moves_text,
        "movers": movers,
        "stories": stories,
        "tone_rows": tone_rows,
        "tone_text": tone_text,
        "threads": threads,
        "scope": searches_text(searches, lang),
        "numbers": numbers,
        "n": n,
    }


def print_html(view: Mapping[str, Any], *, stylesheet_base: str = "") -> str:
    """The print view (``report_print.html``) of a built report, rendered without a request."""
    from web.render import templates

    lang = view["lang"]
    template = templates.env.get_template("report_print.html")
    return template.render(view=view, lang=lang, t=lambda key, **params: gettext(key, lang, **params),
                           static=stylesheet_base)


def periods_around(period: Period, now: datetime) -> dict[str, str | None]:
    """Keys of the previous and next periods (next: None when it has not started)."""
    following = period.first + timedelta(days=period.days)
    return {"prev": period.neighbour(-1),
            "next": period.neighbour(1) if following <= now.astimezone(period.zone).date() else None}


def searches_text(searches: Sequence[Mapping[str, Any]], lang: str) -> list[dict[str, str]]:
    """The scope appendix: each search's label, query and filters as words."""
    out = []
    for search in searches:
        filters = search.get("filters") or {}
        parts = []
        for name in FILTER_FIELDS:
            values = filters.get(name) or []
            if values:
                shown = [topic_name(v, lang) if name == "topics" else sentiment_name(v, lang)  # type: ignore[arg-type]
                         if name == "sentiments" else gettext(f"kind.{v}", lang) if name == "kinds" else v
                         for v in values]
                parts.append(f"{gettext(f'reports.f.{name}', lang)}: {', '.join(shown)}")
        out.append({"label": search.get("label") or "", "query": search.get("query") or "",
                    "filters": "; ".join(parts)})
    return out
