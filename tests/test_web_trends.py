"""Trends in a real headless Chromium against the running app and a real Elasticsearch node (the test site crawled
and tagged): the volume chart has one point per period of the search's range and its numbers are the API's,
sentiment shares per period add up, the top stories count outlets and name the earliest publisher, search and
trends link to each other with the same search, nothing loads from another site; plus the period arithmetic."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from tests.webapp import browser, live_app, login, page, pages, world_fixture  # noqa: F401  (fixtures)

web_world = world_fixture(tagging=True)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def api(live, path: str, **params):
    with live.http("analyst1") as http:
        resp = http.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def points(page, testid: str) -> list[dict]:
    return page.locator(f"[data-testid={testid}-point]").evaluate_all(
        "els => els.map(e => ({count: Number(e.dataset.count), start: e.dataset.start}))")


def last_day(live) -> date:
    everything = api(live, "/api/trends")
    assert everything["total"] > 50 and everything["to"], everything
    return datetime.fromisoformat(everything["to"]).astimezone(ZONE).date()


def test_volume_chart_has_one_point_per_day_and_the_api_numbers(page, live_app) -> None:
    end = last_day(live_app)
    start = end - timedelta(days=20)
    params = {"from": start.isoformat(), "to": end.isoformat(), "interval": "day"}
    data = api(live_app, "/api/trends", **params)
    assert data["interval"] == "day" and data["timezone"] == "Asia/Ho_Chi_Minh"
    assert len(data["volume"]) == 21  # every local day of the range, empty ones too
    starts = [datetime.fromisoformat(p["start"]) for p in data["volume"]]
    assert [s.date() for s in starts] == [start + timedelta(days=i) for i in range(21)]
    assert all(s.utcoffset() == timedelta(hours=7) and s.hour == 0 for s in starts)  # local midnights
    searched = api(live_app, "/api/search", size=1, **{k: v for k, v in params.items() if k != "interval"})
    assert data["total"] == searched["total"] > 0
    assert sum(p["count"] for p in data["volume"]) == data["total"] - data["undated"]

    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/trends?from={start}&to={end}&interval=day")
    chart = page.locator("svg[data-testid=volume-chart]")
    assert chart.get_attribute("role") == "img"
    assert chart.locator("title").first.text_content() == "Số bài theo thời gian"
    assert "Biểu đồ cột" in chart.locator("desc").text_content()
    drawn = points(page, "volume-chart")
    assert len(drawn) == len(data["volume"]) == 21
    assert [p["count"] for p in drawn] == [p["count"] for p in data["volume"]]
    assert [datetime.fromisoformat(p["start"]) for p in drawn] == starts
    table = page.locator("[data-testid=volume-table] tbody td").evaluate_all(
        "els => els.map(e => Number(e.dataset.count))")
    assert table == [p["count"] for p in data["volume"]]  # the data table says what the chart shows
    first_label = page.locator("[data-testid=volume-table] tbody th").first.text_content()
    assert first_label == start.strftime("%d/%m/%Y")
    summary = page.locator("[data-testid=trends-summary]").inner_text()
    assert f"{data['total']} bài viết" in summary

    shares = points(page, "sentiment-chart")
    assert [p["count"] for p in shares] == [p["count"] for p in data["volume"]]
    for point, group in zip(data["volume"], page.locator("[data-testid=sentiment-chart-point]").all(), strict=True):
        segments = group.locator("rect.segment").evaluate_all(
            "els => Object.fromEntries(els.map(e => [e.dataset.key, Number(e.dataset.count)]))")
        assert segments == point["sentiment"]  # each period's shares are its documents' sentiments
        assert sum(segments.values()) == point["count"]
    legend = page.locator(".legend li").all_inner_texts()
    assert any(text.startswith("Tiêu cực") for text in legend)


def test_week_buckets_follow_local_weeks(live_app) -> None:
    end = last_day(live_app)
    start = end - timedelta(days=40)
    data = api(live_app, "/api/trends", **{"from": start.isoformat(), "to": end.isoformat(), "interval": "week"})
    monday = start - timedelta(days=start.weekday())
    expected = []
    while monday <= end:
        expected.append(monday)
        monday += timedelta(days=7)
    assert [datetime.fromisoformat(p["start"]).date() for p in data["volume"]] == expected
    assert all(datetime.fromisoformat(p["start"]).weekday() == 0 for p in data["volume"])
    auto = api(live_app, "/api/trends", **{"from": start.isoformat(), "to": end.isoformat()})
    assert auto["interval"] == "day" and len(auto["volume"]) == 41


def test_top_sources_topics_and_stories_match_the_index(page, live_app) -> None:
    data = api(live_app, "/api/trends")
    facets = live_app.ctx.index_facets(max_age=0)
    assert {s["source"]: s["count"] for s in data["sources"]} == facets["source"]
    assert {t["topic"]: t["count"] for t in data["topics"]} == dict(list(facets["topic"].items())[:10])
    assert data["stories"], "the test site has syndicated stories"
    client, index = live_app.ctx.client, f"{live_app.settings.index.prefix}-docs"
    top = data["stories"][0]
    members = [h["_source"] for h in client.search(index=index, size=100, query={"term": {"story": top["story"]}},
                                                   source=["source", "published", "url"])["hits"]["hits"]]
    assert top["documents"] == len(members) >= 2
    assert top["outlets"] == len({m["source"] for m in members})
    earliest = min(members, key=lambda m: m["published"])
    assert top["first"]["url"] == earliest["url"]
    assert datetime.fromisoformat(top["first"]["published"]) == datetime.fromisoformat(earliest["published"])

    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/trends")
    rows = page.locator("[data-testid=top-stories] tbody tr")
    assert rows.count() == len(data["stories"])
    assert rows.first.locator("[data-testid=story-outlets]").inner_text() == str(top["outlets"])
    assert top["first"]["source_name"] in rows.first.inner_text()
    sources = page.locator("[data-testid=top-sources] tbody tr").all_inner_texts()
    assert len(sources) == len(data["sources"])
    with page.expect_navigation():
        rows.first.locator("a").first.click()
    assert urlsplit(page.url).path == f"/documents/{top['first']['id']}"


def test_search_and_trends_link_to_each_other_with_the_same_search(page, live_app) -> None:
    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/search?q=lu+lut&kind=news&preset=30d")
    with page.expect_navigation():
        page.locator("[data-testid=to-trends]").click()
    assert urlsplit(page.url).path == "/trends"
    asked = dict(parse_qsl(urlsplit(page.url).query))
    assert {k: asked[k] for k in ("q", "kind", "preset")} == {"q": "lu lut", "kind": "news", "preset": "30d"}
    data = api(live_app, "/api/trends", q="lu lut", kind="news", preset="30d")
    assert len(points(page, "volume-chart")) == len(data["volume"]) == 30  # the preset's 30 local days
    assert page.locator("#q").input_value() == "lu lut"
    page.locator("#interval").select_option("week")
    with page.expect_navigation():
        page.locator(".trends-bar button[type=submit]").click()
    asked = dict(parse_qsl(urlsplit(page.url).query))
    assert asked["interval"] == "week" and asked["kind"] == "news" and asked["q"] == "lu lut"
    with page.expect_navigation():
        page.locator("[data-testid=to-search]").click()
    assert urlsplit(page.url).path == "/search"
    back = dict(parse_qsl(urlsplit(page.url).query))
    assert {k: back[k] for k in ("q", "kind", "preset")} == {"q": "lu lut", "kind": "news", "preset": "30d"}
    total = int(re.sub(r"\D", "", page.locator("[data-testid=total] strong").inner_text()))
    assert total == data["total"]


def test_trends_page_loads_nothing_from_elsewhere_and_has_no_inline_styles(page, live_app) -> None:
    login(page, live_app, "analyst1")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.goto(f"{live_app.url}/trends?interval=week")
    page.wait_for_load_state("networkidle")
    assert requested and all(url.startswith(live_app.url) for url in requested), requested
    assert not violations, violations
    assert page.locator("[style]").count() == 0 and page.locator("main style, main script").count() == 0
    assert page.locator("svg[data-testid=sentiment-chart] pattern").count() >= 3  # shares differ by pattern too
    page.set_viewport_size({"width": 375, "height": 800})  # a phone: the chart scrolls, labels keep their size
    box = page.locator("svg[data-testid=volume-chart]").bounding_box()
    assert box is not None and box["width"] >= 500
    assert page.locator(".chart-scroll").first.evaluate("e => e.scrollWidth > e.clientWidth")


def test_api_errors_are_one_line(live_app) -> None:
    with live_app.http("analyst1") as http:
        bad = http.get("/api/trends", params={"q": '"unclosed'})
        assert bad.status_code == 400 and bad.json()["position"]
        wrong = http.get("/api/trends", params={"topic": "astrology"})
        assert wrong.status_code == 400 and "astrology" in wrong.json()["detail"]
        interval = http.get("/api/trends", params={"interval": "hour"})
        assert interval.status_code == 422
        wide = http.get("/api/trends", params={"from": "1900-01-01", "to": "2999-12-31", "interval": "day"})
        assert wide.status_code == 200  # narrowed to the documents' own range
        assert len(wide.json()["volume"]) < 500
    with live_app.http() as anonymous:
        assert anonymous.get("/api/trends").status_code == 401


def test_periods_and_automatic_interval() -> None:
    from index.trends import choose_interval, periods

    def at(day: str) -> datetime:
        return datetime.fromisoformat(day).replace(tzinfo=ZONE)

    assert periods(at("2026-11-01"), at("2026-11-30T23:59"), "day", ZONE) == 30
    assert periods(at("2026-11-01"), at("2026-11-30"), "week", ZONE) == 6  # Sun 1st .. Mon 30th
    assert periods(at("2025-12-31"), at("2026-01-01"), "month", ZONE) == 2
    assert periods(at("2025-12-31"), at("2026-01-01"), "year", ZONE) == 2
    assert choose_interval(at("2026-11-01"), at("2026-11-30"), "auto", ZONE) == "day"
    assert choose_interval(at("2026-01-01"), at("2026-11-30"), "auto", ZONE) == "week"
    assert choose_interval(at("2020-01-01"), at("2026-11-30"), "auto", ZONE) == "month"
    assert choose_interval(at("1990-01-01"), at("2026-11-30"), "auto", ZONE) == "year"
    assert choose_interval(at("1990-01-01"), at("2026-11-30"), "week", ZONE) == "week"


def test_charts_are_plain_accessible_svg() -> None:
    from web.charts import Column, column_chart, share_chart

    columns = [Column("01/11", "01/11/2026", 3, "2026-11-01T00:00:00+07:00"),
               Column("02/11", "02/11/2026", 0, "2026-11-02T00:00:00+07:00"),
               Column("03/11", "03/11/2026", 12, "2026-11-03T00:00:00+07:00")]
    svg = str(column_chart(columns, chart_id="v", title="Số bài <theo> ngày", desc="Mô tả", testid="vol"))
    assert svg.count('data-testid="vol-point"') == 3 and 'data-count="12"' in svg and 'data-count="0"' in svg
    assert '<title id="v-t">Số bài &lt;theo&gt; ngày</title>' in svg and 'aria-labelledby="v-t v-d"' in svg
    assert "style" not in svg and "<script" not in svg
    shares = share_chart(columns, [{"negative": 1, "positive": 2}, {}, {"neutral": 12}], ["negative", "neutral",
                         "positive"], chart_id="s", title="t", desc="d", testid="sh", name=str,
                         percent=lambda x: f"{x:.0%}")
    text = str(shares)
    assert text.count('data-testid="sh-point"') == 3 and 'class="empty"' in text  # an empty day is still a point
    assert 'fill="url(#s-p-negative)"' in text and "negative 1 (33%)" in text and "style" not in text
