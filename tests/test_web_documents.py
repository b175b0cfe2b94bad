"""The document view in a real headless Chromium against the running app and a real Elasticsearch node (the test
site crawled and tagged): opened from a search result, it shows the extracted paragraphs, the metadata in local
time, topic and sentiment with the models' scores, the link to the original, the story's other copies with the
earliest publisher marked, and a forum post's neighbours in its thread; an unknown id is a 404 page."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from tests.webapp import browser, live_app, login, page, pages, world_fixture  # noqa: F401  (fixtures)

web_world = world_fixture(tagging=True)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def api(live, path: str, **params):
    with live.http("analyst1") as http:
        resp = http.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def doc_id_of(live, url: str) -> str:
    hits = live.ctx.client.search(index=f"{live.settings.index.prefix}-docs", query={"term": {"url": url}},
                                  source=False)["hits"]["hits"]
    assert hits, url
    return hits[0]["_id"]


def test_a_search_result_opens_the_document_view(page, live_app) -> None:
    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/search?q=lu+lut&kind=news&sort=date")
    first = page.locator("[data-testid=hits] > li").first
    doc_id = first.get_attribute("data-id")
    with page.expect_navigation():
        first.locator("h3 a").click()
    assert urlsplit(page.url).path == f"/documents/{doc_id}"
    doc = api(live_app, f"/api/documents/{doc_id}")
    article = live_app.world.catalog.article(urlsplit(doc["url"]).path)

    assert page.locator("h1#doc-title").inner_text() == article.title == doc["title"]
    shown = page.locator("[data-testid=doc-text] p").all_inner_texts()
    assert shown == doc["paragraphs"] and len(shown) >= 2
    assert article.paragraphs[0][:60] in " ".join(shown)
    assert page.locator("[data-testid=original]").get_attribute("href") == article.url
    published = datetime.fromisoformat(doc["published"])
    assert published.utcoffset().total_seconds() == 7 * 3600  # local time in the API too
    assert page.locator("[data-testid=doc-published]").inner_text() == published.strftime("%d/%m/%Y %H:%M")
    details = page.locator("[data-testid=doc-details]").inner_text()
    assert doc["source_name"] in details and "Báo chí" in details
    if article.author:
        assert article.author in details
    topic_badge = page.locator("[data-testid=topic-badge]").inner_text()
    assert topic_badge and doc["topic"]
    sentiment = page.locator("[data-testid=sentiment-badge]").inner_text()
    assert re.search(r"\d+%$", sentiment), sentiment  # the model's score beside its label
    scores = page.locator("[data-testid=model-scores] li").all_inner_texts()
    assert len(scores) == len(doc["topics"]) + 1 and all(re.search(r"\d+%$", s) for s in scores)
    models = page.locator("ul.models").inner_text()
    assert doc["models"]["topic"] in models and doc["models"]["sentiment"] in models
    assert page.locator("[data-testid=correction-form]").count() == 1


def test_copies_of_a_story_mark_the_earliest_publisher(page, live_app) -> None:
    special = live_app.world.catalog.syndicated
    base = live_app.world.site_url
    copy_id, original_id = doc_id_of(live_app, base + special.path), doc_id_of(live_app, base + special.original)
    copy = api(live_app, f"/api/documents/{copy_id}")
    original = api(live_app, f"/api/documents/{original_id}")
    assert [c["id"] for c in copy["copies"]] == [original_id] and [c["id"] for c in original["copies"]] == [copy_id]
    first = min((copy, original), key=lambda d: d["published"])
    later = original if first is copy else copy
    assert later["copies"][0]["earliest"] is True and first["copies"][0]["earliest"] is False
    assert later["story_origin"]["url"] == first["url"]

    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/documents/{later['id']}")
    copies = page.locator("[data-testid=copies] li")
    assert copies.count() == 1
    assert copies.first.get_attribute("data-earliest") == "1"
    assert "đăng đầu tiên" in copies.first.inner_text() and first["source_name"] in copies.first.inner_text()
    with page.expect_navigation():
        copies.first.locator("a").click()
    assert urlsplit(page.url).path == f"/documents/{first['id']}"
    assert "Bài này được đăng đầu tiên." in page.locator("[data-testid=copies]").inner_text()


def test_a_forum_post_shows_its_thread_neighbours(page, live_app) -> None:
    thread = max(live_app.world.catalog.threads, key=lambda t: len(t.posts))
    ids = {}
    for hit in live_app.ctx.client.search(index=f"{live_app.settings.index.prefix}-docs", size=200,
                                          query={"term": {"thread.url": thread.url}},
                                          source=["thread.position"])["hits"]["hits"]:
        ids[hit["_source"]["thread"]["position"]] = hit["_id"]
    positions = sorted(ids)
    assert len(positions) >= 3, positions
    middle = positions[len(positions) // 2]
    doc = api(live_app, f"/api/documents/{ids[middle]}")
    before, after = max(p for p in positions if p < middle), min(p for p in positions if p > middle)
    assert doc["thread"]["previous"]["id"] == ids[before] and doc["thread"]["next"]["id"] == ids[after]
    assert doc["thread"]["url"] == thread.url and doc["thread"]["posts"] == len(positions)

    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/documents/{ids[middle]}")
    nav = page.locator("[data-testid=thread-nav]")
    assert nav.locator("[data-testid=thread-link]").get_attribute("href") == thread.url
    assert f"Bài số {middle} / {len(positions)}" in nav.inner_text()
    with page.expect_navigation():
        nav.locator("[data-testid=next-post]").click()
    assert urlsplit(page.url).path == f"/documents/{ids[after]}"
    with page.expect_navigation():
        page.locator("[data-testid=previous-post]").click()
    assert urlsplit(page.url).path == f"/documents/{ids[middle]}"
    page.goto(f"{live_app.url}/documents/{ids[positions[0]]}")
    assert "Đây là bài đầu tiên đã thu thập." in page.locator("[data-testid=thread-nav]").inner_text()


def test_an_unknown_document_is_a_404_page(page, live_app) -> None:
    login(page, live_app, "analyst1")
    response = page.goto(f"{live_app.url}/documents/0000000000000000000000000000000000000000")
    assert response is not None and response.status == 404
    assert "Không tìm thấy bài viết này" in page.locator("[data-testid=error-message]").inner_text()
    with live_app.http("analyst1") as http:
        assert http.get("/api/documents/nope").status_code == 404
        assert http.get("/api/documents/" + "x" * 300).status_code == 404
    with live_app.http() as anonymous:
        assert anonymous.get("/api/documents/nope").status_code == 401


def test_english_and_a_phone_sized_screen(pages, live_app) -> None:
    phone = pages(viewport={"width": 375, "height": 740})
    login(phone, live_app, "analyst1")
    hit = api(live_app, "/api/search", q="lu lut", size=1)["hits"][0]
    phone.goto(f"{live_app.url}/documents/{hit['id']}?lang=en")
    assert phone.locator("#correct-title").inner_text() == "Correct the tags"
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width  # nothing sticks out sideways
