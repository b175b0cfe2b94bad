"""Fixtures for web app tests: a crawled world, the app running on loopback, and a real headless Chromium.

Import what a test module needs (pytest finds fixtures imported into a module; the module then starts with
``# ruff: noqa: F811``, as fixtures come back as test arguments)::

    from tests.webapp import browser, live_app, page, web_world  # noqa: F401
    from tests.webapp import USERS, login

    def test_search(page, live_app):
        login(page, live_app, "analyst1")
        page.goto(live_app.url + "/search?q=lu+lut")

* ``web_world`` (module): the local test site crawled through the CLI into a fresh index prefix (tagging off;
  a module that needs topics and sentiments defines ``web_world = world_fixture(tagging=True)`` instead), and
  the accounts of :data:`USERS` (one admin, two analysts); the prefix is deleted afterwards.
* ``live_app`` (module): ``web.app.create_app`` served by uvicorn in a thread on a free loopback port;
  ``live_app.url``, ``live_app.settings``, ``live_app.app`` (its ``state.ctx`` has the stores),
  ``live_app.token(user)`` (an API token), ``live_app.http(user=None)`` (an httpx2 client, with a token when
  ``user`` is given). A module-level ``WEB_SETTINGS = {...}`` in the test module replaces the ``[web]``
  settings (default: :data:`DEFAULT_WEB_SETTINGS`).
* ``browser`` (module): Debian's ``/usr/bin/chromium`` driven by Playwright (never a downloaded browser); a
  missing chromium **fails** the test with a line saying how to install it.
* ``page`` (function): a fresh browser context (its own cookies) and page, closed afterwards;
  :func:`login` signs it in. ``new_page()`` (from the ``pages`` fixture) gives further isolated pages.
"""

from __future__ import annotations

import json
import secrets
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cluster, delete_prefix, free_port, run_cli
from tests.site import serve, sources_yaml

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
USERS: dict[str, dict[str, str]] = {
    "admin": {"password": "quan-tri-vien-1", "role": "admin", "display_name": "Quản trị viên"},
    "analyst1": {"password": "chuyen-vien-mot", "role": "analyst", "display_name": "Nguyễn Văn An"},
    "analyst2": {"password": "chuyen-vien-hai", "role": "analyst", "display_name": "Trần Thị Bình"},
}
"""The accounts every web world has: name -> password, role, display name."""


@dataclass
class WebWorld:
    cluster: Cluster
    prefix: str
    data_dir: Path
    sources_file: Path
    site_url: str
    catalog: Any
    tagging: bool
    env: dict[str, str] = field(default_factory=dict)

    def settings(self, **web: Any):
        from mediawatch.config import Settings

        return Settings(es={"url": self.cluster.url}, index={"prefix": self.prefix}, data_dir=self.data_dir,
                        crawl={"sources_file": self.sources_file}, enrich={"enabled": self.tagging}, web=web)


def world_fixture(*, tagging: bool = False, scope: str = "module") -> Callable[..., Iterator[WebWorld]]:
    """A fixture that crawls the test site into a fresh prefix once per ``scope`` and creates :data:`USERS`."""

    @pytest.fixture(scope=scope)
    def web_world(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebWorld]:
        from index.client import make_client
        from index.users import AuditLog, UserStore, ensure_user_indices
        from web.accounts import create_user

        prefix = f"mwweb-{uuid.uuid4().hex[:8]}"
        data_dir = tmp_path_factory.mktemp("web")
        extra = {} if tagging else {"MEDIAWATCH_ENRICH__ENABLED": "false"}
        try:
            with serve(now=datetime.now(UTC)) as server:
                sources = data_dir / "sources.yaml"
                sources.write_text(sources_yaml(server.base_url), encoding="utf-8")
                env = cluster.env(prefix, data_dir, **extra)
                result = run_cli("crawl", "--sources", str(sources), "--json", env=env)
                assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
                world = WebWorld(cluster, prefix, data_dir, sources, server.base_url, server.site.catalog, tagging,
                                 env)
            settings = world.settings()
            client = make_client(settings)
            ensure_user_indices(client, settings)
            users, audit_log = UserStore.of(client, settings), AuditLog.of(client, settings)
            for name, spec in USERS.items():
                create_user(users, audit_log, name=name, password=spec["password"], role=spec["role"],
                            min_length=8, actor="test", display_name=spec["display_name"])
            client.indices.refresh(index=f"{prefix}-docs")
            yield world
        finally:
            delete_prefix(cluster.url, prefix)

    return web_world


web_world = world_fixture()


DEFAULT_WEB_SETTINGS: dict[str, Any] = {"page_size": 10}
"""``[web]`` settings of the test app; a test module sets ``WEB_SETTINGS = {...}`` to use others."""


@dataclass
class LiveApp:
    url: str
    app: Any
    settings: Any
    world: WebWorld
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx

    def token(self, user: str) -> str:
        """An API token of ``user`` (created once, through the token store as the account page does)."""
        if user not in self._tokens:
            from index.users import iso, now_utc, secret_id

            secret = "mw_" + secrets.token_urlsafe(32)
            record = {"id": secret_id(secret), "user": user, "name": "tests", "hint": secret[:8],
                      "created": iso(now_utc()), "last_used": None, "revoked": False}
            self.ctx.tokens.create(record["id"], record)
            self._tokens[user] = secret
        return self._tokens[user]

    def http(self, user: str | None = None, **options: Any):
        """An httpx2 client for the app; with ``user``, authenticated by that user's API token."""
        import httpx2

        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        return httpx2.Client(base_url=self.url, headers=headers, follow_redirects=False, timeout=60, **options)


@contextmanager
def run_app(settings: Any) -> Iterator[tuple[str, Any]]:
    """Serve ``create_app(settings)`` with uvicorn in a thread on a free loopback port; yields (url, app)."""
    import uvicorn

    from web.app import create_app, server_config

    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the web app did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def live_app(request: pytest.FixtureRequest, web_world: WebWorld) -> Iterator[LiveApp]:
    settings = web_world.settings(**getattr(request.module, "WEB_SETTINGS", DEFAULT_WEB_SETTINGS))
    with run_app(settings) as (url, app):
        yield LiveApp(url, app, settings, web_world)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium through Playwright; each launch has a fresh temporary profile (user-data-dir)."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"Debian's chromium is not installed at {CHROMIUM}: run `make test` as root (it installs it), "
                    "or `apt-get install -y chromium`", pytrace=False)
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    try:
        instance = manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:
        manager.stop()
        pytest.fail(f"chromium at {CHROMIUM} did not start: {' '.join(str(exc).split())[:500]}", pytrace=False)
    try:
        yield instance
    finally:
        instance.close()
        manager.stop()


@pytest.fixture
def pages(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(**context_options)``: a page in a fresh context (own cookies); all closed after the test."""
    contexts: list[Any] = []

    def new_page(**options: Any) -> Any:
        context = browser.new_context(**{"locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh",
                                         "accept_downloads": True, **options})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(pages: Callable[..., Any]) -> Any:
    return pages()


def login(page: Any, live: LiveApp, user: str, password: str | None = None, *, next_path: str = "/search") -> Any:
    """Sign ``page`` in as ``user`` through the login form; waits for the page after it."""
    page.goto(f"{live.url}/login?next={next_path}")
    page.locator("#username").fill(user)
    page.locator("#password").fill(password if password is not None else USERS[user]["password"])
    with page.expect_navigation():
        page.locator("form[action^='/login'] button[type=submit]").click()
    return page


def cookies_of(page: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in page.context.cookies()}


def audit_entries(live: LiveApp, **filters: Any) -> list[dict[str, Any]]:
    """The audit log as the admin API returns it (newest first)."""
    with live.http("admin") as http:
        resp = http.get("/api/audit", params=filters)
        assert resp.status_code == 200, resp.text
        return resp.json()["entries"]


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)[:3000]
