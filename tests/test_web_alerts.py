"""Alerts in the browser (issue 12, point 6), in real headless Chromium against the running app and a real
Elasticsearch node: save a search as an alert (field errors first, nothing saved; then saved, listed and audited),
edit, pause and resume; "test against the last N days" returns exactly what search returns; recent notifications
show each channel's status, errors and "+N outlets", a failing channel is flagged; the private Atom feed parses
with feedparser, and a rotated, wrong or missing token is refused; another analyst reaches none of it, in pages or
the API; an administrator sees everyone's alerts, labelled."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest

from tests.webapp import (  # noqa: F401  (fixtures)
    audit_entries,
    browser,
    live_app,
    login,
    page,
    pages,
    web_world,
)


def csrf_of(page) -> str:
    return page.locator("meta[name=csrf-token]").get_attribute("content")


def new_alert(live, user: str, **fields) -> dict:
    body = {"name": "Lũ lụt", "query": "lu lut", "emails": [f"{user}@example.vn"], **fields}
    with live.http(user) as http:
        resp = http.post("/api/subscriptions", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def audit_of(live, target: str, **filters) -> list[dict]:
    """Audit entries about ``target`` (newest first)."""
    return [e for e in audit_entries(live, **filters) if e["target"] == target]


def subscriptions_of(live, owner: str) -> list[dict]:
    from alerts.service import Stores

    return Stores(live.ctx.client, live.settings).subscriptions.find(owner=owner)


# --- browser ------------------------------------------------------------------------------------------------

def test_save_a_search_as_an_alert_errors_first_then_saved_listed_and_audited(page, live_app) -> None:
    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/search?q=lu+lut&kind=news&preset=7d")
    with page.expect_navigation():
        page.get_by_test_id("save-alert").click()
    assert urlsplit(page.url).path == "/alerts/new"
    assert page.locator("#query").input_value() == "lu lut"
    assert page.locator("#name").input_value() == "lu lut"
    assert page.locator("input[name=kind][value=news]").is_checked()
    assert not page.locator("input[name=kind][value=forum]").is_checked()
    assert "không được lưu" in page.locator("[role=note]").inner_text()  # the search's dates are not kept

    before = len(subscriptions_of(live_app, "analyst1"))
    page.locator("#name").fill("Ngập lụt tuần này")
    page.locator("#query").fill("lu lut AND (")
    page.get_by_test_id("delivery-daily").check()
    page.locator("#daily_at").fill("25:00")
    page.locator("#emails").fill("khong-phai-email")
    page.locator("#webhooks").fill("ftp://hooks.example.vn/x")
    page.locator("input[name=source][value=bacninh-news]").check()
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert page.get_by_test_id("form-errors").is_visible()
    assert re.search(r"vị trí \d+", page.get_by_test_id("error-query").inner_text())
    assert "25:00" in page.get_by_test_id("error-daily_at").inner_text()
    assert "khong-phai-email" in page.get_by_test_id("error-emails").inner_text()
    assert "http:// or https://" in page.get_by_test_id("error-webhooks").inner_text()
    for name in ("query", "daily_at", "emails", "webhooks"):
        assert page.locator(f"#{name}").get_attribute("aria-describedby") == f"{name}-error"
    assert page.locator("#name").input_value() == "Ngập lụt tuần này"  # what was typed is kept
    assert page.locator("input[name=source][value=bacninh-news]").is_checked()
    assert len(subscriptions_of(live_app, "analyst1")) == before, "nothing is saved while anything is wrong"

    page.locator("#query").fill("lu lut")
    page.locator("#daily_at").fill("7:30")
    page.locator("#emails").fill("an@tinh.gov.vn")
    page.locator("#webhooks").fill("")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert re.fullmatch(r"/alerts/[0-9a-f]{32}", urlsplit(page.url).path), page.url
    assert page.get_by_test_id("notice").inner_text() == "Đã tạo cảnh báo."
    assert page.get_by_test_id("alert-name").inner_text() == "Ngập lụt tuần này"
    saved = [s for s in subscriptions_of(live_app, "analyst1") if s["name"] == "Ngập lụt tuần này"]
    assert len(saved) == 1
    assert saved[0]["filters"]["kinds"] == ["news"] and saved[0]["filters"]["sources"] == ["bacninh-news"]
    assert saved[0]["delivery"] == "daily" and saved[0]["daily_at"] == "07:30"
    assert saved[0]["channels"] == [{"type": "email", "to": "an@tinh.gov.vn"}]

    page.goto(f"{live_app.url}/alerts")
    names = page.locator("[data-testid=alert-list] h2").all_inner_texts()
    assert "Ngập lụt tuần này" in names
    assert page.locator("nav.main-nav a[aria-current=page]").inner_text() == "Cảnh báo"
    created = audit_entries(live_app, action="alert.create", actor="analyst1")
    assert created[0]["target"] == saved[0]["id"] and created[0]["outcome"] == "ok"
    assert created[1]["outcome"] == "failed"  # the refused attempt is recorded too

    # The same name twice is refused next to the name, as the CLI refuses it.
    page.goto(f"{live_app.url}/alerts/new?q=lu+lut")
    page.locator("#name").fill("Ngập lụt tuần này")
    page.locator("#emails").fill("an@tinh.gov.vn")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert "Ngập lụt tuần này" in page.get_by_test_id("error-name").inner_text()
    page.locator("#emails").fill("")
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert page.get_by_test_id("error-channels").is_visible()


def test_edit_pause_resume_delete_in_the_page(page, live_app) -> None:
    alert = new_alert(live_app, "analyst1", name="Sửa tôi")
    login(page, live_app, "analyst1", next_path=f"/alerts/{alert['id']}")
    with page.expect_navigation():
        page.get_by_test_id("edit").click()
    assert page.locator("#emails").input_value() == "analyst1@example.vn"
    page.get_by_test_id("delivery-hourly").check()
    page.locator("#webhooks").fill("https://hooks.example.vn/services/T000/B000/secret-part")
    page.locator("#template").select_option("slack")
    page.get_by_test_id("spike").check()
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert page.get_by_test_id("notice").inner_text() == "Đã lưu thay đổi."
    stored = live_app.ctx.client.get(index=f"{live_app.settings.index.prefix}-subscriptions", id=alert["id"])
    doc = stored["_source"]
    assert doc["delivery"] == "hourly" and doc["spike"]["enabled"] is True
    assert doc["channels"][1] == {"type": "webhook", "url": "https://hooks.example.vn/services/T000/B000/secret-part",
                                  "template": "slack"}
    assert doc["secret"] == alert["webhook_secret"] and doc["created"].startswith(alert["created"][:10])
    changed = audit_entries(live_app, action="alert.update", actor="analyst1")[0]["details"]["changed"]
    assert {"delivery", "channels", "spike"} <= set(changed)

    with page.expect_navigation():
        page.get_by_test_id("toggle").click()
    assert page.get_by_test_id("alert-state").inner_text() == "Tạm dừng"
    with page.expect_navigation():
        page.get_by_test_id("toggle").click()
    assert page.get_by_test_id("alert-state").inner_text() == "Đang chạy"
    assert [e["action"] for e in audit_of(live_app, alert["id"])][:2] == ["alert.resume", "alert.pause"]

    page.once("dialog", lambda dialog: dialog.accept())  # "delete this alert?"
    with page.expect_navigation():
        page.get_by_test_id("delete").click()
    assert urlsplit(page.url).path == "/alerts"
    assert not [s for s in subscriptions_of(live_app, "analyst1") if s["id"] == alert["id"]]
    assert audit_of(live_app, alert["id"], action="alert.delete")


def test_an_edit_is_one_write_at_the_version_the_form_was_opened_at(page, live_app) -> None:
    from alerts.service import Stores
    from index.alertstore import Stale

    alert = new_alert(live_app, "analyst1", name="Hai tab", webhooks=["https://hooks.example.vn/a"])
    login(page, live_app, "analyst1", next_path=f"/alerts/{alert['id']}/edit")
    page.get_by_test_id("delivery-hourly").check()
    with live_app.http("analyst1") as http:  # meanwhile, another tab (here the API) changes the alert
        resp = http.put(f"/api/subscriptions/{alert['id']}", json={"name": "Hai tab", "query": "ngap",
                                                                    "emails": ["analyst1@example.vn"]})
    assert resp.status_code == 200, resp.text
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert "tải lại trang" in page.get_by_test_id("form-errors").inner_text()
    store = Stores(live_app.ctx.client, live_app.settings).subscriptions
    doc, version = store.get(alert["id"])
    assert doc["query"] == "ngap" and doc["delivery"] == "instant", "the stale form wrote nothing"
    assert [c["type"] for c in doc["channels"]] == ["email"], "the API's whole-record write dropped the webhook"

    page.goto(f"{live_app.url}/alerts/{alert['id']}/edit")  # opened again: saved
    page.get_by_test_id("delivery-hourly").check()
    with page.expect_navigation():
        page.get_by_test_id("save").click()
    assert page.get_by_test_id("notice").inner_text() == "Đã lưu thay đổi."
    assert store.get(alert["id"])[0]["delivery"] == "hourly"

    # The store itself: a replace at an old version raises Stale and writes nothing; at the current one it
    # writes the whole record (a field left out is gone) and answers the new version.
    with pytest.raises(Stale):
        store.replace({**doc, "name": "cũ"}, version)
    doc, version = store.get(alert["id"])
    assert doc["name"] == "Hai tab"
    new_version = store.replace({k: v for k, v in doc.items() if k != "secret"}, version)
    stored, stored_version = store.get(alert["id"])
    assert stored_version == new_version != version and "secret" not in stored
    with pytest.raises(Stale):
        store.replace({**doc, "id": "0" * 32}, version)  # no such subscription: nothing is created
    assert store.get("0" * 32) is None


def test_test_against_the_last_days_is_exactly_what_search_returns(page, live_app) -> None:
    alert = new_alert(live_app, "analyst1", name="Thử 30 ngày", query="lu lut", filters={"kinds": ["news"]})
    with live_app.http("analyst1") as http:
        tested = http.get(f"/api/subscriptions/{alert['id']}/test", params={"days": 30, "size": 50})
        assert tested.status_code == 200, tested.text
        since = datetime.fromisoformat(tested.json()["since"])
        assert since.hour == 0 and since.utcoffset() == timedelta(hours=7)  # local midnight
        searched = http.get("/api/search", params={"q": "lu lut", "kind": "news", "sort": "date", "size": 50,
                                                   "from": since.date().isoformat()})
    assert tested.json()["total"] == searched.json()["total"] >= 1
    assert [h["id"] for h in tested.json()["hits"]] == [h["id"] for h in searched.json()["hits"]]

    login(page, live_app, "analyst1", next_path=f"/alerts/{alert['id']}")
    page.locator("#days").fill("30")
    with page.expect_navigation():
        page.get_by_test_id("test-run").click()
    ids = page.locator("[data-testid=test-hits] > li").evaluate_all("els => els.map(e => e.dataset.id)")
    assert ids == [h["id"] for h in searched.json()["hits"]]
    assert str(searched.json()["total"]) in page.get_by_test_id("test-total").inner_text()
    with page.expect_navigation():
        page.get_by_test_id("test-search-link").click()  # the same documents on the search page
    query = parse_qs(urlsplit(page.url).query)
    assert query["q"] == ["lu lut"] and query["kind"] == ["news"] and query["from"] == [since.date().isoformat()]
    assert page.locator("[data-testid=hits] > li").evaluate_all("els => els.map(e => e.dataset.id)") == ids[:10]


def test_notifications_channel_health_and_the_private_feed(page, live_app) -> None:
    from alerts.channels.base import ChannelError
    from alerts.service import Stores, deliver_due

    ctx = live_app.ctx
    alert = new_alert(live_app, "analyst1", name="Theo dõi nguồn tin", query="lu lut")
    docs = ctx.client.search(index=f"{live_app.settings.index.prefix}-docs", query={"match": {"text": "lũ lụt ngập"}},
                             size=3, source=["url", "title", "source", "published"])["hits"]["hits"]
    assert len(docs) == 3
    now = datetime.now(UTC)
    stores = Stores(ctx.client, live_app.settings)
    for i, hit in enumerate(docs):  # matches as alerts.service records them
        record = {"id": f"{alert['id']}-{i}", "kind": "match", "subscription_id": alert["id"], "owner": "analyst1",
                  "delivery": "instant", "doc_id": hit["_id"], "story": None, "url": hit["_source"]["url"],
                  "title": hit["_source"]["title"], "source": hit["_source"]["source"],
                  "published": hit["_source"].get("published"), "created": (now - timedelta(minutes=i)).isoformat(),
                  "status": "pending", "attempts": 0,
                  "copies": ["http://other.example/a", "http://other.example/b"] if i == 0 else []}
        assert stores.log.claim(record)

    def refusing(config, settings):
        class Refusing:
            def send(self, message):
                raise ChannelError("smtp.example.vn refused the recipient (550 no such user)", retryable=False)
        return Refusing()

    report = deliver_due(ctx.client, live_app.settings, now=now, build=refusing)
    assert report.failed == 3

    login(page, live_app, "analyst1", next_path=f"/alerts/{alert['id']}")
    table = page.get_by_test_id("notifications")
    assert table.locator("tbody tr").count() == 3
    first = table.locator("tbody tr").first.inner_text()
    assert docs[0]["_source"]["title"] in first and "Gửi thất bại" in first
    assert "email:analyst1@example.vn: Gửi thất bại — smtp.example.vn refused the recipient" in first
    assert page.get_by_test_id("more-outlets").inner_text() == "+2 nguồn"
    assert "Đang lỗi (3 lần liên tiếp)" in page.get_by_test_id("failing-channel").inner_text()
    with live_app.http("analyst1") as http:
        listed = http.get("/api/subscriptions").json()
        notes = http.get(f"/api/subscriptions/{alert['id']}/notifications").json()
    assert next(s for s in listed if s["id"] == alert["id"])["failing_channels"] == ["email:analyst1@example.vn"]
    assert notes[0]["more_outlets"] == 2 and notes[0]["channels"]["email:analyst1@example.vn"]["status"] == "failed"
    page.goto(f"{live_app.url}/alerts")
    card = page.locator(f"[data-id='{alert['id']}']")
    assert card.get_by_test_id("failing-badge").is_visible()

    # The private feed: valid Atom with the documents' titles, links, local times and snippets.
    page.goto(f"{live_app.url}/alerts/{alert['id']}")
    url = page.get_by_test_id("feed-url").inner_text()
    assert url == alert["feed_url"] and "token=" in url
    with live_app.http() as anonymous:  # a feed reader: no session, no API token
        resp = anonymous.get(url)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(resp.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "mediawatch: Theo dõi nguồn tin"
    assert [e.title for e in feed.entries] == [d["_source"]["title"] for d in docs]
    assert [e.link for e in feed.entries] == [d["_source"]["url"] for d in docs]
    assert all(e.updated.endswith("+07:00") for e in feed.entries)
    summary = feed.entries[0].summary
    assert re.search(r"<strong>(lũ|lụt)</strong>", summary, re.I) and "+2 nguồn" in summary  # the matched words

    # Rotating the token revokes the old address; wrong and missing tokens get the same 404.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_test_id("rotate-feed").click()
    new_url = page.get_by_test_id("feed-url").inner_text()
    assert new_url != url
    with live_app.http() as anonymous:
        assert anonymous.get(new_url).status_code == 200
        old = anonymous.get(url)
        assert old.status_code == 404 and "Theo dõi" not in old.text
        base = url.split("?")[0]
        assert anonymous.get(base).status_code == 404
        assert anonymous.get(base + "?token=" + "x" * 32).status_code == 404
        assert anonymous.get(f"{live_app.url}/feeds/{'0' * 32}.atom?token=x").status_code == 404
    assert audit_of(live_app, alert["id"], action="alert.feed_rotate")


def test_another_analyst_reaches_none_of_it_and_an_admin_sees_it_labelled(pages, live_app) -> None:
    alert = new_alert(live_app, "analyst1", name="Riêng của An")
    sid = alert["id"]
    other = pages()
    login(other, live_app, "analyst2", next_path="/alerts")
    assert "Riêng của An" not in other.locator("main").inner_text()
    for path in (f"/alerts/{sid}", f"/alerts/{sid}/edit", f"/alerts/{sid}/test?days=7"):
        response = other.goto(live_app.url + path)
        assert response is not None and response.status == 404, path
        assert "Riêng của An" not in other.content()
    token = csrf_of(other)
    for action in ("pause", "delete", "feed", "edit"):
        resp = other.request.post(f"{live_app.url}/alerts/{sid}/{action}",
                                  form={"csrf": token, "name": "chiếm", "query": "x", "emails": "b@example.vn"})
        assert resp.status == 404, action
    with live_app.http("analyst2") as two:
        assert sid not in {s["id"] for s in two.get("/api/subscriptions").json()}
        assert sid not in {s["id"] for s in two.get("/api/subscriptions", params={"all": "true"}).json()}
        for method, path in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume"),
                             ("POST", "/feed-token"), ("GET", "/notifications"), ("GET", "/test")):
            body = {"name": "x", "query": "x", "emails": ["b@example.vn"]} if method == "PUT" else None
            resp = two.request(method, f"/api/subscriptions/{sid}{path}", json=body)
            assert resp.status_code == 404, (method, path, resp.status_code)
            assert "Riêng" not in resp.text
        own = two.post("/api/subscriptions", json={"name": "Của Bình", "query": "lũ",
                                                   "emails": ["b@example.vn"]}).json()
        own_token = own["feed_url"].split("token=")[1]
        assert two.get(f"/feeds/{sid}.atom", params={"token": own_token}).status_code == 404  # her token, his feed
        assert two.get(f"/feeds/{sid}.atom").status_code == 404
    doc = live_app.ctx.client.get(index=f"{live_app.settings.index.prefix}-subscriptions", id=sid)["_source"]
    assert doc["active"] is True and doc["name"] == "Riêng của An" and doc["feed_token"] in alert["feed_url"]

    admin = pages()
    login(admin, live_app, "admin", next_path="/alerts")
    assert "Riêng của An" not in admin.locator("main").inner_text()  # the admin's own list first
    with admin.expect_navigation():
        admin.get_by_test_id("all-alerts").click()
    card = admin.locator(f"[data-id='{sid}']")
    assert card.get_by_test_id("owner-badge").inner_text() == "của analyst1"
    assert admin.locator("[role=note]").is_visible()
    admin.goto(f"{live_app.url}/alerts/{sid}")
    assert admin.get_by_test_id("owner-badge").is_visible()
    assert admin.get_by_test_id("feed-url").count() == 0 and admin.get_by_test_id("edit").count() == 0
    with live_app.http("admin") as http:
        seen = http.get(f"/api/subscriptions/{sid}").json()
        assert seen["owner"] == "analyst1" and "feed_url" not in seen or seen.get("feed_url") is None
        assert seen.get("webhook_secret") is None and seen["channels"] == [
            {"type": "email", "key": "email:analyst1@example.vn"}]
        assert http.put(f"/api/subscriptions/{sid}", json={"name": "x", "query": "x",
                                                           "emails": ["a@example.vn"]}).status_code == 404
        assert http.post(f"/api/subscriptions/{sid}/pause").json()["active"] is False
    paused = audit_of(live_app, sid, action="alert.pause")[0]
    assert paused["actor"] == "admin" and paused["details"]["owner"] == "analyst1"


def test_api_refuses_what_the_cli_refuses_in_one_line_per_field(live_app) -> None:
    cases = [
        ({"query": "AND OR ("}, "query", "query syntax error"),
        ({"filters": {"sources": ["nowhere"]}}, "source", "unknown source 'nowhere'"),
        ({"filters": {"kinds": ["blog"]}}, "kind", "unknown kind 'blog'"),
        ({"emails": ["not-an-address"]}, "emails", "not-an-address"),
        ({"emails": [], "webhooks": ["ftp://x"]}, "webhooks", "must start with http:// or https://"),
        ({"delivery": "daily", "daily_at": "25:00"}, "daily_at", "25:00"),
        ({"delivery": "daily"}, "daily_at", "time of day"),
        ({"emails": []}, "channels", "somewhere to go"),
        ({"timezone": "Asia/Hanoii"}, "timezone", "Asia/Hanoii"),
        ({"webhooks": ["https://h.example.vn/x"], "template": "telegram"}, "template", "telegram"),
        ({"spike": {"enabled": True, "factor": 0.5}}, "spike_factor", "greater than 1"),
    ]
    before = len(subscriptions_of(live_app, "analyst2"))
    with live_app.http("analyst2") as http:
        for change, field, needle in cases:
            body = {"name": "Sai", "query": "lũ", "emails": ["b@example.vn"], **change}
            resp = http.post("/api/subscriptions", json=body)
            assert resp.status_code == 400, (change, resp.text)
            errors = resp.json()["errors"]
            assert field in errors and needle in errors[field], (change, errors)
            assert "\n" not in resp.json()["detail"]
    assert len(subscriptions_of(live_app, "analyst2")) == before


@pytest.mark.parametrize("path", ["/alerts", "/alerts/new?q=lu+lut&kind=forum"])
def test_alert_pages_fit_a_phone_and_speak_english(pages, live_app, path: str) -> None:
    phone = pages(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    login(phone, live_app, "analyst2", next_path=path)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375, "no sideways scrolling"
    phone.goto(live_app.url + path + ("&" if "?" in path else "?") + "lang=en")
    assert phone.locator("h1").inner_text() in ("My alerts", "New alert")


def test_the_alert_test_page_has_no_serious_axe_violations(page, live_app) -> None:
    """The list, form and detail pages are in tests/test_web_a11y.py; here the test page."""
    from axe_playwright_python.sync_playwright import Axe

    alert = new_alert(live_app, "analyst1", name="Kiểm tra truy cập")
    login(page, live_app, "analyst1", next_path=f"/alerts/{alert['id']}/test?days=30")
    assert page.get_by_test_id("test-hits").locator("li").count() >= 1
    blocking = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert not blocking, [(v["id"], v["help"]) for v in blocking]
