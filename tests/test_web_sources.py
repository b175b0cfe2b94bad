"""Sources in the browser (issue 12, point 7), in real headless Chromium against the running app, a real
Elasticsearch node and the local test site: an administrator adds a source (a field error first, nothing saved;
then a valid one), it appears in `mediawatch sources list`, and "crawl now" runs it as a separate process holding
the crawl lease, shown running, then linked to its recorded run; the list shows last runs and health; a file
source is edited, disabled and reverted; "check a page" shows what extraction finds on the local site and the
SSRF guard's line for a refused address; an analyst gets 403 on every page and API route."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from tests.conftest import run_cli
from tests.site import serve
from tests.webapp import (  # noqa: F401  (fixtures)
    DEFAULT_WEB_SETTINGS,
    LiveApp,
    audit_entries,
    browser,
    login,
    page,
    pages,
    run_app,
    web_world,
)


@pytest.fixture(scope="module")
def site():
    """The local test site, up for the whole module (the world's own copy stops once it is crawled)."""
    with serve(now=datetime.now(UTC)) as server:
        yield server


@pytest.fixture(scope="module")
def live_app(web_world, site):
    """The app with crawl.allow_private_hosts = 127.0.0.1, so it may fetch and crawl the local site."""
    settings = web_world.settings(**DEFAULT_WEB_SETTINGS)
    settings = settings.model_copy(update={"crawl": settings.crawl.model_copy(
        update={"allow_private_hosts": ["127.0.0.1"]})})
    with run_app(settings) as (url, app):
        yield LiveApp(url, app, settings, web_world)


def audit_of(live, target: str, **filters) -> list[dict]:
    return [e for e in audit_entries(live, **filters) if e["target"] == target]


def cli_env(live) -> dict[str, str]:
    return {**live.world.env, "MEDIAWATCH_CRAWL__SOURCES_FILE": str(live.world.sources_file)}


def wait_for(predicate, timeout: float = 240.0, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


# --- browser ------------------------------------------------------------------------------------------------

def test_an_admin_adds_a_source_it_is_listed_by_the_cli_and_crawl_now_runs_it(page, live_app, site) -> None:
    login(page, live_app, "admin", next_path="/sources")
    assert urlsplit(page.url).path == "/admin/sources"  # /sources leads to the admin page
    assert page.locator("nav.main-nav a[aria-current=page]").inner_text() == "Nguồn"
    with page.expect_navigation():
        page.get_by_test_id("add-source").click()
    base = site.base_url
    page.locator("#f-id").fill("Tin Moi")
    page.locator("#f-name").fill("Tin mới (thêm trong ứng dụng)")
    page.locator("#f-home").fill("not a url")
    page.locator("#f-feeds").fill(f"{base}/rss/tin-moi.rss")
    page.locator("#f-schedule").fill("every week")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert page.get_by_test_id("form-errors").is_visible()
    assert "lowercase letters" in page.get_by_test_id("error-id").inner_text()
    assert "not an absolute http(s) URL" in page.get_by_test_id("error-home").inner_text()
    assert "every 1h" in page.get_by_test_id("error-schedule").inner_text()
    assert page.locator("#f-home").get_attribute("aria-describedby") == "home-error"
    assert page.locator("#f-feeds").input_value() == f"{base}/rss/tin-moi.rss"  # what was typed is kept
    assert live_app.ctx.client.options(ignore_status=404).get(
        index=f"{live_app.settings.index.prefix}-sources", id="Tin Moi").get("found") is not True

    page.locator("#f-id").fill("tin-moi")
    page.locator("#f-home").fill(f"{base}/")
    page.locator("#f-schedule").fill("every 1h")
    page.locator("#f-article_patterns").fill(r"/tin-tuc/.+\.html$")
    page.locator("#f-max_pages").fill("25")
    page.locator("#f-delay").fill("0")
    page.locator("#f-concurrency").fill("4")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert urlsplit(page.url).path == "/admin/sources/tin-moi", page.locator("main").inner_text()[:800]
    assert page.get_by_test_id("notice").inner_text() == "Đã thêm nguồn."
    assert page.get_by_test_id("origin").inner_text() == "Thêm trong ứng dụng"
    stored = live_app.ctx.client.get(index=f"{live_app.settings.index.prefix}-sources", id="tin-moi")["_source"]
    assert stored["origin"] == "app" and stored["updated_by"] == "admin"
    assert stored["config"]["max_pages"] == 25 and stored["config"]["politeness"] == {"delay": 0.0, "concurrency": 4}
    created = audit_of(live_app, "tin-moi", action="source.create")
    assert [e["outcome"] for e in created] == ["ok"] and created[0]["details"]["config"]["id"] == "tin-moi"
    assert audit_entries(live_app, action="source.create", outcome="failed")

    listed = run_cli("sources", "list", "--json", env=cli_env(live_app))
    assert listed.returncode == 0, listed.stderr
    by_id = {s["id"]: s for s in json.loads(listed.stdout)}
    assert by_id["tin-moi"]["origin"] == "app" and by_id["tin-moi"]["home"] == f"{base}/"
    assert {"bacninh-news", "bacninh-forum"} <= set(by_id)

    with page.expect_navigation():
        page.get_by_test_id("crawl-now").click()
    assert page.get_by_test_id("notice").inner_text() == "Đã bắt đầu thu thập."
    # manage.js polls /api/sources/tin-moi/crawl and reloads the page when the crawl has ended.
    page.get_by_test_id("run-link").wait_for(timeout=240_000)
    with page.expect_navigation():
        page.get_by_test_id("run-link").click()
    assert re.fullmatch(r"/admin/sources/tin-moi/runs/[0-9a-f]+", urlsplit(page.url).path)
    assert page.get_by_test_id("run-health").inner_text() == "Tốt"
    assert int(page.get_by_test_id("run-created").inner_text()) >= 3
    client = live_app.ctx.client
    client.indices.refresh(index=f"{live_app.settings.index.prefix}-docs")
    assert client.count(index=f"{live_app.settings.index.prefix}-docs",
                        query={"term": {"source": "tin-moi"}})["count"] >= 3
    crawl = audit_of(live_app, "tin-moi", action="source.crawl")[0]
    assert crawl["outcome"] == "ok" and crawl["details"]["lease_owner"].startswith("web:admin/tin-moi/")

    page.goto(f"{live_app.url}/admin/sources")
    row = page.locator("tr[data-id=tin-moi]")
    assert row.get_by_test_id("health").inner_text() == "Tốt"
    assert row.get_by_test_id("origin").inner_text() == "Thêm trong ứng dụng"
    assert re.match(r"\d\d/\d\d/\d{4} \d\d:\d\d", row.locator("td").nth(2).inner_text())  # local time


def test_crawl_now_is_refused_while_another_process_holds_the_lease(page, live_app) -> None:
    from index.locks import Lease

    lease = Lease(live_app.ctx.client, f"{live_app.settings.index.prefix}-locks", "crawl:bacninh-forum",
                  purpose="crawl", owner="scheduler-elsewhere:4242", ttl=120)
    assert lease.try_acquire() is None
    try:
        with live_app.http("admin") as http:
            busy = http.post("/api/sources/bacninh-forum/crawl")
            assert busy.status_code == 409 and "scheduler-elsewhere:4242" in busy.json()["detail"]
            state = http.get("/api/sources/bacninh-forum/crawl").json()
            assert state["running"] is True and state["holder"] == "scheduler-elsewhere:4242"
        login(page, live_app, "admin", next_path="/admin/sources/bacninh-forum")
        assert page.get_by_test_id("crawl-running").is_visible()
        assert page.get_by_test_id("crawl-now").is_disabled()
    finally:
        lease.release()
    assert audit_of(live_app, "bacninh-forum", action="source.crawl", outcome="denied")


def test_a_file_source_is_edited_disabled_and_reverted(page, live_app) -> None:
    from crawlers.runner import select_sources
    from mediawatch.scheduler import Scheduler

    settings = live_app.settings
    login(page, live_app, "admin", next_path="/admin/sources/bacninh-forum")
    assert page.get_by_test_id("origin").inner_text() == "sources.yaml"
    with page.expect_navigation():
        page.get_by_test_id("edit").click()
    assert page.locator("#f-id").get_attribute("readonly") is not None
    old_schedule = page.locator("#f-schedule").input_value()
    page.locator("#f-schedule").fill("every week")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert "every 1h" in page.get_by_test_id("error-schedule").inner_text()
    assert live_app.ctx.client.options(ignore_status=404).get(
        index=f"{settings.index.prefix}-sources", id="bacninh-forum").get("found") is not True
    page.locator("#f-schedule").fill("every 2h")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert page.get_by_test_id("origin").inner_text() == "sources.yaml, đã sửa trong ứng dụng"
    changed = audit_of(live_app, "bacninh-forum", action="source.update")[0]["details"]["changed"]
    assert changed == {"schedule": [old_schedule, "every 2h"]}

    with page.expect_navigation():
        page.get_by_test_id("toggle").click()
    assert page.get_by_test_id("disabled").is_visible()
    assert "bacninh-forum" not in [s.id for s in select_sources(settings, [])]
    assert "bacninh-forum" not in [s.id for s in Scheduler(settings).sources()]
    assert audit_of(live_app, "bacninh-forum", action="source.disable")

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_test_id("remove").click()
    assert page.get_by_test_id("origin").inner_text() == "sources.yaml"
    assert page.get_by_test_id("disabled").count() == 0
    assert "bacninh-forum" in [s.id for s in select_sources(settings, [])]
    assert audit_of(live_app, "bacninh-forum", action="source.revert")


def test_check_a_page_shows_the_article_and_a_forum_thread(page, live_app, site) -> None:
    catalog = site.site.catalog
    article = next(a for a in catalog.articles if a.role is None and a.language == "vi" and a.author)
    login(page, live_app, "admin", next_path="/admin/sources")
    with page.expect_navigation():
        page.get_by_test_id("check-page").click()
    page.locator("#url").fill(article.url)
    with page.expect_navigation():
        page.get_by_test_id("check-run").click()
    result = page.get_by_test_id("check-result")
    assert result.get_attribute("data-kind") == "news"
    assert page.get_by_test_id("check-title").inner_text() == article.title
    assert article.lead[:60] in page.get_by_test_id("check-text").inner_text()
    assert int(page.get_by_test_id("check-words").inner_text()) > 50
    assert re.match(r"\d\d/\d\d/\d{4} \d\d:\d\d", page.get_by_test_id("check-published").inner_text())

    thread = next(t for t in catalog.threads if t.pages == 1 and len(t.posts) >= 2)
    page.locator("#url").fill(thread.url)
    with page.expect_navigation():
        page.get_by_test_id("check-run").click()
    assert page.get_by_test_id("check-result").get_attribute("data-kind") == "forum"
    assert page.get_by_test_id("check-title").inner_text() == thread.title
    assert page.get_by_test_id("check-posts").locator("tbody tr").count() == len(thread.posts)
    with live_app.http("admin") as http:
        api = http.post("/api/sources/check", json={"url": article.url}).json()
    assert api["kind"] == "news" and api["title"] == article.title and api["author"]
    assert audit_entries(live_app, action="source.check", actor="admin", outcome="ok")


def test_check_a_refused_address_shows_the_guards_line(page, live_app) -> None:
    login(page, live_app, "admin", next_path="/admin/sources/check")
    page.locator("#url").fill("http://10.0.0.1/")
    with page.expect_navigation():
        page.get_by_test_id("check-run").click()
    message = page.get_by_test_id("check-error").inner_text()
    assert "refused http://10.0.0.1/" in message and "private, loopback or link-local" in message
    assert "crawl.allow_private_hosts" in message
    assert page.get_by_test_id("check-result").count() == 0
    with live_app.http("admin") as http:
        api = http.post("/api/sources/check", json={"url": "http://169.254.169.254/latest/meta-data/"})
    assert api.status_code == 400 and "refused" in api.json()["detail"]
    denied = audit_entries(live_app, action="source.check", outcome="denied")
    assert {e["target"] for e in denied} >= {"http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/"}


PAGES = ["/sources", "/admin/sources", "/admin/sources/new", "/admin/sources/check", "/admin/sources/bacninh-news",
         "/admin/sources/bacninh-news/edit"]


def test_an_analyst_gets_403_on_every_page_and_api_route(page, live_app) -> None:
    login(page, live_app, "analyst1")
    assert "Nguồn" not in page.locator("nav.main-nav").inner_text()
    for path in PAGES:
        response = page.goto(live_app.url + path)
        assert response is not None and response.status == 403, path
        assert page.get_by_test_id("error-message").inner_text() == "Chỉ quản trị viên mới dùng được trang này."
    csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
    for path in ("/admin/sources/new", "/admin/sources/check", "/admin/sources/bacninh-news/crawl",
                 "/admin/sources/bacninh-news/disable"):
        resp = page.request.post(live_app.url + path, form={"csrf": csrf, "id": "x", "url": "http://10.0.0.1/"})
        assert resp.status == 403, path
    with live_app.http("analyst1") as http:
        for method, path, body in (("GET", "/api/sources", None), ("GET", "/api/sources/bacninh-news", None),
                                   ("POST", "/api/sources", {"id": "x", "name": "x", "kind": "news",
                                                             "home": "https://x.example/"}),
                                   ("PUT", "/api/sources/bacninh-news", {"id": "bacninh-news"}),
                                   ("POST", "/api/sources/bacninh-news/disable", None),
                                   ("DELETE", "/api/sources/bacninh-news", None),
                                   ("GET", "/api/sources/bacninh-news/runs", None),
                                   ("POST", "/api/sources/bacninh-news/crawl", None),
                                   ("POST", "/api/sources/check", {"url": "http://10.0.0.1/"})):
            resp = http.request(method, path, json=body)
            assert resp.status_code == 403, (method, path, resp.status_code)
    assert live_app.ctx.client.options(ignore_status=404).get(
        index=f"{live_app.settings.index.prefix}-sources", id="x").get("found") is not True


def test_the_api_lists_runs_and_refuses_bad_sources_field_by_field(live_app) -> None:
    with live_app.http("admin") as http:
        listed = {s["id"]: s for s in http.get("/api/sources").json()}
        news = listed["bacninh-news"]
        assert news["origin"] == "file" and news["last_run"]["health"] == "ok" and news["last_run"]["pages"] > 0
        runs = http.get("/api/sources/bacninh-news/runs").json()
        assert runs and runs[0]["run_id"] == news["last_run"]["run_id"] and runs[0]["flags"] == []
        bad = http.post("/api/sources", json={"id": "bacninh-news", "name": "x", "kind": "blog",
                                              "home": "https://x.example/", "politeness": {"delay": -1}})
        assert bad.status_code == 400
        errors = bad.json()["errors"]
        assert "duplicate id 'bacninh-news'" in errors["id"] and "news" in errors["kind"] and "delay" in errors
        outside = http.post("/api/sources", json={"id": "ngoai", "name": "x", "kind": "news",
                                                  "home": "https://x.example/", "feeds": ["https://y.example/rss"]})
        assert outside.status_code == 400 and "outside allowed_domains" in outside.json()["errors"]["allowed_domains"]
        assert http.get("/api/sources/nope").status_code == 404
        assert http.delete("/api/sources/bacninh-news").status_code == 404  # nothing stored for it


def test_the_sources_page_fits_a_phone(pages, live_app) -> None:
    phone = pages(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    login(phone, live_app, "admin", next_path="/admin/sources")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.goto(f"{live_app.url}/admin/sources/new?lang=en")
    assert phone.locator("h1").inner_text() == "Add a source"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_other_source_pages_have_no_serious_axe_violations(pages, live_app, site) -> None:
    """The list and form pages are in tests/test_web_a11y.py; here the detail, run and check pages."""
    from axe_playwright_python.sync_playwright import Axe

    page = pages(viewport={"width": 1280, "height": 900})
    login(page, live_app, "admin", next_path="/admin/sources/bacninh-news")
    run_id = page.locator("[data-testid=runs] tbody tr").first.get_attribute("data-run")
    article = next(a for a in site.site.catalog.articles if a.role is None and a.language == "vi")
    for path in ("/admin/sources/bacninh-news", f"/admin/sources/bacninh-news/runs/{run_id}", "check"):
        if path == "check":
            page.goto(f"{live_app.url}/admin/sources/check")
            page.locator("#url").fill(article.url)
            with page.expect_navigation():
                page.get_by_test_id("check-run").click()
        else:
            page.goto(live_app.url + path)
        blocking = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
        assert not blocking, (path, [(v["id"], v["help"]) for v in blocking])
