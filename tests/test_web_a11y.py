"""Accessibility of the main pages: axe-core (the JavaScript the ``axe-playwright-python`` package ships, injected
into the page by Playwright: nothing is fetched at run time) finds no violation of serious or critical impact on
each page, in a real headless Chromium against the running app. Every page listed is built: one answering 404 or
showing the stub ``create_app`` puts up for a section no route module serves fails, saying which; minor and moderate
findings are printed with the test's output."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

from typing import Any

import pytest

from tests.webapp import browser, live_app, login, page, pages, world_fixture  # noqa: F401  (fixtures)

web_world = world_fixture(tagging=True)
BLOCKING = ("serious", "critical")

# name -> (user or None for anonymous, path; "{doc}" a document id, "{report}" a report and "{alert}" an alert of
# analyst1). Every one is built: a page answering 404 or showing the stub fails, naming it.
PAGES: dict[str, tuple[str | None, str]] = {
    "login": (None, "/login"),
    "search": ("analyst1", "/search?q=lu+lut&kind=news"),
    "search-error": ("analyst1", "/search?q=lu+AND+("),
    "trends": ("analyst1", "/trends?q=lu+lut"),
    "document": ("analyst1", "/documents/{doc}"),
    "alerts": ("analyst1", "/alerts"),
    "alert-form": ("analyst1", "/alerts/new?q=lu+lut"),
    "alert": ("analyst1", "/alerts/{alert}"),
    "sources": ("admin", "/admin/sources"),
    "source-form": ("admin", "/admin/sources/new"),
    "reports": ("analyst1", "/reports"),
    "report": ("analyst1", "/reports/{report}"),
    "report-form": ("analyst1", "/reports/new"),
    "report-add": ("analyst1", "/reports/add?q=lu+lut&kind=news"),
    "report-form-added": ("analyst1", "/reports/{report}/edit?q=lu+lut&kind=news"),
    "report-print": ("analyst1", "/reports/{report}/print"),
    "account": ("analyst1", "/account"),
    "users": ("admin", "/admin/users"),
    "audit": ("admin", "/admin/audit"),
    "corrections": ("admin", "/admin/corrections"),
}


def is_stub(page: Any) -> bool:
    """True when the page shown is the stub ``create_app`` puts up for a section no route module serves yet."""
    from web.i18n import gettext

    stub = {gettext("stub.title", "vi"), gettext("stub.title", "en")}
    return any(text.strip() in stub for text in page.locator("main h2").all_inner_texts())


@pytest.fixture(scope="module")
def ids(live_app) -> dict[str, str]:
    """A document id (the first hit of a search), a report and an alert of analyst1."""
    with live_app.http("analyst1") as http:
        hit = http.get("/api/search", params={"q": "lu lut", "kind": "news", "size": 1}).json()["hits"][0]
        report = http.post("/api/reports", json={
            "name": "Kiểm tra truy cập", "period": "weekly",
            "searches": [{"label": "Lũ lụt", "query": "lu lut"},
                         {"label": "Diễn đàn", "filters": {"kinds": ["forum"]}}],
        }).json()
        alert = http.post("/api/subscriptions", json={"name": "Ngập lụt Từ Sơn", "query": '"ngập lụt" AND "Từ Sơn"',
                                                      "emails": ["an@example.vn"]})
    assert alert.status_code == 201, f"the alert to check could not be saved: {alert.status_code} {alert.text}"
    return {"doc": hit["id"], "report": report["id"], "alert": alert.json()["id"]}


def axe_findings(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response
    assert results["testEngine"]["name"] == "axe-core" and len(results["passes"]) >= 10, "axe did not check the page"
    return results["violations"]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} element(s)): {v['help']} -> {targets}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_or_critical_axe_violations(name: str, pages, live_app, ids) -> None:
    user, template = PAGES[name]
    path = template.format(**ids)
    page = pages(viewport={"width": 1280, "height": 900})
    if user:
        login(page, live_app, user, next_path=path)
    response = page.goto(live_app.url + path)
    assert response is not None and response.status < 500, name
    assert response.status != 404 and not is_stub(page), f"{name} ({path}) is not built yet: a stub answers for it"
    violations = axe_findings(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    others = [v for v in violations if v["impact"] not in BLOCKING]
    if others:
        print(f"\n{name}: {len(others)} minor/moderate finding(s):\n{describe(others)}")
    assert not blocking, f"{name} ({path}):\n{describe(blocking)}"


@pytest.mark.parametrize("name", ["search", "report"])
def test_no_serious_or_critical_axe_violations_on_a_phone(name: str, pages, live_app, ids) -> None:
    user, template = PAGES[name]
    path = template.format(**ids)
    page = pages(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    login(page, live_app, user, next_path=path)
    page.goto(live_app.url + path)
    blocking = [v for v in axe_findings(page) if v["impact"] in BLOCKING]
    assert not blocking, f"{name} ({path}) on a phone:\n{describe(blocking)}"


def test_axe_itself_runs_offline_and_catches_a_violation(pages, live_app) -> None:
    """The check is real: axe loads from the package (no network) and reports an image without alt text."""
    page = pages()
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith(live_app.url)
               else route.continue_())
    page.set_content('<html lang="vi"><body><main><h1>x</h1><img src="data:image/png;base64,iVBORw0KGgo=">'
                     "</main></body></html>")
    ids = {v["id"] for v in axe_findings(page)}
    assert "image-alt" in ids
