"""Situation reports in a real headless Chromium against the running app and a real Elasticsearch node (the test
site crawled and tagged): a report made in the browser, its PDF (printed by Chromium) whose text has the headline
numbers counted here straight from the index, owners and administrators, form errors next to their fields, the
audit log, scheduled e-mail sent once per period to a real SMTP server (aiosmtpd) however many senders race; plus
the period and schedule arithmetic."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

import email
import email.policy
import io
import re
import socket
import threading
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.webapp import (  # noqa: F401
    CHROMIUM,
    audit_entries,
    browser,
    live_app,
    login,
    page,
    pages,
    run_app,
    world_fixture,
)

web_world = world_fixture(tagging=True)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
SEARCHES = [
    {"label": "Lũ lụt", "query": 'lu lut OR "ngập lụt"', "filters": {}},
    {"label": "Diễn đàn", "query": "", "filters": {"kinds": ["forum"]}},
]


# --------------------------------------------------------------------------------------------- helpers


def squash(text: str) -> str:
    """PDF text without any whitespace (pypdf puts spaces around some Vietnamese letters), NFC."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def pdf_text(data: bytes) -> tuple[int, str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(p.extract_text() or "" for p in reader.pages)


def api_report(live, user: str = "analyst1", **changes) -> dict:
    body = {"name": "Báo cáo lũ lụt", "period": "daily", "searches": SEARCHES, **changes}
    with live.http(user) as http:
        resp = http.post("/api/reports", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def union_filter(searches) -> dict:
    from index.search import SearchRequest, build_query

    return {"bool": {"should": [build_query(SearchRequest(query=s["query"], kinds=s["filters"].get("kinds", [])))
                                for s in searches], "minimum_should_match": 1}}


def day_window(day: date) -> dict:
    start = datetime.combine(day, time.min, ZONE)
    end = datetime.combine(day + timedelta(days=1), time.min, ZONE)
    return {"range": {"published": {"gte": start.isoformat(), "lt": end.isoformat()}}}


def expected_counts(live, window: dict) -> dict[str, int]:
    """The headline numbers of :data:`SEARCHES` in ``window``, counted here with plain queries."""
    client, index = live.ctx.client, f"{live.world.prefix}-docs"
    base = [union_filter(SEARCHES), window]

    def count(*extra) -> int:
        return client.count(index=index, query={"bool": {"filter": base + list(extra)}})["count"]

    def distinct(field: str, *extra) -> int:
        resp = client.search(index=index, size=0, query={"bool": {"filter": base + list(extra)}},
                             aggs={"v": {"terms": {"field": field, "size": 10000}}})
        return len(resp["aggregations"]["v"]["buckets"])

    news = {"term": {"kind": "news"}}
    no_story = {"bool": {"must_not": [{"exists": {"field": "story"}}]}}
    return {"documents": count(), "news": count(news), "forum": count({"term": {"kind": "forum"}}),
            "outlets": distinct("source"), "stories": distinct("story", news) + count(news, no_story)}


def busiest_day(live) -> date:
    """The local day before today with the most documents matching :data:`SEARCHES` among those with both news
    and forum posts (the site's dates follow the clock, so a day of forum posts alone can be the busiest)."""
    resp = live.ctx.client.search(index=f"{live.world.prefix}-docs", size=0, query=union_filter(SEARCHES), aggs={
        "days": {"date_histogram": {"field": "published", "calendar_interval": "day", "time_zone": str(ZONE),
                                    "min_doc_count": 1},
                 "aggs": {"kinds": {"terms": {"field": "kind", "size": 5}}}}})
    today = datetime.now(ZONE).date()
    days = [(b["doc_count"], datetime.fromisoformat(b["key_as_string"]).date())
            for b in resp["aggregations"]["days"]["buckets"]
            if {k["key"] for k in b["kinds"]["buckets"]} >= {"news", "forum"}]
    days = [(n, d) for n, d in days if d < today]
    assert days, "the test site has no day before today with both news and forum coverage"
    return max(days)[1]


def vi(n: int) -> str:
    return f"{n:,}".replace(",", ".")


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) keeping what it receives."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's API
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def __enter__(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def smtp_settings(live, port: int):
    return live.settings.model_copy(update={"alerts": live.settings.alerts.model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False, "smtp_ssl": False,
        "smtp_username": None})})


# --------------------------------------------------------------------------------------------- browser


def test_a_report_made_in_the_browser_prints_a_pdf_with_the_headline_numbers(page, live_app) -> None:
    login(page, live_app, "analyst1", next_path="/reports")
    page.locator("[data-testid=new-report]").click()
    page.locator("#name").fill("Lũ lụt và diễn đàn")
    page.locator("#s0-label").fill(SEARCHES[0]["label"])
    page.locator("#s0-query").fill(SEARCHES[0]["query"])
    page.locator("#s1-label").fill(SEARCHES[1]["label"])
    page.locator("#s1-kinds").select_option("forum")
    with page.expect_navigation():
        page.locator("[data-testid=save-report]").click()
    match = re.search(r"/reports/([0-9a-f]{16})\?saved=1$", page.url)
    assert match, page.url
    report_id = match.group(1)
    assert page.locator("[role=status]").first.inner_text() == "Đã lưu báo cáo."
    assert [e["target"] for e in audit_entries(live_app, action="report.create")][:1] == [report_id]

    day = busiest_day(live_app)
    page.goto(f"{live_app.url}/reports/{report_id}?period={day.isoformat()}")
    want = expected_counts(live_app, day_window(day))
    assert want["documents"] > 0 and want["news"] > 0 and want["forum"] > 0, want
    title = page.locator("h1").inner_text()
    assert "BÁO CÁO TÌNH HÌNH DƯ LUẬN" in title
    assert page.locator("[data-testid=report-period]").inner_text() == f"Ngày {day:%d/%m/%Y}"
    overview = page.locator("[data-testid=overview]").first.inner_text()
    assert overview.startswith(f"Trong ngày {day:%d/%m/%Y}, có {vi(want['news'])} bài báo và "
                               f"{vi(want['forum'])} bài đăng diễn đàn về các nội dung theo dõi (Lũ lụt; Diễn đàn)")
    cells = page.locator("tr[data-measure=documents] td").all_inner_texts()
    assert cells[0] == vi(want["documents"])

    with page.expect_download() as download_info:
        page.locator("[data-testid=pdf]").click()
    download = download_info.value
    assert download.suggested_filename == f"bao-cao-lu-lut-va-dien-dan-{day.isoformat()}.pdf"
    data = open(download.path(), "rb").read()
    assert data.startswith(b"%PDF-")
    pages_count, text = pdf_text(data)
    flat = squash(text)
    assert squash(f"Trong ngày {day:%d/%m/%Y}, có {vi(want['news'])} bài báo và {vi(want['forum'])} bài đăng "
                  "diễn đàn") in flat, text[:1500]
    assert squash(f"Các bài viết đến từ {vi(want['outlets'])} trang tin và diễn đàn; tin báo chí thuộc "
                  f"{vi(want['stories'])} sự việc") in flat, text[:1500]
    assert squash(f"Tổng số bài {vi(want['documents'])}") in flat
    assert squash("BÁO CÁO TÌNH HÌNH DƯ LUẬN") in flat and squash("TỈNH BẮC NINH") in flat
    assert f"1/{pages_count}" in flat and f"{pages_count}/{pages_count}" in flat  # page numbers in the footers
    entries = audit_entries(live_app, action="report.pdf")
    assert entries and entries[0]["target"] == report_id and entries[0]["details"]["period"] == day.isoformat()

    # the previous day, one click away, compares with the numbers counted here
    page.goto(f"{live_app.url}/reports/{report_id}?period={day.isoformat()}")
    with page.expect_navigation():
        page.locator("[data-testid=prev-period]").click()
    assert page.url.endswith(f"period={(day - timedelta(days=1)).isoformat()}")
    prev_cells = page.locator("tr[data-measure=documents] td").all_inner_texts()
    assert prev_cells[0] == vi(expected_counts(live_app, day_window(day - timedelta(days=1)))["documents"])
    assert prev_cells[1] == vi(expected_counts(live_app, day_window(day - timedelta(days=2)))["documents"])


def test_the_report_has_its_sections_stories_tone_and_negative_threads(page, live_app) -> None:
    report = api_report(live_app, name="Theo tuần", period="weekly")
    day = busiest_day(live_app)
    week = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"
    with live_app.http("analyst1") as http:
        data = http.get(f"/api/reports/{report['id']}/view", params={"period": week}).json()
    assert data["period"]["key"] == week and data["period"]["kind"] == "weekly"
    monday = date.fromisocalendar(day.isocalendar().year, day.isocalendar().week, 1)
    assert datetime.fromisoformat(data["period"]["start"]) == datetime.combine(monday, time.min, ZONE)
    if not data["period"]["partial"]:
        window = {"range": {"published": {"gte": datetime.combine(monday, time.min, ZONE).isoformat(),
                                          "lt": datetime.combine(monday + timedelta(days=7), time.min,
                                                                 ZONE).isoformat()}}}
        assert data["current"]["documents"] == expected_counts(live_app, window)["documents"]
    assert sum(data["current"]["sentiment"].values()) == data["current"]["documents"]
    assert data["stories"] and all(s["outlets"] for s in data["stories"])
    for story in data["stories"]:  # earliest publisher first
        firsts = [datetime.strptime(o["first"], "%H:%M %d/%m/%Y") for o in story["outlets"]]
        assert firsts == sorted(firsts)
    assert data["threads"], "the flood thread has negative posts"
    top = data["threads"][0]
    assert top["quote"] and top["url"].startswith(live_app.world.site_url)

    login(page, live_app, "analyst1", next_path=f"/reports/{report['id']}?period={week}")
    headings = page.locator(".report-doc h2").all_inner_texts()
    assert [h.split(" ", 1)[0] for h in headings[:5]] == ["1.", "2.", "3.", "4.", "5."]
    assert page.locator("[data-testid=stories] > li").count() == len(data["stories"])
    assert page.locator("[data-testid=threads] blockquote").count() == len(data["threads"])
    assert page.locator(".report-doc table").count() >= 3

    # the print view is served with the same Content-Security-Policy, and in English on request
    response = page.goto(f"{live_app.url}/reports/{report['id']}/print?period={week}&lang=en")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "SITUATION REPORT" in page.locator("h1").inner_text()
    assert page.locator("link[rel=stylesheet]").get_attribute("href") == "/static/report.css"


def test_form_errors_are_shown_next_to_their_fields(page, live_app) -> None:
    login(page, live_app, "analyst1", next_path="/reports/new")
    page.locator("#s0-query").fill('"lũ lụt" AND (')
    page.locator("#send_at").fill("07:30")
    page.locator("#recipients").fill("lanhdao@@example")
    with page.expect_navigation():
        page.locator("[data-testid=save-report]").click()
    assert page.locator("[data-testid=form-errors]").is_visible()
    assert page.locator("#name").get_attribute("aria-invalid") == "true"
    assert "tên" in page.locator("#name-error").inner_text().lower()
    assert "vị trí" in page.locator("#s0-query-error").inner_text() or "position" in page.locator(
        "#s0-query-error").inner_text()
    assert page.locator("#s0-query").input_value() == '"lũ lụt" AND ('  # what was typed is kept
    assert page.locator("#recipients-error").is_visible()
    # "add a subject" keeps what was typed and shows one more row
    rows = page.locator("[data-testid=search-row]").count()
    page.locator("#name").fill("Thử")
    with page.expect_navigation():
        page.locator("button[value=add_row]").click()
    assert page.locator("[data-testid=search-row]").count() == rows + 1
    assert page.locator("#name").input_value() == "Thử"


def test_an_analyst_sees_only_their_reports_and_an_admin_sees_all(pages, live_app) -> None:
    report = api_report(live_app, name="Riêng của An")
    rid = report["id"]
    with live_app.http("analyst2") as http:
        assert http.get(f"/api/reports/{rid}").status_code == 404
        assert http.get(f"/api/reports/{rid}/view").status_code == 404
        assert http.put(f"/api/reports/{rid}", json={"name": "x", "searches": SEARCHES}).status_code == 404
        assert http.delete(f"/api/reports/{rid}").status_code == 404
        assert rid not in [r["id"] for r in http.get("/api/reports").json()["reports"]]
    other = login(pages(), live_app, "analyst2")
    for path in (f"/reports/{rid}", f"/reports/{rid}.pdf", f"/reports/{rid}/print", f"/reports/{rid}/edit"):
        assert other.goto(live_app.url + path).status == 404, path
    other.goto(live_app.url + "/reports")
    assert "Riêng của An" not in other.locator("main").inner_text()
    admin = login(pages(), live_app, "admin")
    assert admin.goto(f"{live_app.url}/reports/{rid}").status == 200
    admin.goto(live_app.url + "/reports")
    assert admin.locator(f"tr[data-id='{rid}']").inner_text().count("analyst1") == 1
    with live_app.http("admin") as http:
        assert http.get(f"/api/reports/{rid}").json()["owner"] == "analyst1"


def test_edit_and_delete_in_the_browser_are_audited(page, live_app) -> None:
    report = api_report(live_app, name="Sẽ đổi tên")
    login(page, live_app, "analyst1", next_path=f"/reports/{report['id']}/edit")
    page.locator("#name").fill("Đã đổi tên")
    page.locator("#period").select_option("weekly")
    with page.expect_navigation():
        page.locator("[data-testid=save-report]").click()
    assert page.locator(".doc-name").inner_text() == "Đã đổi tên"
    assert page.locator("[data-testid=report-period]").inner_text().startswith("Tuần ")
    updated = audit_entries(live_app, action="report.update", target=report["id"])
    assert updated and set(updated[0]["details"]["changed"]) >= {"name", "period"}
    page.goto(f"{live_app.url}/reports/{report['id']}/edit")
    with page.expect_navigation():
        page.locator("[data-testid=delete-report]").click()
    assert "Đã xoá báo cáo “Đã đổi tên”" in page.locator("[role=status]").first.inner_text()
    assert audit_entries(live_app, action="report.delete", target=report["id"])
    with live_app.http("analyst1") as http:
        assert http.get(f"/api/reports/{report['id']}").status_code == 404


def test_a_form_post_without_csrf_is_refused(page, live_app) -> None:
    login(page, live_app, "analyst1", next_path="/reports")
    resp = page.request.post(f"{live_app.url}/reports/new", form={"name": "x", "rows": "1", "s0-query": "a"})
    assert resp.status == 403


def test_api_checks_input_and_periods(live_app) -> None:
    with live_app.http("analyst1") as http:
        bad = http.post("/api/reports", json={"name": "", "searches": [{"query": "a AND ("}],
                                              "send_at": "25:00", "recipients": ["not-an-address"]})
        assert bad.status_code == 400
        detail = bad.json()["detail"]
        assert "name" in detail and "searches.0.query" in detail and "send_at" in detail and "recipients" in detail
        report = api_report(live_app)
        for period in ("2026-13-01", "tomorrow", "2999-01-01", "2026-W60"):
            resp = http.get(f"/api/reports/{report['id']}/view", params={"period": period})
            assert resp.status_code == 400, (period, resp.text)
        assert http.get("/api/reports/..%2F..%2Fetc/view").status_code == 404


# --------------------------------------------------------------------------------------------- scheduled e-mail


def test_scheduled_email_goes_once_per_period_with_the_pdf(live_app) -> None:
    from index.reports import ReportStore
    from mediawatch.scheduler import Scheduler
    from web.report_mail import send_due_reports

    report = api_report(live_app, name="Gửi hằng ngày", send_at="07:00",
                        recipients=["lanhdao@example.vn", "Văn phòng <vanphong@example.vn>"])
    store = ReportStore.of(live_app.ctx.client, live_app.settings)
    store.update(report["id"], {"created": (datetime.now(UTC) - timedelta(days=3)).isoformat()})
    today = datetime.now(ZONE).date()
    first = datetime.combine(today, time(8, 0), ZONE).astimezone(UTC)
    with SmtpSink() as sink:
        settings = smtp_settings(live_app, sink.port)
        client = live_app.ctx.client
        scheduler = Scheduler(settings, clock=lambda: first)
        racers = [threading.Thread(target=send_due_reports, args=(client, settings, first)) for _ in range(2)]
        racers.append(threading.Thread(target=scheduler._alerts, args=(first,), kwargs={"match": False}))
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=120)
        ours = [m for m in sink.messages if m[1]["X-Mediawatch-Report-Id"] == report["id"]]
        assert len(ours) == 1, [m[1]["Subject"] for m in ours]
        rcpts, message = ours[0]
        assert sorted(rcpts) == ["lanhdao@example.vn", "vanphong@example.vn"]
        yesterday = today - timedelta(days=1)
        assert message["X-Mediawatch-Report-Period"] == yesterday.isoformat()
        assert f"Ngày {yesterday:%d/%m/%Y}" in message["Subject"] and "Gửi hằng ngày" in message["Subject"]
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "BÁO CÁO TÌNH HÌNH DƯ LUẬN" in html and "Tổng số bài" in html
        attachments = list(message.iter_attachments())
        assert len(attachments) == 1 and attachments[0].get_content_type() == "application/pdf"
        pdf = attachments[0].get_content()
        want = expected_counts(live_app, day_window(yesterday))
        assert squash(f"có {vi(want['news'])} bài báo và {vi(want['forum'])} bài đăng diễn đàn") in squash(
            pdf_text(pdf)[1])

        assert send_due_reports(client, settings, first + timedelta(hours=3)) == []  # same period: nothing
        sent_at = store.get(report["id"])["last_sent"]

        # the next day the SMTP server is away: nothing sent, the claim undone, tried again later
        second = first + timedelta(days=1)
        down = smtp_settings(live_app, SmtpSink().port)
        assert report["id"] not in send_due_reports(client, down, second)
        assert store.get(report["id"])["last_sent"] == sent_at
        assert report["id"] not in send_due_reports(client, settings, second + timedelta(minutes=1))  # waits
        assert send_due_reports(client, settings, second + timedelta(minutes=6)).count(report["id"]) == 1
        ours = [m for m in sink.messages if m[1]["X-Mediawatch-Report-Id"] == report["id"]]
        assert [m[1]["X-Mediawatch-Report-Period"] for m in ours] == [yesterday.isoformat(), today.isoformat()]


def test_send_now_mails_the_shown_period_and_is_audited(page, live_app) -> None:
    report = api_report(live_app, name="Gửi ngay", recipients=["lanhdao@example.vn"], send_at="06:00")
    day = busiest_day(live_app)
    with SmtpSink() as sink:
        running = live_app.ctx.settings
        live_app.ctx.settings = smtp_settings(live_app, sink.port)  # the running app mails through the sink
        try:
            login(page, live_app, "analyst1", next_path=f"/reports/{report['id']}?period={day.isoformat()}")
            with page.expect_navigation():
                page.locator("[data-testid=send-now]").click()
        finally:
            live_app.ctx.settings = running
        assert "Đã gửi báo cáo" in page.locator("[data-testid=sent]").inner_text()
        assert len(sink.messages) == 1 and sink.messages[0][1]["X-Mediawatch-Report-Period"] == day.isoformat()
    entries = audit_entries(live_app, action="report.send", target=report["id"])
    assert entries and entries[0]["outcome"] == "ok"


# --------------------------------------------------------------------------------------------- arithmetic


def test_a_search_is_added_to_a_report_from_the_search_page(page, live_app) -> None:
    mine = api_report(live_app, name="Báo cáo tuần của tôi")
    theirs = api_report(live_app, "analyst2", name="Báo cáo của người khác")
    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/search?q=ngap+lut&kind=forum")
    with page.expect_navigation():
        page.get_by_test_id("add-to-report").click()
    assert page.url.startswith(f"{live_app.url}/reports/add?")
    assert page.get_by_test_id("add-query").inner_text() == "ngap lut"
    assert page.get_by_test_id("add-dropped").count() == 0
    choices = page.locator("[data-testid=report-choices] a")
    ids = choices.evaluate_all("links => links.map(a => a.dataset.id)")
    assert mine["id"] in ids and theirs["id"] not in ids, "only the caller's own reports are offered"
    with page.expect_navigation():
        page.locator(f"[data-testid=report-choices] a[data-id='{mine['id']}']").click()
    assert page.get_by_test_id("added").inner_text() == "Đã thêm nội dung theo dõi số 3; kiểm tra rồi bấm Lưu."
    assert page.locator("#s2-query").input_value() == "ngap lut"
    assert page.locator("#s2-kinds").input_value() == "forum"
    assert page.locator("#s0-query").input_value() == SEARCHES[0]["query"]  # the report's searches are kept
    with live_app.http("analyst1") as http:  # nothing is saved before the form is
        assert len(http.get(f"/api/reports/{mine['id']}").json()["searches"]) == 2
    page.locator("#s2-label").fill("Ngập lụt trên diễn đàn")
    with page.expect_navigation():
        page.locator("[data-testid=save-report]").click()
    assert page.url.endswith(f"/reports/{mine['id']}?saved=1")
    with live_app.http("analyst1") as http:
        searches = http.get(f"/api/reports/{mine['id']}").json()["searches"]
    assert searches[2] == {"label": "Ngập lụt trên diễn đàn", "query": "ngap lut", "filters": {"kinds": ["forum"]}}, \
        searches
    assert audit_entries(live_app, action="report.update", target=mine["id"])[0]["details"]["changed"] == ["searches"]

    # A new report can start from the search too; another analyst's report is 404 with or without the search.
    page.goto(f"{live_app.url}/reports/add?q=ngap+lut&kind=forum&preset=7d")
    assert "không được đưa vào báo cáo" in page.get_by_test_id("add-dropped").inner_text()  # dates are not kept
    with page.expect_navigation():
        page.get_by_test_id("add-new-report").click()
    assert "preset" not in page.url
    assert page.locator("#s0-query").input_value() == "ngap lut" and page.locator("#s0-kinds").input_value() == "forum"
    response = page.goto(f"{live_app.url}/reports/{theirs['id']}/edit?q=ngap+lut")
    assert response.status == 404

    # A report with the most subjects it can have is not offered, and its form says why instead of adding a row.
    full = api_report(live_app, name="Đầy đủ", searches=[{"label": f"Chủ đề {i}", "query": f"tu{i}"}
                                                         for i in range(10)])
    page.goto(f"{live_app.url}/reports/add?q=ngap+lut")
    assert page.locator(f"[data-testid=report-choices] a[data-id='{full['id']}']").count() == 0
    assert "Đầy đủ" in page.get_by_test_id("report-choices").inner_text()
    page.goto(f"{live_app.url}/reports/{full['id']}/edit?q=ngap+lut")
    assert "đã có 10 nội dung theo dõi" in page.locator("#searches-error").inner_text()
    assert page.locator("[data-testid=search-row]").count() == 10 and page.get_by_test_id("added").count() == 0


def test_the_pdf_is_printed_by_the_chromium_the_settings_name(live_app, tmp_path, monkeypatch) -> None:
    from mediawatch.config import Settings

    monkeypatch.setenv("MEDIAWATCH_WEB__CHROMIUM", "/opt/chromium/chrome")
    assert str(Settings().web.chromium) == "/opt/chromium/chrome"  # [web] chromium, or its environment variable
    monkeypatch.delenv("MEDIAWATCH_WEB__CHROMIUM")
    monkeypatch.setenv("MEDIAWATCH_CHROMIUM", str(tmp_path / "ignored"))  # the old global read is gone

    calls = tmp_path / "calls.txt"
    wrapper = tmp_path / "my-chromium"
    wrapper.write_text(f'#!/bin/sh\necho started >> "{calls}"\nexec {CHROMIUM} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    report = api_report(live_app, name="Báo cáo in bằng trình duyệt riêng")
    day = busiest_day(live_app)
    with run_app(live_app.world.settings(page_size=10, chromium=str(wrapper))) as (url, _app):
        with live_app.http("analyst1") as http:
            resp = http.get(f"{url}/reports/{report['id']}.pdf", params={"period": day.isoformat()})
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF-"), resp.text[:300]
    assert calls.read_text().count("started") == 1, "the configured Chromium printed it"

    missing = tmp_path / "no-such-chromium"
    with run_app(live_app.world.settings(page_size=10, chromium=str(missing))) as (url, _app):
        with live_app.http("analyst1") as http:
            resp = http.get(f"{url}/api/reports/{report['id']}", params={"period": day.isoformat()})
            assert resp.status_code == 200  # the report itself needs no browser
            resp = http.get(f"{url}/reports/{report['id']}.pdf", params={"period": day.isoformat()})
    assert resp.status_code == 400
    assert f"cannot start Chromium ({missing})" in resp.text and "web.chromium" in resp.text


def test_periods_in_local_time() -> None:
    from mediawatch.errors import UserError
    from web.report import parse_period

    now = datetime(2026, 12, 3, 2, 30, tzinfo=UTC)  # 09:30 on Thursday 3 December in Vietnam
    daily = parse_period("daily", "", ZONE, now)
    assert daily.key == "2026-12-02" and daily.until is None
    assert daily.window.start == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert daily.window.end == datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    assert daily.previous.start == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert daily.previous.end == daily.window.start
    today = parse_period("daily", "2026-12-03", ZONE, now)  # still running: compared with the same hours
    assert today.until == now and today.window.end == now
    assert today.previous.end - today.previous.start == now - today.window.start
    weekly = parse_period("weekly", "", ZONE, now)
    assert weekly.key == "2026-W48" and (weekly.first, weekly.last) == (date(2026, 11, 23), date(2026, 11, 29))
    assert parse_period("weekly", "2026-11-26", ZONE, now).key == "2026-W48"  # a date means its week
    assert parse_period("weekly", "2026-W49", ZONE, now).until == now
    assert weekly.label("vi") == "Tuần 48 (23/11 – 29/11/2026)"
    for bad in ("2026-12-04", "2026-W50", "12/02/2026", "2026-W48x"):
        with pytest.raises(UserError):
            parse_period("weekly" if "W" in bad else "daily", bad, ZONE, now)


def test_due_slots_daily_and_weekly() -> None:
    from mediawatch.config import Settings
    from web.report_mail import due_slot

    settings = Settings()
    record = {"period": "daily", "send_at": "07:00", "recipients": ["a@example.vn"], "timezone": "Asia/Ho_Chi_Minh",
              "created": "2026-11-01T00:00:00+00:00"}
    before = datetime(2026, 12, 3, 6, 59, tzinfo=ZONE)
    assert due_slot(record, before, settings) == (datetime(2026, 12, 2, 0, 0, tzinfo=UTC), "2026-12-01")
    after = datetime(2026, 12, 3, 7, 0, tzinfo=ZONE)
    assert due_slot(record, after, settings) == (datetime(2026, 12, 3, 0, 0, tzinfo=UTC), "2026-12-02")
    weekly = {**record, "period": "weekly"}
    thursday = datetime(2026, 12, 3, 12, 0, tzinfo=ZONE)
    assert due_slot(weekly, thursday, settings) == (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), "2026-W48")
    assert due_slot({**record, "created": "2026-12-03T05:00:00+00:00"}, datetime(2026, 12, 3, 13, tzinfo=ZONE),
                    settings) is None  # the report did not exist at that slot
    assert due_slot({**record, "recipients": []}, after, settings) is None
    assert due_slot({**record, "send_at": None}, after, settings) is None
