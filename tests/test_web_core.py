"""The web app's foundation in a real headless Chromium against the running app and a real Elasticsearch node:
logging in (refused and audited first), searching without diacritics, filters, paging, URLs that reproduce a
search, CSV export, roles and ownership, CSRF, login throttling, logout, English; plus HTTP-level checks of
the API (the hit shape is the CLI's, errors are one line, authentication and security headers)."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import run_cli
from tests.webapp import (  # noqa: F401  (fixtures)
    USERS,
    audit_entries,
    browser,
    cookies_of,
    live_app,
    login,
    page,
    pages,
    web_world,
)


def hit_ids(page) -> list[str]:
    return page.locator("[data-testid=hits] > li").evaluate_all("els => els.map(e => e.dataset.id)")


def search_for(page, live, query: str) -> None:
    page.goto(f"{live.url}/search")
    page.locator("#q").fill(query)
    with page.expect_navigation():
        page.locator("#q").press("Enter")


# --- browser ------------------------------------------------------------------------------------------------

def test_wrong_password_is_refused_and_audited_then_login_works(page, live_app) -> None:
    response = page.goto(f"{live_app.url}/search?q=lu+lut")
    assert "/login" in page.url, "an anonymous visitor is sent to the login form"
    assert response is not None and response.ok
    page.locator("#username").fill("analyst1")
    page.locator("#password").fill("not the password")
    page.locator("form[action^='/login'] button[type=submit]").click()
    assert page.locator("#login-error").inner_text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert "mw_session" not in cookies_of(page)
    failures = audit_entries(live_app, action="login_failed", outcome="failed")
    assert any(e["target"] == "analyst1" and e["details"]["reason"] == "wrong_password" for e in failures)

    page.locator("#password").fill(USERS["analyst1"]["password"])
    page.locator("form[action^='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/search\?q=lu\+lut$"))  # back where the visitor wanted to go
    cookie = cookies_of(page)["mw_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # plain http here
    assert page.locator("nav.main-nav a[aria-current=page]").inner_text() == "Tìm kiếm"
    assert any(e["target"] == "analyst1" for e in audit_entries(live_app, action="login", actor="analyst1"))


def test_diacritic_free_query_finds_highlighted_vietnamese(page, live_app) -> None:
    login(page, live_app, "analyst1")
    search_for(page, live_app, "lu lut")
    assert parse_qs(urlsplit(page.url).query)["q"] == ["lu lut"]
    total = int(re.sub(r"\D", "", page.locator("[data-testid=total] strong").inner_text()))
    assert total >= 3
    marks = {m.lower() for m in page.locator("[data-testid=hits] mark").all_inner_texts()}
    assert {"lũ", "lụt"} <= marks, marks  # the folded query highlights the Vietnamese words
    first = page.locator("[data-testid=hits] > li").first
    assert first.locator(".source").inner_text().strip()
    assert re.match(r"\d\d/\d\d/\d{4} \d\d:\d\d", first.locator("time").inner_text())  # local time, vi format


def test_filter_paging_and_the_url_reproduce_the_search(page, pages, live_app) -> None:
    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/search?sort=date")
    all_total = int(re.sub(r"\D", "", page.locator("[data-testid=total] strong").inner_text()))
    page.locator("input[name=kind][value=forum]").check()
    with page.expect_navigation():
        page.locator("aside.filters button[type=submit]").click()
    assert parse_qs(urlsplit(page.url).query)["kind"] == ["forum"]
    forum_total = int(re.sub(r"\D", "", page.locator("[data-testid=total] strong").inner_text()))
    assert 10 < forum_total < all_total
    badges = page.locator("[data-testid=hits] .badge.kind").all_inner_texts()
    assert badges and set(badges) == {"Diễn đàn"}
    first_page = hit_ids(page)
    assert len(first_page) >= 1

    with page.expect_navigation():
        page.get_by_test_id("next").click()
    assert "after=" in page.url
    second_page = hit_ids(page)
    assert second_page and not set(second_page) & set(first_page)
    assert page.locator(".pager [aria-current=page]").inner_text() == "Trang 2"

    bookmark = page.url
    other = pages()  # another person opening the shared link (same role)
    login(other, live_app, "analyst2", next_path="/search")
    other.goto(bookmark)
    assert hit_ids(other) == second_page
    assert other.locator("input[name=kind][value=forum]").is_checked()
    page.reload()
    assert hit_ids(page) == second_page

    with page.expect_navigation():
        page.get_by_test_id("prev").click()
    assert hit_ids(page) == first_page


def test_csv_export_downloads_every_hit_with_bom_and_is_audited(page, live_app) -> None:
    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/search?q=lu+lut")
    total = int(re.sub(r"\D", "", page.locator("[data-testid=total] strong").inner_text()))
    with page.expect_download() as info:
        page.locator("[data-export=csv]").click()
    raw = open(info.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark, for Excel"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Thời gian đăng", "Nguồn", "Loại"]
    assert len(rows) - 1 == total
    assert any("lũ" in (row[4] + row[10]).lower() for row in rows[1:])
    entries = audit_entries(live_app, action="export", actor="analyst1")
    assert entries and entries[0]["details"]["rows"] == total and entries[0]["details"]["format"] == "csv"


def test_an_analyst_cannot_open_the_audit_log(page, live_app) -> None:
    login(page, live_app, "analyst2")
    assert "Nhật ký" not in page.locator("nav.main-nav").inner_text()
    response = page.goto(f"{live_app.url}/admin/audit")
    assert response is not None and response.status == 403
    assert page.get_by_test_id("error-message").inner_text() == "Chỉ quản trị viên mới dùng được trang này."


def test_the_admin_filters_the_audit_log(pages, live_app) -> None:
    page = pages()
    with live_app.http() as http:  # an anonymous failure to find
        http.get("/login")
    login(page, live_app, "admin", next_path="/admin/audit")
    page.locator("#actor").fill("admin")
    page.locator("#action").select_option("login")
    with page.expect_navigation():
        page.locator("form.filters-row button[type=submit]").click()
    query = parse_qs(urlsplit(page.url).query)
    assert query["actor"] == ["admin"] and query["action"] == ["login"]
    actions = page.locator("[data-testid=audit-table] tbody tr td:nth-child(3)").all_inner_texts()
    actors = page.locator("[data-testid=audit-table] tbody tr td:nth-child(2)").all_inner_texts()
    assert actions and set(actions) == {"login"} and set(actors) == {"admin"}

    # By target: what was acted on, exactly, in the page and the API (documented in the OpenAPI description).
    login(pages(), live_app, "nobody-here", "wrong password!")  # a failure aimed at one name
    page.goto(f"{live_app.url}/admin/audit")
    page.locator("#target").fill("nobody-here")
    with page.expect_navigation():
        page.locator("form.filters-row button[type=submit]").click()
    assert parse_qs(urlsplit(page.url).query)["target"] == ["nobody-here"]
    assert page.locator("#target").input_value() == "nobody-here"
    targets = page.locator("[data-testid=audit-table] tbody tr td:nth-child(4)").all_inner_texts()
    actions = page.locator("[data-testid=audit-table] tbody tr td:nth-child(3)").all_inner_texts()
    assert targets == ["nobody-here"] and actions == ["login_failed"]
    entries = audit_entries(live_app, target="nobody-here")
    assert [(e["action"], e["target"]) for e in entries] == [("login_failed", "nobody-here")]
    assert audit_entries(live_app, target="nobody-her") == [], "a target is matched exactly"
    with live_app.http() as http:
        spec = http.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/api/audit"]["get"]["parameters"]}
    assert {"actor", "action", "outcome", "target", "from", "to", "page"} <= params


def test_a_form_post_without_the_csrf_token_is_refused(page, live_app) -> None:
    login(page, live_app, "analyst1", next_path="/account")
    before = len(live_app.ctx.tokens.for_user("analyst1"))
    missing = page.request.post(f"{live_app.url}/account/tokens", form={"name": "forged"})
    wrong = page.request.post(f"{live_app.url}/account/tokens", form={"name": "forged", "csrf": "x" * 43})
    assert missing.status == 403 and wrong.status == 403
    assert "Biểu mẫu đã hết hạn" in missing.text()
    assert len(live_app.ctx.tokens.for_user("analyst1")) == before
    # the real form, with its token, works
    page.locator("#token-name").fill("my script")
    page.locator("form[action='/account/tokens'] button").click()
    secret = page.get_by_test_id("new-token").inner_text()
    assert secret.startswith("mw_")
    with live_app.http() as http:
        me = http.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["id"] == "analyst1"
    page.reload()
    assert secret not in page.content(), "a token is shown once"


def test_login_attempts_are_throttled_per_account(page, live_app) -> None:
    from web.accounts import create_user

    ctx = live_app.ctx
    create_user(ctx.users, ctx.audit_log, name="throttled", password="throttled-pass", role="analyst", min_length=8,
                actor="test")
    limit = live_app.settings.web.login_max_failures
    for _ in range(limit):
        login(page, live_app, "throttled", "wrong password!")
        assert page.locator("#login-error").inner_text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    login(page, live_app, "throttled", "throttled-pass")  # the right password, but too late
    message = page.locator("#login-error").inner_text()
    assert re.fullmatch(r"Quá nhiều lần đăng nhập sai\. Vui lòng thử lại sau (\d+) phút\.", message), message
    assert int(re.search(r"\d+", message).group()) <= live_app.settings.web.login_window_minutes
    assert "mw_session" not in cookies_of(page)
    denied = audit_entries(live_app, action="login_failed", outcome="denied", target="throttled")
    assert denied and denied[0]["details"]["reason"] == "throttled"
    login(page, live_app, "analyst1")  # other accounts are not affected
    assert "/search" in page.url


def test_logout_ends_the_session(page, live_app) -> None:
    login(page, live_app, "analyst2")
    old = cookies_of(page)["mw_session"]["value"]
    page.get_by_test_id("logout").click()
    page.wait_for_url("**/login?bye=1")
    assert page.locator("[role=status]").inner_text() == "Bạn đã đăng xuất."
    assert "mw_session" not in cookies_of(page)
    page.goto(f"{live_app.url}/account")
    assert "/login" in page.url
    with live_app.http(cookies={"mw_session": old}) as http:  # the old cookie replayed
        assert http.get("/account").status_code == 303
        assert http.get("/api/me").status_code == 401
    assert audit_entries(live_app, action="logout", actor="analyst2")


def test_switching_to_english_is_kept_on_the_account(page, live_app) -> None:
    login(page, live_app, "analyst2")
    with page.expect_navigation():
        page.get_by_test_id("lang-switch").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("nav.main-nav a[aria-current=page]").inner_text() == "Search"
    page.goto(f"{live_app.url}/account")
    assert page.locator("h1").inner_text() == "Account"
    with page.expect_navigation():
        page.get_by_test_id("lang-switch").click()  # and back
    assert page.locator("html").get_attribute("lang") == "vi"
    anonymous = page.context.browser.new_context().new_page()
    anonymous.goto(f"{live_app.url}/login?lang=en")
    assert anonymous.locator("h1").inner_text() == "Log in"
    anonymous.goto(f"{live_app.url}/login")  # the choice is remembered for anonymous pages
    assert anonymous.locator("label[for=password]").inner_text() == "Password"
    anonymous.context.close()


def test_a_query_syntax_error_is_shown_next_to_the_box(page, live_app) -> None:
    login(page, live_app, "analyst1")
    response = page.goto(f"{live_app.url}/search?q=" + "lũ%20AND%20(lụt")
    assert response is not None and response.status == 400
    error = page.get_by_test_id("syntax-error")
    assert re.search(r"Lỗi cú pháp ở vị trí \d+:", error.inner_text())
    assert page.locator("#q").get_attribute("aria-invalid") == "true"
    assert page.locator("#q").input_value() == "lũ AND (lụt"


def test_pages_work_on_a_phone_sized_screen(pages, live_app) -> None:
    phone = pages(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    login(phone, live_app, "analyst1")
    phone.goto(f"{live_app.url}/search?q=lu+lut")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "no sideways scrolling"
    assert phone.locator("[data-testid=hits] > li").first.is_visible()
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.className") == "skip"  # the skip link comes first


# --- HTTP ---------------------------------------------------------------------------------------------------

def test_api_search_answers_exactly_what_the_cli_prints(live_app) -> None:
    cli = run_cli("search", "lu lut", "--size", "10", "--json", env=live_app.world.env)
    assert cli.returncode == 0, cli.stderr
    with live_app.http("analyst1") as http:
        api = http.get("/api/search", params={"q": "lu lut", "size": 10})
    assert api.status_code == 200
    assert api.json() == json.loads(cli.stdout)


def test_api_errors_are_one_line_with_the_position_or_the_valid_values(live_app) -> None:
    with live_app.http("analyst1") as http:
        syntax = http.get("/api/search", params={"q": "AND OR ("})
        kind = http.get("/api/search", params={"kind": "blog"})
        date = http.get("/api/search", params={"from": "not a date"})
    assert syntax.status_code == 400 and syntax.json()["position"] == 1
    assert syntax.json()["detail"].startswith("query syntax error at position 1:")
    assert kind.status_code == 400 and "news, forum" in kind.json()["detail"]
    assert date.status_code == 400 and "YYYY-MM-DD" in date.json()["detail"]
    for resp in (syntax, kind, date):
        assert "\n" not in resp.json()["detail"]


def test_the_api_needs_a_valid_token(live_app) -> None:
    with live_app.http() as http:
        assert http.get("/api/search", params={"q": "lu"}).status_code == 401
        assert http.get("/api/search", headers={"Authorization": "Bearer mw_nope"}).status_code == 401
        assert http.get("/api/search", headers={"Authorization": "Basic abc"}).status_code == 401
    with live_app.http("analyst2") as http:
        created = http.post("/api/tokens", json={"name": "short-lived"})
        assert created.status_code == 201
        secret, token_id = created.json()["token"], created.json()["id"]
        assert http.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        assert http.delete(f"/api/tokens/{token_id}").status_code == 204
        assert http.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    revoked = audit_entries(live_app, action="token.revoke", actor="analyst2")
    assert revoked and revoked[0]["details"]["name"] == "short-lived"


def test_an_analyst_cannot_reach_another_analysts_records(live_app) -> None:
    with live_app.http("analyst1") as one:
        token = one.post("/api/tokens", json={"name": "analyst1's"}).json()
        job = one.post("/api/exports", params={"q": "lu lut", "format": "csv"})
        assert job.status_code == 202
        job_id = job.json()["id"]
        assert one.get(f"/api/exports/{job_id}").status_code == 200
    with live_app.http("analyst2") as two:
        assert token["id"] not in {t["id"] for t in two.get("/api/tokens").json()}
        assert two.delete(f"/api/tokens/{token['id']}").status_code == 404
        assert two.get(f"/api/exports/{job_id}").status_code == 404
        assert two.get(f"/api/exports/{job_id}/file").status_code == 404
        assert two.get("/api/audit").status_code == 403
        assert two.get("/api/users").status_code == 403
    assert live_app.ctx.tokens.get(token["id"])["revoked"] is False


def test_openapi_is_served_and_nothing_loads_from_elsewhere(live_app) -> None:
    with live_app.http("analyst1") as http:
        spec = http.get("/openapi.json").json()
        assert {"/api/search", "/api/tokens", "/api/audit", "/api/exports"} <= set(spec["paths"])
        assert http.get("/api/docs").status_code in (401, 404)
        assert http.get("/docs").status_code in (303, 404)
        page = http.get("/login")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["cache-control"] == "no-store"
        assert not re.search(r"""(src|href)=["']https?://""", page.text)


def test_direct_csv_export_escapes_formulas_and_streams_with_bom(live_app) -> None:
    with live_app.http("analyst1") as http:
        resp = http.get("/api/search/export", params={"q": "lu lut", "format": "csv"})
        xlsx = http.get("/api/search/export", params={"q": "lu lut", "format": "xlsx"})
    assert resp.status_code == 200 and resp.content.startswith(b"\xef\xbb\xbf")
    assert resp.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert len(rows) - 1 == int(resp.headers["x-total-rows"]) >= 3
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    from web.exports import safe_cell

    assert safe_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")" and safe_cell("lũ lụt") == "lũ lụt"


def test_cookies_are_secure_only_over_tls_and_proxy_headers_only_when_trusted(live_app) -> None:
    from fastapi.testclient import TestClient

    from web.app import create_app

    def login_cookie(settings, headers, scheme="http"):
        client = TestClient(create_app(settings), base_url=f"{scheme}://testserver")
        client.get("/login")
        token = client.cookies.get("mw_csrf")
        resp = client.post("/login", headers=headers, follow_redirects=False, data={
            "username": "analyst1", "password": USERS["analyst1"]["password"], "csrf": token})
        assert resp.status_code == 303, resp.text[:300]
        return resp.headers["set-cookie"]

    world = live_app.world
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert "Secure" not in login_cookie(world.settings(), forwarded)  # not believed by default
    assert "Secure" in login_cookie(world.settings(trusted_proxy=True), forwarded)
    assert "Secure" in login_cookie(world.settings(base_url="https://mediawatch.example.vn"), {}, "https")
    logins = audit_entries(live_app, action="login", actor="analyst1")
    assert [entry["ip"] for entry in logins[:3]] == ["testclient", "203.0.113.9", "testclient"]


def test_login_attempts_are_throttled_per_address(live_app) -> None:
    from fastapi.testclient import TestClient

    from web.app import create_app

    settings = live_app.world.settings(trusted_proxy=True, login_max_failures_per_address=3)
    client = TestClient(create_app(settings))
    client.get("/login")
    token = client.cookies.get("mw_csrf")
    address = {"X-Forwarded-For": "198.51.100.7"}
    statuses = [client.post("/login", headers=address, data={"username": name, "password": "nope nope nope",
                                                              "csrf": token}).status_code
                for name in ("nobody1", "nobody2", "nobody3", "analyst1")]
    assert statuses == [401, 401, 401, 429]
    other = client.post("/login", headers={"X-Forwarded-For": "198.51.100.8"}, follow_redirects=False,
                        data={"username": "analyst1", "password": USERS["analyst1"]["password"], "csrf": token})
    assert other.status_code == 303


@pytest.mark.parametrize("path", ["/admin/users", "/api/users", "/admin/audit", "/api/audit"])
def test_admin_pages_need_the_admin_role(live_app, path: str) -> None:
    with live_app.http("analyst1") as analyst, live_app.http("admin") as admin:
        assert analyst.get(path).status_code == 403
        assert admin.get(path).status_code == 200


def test_api_fuzz_finds_no_server_error(live_app) -> None:
    """Property-based requests for every operation of /openapi.json (schemathesis), authenticated as an admin:
    none is answered with a 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    with live_app.http() as http:
        schema = schemathesis.openapi.from_dict(http.get("/openapi.json").json())
    headers = {"Authorization": f"Bearer {live_app.token('admin')}"}
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @settings(max_examples=12, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case) -> None:
            response = case.call(base_url=live_app.url, headers=headers, timeout=60)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {response.status_code} "
                                f"{response.text[:200]}")

        call()
    assert not failures, "\n".join(failures[:10])
    assert len(statuses) >= 5 * len(operations) and 200 in statuses and {400, 422} & set(statuses)


def test_copies_of_a_story_on_one_page_fold_under_its_first_hit() -> None:
    from index.search import Hit, SearchResult
    from web.routes.search import group_by_story

    def hit(doc_id: str, story: str | None, outlets: int = 1, also_at: list[str] | None = None) -> Hit:
        return Hit(id=doc_id, url=f"http://x/{doc_id}", title=doc_id, source="s", kind="news", published=None,
                   snippet="", score=1.0, story=story, story_outlets=outlets, also_at=also_at or [])

    rows = group_by_story(SearchResult(total=5, hits=[
        hit("a", "s1", outlets=6), hit("b", None), hit("c", "s1", outlets=6), hit("d", "s2", also_at=["http://y"]),
        hit("e", "s1", outlets=6)], next_cursor=None, took_ms=1))
    assert [(r["hit"].id, [c.id for c in r["copies"]], r["more"]) for r in rows] == [
        ("a", ["c", "e"], 5), ("b", [], 0), ("d", [], 1)]


def test_mediawatch_serve_starts_the_app_and_the_first_admin_logs_in(cluster, tmp_path) -> None:
    """``mediawatch serve --host --port`` as a real process against the node: before any account it says how to
    create the first administrator; ``mediawatch users add NAME --admin`` makes one who logs in."""
    import subprocess
    import sys
    import time
    import uuid

    import httpx2

    from tests.conftest import REPO, delete_prefix, free_port

    prefix = f"mwserve-{uuid.uuid4().hex[:8]}"
    env = cluster.env(prefix, tmp_path)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mediawatch", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx2.Client(base_url=base, timeout=30, follow_redirects=False) as http:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, proc.stdout.read()[-2000:]
                try:
                    if http.get("/login").status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert time.monotonic() < deadline, "mediawatch serve did not answer within 120 s"
                time.sleep(0.5)
            assert "/api/search" in http.get("/openapi.json").json()["paths"]
            assert http.get("/api/search", params={"q": "x"}).status_code == 401
            assert http.get("/search").status_code == 303  # pages send a stranger to the login form

            added = subprocess.run([sys.executable, "-m", "mediawatch", "users", "add", "chanh", "--admin",
                                    "--password-stdin"], input="mat-khau-quan-tri\n", cwd=REPO, env=env,
                                   capture_output=True, text=True, timeout=120)
            assert added.returncode == 0, added.stderr
            form = http.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            resp = http.post("/login", data={"csrf": csrf, "username": "chanh", "password": "mat-khau-quan-tri"})
            assert resp.status_code == 303, resp.text[:500]
            assert http.get("/admin/audit").status_code == 200  # an administrator's page
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        delete_prefix(cluster.url, prefix)
    assert "mediawatch users add NAME --admin" in out
    assert f"http://localhost:{port}/" in out


def test_the_demo_administrator_logs_in_with_the_password_make_demo_prints(cluster, tmp_path) -> None:
    """``make demo`` (tests.site.demo) creates the administrator ``demo`` and prints its password and the command
    that starts the app; that password logs in to the app, a second demo gives a new one and the old one stops."""
    import uuid
    from contextlib import contextmanager

    import httpx2

    from mediawatch.config import Settings
    from tests.conftest import delete_prefix
    from tests.site.demo import DEMO_REPORT, DEMO_USER, demo_admin
    from tests.webapp import run_app

    prefix = f"mwdemo-{uuid.uuid4().hex[:8]}"
    settings = Settings(es={"url": cluster.url}, index={"prefix": prefix}, data_dir=tmp_path)

    @contextmanager
    def log_in(url: str, password: str):
        with httpx2.Client(base_url=url, timeout=60, follow_redirects=False) as http:
            csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/login").text).group(1)
            http.post("/login", data={"csrf": csrf, "username": DEMO_USER, "password": password})
            yield http

    try:
        first = demo_admin(settings)
        with run_app(settings) as (url, _app):
            with log_in(url, first) as http:
                assert http.get("/admin/audit").status_code == 200  # an administrator
                names = [r["name"] for r in http.get("/api/reports").json()["reports"]]
                assert names == [DEMO_REPORT]
            second = demo_admin(settings)
            assert second != first
            with log_in(url, first) as http:
                assert http.get("/admin/audit").status_code == 303  # the old password no longer logs in
            with log_in(url, second) as http:
                assert http.get("/admin/audit").status_code == 200
                assert [r["name"] for r in http.get("/api/reports").json()["reports"]] == [DEMO_REPORT]
    finally:
        delete_prefix(cluster.url, prefix)
