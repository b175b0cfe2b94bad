"""Screenshots for the README, taken by the suite's own headless Chromium against the running app on the crawled
and tagged test site, so they show the app as it is: ``docs/screenshot-<page>.png`` at desktop width, and the
search and report pages at phone width. Every page is built: one answering 404 or still showing the stub fails,
naming it (its old screenshot, if any, is left alone)."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.webapp import browser, live_app, login, page, pages, world_fixture  # noqa: F401  (fixtures)

web_world = world_fixture(tagging=True)
DOCS = Path(__file__).resolve().parent.parent / "docs"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

# file name -> (user, path, viewport, full page); "{doc}" a document id, "{report}" a weekly report, "{week}" its week
SHOTS: dict[str, tuple[str, str, dict[str, int], bool]] = {
    "search": ("analyst1", "/search?q=lu+lut", DESKTOP, False),
    "trends": ("analyst1", "/trends?q=lu+lut+OR+ngap&preset=30d", DESKTOP, True),
    "document": ("analyst1", "/documents/{doc}", DESKTOP, False),
    "subscriptions": ("analyst1", "/alerts", DESKTOP, False),
    "sources": ("admin", "/admin/sources", DESKTOP, False),
    "reports": ("analyst1", "/reports", DESKTOP, False),
    "report": ("analyst1", "/reports/{report}?period={week}", DESKTOP, False),
    "report-print": ("analyst1", "/reports/{report}/print?period={week}", {"width": 900, "height": 1270}, False),
    "search-phone": ("analyst1", "/search?q=lu+lut", PHONE, False),
    "report-phone": ("analyst1", "/reports/{report}?period={week}", PHONE, False),
}


def is_stub(page: Any) -> bool:
    from web.i18n import gettext

    stub = {gettext("stub.title", "vi"), gettext("stub.title", "en")}
    return any(text.strip() in stub for text in page.locator("main h2").all_inner_texts())


@pytest.fixture(scope="module")
def ids(live_app) -> dict[str, str]:
    """A flood article's id, and a weekly report on the flood coverage for the week it peaked."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    with live_app.http("analyst1") as http:
        hits = http.get("/api/search", params={"q": '"ngập lụt"', "kind": "news", "size": 20}).json()["hits"]
        hit = max(hits, key=lambda h: (h["story_outlets"], len(h["places"])))
        report = http.post("/api/reports", json={
            "name": "Tình hình mưa lũ và dư luận địa phương", "period": "weekly",
            "searches": [{"label": "Mưa lũ, ngập lụt", "query": 'lu lut OR "ngập lụt" OR mua lu'},
                         {"label": "Diễn đàn địa phương", "filters": {"kinds": ["forum"]}}],
            "send_at": "07:30", "recipients": ["vanphong@example.vn"],
        }).json()
        for alert in ({"name": "Ngập lụt Từ Sơn", "query": '"ngập lụt" AND "Từ Sơn"', "emails": ["an@example.vn"]},
                      {"name": "Giao thông Bắc Ninh", "query": 'giao thong AND "Bắc Ninh"', "delivery": "daily",
                       "daily_at": "07:00", "emails": ["an@example.vn"]}):
            http.post("/api/subscriptions", json=alert)  # something to show on the alerts page, where it exists
    published = datetime.fromisoformat(hit["published"]).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    iso = published.isocalendar()
    return {"doc": hit["id"], "report": report["id"], "week": f"{iso.year}-W{iso.week:02d}"}


@pytest.mark.parametrize("name", list(SHOTS))
def test_screenshot(name: str, pages, live_app, ids) -> None:
    user, template, viewport, full = SHOTS[name]
    path = template.format(**ids)
    phone = viewport["width"] < 600
    page = pages(viewport=viewport, is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1)
    login(page, live_app, user, next_path=path)
    response = page.goto(live_app.url + path)
    assert response is not None and response.status in (200, 404), (name, path)
    assert response.status != 404 and not is_stub(page), (
        f"no screenshot of {name}: {path} is not built yet (its section shows the stub)")
    page.wait_for_load_state("networkidle")
    DOCS.mkdir(exist_ok=True)
    target = DOCS / f"screenshot-{name}.png"
    page.screenshot(path=str(target), full_page=full, animations="disabled")
    assert target.stat().st_size > 10_000
