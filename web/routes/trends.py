"""Trends of a search: the page (``/trends``) and its series (``/api/trends``).

The URL holds the search exactly as on the search page (``q``, ``from``, ``to``, ``preset``, ``source``, ``kind``,
``language``, ``topic``, ``sentiment``: the same dependency reads them) plus ``interval`` (auto | day | week |
month | year); the two pages link to each other with the same parameters. Charts are inline SVG drawn on the
server (:mod:`web.charts`), each with a data table; the page needs no script and nothing from the network.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from index.search import BadFilter, NothingIndexed
from index.trends import INTERVALS, Trends, trends
from mediawatch.errors import QuerySyntaxError
from web import charts
from web.accounts import User
from web.auth import ctx_of, current_user
from web.i18n import gettext, register
from web.render import NavItem, language_of, render
from web.routes.search import SearchForm, build_request, choices, search_form

router = APIRouter()
NAV = [NavItem("nav.trends", "/trends", 20)]

IntervalParam = Literal["auto", "day", "week", "month", "year"]

register({
    "trends.title": {"vi": "Xu hướng", "en": "Trends"},
    "trends.query": {"vi": "Từ khóa", "en": "Query"},
    "trends.show": {"vi": "Xem xu hướng", "en": "Show trends"},
    "trends.interval": {"vi": "Chia theo", "en": "Per"},
    "trends.interval.auto": {"vi": "Tự động", "en": "Automatic"},
    "trends.interval.day": {"vi": "Ngày", "en": "Day"},
    "trends.interval.week": {"vi": "Tuần", "en": "Week"},
    "trends.interval.month": {"vi": "Tháng", "en": "Month"},
    "trends.interval.year": {"vi": "Năm", "en": "Year"},
    "trends.to_search": {"vi": "Xem danh sách bài viết của tìm kiếm này", "en": "See the documents of this search"},
    "trends.from_search": {"vi": "Xem xu hướng", "en": "See trends"},
    "trends.summary": {"vi": "{n} bài viết · {start} – {end} · chia theo {interval}",
                       "en": "{n} documents · {start} – {end} · per {interval}"},
    "trends.summary_empty": {"vi": "Không có bài viết nào khớp với tìm kiếm.", "en": "No document matches the search."},
    "trends.undated": {"vi": "{n} bài không có ngày đăng (không nằm trên biểu đồ).",
                       "en": "{n} documents have no date (not on the chart)."},
    "trends.filters": {"vi": "Bộ lọc đang dùng", "en": "Filters in use"},
    "trends.no_filters": {"vi": "Không lọc", "en": "No filters"},
    "trends.volume": {"vi": "Số bài theo thời gian", "en": "Volume over time"},
    "trends.volume_desc": {
        "vi": "Biểu đồ cột: số bài viết mỗi {interval}, từ {start} đến {end}. Tổng {n} bài; nhiều nhất {peak} bài "
              "({peak_at}).",
        "en": "Column chart: documents per {interval} from {start} to {end}. {n} in all; at most {peak} "
              "({peak_at}).",
    },
    "trends.sentiment": {"vi": "Tỷ lệ sắc thái theo thời gian", "en": "Sentiment share over time"},
    "trends.sentiment_desc": {
        "vi": "Cột chồng 100%: tỷ lệ bài tiêu cực, trung tính, tích cực mỗi {interval}. Cả kỳ: {shares}.",
        "en": "100% stacked columns: the share of negative, neutral and positive documents per {interval}. "
              "Whole period: {shares}.",
    },
    "trends.sentiment_total": {"vi": "Cả kỳ", "en": "Whole period"},
    "trends.sources": {"vi": "Nguồn đăng nhiều nhất", "en": "Top sources"},
    "trends.topics": {"vi": "Chủ đề nổi bật", "en": "Top topics"},
    "trends.stories": {"vi": "Câu chuyện được nhiều nguồn đưa tin", "en": "Most covered stories"},
    "trends.story": {"vi": "Bài đầu tiên", "en": "First report"},
    "trends.outlets": {"vi": "Số nguồn", "en": "Outlets"},
    "trends.documents": {"vi": "Số bài", "en": "Documents"},
    "trends.first_publisher": {"vi": "Đăng đầu tiên", "en": "First published by"},
    "trends.no_stories": {"vi": "Chưa có câu chuyện nào được nhiều bài cùng đưa.",
                          "en": "No story is carried by several documents yet."},
    "trends.table": {"vi": "Bảng số liệu", "en": "Data table"},
    "trends.period": {"vi": "Thời gian", "en": "Period"},
    "trends.count": {"vi": "Số bài", "en": "Documents"},
    "trends.share": {"vi": "Tỷ lệ", "en": "Share"},
    "trends.total": {"vi": "Tổng", "en": "Total"},
    "trends.week_of": {"vi": "Tuần từ {day}", "en": "Week of {day}"},
    "trends.docs_at": {"vi": "{period}: {n} bài", "en": "{period}: {n} documents"},
    "trends.legend": {"vi": "Chú giải", "en": "Legend"},
    "trends.scroll": {"vi": "Kéo ngang để xem hết biểu đồ.", "en": "Scroll sideways to see the whole chart."},
    "trends.none": {"vi": "Không có", "en": "None"},
})


class VolumePoint(BaseModel):
    start: str
    count: int
    sentiment: dict[str, int]


class TrendsOut(BaseModel):
    total: int
    undated: int
    interval: str
    timezone: str
    from_: str | None = Field(None, alias="from")
    to: str | None
    volume: list[VolumePoint]
    sentiment: dict[str, int]
    sources: list[dict[str, Any]]
    topics: list[dict[str, Any]]
    stories: list[dict[str, Any]]

    model_config = {"populate_by_name": True}


def _number(lang: str):
    def fmt(n: int | float) -> str:
        text = f"{int(n):,}"
        return text.replace(",", ".") if lang == "vi" else text
    return fmt


def _percent(lang: str):
    def fmt(share: float) -> str:
        value = f"{share * 100:.0f}%" if share >= 0.1 or share == 0 else f"{share * 100:.1f}%"
        return value.replace(".", ",") if lang == "vi" else value
    return fmt


def period_label(start: datetime, interval: str, lang: str, *, long: bool = False) -> str:
    """How a period is named on an axis (short) or in a table and a tooltip (``long``)."""
    if interval == "year":
        return f"{start.year}"
    if interval == "month":
        return start.strftime("%m/%Y" if lang == "vi" else "%Y-%m")
    day = start.strftime(("%d/%m/%Y" if lang == "vi" else "%Y-%m-%d") if long else ("%d/%m" if lang == "vi"
                                                                                      else "%m-%d"))
    return gettext("trends.week_of", lang, day=day) if interval == "week" and long else day


def _run(request: Request, form: SearchForm, interval: str, lang: str) -> tuple[Trends | None, dict[str, str], bool]:
    """(trends or None, errors by field, whether anything is indexed)."""
    ctx = ctx_of(request)
    ch = choices(ctx)
    req, errors = build_request(ctx, form, ch, lang)
    if errors or not ch.indexed:
        return None, errors, ch.indexed
    try:
        return trends(ctx.client, ctx.settings, req, interval=interval), errors, True
    except QuerySyntaxError as exc:
        position = getattr(exc, "offset", None)
        errors["q"] = (gettext("search.syntax_error", lang, position=position + 1) + " " if position is not None
                       else "") + str(exc)
    except NothingIndexed:
        return None, errors, False
    except BadFilter as exc:
        errors["interval"] = str(exc)
    return None, errors, True


def _view(result: Trends, lang: str) -> dict[str, Any]:
    """What the template draws: the charts (SVG), their tables and the ranked lists."""
    number, percent = _number(lang), _percent(lang)
    interval_name = gettext(f"trends.interval.{result.interval}", lang).lower()
    columns = [charts.Column(label=period_label(p["start"], result.interval, lang),
                             text=period_label(p["start"], result.interval, lang, long=True),
                             value=p["count"], start=p["start"].isoformat()) for p in result.volume]
    rows = [{"label": c.text, "count": c.value, "start": c.start, "sentiment": p["sentiment"]}
            for c, p in zip(columns, result.volume, strict=True)]
    start = period_label(result.volume[0]["start"], result.interval, lang, long=True) if result.volume else "-"
    end = period_label(result.volume[-1]["start"], result.interval, lang, long=True) if result.volume else "-"
    peak = max(result.volume, key=lambda p: p["count"], default=None)
    volume_svg = charts.column_chart(
        columns, chart_id="volume", testid="volume-chart", number=number,
        title=gettext("trends.volume", lang),
        desc=gettext("trends.volume_desc", lang, interval=interval_name, start=start, end=end,
                     n=number(sum(c.value for c in columns)), peak=number(peak["count"] if peak else 0),
                     peak_at=period_label(peak["start"], result.interval, lang, long=True) if peak else "-"),
    ) if columns else None
    present = [k for k in charts.SENTIMENT_ORDER if result.sentiment.get(k)]
    present += sorted(k for k in result.sentiment if k not in charts.SENTIMENT_ORDER)
    whole = sum(result.sentiment.values())
    shares_text = ", ".join(f"{_sentiment(k, lang)} {percent(result.sentiment[k] / whole)}" for k in present
                            ) if whole else gettext("trends.none", lang)
    share_svg = charts.share_chart(
        columns, [p["sentiment"] for p in result.volume], present, chart_id="shares", testid="sentiment-chart",
        title=gettext("trends.sentiment", lang),
        desc=gettext("trends.sentiment_desc", lang, interval=interval_name, shares=shares_text),
        name=lambda k: _sentiment(k, lang), percent=percent,
    ) if columns and present else None
    return {
        "volume_svg": volume_svg, "share_svg": share_svg, "rows": rows, "sentiments": present,
        "sentiment_total": whole, "start_label": start, "end_label": end, "interval_name": interval_name,
        "swatch": lambda key: charts.legend_swatch("shares", key), "bar": charts.bar,
        "number": number, "percent": percent,
        "largest_source": max((s["count"] for s in result.sources), default=0),
        "largest_topic": max((t["count"] for t in result.topics), default=0),
    }


def _sentiment(label: str, lang: str) -> str:
    from enrich.labels import sentiment_name

    return sentiment_name(label, lang)  # type: ignore[arg-type]


@router.get("/trends", include_in_schema=False)
def trends_page(request: Request, form: SearchForm = Depends(search_form),
                interval: IntervalParam = Query("auto"), user: User = Depends(current_user)):
    lang = language_of(request)
    result, errors, indexed = _run(request, form, interval, lang)
    ctx = ctx_of(request)
    ch = choices(ctx)
    params = form.params()
    filters = []
    for name, values, shown in (("kind", form.kinds, lambda v: gettext(f"kind.{v}", lang)),
                                ("sentiment", form.sentiments, lambda v: _sentiment(v, lang)),
                                ("topic", form.topics, None), ("source", form.sources,
                                                               lambda v: ch.source_names.get(v, v)),
                                ("language", form.languages, None)):
        for value in values:
            filters.append({"name": name, "value": value, "shown": shown(value) if shown else value})
    dates = [(k, v) for k, v in (("from", form.date_from), ("to", form.date_to), ("preset", form.preset)) if v]
    return render(request, "trends.html", {
        "form": form, "interval": interval, "intervals": INTERVALS, "result": result, "errors": errors,
        "indexed": indexed, "params": params, "filters": filters, "dates": dates,
        "hidden": [(k, v) for k, v in params if k != "q"],
        "source_label": lambda source: ch.source_names.get(source, source),
        "view": _view(result, lang) if result is not None else None,
    }, status_code=400 if errors else 200)


@router.get("/api/trends", response_model=TrendsOut, tags=["trends"],
            summary="Trends of a search (same parameters as /api/search; size, after and sort are ignored): "
                    "volume and sentiment per period in the configured zone, top sources, topics and stories",
            responses={400: {"description": "Bad query syntax, a filter value that cannot match, or too many "
                                            "periods for the interval"},
                       404: {"description": "Nothing is indexed yet"}})
def trends_api(request: Request, form: SearchForm = Depends(search_form),
               interval: IntervalParam = Query("auto", description="auto | day | week | month | year: the period "
                                                                   "of the volume series (auto: by the range)"),
               user: User = Depends(current_user)):
    ctx = ctx_of(request)
    req, errors = build_request(ctx, form, choices(ctx), "en")
    if errors:
        raise HTTPException(400, "; ".join(f"{k}: {v}" for k, v in errors.items()))
    try:
        result = trends(ctx.client, ctx.settings, req, interval=interval)
    except QuerySyntaxError as exc:
        position = getattr(exc, "offset", None)
        return JSONResponse({"detail": str(exc), "position": position + 1 if position is not None else None},
                            status_code=400)
    return JSONResponse(result.to_json())
