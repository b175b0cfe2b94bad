"""Sources in the browser (issue 12, point 7), for administrators only: pages under ``/admin/sources`` (``/sources``
leads there) and the API under ``/api/sources``. An analyst gets 403 on every one of them.

* **Where sources live**: ``sources.yaml`` as before, plus the sources added or edited here, stored in
  Elasticsearch (``index.sources``); ``crawlers.sources.load_registry`` lays the stored ones over the file's, and
  every crawl, ``--due`` pass, the scheduler and ``mediawatch sources list`` read that one registry. Editing or
  disabling a file source stores the changed entry (origin ``file``), which then wins over the file; "revert"
  drops it again. Added sources have origin ``app``.
* **Checked as sources.yaml is** (``crawlers.sources.Source``): every problem shown next to its field, and
  nothing saved while anything is wrong; an id already registered is refused (as a duplicate in the file is).
* **List**: each source with its last run (local time, health, pages, new documents, failed fetches) and the
  flags its history raises (``index.runs.history_flags``, as ``mediawatch status`` shows them), and whether a
  crawl holds its lease now. **History**: ``index.runs.recent_runs`` per source, and each run's record.
* **Check a page**: what extraction finds at a URL, as ``mediawatch extract`` does (an article's fields, or a
  forum page's engine and posts, or a section's threads), fetched through ``crawlers.fetch`` with the SSRF guard
  on every hop, one deadline and the size cap; a refused address shows the guard's line.
* **Crawl now**: the scheduler's way (``mediawatch.scheduler.Scheduler.start``): take the source's crawl lease
  under a name of our own, then start ``mediawatch crawl ID --lease-owner NAME`` as a separate process with the
  app's settings, which adopts the lease; never two crawls of one source, whoever started them. The page shows
  it running and links to its run once recorded.
* Every change is audited: ``source.create``, ``source.update`` (which fields changed, from what to what),
  ``source.disable``, ``source.enable``, ``source.revert``, ``source.delete``, ``source.crawl``, ``source.check``.
* **Delete** an added source keeps its documents and page state unless "also delete its documents" is ticked
  (``delete_documents=true`` in the API): then both go (``index.retention.delete_source_data``, under the source's
  crawl lease, so never during a crawl of it), and ``source.delete`` records the counts.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from elasticsearch import NotFoundError
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from crawlers.forums import ENGINES
from crawlers.sources import (
    ORIGIN_APP,
    ORIGIN_EDITED,
    ORIGIN_FILE,
    MergedRegistry,
    Source,
    SourceRegistry,
    load_registry,
    overlay,
)
from index.alertstore import Stale
from index.locks import Lease
from index.mappings import locks_alias, runs_alias
from index.retention import count_source_data, delete_source_data
from index.runs import history_flags, last_run_per_source, recent_runs
from index.sources import SourceStore, source_record
from mediawatch.config import Settings
from mediawatch.errors import ConfigError, UserError
from web.accounts import User
from web.auth import audit, ctx_of, require_admin
from web.context import WebContext
from web.i18n import gettext, register
from web.render import NavItem, language_of, render

log = logging.getLogger("mediawatch.web")
router = APIRouter()
NAV = [NavItem("nav.sources", "/admin/sources", 50, admin=True)]

BASE = "/admin/sources"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RESERVED_IDS = ("new", "check")  # path segments of the pages below /admin/sources
LIST_FIELDS = ("feeds", "sitemaps", "sections", "allowed_domains", "article_patterns", "follow_patterns")
TEXT_FIELDS = ("name", "home", "language", "timezone", "province", "schedule", "max_pages")
SELECTOR_NAMES = ("title", "text", "published", "updated", "author", "section")
FORUM_FIELDS = ("thread_link", "next_page", "title", "post", "post_id", "author", "time", "body")
RUNS_SHOWN = 20
EXCERPT_CHARS = 1500

register({
    "sources.title": {"vi": "Nguồn tin", "en": "Sources"},
    "sources.add": {"vi": "Thêm nguồn", "en": "Add a source"},
    "sources.check": {"vi": "Kiểm tra một trang", "en": "Check a page"},
    "sources.id": {"vi": "Mã nguồn (id)", "en": "Id"},
    "sources.id_help": {"vi": "Chữ thường, số, '-' hoặc '_'; không đổi được sau khi lưu.",
                        "en": "Lowercase letters, digits, '-' or '_'; cannot change once saved."},
    "sources.name": {"vi": "Tên", "en": "Name"},
    "sources.kind": {"vi": "Loại", "en": "Kind"},
    "sources.home": {"vi": "Trang chủ", "en": "Home page"},
    "sources.feeds": {"vi": "Nguồn RSS/Atom (mỗi dòng một URL)", "en": "Feeds (one URL a line)"},
    "sources.sitemaps": {"vi": "Sitemap (mỗi dòng một URL)", "en": "Sitemaps (one URL a line)"},
    "sources.sections": {"vi": "Chuyên mục / mục diễn đàn (mỗi dòng một URL)",
                         "en": "Sections / forum sections (one URL a line)"},
    "sources.allowed_domains": {"vi": "Tên miền được phép (mỗi dòng một)", "en": "Allowed domains (one a line)"},
    "sources.article_patterns": {"vi": "Mẫu URL bài viết (biểu thức chính quy, mỗi dòng một)",
                                 "en": "Article URL patterns (regular expressions, one a line)"},
    "sources.follow_patterns": {"vi": "Mẫu URL trang danh sách cần đi theo", "en": "Listing URL patterns to follow"},
    "sources.language": {"vi": "Ngôn ngữ (để trống: tự nhận)", "en": "Language (empty: detected)"},
    "sources.timezone": {"vi": "Múi giờ của trang", "en": "The site's time zone"},
    "sources.province": {"vi": "Tỉnh/thành (mã hoặc tên)", "en": "Home province (code or name)"},
    "sources.schedule": {"vi": "Lịch thu thập (cron hoặc “every 1h”)", "en": "Schedule (cron or “every 1h”)"},
    "sources.max_pages": {"vi": "Tối đa số trang mỗi lần", "en": "At most this many pages a run"},
    "sources.delay": {"vi": "Giãn cách giữa hai lần tải (giây)", "en": "Delay between requests (s)"},
    "sources.concurrency": {"vi": "Số kết nối song song", "en": "Parallel requests"},
    "sources.enabled": {"vi": "Đang bật", "en": "Enabled"},
    "sources.disabled": {"vi": "Đã tắt", "en": "Disabled"},
    "sources.advanced": {"vi": "Bộ chọn CSS (nâng cao)", "en": "CSS selectors (advanced)"},
    "sources.selectors": {"vi": "Bài báo", "en": "Articles"},
    "sources.forum": {"vi": "Diễn đàn", "en": "Forum"},
    "sources.engine": {"vi": "Phần mềm diễn đàn", "en": "Forum engine"},
    "sources.save": {"vi": "Lưu nguồn", "en": "Save source"},
    "sources.cancel": {"vi": "Hủy", "en": "Cancel"},
    "sources.edit": {"vi": "Sửa", "en": "Edit"},
    "sources.edit_title": {"vi": "Sửa nguồn “{name}”", "en": "Edit “{name}”"},
    "sources.disable": {"vi": "Tắt nguồn", "en": "Disable"},
    "sources.enable": {"vi": "Bật lại", "en": "Enable"},
    "sources.revert": {"vi": "Về cấu hình trong sources.yaml", "en": "Revert to sources.yaml"},
    "sources.revert_confirm": {"vi": "Bỏ các thay đổi làm trong ứng dụng và dùng lại cấu hình của sources.yaml?",
                               "en": "Drop the changes made in the app and use the sources.yaml entry again?"},
    "sources.delete": {"vi": "Xóa nguồn", "en": "Delete source"},
    "sources.delete_confirm": {"vi": "Xóa nguồn này khỏi danh sách? Các bài đã thu thập vẫn được giữ, trừ khi "
                                     "chọn “Xóa cả các bài đã thu thập” (không hoàn tác được).",
                               "en": "Remove this source? Documents already collected are kept unless “Also delete "
                                     "its documents” is ticked (that cannot be undone)."},
    "sources.delete_documents": {"vi": "Xóa cả các bài đã thu thập ({docs} bài, {pages} trang đã ghi nhận)",
                                 "en": "Also delete its documents ({docs} documents, {pages} known pages)"},
    "sources.crawl": {"vi": "Thu thập ngay", "en": "Crawl now"},
    "sources.running": {"vi": "Đang thu thập", "en": "Crawling"},
    "sources.running_since": {"vi": "Đang thu thập từ {since} ({who})", "en": "Crawling since {since} ({who})"},
    "sources.origin": {"vi": "Khai báo ở", "en": "Defined in"},
    "sources.origin.file": {"vi": "sources.yaml", "en": "sources.yaml"},
    "sources.origin.app": {"vi": "Thêm trong ứng dụng", "en": "Added in the app"},
    "sources.origin.edited": {"vi": "sources.yaml, đã sửa trong ứng dụng", "en": "sources.yaml, edited in the app"},
    "sources.last_run": {"vi": "Lần chạy gần nhất", "en": "Last run"},
    "sources.health": {"vi": "Tình trạng", "en": "Health"},
    "sources.health.ok": {"vi": "Tốt", "en": "OK"},
    "sources.health.degraded": {"vi": "Có lỗi", "en": "Degraded"},
    "sources.health.failed": {"vi": "Thất bại", "en": "Failed"},
    "sources.health.interrupted": {"vi": "Bị dừng", "en": "Interrupted"},
    "sources.pages": {"vi": "Trang", "en": "Pages"},
    "sources.new_docs": {"vi": "Bài mới", "en": "New"},
    "sources.updated_docs": {"vi": "Cập nhật", "en": "Updated"},
    "sources.failed_fetches": {"vi": "Lỗi tải", "en": "Failed fetches"},
    "sources.flags": {"vi": "Dấu hiệu bất thường", "en": "Flags"},
    "sources.never": {"vi": "Chưa chạy", "en": "Never run"},
    "sources.history": {"vi": "Lịch sử thu thập", "en": "Run history"},
    "sources.no_runs": {"vi": "Chưa có lần chạy nào.", "en": "No runs yet."},
    "sources.started": {"vi": "Bắt đầu", "en": "Started"},
    "sources.finished": {"vi": "Kết thúc", "en": "Finished"},
    "sources.run": {"vi": "Lần chạy {started}", "en": "Run of {started}"},
    "sources.run_link": {"vi": "Xem kết quả lần chạy", "en": "See the run"},
    "sources.problems": {"vi": "Vấn đề", "en": "Problems"},
    "sources.failed_urls": {"vi": "Các URL lỗi đầu tiên", "en": "First failed URLs"},
    "sources.config": {"vi": "Cấu hình", "en": "Configuration"},
    "sources.none": {"vi": "Chưa có nguồn nào.", "en": "No sources yet."},
    "sources.stored_problems": {"vi": "Nguồn lưu trong ứng dụng không còn hợp lệ",
                                "en": "Sources stored in the app that no longer validate"},
    "sources.file_error": {"vi": "Không đọc được sources.yaml: {error}", "en": "sources.yaml cannot be read: {error}"},
    "sources.fix_errors": {"vi": "Chưa lưu: hãy sửa các ô được đánh dấu.", "en": "Not saved: fix the marked fields."},
    "sources.err.duplicate": {"vi": "Mã “{id}” đã có trong danh sách nguồn.", "en": "The id “{id}” is taken."},
    "sources.err.reserved": {"vi": "Mã “{id}” dành cho trang của ứng dụng; hãy chọn mã khác.",
                             "en": "The id “{id}” is reserved for the app's pages; choose another."},
    "sources.err.id_change": {"vi": "Không đổi được mã của nguồn.", "en": "A source's id cannot change."},
    "sources.err.stale": {"vi": "Nguồn vừa được thay đổi ở nơi khác; hãy tải lại trang.",
                          "en": "The source was changed elsewhere meanwhile; reload the page."},
    "sources.err.busy": {"vi": "Nguồn này đang được thu thập: {who}", "en": "Already being crawled: {who}"},
    "sources.done.created": {"vi": "Đã thêm nguồn.", "en": "Source added."},
    "sources.done.updated": {"vi": "Đã lưu thay đổi.", "en": "Changes saved."},
    "sources.done.disabled": {"vi": "Đã tắt nguồn.", "en": "Source disabled."},
    "sources.done.enabled": {"vi": "Đã bật lại nguồn.", "en": "Source enabled."},
    "sources.done.reverted": {"vi": "Đã dùng lại cấu hình của sources.yaml.", "en": "Back to the sources.yaml entry."},
    "sources.done.deleted": {"vi": "Đã xóa nguồn.", "en": "Source removed."},
    "sources.done.deleted_documents": {"vi": "Đã xóa nguồn cùng các bài và trạng thái trang của nó.",
                                       "en": "Source removed, with its documents and page state."},
    "sources.done.crawl": {"vi": "Đã bắt đầu thu thập.", "en": "Crawl started."},
    "sources.check_url": {"vi": "Địa chỉ trang", "en": "Page address"},
    "sources.check_run": {"vi": "Kiểm tra", "en": "Check"},
    "sources.check_help": {
        "vi": "Tải trang như trình thu thập (theo các giới hạn an toàn) và cho xem những gì trích xuất được.",
        "en": "Fetches the page as the crawler would (with its safety limits) and shows what extraction finds."},
    "sources.check_engine": {"vi": "Đọc như diễn đàn", "en": "Read as a forum"},
    "sources.check_auto": {"vi": "Tự nhận", "en": "Detect"},
    "sources.check.article": {"vi": "Bài viết", "en": "Article"},
    "sources.check.forum": {"vi": "Trang chủ đề diễn đàn", "en": "Forum thread page"},
    "sources.check.section": {"vi": "Trang mục diễn đàn", "en": "Forum section page"},
    "sources.check.title": {"vi": "Tiêu đề", "en": "Title"},
    "sources.check.published": {"vi": "Ngày đăng", "en": "Published"},
    "sources.check.updated": {"vi": "Cập nhật", "en": "Updated"},
    "sources.check.date_source": {"vi": "Ngày lấy từ", "en": "Date found in"},
    "sources.check.author": {"vi": "Tác giả", "en": "Author"},
    "sources.check.section_name": {"vi": "Chuyên mục", "en": "Section"},
    "sources.check.language": {"vi": "Ngôn ngữ", "en": "Language"},
    "sources.check.canonical": {"vi": "URL chuẩn", "en": "Canonical URL"},
    "sources.check.encoding": {"vi": "Bảng mã", "en": "Encoding"},
    "sources.check.words": {"vi": "Số từ", "en": "Words"},
    "sources.check.text": {"vi": "Nội dung chính", "en": "Main text"},
    "sources.check.no_text": {"vi": "(không tìm thấy nội dung chính)", "en": "(no main text found)"},
    "sources.check.engine": {"vi": "Phần mềm", "en": "Engine"},
    "sources.check.thread": {"vi": "Chủ đề", "en": "Thread"},
    "sources.check.page": {"vi": "Trang", "en": "Page"},
    "sources.check.next": {"vi": "Trang sau", "en": "Next page"},
    "sources.check.clock": {"vi": "Giờ của diễn đàn", "en": "Stated clock"},
    "sources.check.posts": {"vi": "Bài viết ({n})", "en": "Posts ({n})"},
    "sources.check.threads": {"vi": "Chủ đề ({n})", "en": "Threads ({n})"},
    "sources.check.truncated": {"vi": "Trang lớn hơn giới hạn {n} byte; chỉ phần đầu được trích xuất.",
                                "en": "The page is larger than {n} bytes; only its start was extracted."},
    "sources.check.refused": {"vi": "Không kiểm tra được trang này", "en": "This page could not be checked"},
    "sources.back": {"vi": "← Danh sách nguồn", "en": "← All sources"},
})


# -- the registry, as the pages see it ---------------------------------------------------------------------------

def store_of(ctx: WebContext) -> SourceStore:
    if not ctx.extras.get("sources.ready"):
        SourceStore.ensure(ctx.client, ctx.settings)
        ctx.extras["sources.ready"] = True
    return SourceStore.of(ctx.client, ctx.settings)


@dataclass
class RegistryView:
    """The registry as the pages show it: never fails on a broken file or a stored entry that no longer validates
    (both are shown, so they can be fixed here)."""

    registry: MergedRegistry
    records: dict[str, dict[str, Any]]
    file_error: str | None = None


def registry_view(ctx: WebContext) -> RegistryView:
    records = store_of(ctx).all()
    try:
        registry = load_registry(ctx.settings, ctx.client, strict=False)
        error = None
    except ConfigError as exc:
        registry = overlay(SourceRegistry(Path(ctx.settings.crawl.sources_file), []), records, strict=False)
        error = str(exc)
    return RegistryView(registry, {r["id"]: r for r in records}, error)


def file_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """The raw entries of sources.yaml by id, as written there (empty when it cannot be read)."""
    try:
        raw = yaml.safe_load(Path(settings.crawl.sources_file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    entries = raw.get("sources") if isinstance(raw, dict) else None
    return {e["id"]: e for e in entries or [] if isinstance(e, dict) and isinstance(e.get("id"), str)}


def current_config(ctx: WebContext, view: RegistryView, source_id: str) -> tuple[dict[str, Any], str] | None:
    """A source's config as it is in force (the stored one, else the file's entry) and its origin; None when unknown."""
    if source_id in view.records:
        record = view.records[source_id]
        return dict(record.get("config") or {}), ORIGIN_APP if record.get("origin") == "app" else ORIGIN_EDITED
    entry = file_entries(ctx.settings).get(source_id)
    if entry is not None:
        return dict(entry), ORIGIN_FILE
    try:
        source = view.registry.get(source_id)
    except UserError:
        return None
    return source.model_dump(mode="json", exclude_defaults=True) | {"id": source.id}, ORIGIN_FILE


# -- the form ---------------------------------------------------------------------------------------------------

def form_from_config(config: dict[str, Any]) -> dict[str, Any]:
    """A config as the form's fields (text; lists one item a line)."""
    form: dict[str, Any] = {"id": str(config.get("id", "")), "kind": str(config.get("kind", "news"))}
    for name in TEXT_FIELDS:
        value = config.get(name)
        form[name] = "" if value is None else str(value)
    for name in LIST_FIELDS:
        value = config.get(name) or []
        form[name] = "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    politeness = config.get("politeness") if isinstance(config.get("politeness"), dict) else {}
    form["delay"] = "" if politeness.get("delay") is None else str(politeness["delay"])
    form["concurrency"] = "" if politeness.get("concurrency") is None else str(politeness["concurrency"])
    selectors = config.get("selectors") if isinstance(config.get("selectors"), dict) else {}
    forum = config.get("forum") if isinstance(config.get("forum"), dict) else {}
    for name in SELECTOR_NAMES:
        form[f"selectors.{name}"] = str(selectors.get(name) or "")
    for name in FORUM_FIELDS:
        form[f"forum.{name}"] = str(forum.get(name) or "")
    form["forum.engine"] = str(forum.get("engine") or "auto")
    form["enabled"] = config.get("enabled", True) is not False
    return form


def config_from_form(data: Any) -> dict[str, Any]:
    """A submitted form as a sources.yaml entry: empty fields left out, lists split one item a line."""
    def text(name: str) -> str:
        value = data.get(name)
        return value.strip() if isinstance(value, str) else ""

    config: dict[str, Any] = {"id": text("id"), "name": text("name"), "kind": text("kind") or "news"}
    for name in ("home", "language", "timezone", "province", "schedule", "max_pages"):
        if text(name):
            config[name] = text(name)
    for name in LIST_FIELDS:
        values = [line.strip() for line in text(name).splitlines() if line.strip()]
        if values:
            config[name] = values
    politeness = {k: text(k) for k in ("delay", "concurrency") if text(k)}
    if politeness:
        config["politeness"] = politeness
    selectors = {n: text(f"selectors.{n}") for n in SELECTOR_NAMES if text(f"selectors.{n}")}
    if selectors:
        config["selectors"] = selectors
    forum = {n: text(f"forum.{n}") for n in FORUM_FIELDS if text(f"forum.{n}")}
    if text("forum.engine") and text("forum.engine") != "auto":
        forum["engine"] = text("forum.engine")
    if forum:
        config["forum"] = forum
    if not data.get("enabled"):
        config["enabled"] = False
    return config


def _field(loc: tuple[Any, ...]) -> str:
    """The form field a validation error's location names."""
    if not loc:
        return "allowed_domains"  # the entry as a whole: a URL outside allowed_domains
    head = str(loc[0])
    if head == "politeness":
        return str(loc[1]) if len(loc) > 1 else "delay"
    if head in ("selectors", "forum") and len(loc) > 1:
        return f"{head}.{loc[1]}"
    return head


def check_source(config: Any, *, taken: set[str], editing: str | None, lang: str
                 ) -> tuple[Source | None, dict[str, Any], dict[str, str]]:
    """``config`` checked as a sources.yaml entry is (``crawlers.sources.Source``): the source, the config to
    store (numbers as numbers, the province as its code), and what is wrong (field -> one line)."""
    errors: dict[str, str] = {}
    if not isinstance(config, dict):
        return None, {}, {"form": "a source is a mapping of fields, as an entry of sources.yaml"}
    source_id = config.get("id")
    if editing is not None and source_id != editing:
        errors["id"] = gettext("sources.err.id_change", lang)
    elif editing is None and isinstance(source_id, str):
        if source_id in RESERVED_IDS:
            errors["id"] = gettext("sources.err.reserved", lang, id=source_id)
        elif source_id in taken:
            errors["id"] = gettext("sources.err.duplicate", lang, id=source_id) + f" (duplicate id {source_id!r})"
    try:
        source = Source.model_validate(config)
    except ValidationError as exc:
        for err in exc.errors():
            errors.setdefault(_field(tuple(err.get("loc", ()))), str(err.get("msg", "invalid")).removeprefix(
                "Value error, "))
        return None, config, errors
    except (ValueError, TypeError, OverflowError) as exc:  # a validator refusing a value of the wrong shape
        return None, config, {**errors, "form": " ".join(str(exc).split())[:300]}
    if errors:
        return None, config, errors
    stored = dict(config)
    if "max_pages" in stored:
        stored["max_pages"] = source.max_pages
    if "politeness" in stored:
        given = stored["politeness"] if isinstance(stored["politeness"], dict) else {}
        stored["politeness"] = {k: getattr(source.politeness, k) for k in ("delay", "concurrency") if k in given}
    if "province" in stored:
        stored["province"] = source.province
    return source, stored, {}


# -- changes -----------------------------------------------------------------------------------------------------

def _changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Top-level fields that differ: field -> [old, new]."""
    return {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def add_source(request: Request, user: User, config: Any, lang: str) -> tuple[Source | None, dict, dict[str, str]]:
    ctx = ctx_of(request)
    view = registry_view(ctx)
    taken = {s.id for s in view.registry} | set(view.records) | set(view.registry.problems)
    source, stored, errors = check_source(config, taken=taken, editing=None, lang=lang)
    if source is None:
        audit(request, "source.create", str(config.get("id", ""))[:64] if isinstance(config, dict) else "",
              "failed", {"fields": sorted(errors)})
        return None, stored, errors
    if not store_of(ctx).create(source_record(stored, origin="app", by=user.id)):
        return None, stored, {"id": gettext("sources.err.duplicate", lang, id=source.id)}
    audit(request, "source.create", source.id, details={"config": stored})
    return source, stored, {}


def edit_source(request: Request, user: User, source_id: str, config: Any, lang: str
                ) -> tuple[Source | None, dict, dict[str, str]]:
    ctx = ctx_of(request)
    view = registry_view(ctx)
    found = current_config(ctx, view, source_id)
    if found is None:
        raise HTTPException(404, "not found")
    old, origin = found
    source, stored, errors = check_source(config, taken=set(), editing=source_id, lang=lang)
    if source is None:
        return None, stored, errors
    store = store_of(ctx)
    existing = store.get(source_id)
    record = source_record(stored, origin="app" if origin == ORIGIN_APP else "file", by=user.id)
    try:
        store.replace(record, existing[1] if existing else None)
    except Stale:
        return None, stored, {"form": gettext("sources.err.stale", lang)}
    audit(request, "source.update", source_id, details={"origin": origin, "changed": _changes(old, stored)})
    return source, stored, {}


def set_enabled(request: Request, user: User, source_id: str, enabled: bool) -> None:
    ctx = ctx_of(request)
    view = registry_view(ctx)
    found = current_config(ctx, view, source_id)
    if found is None:
        raise HTTPException(404, "not found")
    config, origin = found
    config = {k: v for k, v in config.items() if k != "enabled"} | ({} if enabled else {"enabled": False})
    store = store_of(ctx)
    for _ in range(3):
        existing = store.get(source_id)
        try:
            store.replace(source_record(config, origin="app" if origin == ORIGIN_APP else "file", by=user.id),
                          existing[1] if existing else None)
            break
        except Stale:
            continue
    audit(request, "source.enable" if enabled else "source.disable", source_id, details={"origin": origin})


def remove_stored(request: Request, user: User, source_id: str, *, delete_documents: bool = False) -> str:
    """Drop the stored record: an added source goes away, an edited file source is back to its sources.yaml entry.
    With ``delete_documents`` (an added source only; 400 for an edited one) its documents and page state go too,
    under its crawl lease (409 while it is crawled). Returns the origin it had; 404 when nothing is stored for it."""
    ctx = ctx_of(request)
    store = store_of(ctx)
    found = store.get(source_id) if ID_PATTERN.match(source_id) else None
    if found is None:
        raise HTTPException(404, "not found")
    origin = ORIGIN_APP if found[0].get("origin") == "app" else ORIGIN_EDITED
    if not delete_documents:
        store.delete(source_id)
        audit(request, "source.delete" if origin == ORIGIN_APP else "source.revert", source_id,
              details={"config": found[0].get("config"), **({"documents": 0, "pages": 0, "documents_deleted": False}
                                                            if origin == ORIGIN_APP else {})})
        return origin
    if origin != ORIGIN_APP:
        raise HTTPException(400, "only a source added in the app can be deleted with its documents; remove a "
                                 "sources.yaml source from the file")
    lease = crawl_lease(ctx, source_id, f"web:{user.id}/{source_id}/remove-{uuid.uuid4().hex[:8]}")
    holder = lease.try_acquire()
    if holder is not None:
        audit(request, "source.delete", source_id, "denied", {"busy": holder.describe()})
        raise HTTPException(409, f"already being crawled: {holder.describe()}")
    try:
        store.delete(source_id)
        deleted = delete_source_data(ctx.client, ctx.settings, source_id)
    finally:
        lease.release()
    audit(request, "source.delete", source_id, details={
        "config": found[0].get("config"), "documents": deleted.documents, "pages": deleted.pages,
        "documents_deleted": True})
    return origin


# -- crawls started here -------------------------------------------------------------------------------------------

@dataclass
class Started:
    """A crawl this app started: its process, lease and log."""

    source: str
    process: subprocess.Popen
    owner: str
    by: str
    started: datetime
    log_path: Path
    lease: Lease
    exit_code: int | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.process.pid, "by": self.by, "started": self.started.isoformat(),
                "exit_code": self.exit_code, "log": str(self.log_path)}


def crawl_environment(settings: Settings) -> dict[str, str]:
    """The environment of a crawl process that must use exactly ``settings`` (each section as JSON, no other
    ``MEDIAWATCH_*`` variable or config file)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MEDIAWATCH_")}
    env["MEDIAWATCH_DATA_DIR"] = str(settings.data_dir)
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            env[f"MEDIAWATCH_{name.upper()}"] = value.model_dump_json()
    env["PYTHONUNBUFFERED"] = "1"
    return env


def started_crawls(ctx: WebContext) -> dict[str, Started]:
    return ctx.extras.setdefault("sources.crawls", {})


def crawl_lease(ctx: WebContext, source_id: str, owner: str | None = None) -> Lease:
    return Lease(ctx.client, locks_alias(ctx.settings), f"crawl:{source_id}", purpose="crawl",
                 ttl=ctx.settings.schedule.lease_seconds, owner=owner)


def start_crawl(ctx: WebContext, source: Source, by: str) -> Started:
    """Take the source's crawl lease under a name of our own, then start ``mediawatch crawl ID`` with it (the
    process adopts the lease); UserError naming the holder when someone crawls it already."""
    owner = f"web:{by}/{source.id}/{uuid.uuid4().hex[:8]}"
    lease = crawl_lease(ctx, source.id, owner)
    holder = lease.try_acquire()
    if holder is not None:
        raise UserError(holder.describe())
    started = datetime.now(UTC)
    logs = Path(ctx.settings.data_dir) / "logs"
    try:
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"crawl-{source.id}-{started.strftime('%Y%m%dT%H%M%S')}-web.log"
        with log_path.open("ab") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "mediawatch", "crawl", source.id, "--lease-owner", owner],
                stdout=handle, stderr=subprocess.STDOUT, env=crawl_environment(ctx.settings), start_new_session=True)
    except OSError:
        lease.release_if_ours()
        raise
    run = Started(source.id, process, owner, by, started, log_path, lease)
    started_crawls(ctx)[source.id] = run
    threading.Thread(target=_watch, args=(run,), name=f"crawl-{source.id}", daemon=True).start()
    log.info("started the crawl of %s for %s (pid %d, log %s)", source.id, by, process.pid, log_path)
    return run


def _watch(run: Started) -> None:
    """Wait for the crawl process; then give the lease up if it is still under our name (a crawl that died
    before adopting or releasing it)."""
    run.exit_code = run.process.wait()
    try:
        run.lease.release_if_ours()
    except Exception as exc:  # noqa: BLE001 - the lease expires on its own
        log.warning("could not release the crawl lease of %s: %s", run.source, exc)
    run.done.set()


def crawl_state(ctx: WebContext, source_id: str) -> dict[str, Any]:
    """Whether a crawl of the source runs now (whoever started it), the last one started here, and its run."""
    holder = crawl_lease(ctx, source_id).holder()
    running = holder is not None and not holder.expired
    mine = started_crawls(ctx).get(source_id)
    if mine is not None and not mine.done.is_set():
        running = True
    state: dict[str, Any] = {
        "running": running, "holder": holder.owner if running and holder else None,
        "since": holder.acquired.isoformat() if running and holder else None,
        "started_here": mine.to_json() if mine else None, "run_id": None,
    }
    if mine is not None:
        runs = recent_runs(ctx.client, runs_alias(ctx.settings), source=source_id, size=5)
        for run in runs:
            if run.get("pid") == mine.process.pid and (run.get("started") or "") >= mine.started.isoformat()[:19]:
                state["run_id"] = run.get("run_id")
                state["run_health"] = run.get("health")
                break
    return state


# -- check a page --------------------------------------------------------------------------------------------------

def check_page(settings: Settings, url: str, engine: str | None = None) -> dict[str, Any]:
    """What ``mediawatch extract URL --json`` prints for ``url``: an article's fields, a forum thread page's
    engine and posts, or a section page's threads; fetched with the SSRF guard on every hop, one deadline and
    the size cap. UserError (one line) when the page cannot be fetched or is refused."""
    from crawlers.extract import extract_article
    from crawlers.fetch import HTML_ACCEPT, fetch_url
    from crawlers.forums import detect_engine, discourse_json_url, parse_section_page, parse_thread_page
    from crawlers.netguard import Guard

    crawl = settings.crawl

    def fetch(target: str, accept: str = HTML_ACCEPT) -> Any:
        return fetch_url(target, guard=Guard.from_settings(settings), user_agent=crawl.user_agent,
                         timeout=crawl.timeout, max_bytes=crawl.max_page_bytes, accept=accept)

    if engine is not None and engine not in ENGINES:
        raise UserError(f"unknown forum engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    target = discourse_json_url(url) if engine == "discourse" else url
    fetched = fetch(target)
    data, content_type, final = fetched.body, fetched.content_type, fetched.url
    truncated = fetched.truncated
    found = engine or detect_engine(data, final, content_type)
    if found == "discourse" and not _is_json(data, content_type):
        json_url = discourse_json_url(final)
        if json_url != final:
            fetched = fetch(json_url, "application/json")
            data, content_type, final = fetched.body, fetched.content_type, fetched.url
    base = {"url": final, "truncated": truncated, "max_bytes": crawl.max_page_bytes}
    if found:
        try:
            thread = parse_thread_page(data, final, content_type=content_type, engine=found, timezone=crawl.timezone)
            section = None if thread.posts else parse_section_page(data, final, content_type=content_type,
                                                                   engine=found)
        except ValueError as exc:
            raise UserError(f"{final}: {exc}") from None
        if thread.posts:
            return {**base, "kind": "forum", "engine": thread.engine, "thread_url": thread.thread_url,
                    "title": thread.title, "page": thread.page, "next_url": thread.next_url,
                    "utc_offset": thread.utc_offset,
                    "posts": [{k: v for k, v in post.to_dict().items()
                               if k in ("id", "author", "published", "position", "text")} for post in thread.posts]}
        if section is not None and section.thread_urls:
            return {**base, "kind": "forum_section", "engine": section.engine, "thread_urls": section.thread_urls,
                    "next_url": section.next_url}
        if engine:
            raise UserError(f"{final}: no forum posts or thread links found (engine {engine})")
    article = extract_article(data, final, content_type=content_type, timezone=crawl.timezone)
    return {**base, "kind": "news", **article.to_dict(), "url": final, "word_count": article.word_count}


def _is_json(data: bytes, content_type: str | None) -> bool:
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return mime.endswith("json") or data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def run_check(request: Request, url: str, engine: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The check, audited: (result, None) or (None, the one-line reason)."""
    settings = ctx_of(request).settings
    try:
        result = check_page(settings, url, engine)
    except UserError as exc:
        audit(request, "source.check", url[:500], "denied" if "refused" in str(exc) else "failed",
              {"error": str(exc)})
        return None, str(exc)
    audit(request, "source.check", url[:500], details={"kind": result["kind"]})
    return result, None


# -- what the list and detail pages show -------------------------------------------------------------------------

def _failed_fetches(run: dict[str, Any]) -> int:
    return sum(int(v) for v in (run.get("failures") or {}).values() if isinstance(v, int | float))


def source_rows(ctx: WebContext, view: RegistryView) -> list[dict[str, Any]]:
    """One row per registered source: origin, last run, its flags against history, running or not."""
    runs_index = runs_alias(ctx.settings)
    last = {run["source"]: run for run in last_run_per_source(ctx.client, runs_index, size=1000)}
    rows = []
    for source in view.registry:
        run = last.get(source.id)
        flags: list[str] = []
        if run is not None:
            history = recent_runs(ctx.client, runs_index, source=source.id, size=11)[1:]
            flags = history_flags(run, history)
        rows.append({"source": source, "origin": view.registry.origin(source.id), "run": run, "flags": flags,
                     "failed": _failed_fetches(run) if run else 0, "running": crawl_state(ctx, source.id)["running"]})
    return rows


def source_json(row: dict[str, Any]) -> dict[str, Any]:
    source: Source = row["source"]
    run = row["run"]
    return {"id": source.id, "name": source.name, "kind": source.kind, "enabled": source.enabled,
            "schedule": source.schedule, "origin": row["origin"], "running": row["running"],
            "last_run": ({k: run.get(k) for k in ("run_id", "started", "finished", "health", "pages", "created",
                                                  "updated", "failures", "problems")} | {"failed": row["failed"]})
            if run else None, "flags": row["flags"]}


def runs_with_flags(ctx: WebContext, source_id: str, size: int = RUNS_SHOWN) -> list[dict[str, Any]]:
    runs = recent_runs(ctx.client, runs_alias(ctx.settings), source=source_id, size=size + 10)
    out = []
    for i, run in enumerate(runs[:size]):
        out.append({**run, "flags": history_flags(run, runs[i + 1:i + 11]), "failed": _failed_fetches(run)})
    return out


def _source_or_404(view: RegistryView, source_id: str) -> Source | None:
    """The registered source (None for a stored entry that no longer validates); 404 when neither."""
    if not ID_PATTERN.match(source_id):
        raise HTTPException(404, "not found")
    try:
        return view.registry.get(source_id)
    except UserError:
        if source_id in view.registry.problems:
            return None
        raise HTTPException(404, "not found") from None


# -- pages -----------------------------------------------------------------------------------------------------------

def _form_page(request: Request, form: dict[str, Any], *, editing: str | None = None,
               errors: dict[str, str] | None = None, status: int = 200):
    errors = errors or {}
    advanced = [k for k in [*errors, *form] if k.startswith(("selectors.", "forum.")) and k != "forum.engine"]
    advanced_open = any(k in errors or form.get(k) for k in advanced) or form.get("forum.engine") not in ("", "auto")
    return render(request, "source_form.html", {
        "form": form, "editing": editing, "errors": errors, "engines": ("auto", *ENGINES),
        "advanced_open": advanced_open or "forum.engine" in errors,
        "list_fields": LIST_FIELDS, "selector_names": SELECTOR_NAMES, "forum_fields": FORUM_FIELDS,
    }, status_code=status)


@router.get("/sources", include_in_schema=False)
def sources_short(user: User = Depends(require_admin)):
    return RedirectResponse(BASE, status_code=303)


@router.get(BASE, include_in_schema=False)
def sources_page(request: Request, user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    view = registry_view(ctx)
    done = request.query_params.get("done", "")
    return render(request, "sources.html", {
        "rows": source_rows(ctx, view), "problems": view.registry.problems, "file_error": view.file_error,
        "notice": f"sources.done.{done}" if done in ("deleted", "deleted_documents", "reverted") else None,
    })


@router.get(f"{BASE}/new", include_in_schema=False)
def new_source_page(request: Request, user: User = Depends(require_admin)):
    form = form_from_config({"kind": "news", "politeness": {"delay": 1.0, "concurrency": 2}})
    return _form_page(request, form)


@router.post(f"{BASE}/new", include_in_schema=False)
async def new_source_submit(request: Request, user: User = Depends(require_admin)):
    data = await request.form()
    config = config_from_form(data)
    source, _, errors = await run_in_threadpool(add_source, request, user, config, language_of(request))
    if source is None:
        return _form_page(request, {**form_from_config(config), "enabled": bool(data.get("enabled"))},
                          errors=errors, status=400)
    return RedirectResponse(f"{BASE}/{source.id}?done=created", status_code=303)


@router.get(f"{BASE}/check", include_in_schema=False)
def check_page_form(request: Request, url: str = Query("", max_length=2000), user: User = Depends(require_admin)):
    return render(request, "source_check.html", {"url": url, "engine": "auto", "engines": ("auto", *ENGINES),
                                                 "result": None, "error": None})


@router.post(f"{BASE}/check", include_in_schema=False)
async def check_page_submit(request: Request, user: User = Depends(require_admin)):
    data = await request.form()
    url = str(data.get("url") or "").strip()[:2000]
    engine = str(data.get("engine") or "auto")
    result, error = await run_in_threadpool(run_check, request, url, None if engine == "auto" else engine)
    return render(request, "source_check.html", {
        "url": url, "engine": engine, "engines": ("auto", *ENGINES), "result": result, "error": error,
        "excerpt_chars": EXCERPT_CHARS, "parsed": _parsed_times(result),
    }, status_code=200 if error is None else 400)


def _parsed_times(result: dict[str, Any] | None) -> dict[str, datetime | None]:
    if not result:
        return {}
    out = {}
    for key in ("published", "updated"):
        value = result.get(key)
        out[key] = datetime.fromisoformat(value) if isinstance(value, str) and value else None
    return out


@router.get(f"{BASE}/{{source_id}}", include_in_schema=False)
def source_page(request: Request, source_id: str, user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    view = registry_view(ctx)
    source = _source_or_404(view, source_id)
    found = current_config(ctx, view, source_id)
    config = found[0] if found else {}
    done = request.query_params.get("done", "")
    return render(request, "source.html", {
        "source": source, "source_id": source_id, "origin": view.registry.origin(source_id) if source else
        ORIGIN_APP, "config_yaml": yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
        "problem": view.registry.problems.get(source_id), "runs": runs_with_flags(ctx, source_id),
        "state": crawl_state(ctx, source_id), "stored": source_id in view.records,
        "data": count_source_data(ctx.client, ctx.settings, source_id)
        if view.records.get(source_id, {}).get("origin") == "app" else None,
        "notice": f"sources.done.{done}" if done in ("created", "updated", "disabled", "enabled", "crawl") else None,
        "error": request.query_params.get("error"),
    })


@router.get(f"{BASE}/{{source_id}}/edit", include_in_schema=False)
def edit_source_page(request: Request, source_id: str, user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    view = registry_view(ctx)
    found = current_config(ctx, view, source_id) if ID_PATTERN.match(source_id) else None
    if found is None:
        raise HTTPException(404, "not found")
    return _form_page(request, form_from_config(found[0]), editing=source_id)


@router.post(f"{BASE}/{{source_id}}/edit", include_in_schema=False)
async def edit_source_submit(request: Request, source_id: str, user: User = Depends(require_admin)):
    data = await request.form()
    config = config_from_form(data)
    source, _, errors = await run_in_threadpool(edit_source, request, user, source_id, config, language_of(request))
    if source is None:
        return _form_page(request, {**form_from_config(config), "enabled": bool(data.get("enabled"))},
                          editing=source_id, errors=errors, status=400)
    return RedirectResponse(f"{BASE}/{source.id}?done=updated", status_code=303)


@router.post(f"{BASE}/{{source_id}}/disable", include_in_schema=False)
def disable_form(request: Request, source_id: str, user: User = Depends(require_admin)):
    set_enabled(request, user, source_id, False)
    return RedirectResponse(f"{BASE}/{source_id}?done=disabled", status_code=303)


@router.post(f"{BASE}/{{source_id}}/enable", include_in_schema=False)
def enable_form(request: Request, source_id: str, user: User = Depends(require_admin)):
    set_enabled(request, user, source_id, True)
    return RedirectResponse(f"{BASE}/{source_id}?done=enabled", status_code=303)


@router.post(f"{BASE}/{{source_id}}/remove", include_in_schema=False)
async def remove_form(request: Request, source_id: str, user: User = Depends(require_admin)):
    data = await request.form()
    with_documents = bool(data.get("delete_documents"))
    try:
        origin = await run_in_threadpool(remove_stored, request, user, source_id, delete_documents=with_documents)
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
        from urllib.parse import quote

        message = gettext("sources.err.busy", language_of(request), who=str(exc.detail).split(": ", 1)[-1])
        return RedirectResponse(f"{BASE}/{source_id}?error={quote(message)}", status_code=303)
    if origin == ORIGIN_APP:
        return RedirectResponse(f"{BASE}?done={'deleted_documents' if with_documents else 'deleted'}",
                                status_code=303)
    return RedirectResponse(f"{BASE}/{source_id}?done=updated", status_code=303)


@router.post(f"{BASE}/{{source_id}}/crawl", include_in_schema=False)
def crawl_form(request: Request, source_id: str, user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    source = _source_or_404(registry_view(ctx), source_id)
    if source is None:
        raise HTTPException(404, "not found")
    try:
        started = start_crawl(ctx, source, user.id)
    except UserError as exc:
        audit(request, "source.crawl", source_id, "denied", {"busy": str(exc)})
        message = gettext("sources.err.busy", language_of(request), who=str(exc))
        from urllib.parse import quote

        return RedirectResponse(f"{BASE}/{source_id}?error={quote(message)}", status_code=303)
    audit(request, "source.crawl", source_id, details={"pid": started.process.pid, "lease_owner": started.owner})
    return RedirectResponse(f"{BASE}/{source_id}?done=crawl", status_code=303)


@router.get(f"{BASE}/{{source_id}}/runs/{{run_id}}", include_in_schema=False)
def run_page(request: Request, source_id: str, run_id: str, user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    run = _run_or_404(ctx, source_id, run_id)
    history = recent_runs(ctx.client, runs_alias(ctx.settings), source=source_id, size=40)
    older = [r for r in history if (r.get("started") or "") < (run.get("started") or "")][:10]
    return render(request, "source_run.html", {"run": run, "source_id": source_id,
                                               "flags": history_flags(run, older), "failed": _failed_fetches(run)})


def _run_or_404(ctx: WebContext, source_id: str, run_id: str) -> dict[str, Any]:
    if not ID_PATTERN.match(source_id) or not RUN_ID.match(run_id):
        raise HTTPException(404, "not found")
    try:
        run = ctx.client.get(index=runs_alias(ctx.settings), id=run_id, source_excludes=["stats"])["_source"]
    except NotFoundError:
        raise HTTPException(404, "not found") from None
    if run.get("source") != source_id:
        raise HTTPException(404, "not found")
    return run


# -- API -------------------------------------------------------------------------------------------------------------

_ADMIN = {403: {"description": "Administrators only"}}
_NOT_FOUND = {**_ADMIN, 404: {"description": "No such source"}}
_CONFIG = Body(..., description="The source as an entry of sources.yaml (id, name, kind, home, feeds, …)",
               examples=[{"id": "baomoi", "name": "Báo mới", "kind": "news", "home": "https://baomoi.example.vn/",
                          "feeds": ["https://baomoi.example.vn/rss.xml"], "schedule": "every 1h"}])


class LastRunOut(BaseModel):
    run_id: str | None = None
    started: str | None = None
    finished: str | None = None
    health: str | None = None
    pages: int | None = None
    created: int | None = None
    updated: int | None = None
    failed: int = 0
    failures: dict[str, Any] | None = None
    problems: list[str] | str | None = None


class SourceOut(BaseModel):
    id: str
    name: str
    kind: str
    enabled: bool
    schedule: str | None
    origin: str = Field(description="file | app (added in the web app) | edited (a sources.yaml entry changed here)")
    running: bool
    last_run: LastRunOut | None
    flags: list[str]


class SourceDetailOut(BaseModel):
    id: str
    origin: str
    config: dict[str, Any]
    problem: str | None = None
    runs: list[dict[str, Any]]
    crawl: dict[str, Any]


class CheckIn(BaseModel):
    url: str = Field(max_length=2000, description="An http(s) URL")
    engine: str | None = Field(None, max_length=40, description="Read as this forum engine (default: detect)")


def _invalid(errors: dict[str, str]) -> JSONResponse:
    field_name, message = next(iter(errors.items()))
    return JSONResponse({"detail": f"{field_name}: {message}", "errors": errors}, status_code=400)


def _detail(request: Request, source_id: str) -> dict[str, Any]:
    ctx = ctx_of(request)
    view = registry_view(ctx)
    source = _source_or_404(view, source_id)
    found = current_config(ctx, view, source_id)
    return {"id": source_id, "origin": view.registry.origin(source_id) if source else ORIGIN_APP,
            "config": found[0] if found else {}, "problem": view.registry.problems.get(source_id),
            "runs": runs_with_flags(ctx, source_id), "crawl": crawl_state(ctx, source_id)}


@router.get("/api/sources", response_model=list[SourceOut], tags=["sources"], responses=_ADMIN,
            summary="Every registered source (sources.yaml and the web app) with its last run, health flags and "
                    "whether a crawl runs now")
def list_api(request: Request, user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    return [source_json(row) for row in source_rows(ctx, registry_view(ctx))]


@router.post("/api/sources", response_model=SourceDetailOut, status_code=201, tags=["sources"],
             summary="Add a source (checked as sources.yaml is; nothing saved on any error)",
             responses={**_ADMIN, 400: {"description": "{detail, errors: {field: message}}"}})
def create_api(request: Request, config: dict[str, Any] = _CONFIG, user: User = Depends(require_admin)):
    source, _, errors = add_source(request, user, config, "en")
    if source is None:
        return _invalid(errors)
    return JSONResponse(_detail(request, source.id), status_code=201)


@router.get("/api/sources/{source_id}", response_model=SourceDetailOut, tags=["sources"], responses=_NOT_FOUND,
            summary="One source: its config as in force, origin, run history with flags, crawl state")
def get_api(request: Request, source_id: str, user: User = Depends(require_admin)):
    return _detail(request, source_id)


@router.put("/api/sources/{source_id}", response_model=SourceDetailOut, tags=["sources"],
            summary="Replace a source's config (a sources.yaml source: stored, and then wins over the file)",
            responses={**_NOT_FOUND, 400: {"description": "What is wrong"}, 409: {"description": "Changed meanwhile"}})
def update_api(request: Request, source_id: str, config: dict[str, Any] = _CONFIG,
               user: User = Depends(require_admin)):
    if not ID_PATTERN.match(source_id):
        raise HTTPException(404, "not found")
    source, _, errors = edit_source(request, user, source_id, config, "en")
    if source is None:
        if set(errors) == {"form"} and "meanwhile" in errors["form"]:
            raise HTTPException(409, errors["form"])
        return _invalid(errors)
    return _detail(request, source_id)


@router.post("/api/sources/{source_id}/disable", response_model=SourceDetailOut, tags=["sources"],
             responses=_NOT_FOUND, summary="Disable a source (not crawled by crawl, --due or the scheduler)")
def disable_api(request: Request, source_id: str, user: User = Depends(require_admin)):
    set_enabled(request, user, source_id, False)  # an unknown id: 404
    return _detail(request, source_id)


@router.post("/api/sources/{source_id}/enable", response_model=SourceDetailOut, tags=["sources"],
             responses=_NOT_FOUND, summary="Enable a source again")
def enable_api(request: Request, source_id: str, user: User = Depends(require_admin)):
    set_enabled(request, user, source_id, True)
    return _detail(request, source_id)


@router.delete("/api/sources/{source_id}", status_code=204, tags=["sources"],
               responses={**_NOT_FOUND, 400: {"description": "delete_documents on an edited sources.yaml source"},
                          409: {"description": "Being crawled now (with delete_documents)"}},
               summary="Remove what the app stored for a source: an added source goes, an edited sources.yaml "
                       "source is back to its entry there (404 when nothing is stored); with delete_documents=true "
                       "an added source's documents and page state are deleted too (audited with the counts)")
def delete_api(request: Request, source_id: str, user: User = Depends(require_admin),
               delete_documents: bool = Query(False, description="Also delete the source's documents and page "
                                                                 "state (an added source only)")):
    remove_stored(request, user, source_id, delete_documents=delete_documents)


@router.get("/api/sources/{source_id}/runs", response_model=list[dict[str, Any]], tags=["sources"],
            responses=_NOT_FOUND, summary="A source's recent runs, newest first, each with its history flags")
def runs_api(request: Request, source_id: str, limit: int = Query(RUNS_SHOWN, ge=1, le=200),
             user: User = Depends(require_admin)):
    _source_or_404(registry_view(ctx_of(request)), source_id)
    return runs_with_flags(ctx_of(request), source_id, size=limit)


@router.get("/api/sources/{source_id}/crawl", response_model=dict[str, Any], tags=["sources"],
            responses=_NOT_FOUND, summary="Whether a crawl of the source runs now, and the run of the last one "
                                          "started from the app once recorded")
def crawl_state_api(request: Request, source_id: str, user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    _source_or_404(registry_view(ctx), source_id)
    return crawl_state(ctx, source_id)


@router.post("/api/sources/{source_id}/crawl", response_model=dict[str, Any], status_code=202, tags=["sources"],
             responses={**_NOT_FOUND, 409: {"description": "Already being crawled (by whom)"}},
             summary="Crawl the source now: a separate `mediawatch crawl ID` process holding the source's crawl "
                     "lease (never two at once)")
def crawl_api(request: Request, source_id: str, user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    source = _source_or_404(registry_view(ctx), source_id)
    if source is None:
        raise HTTPException(404, "not found")
    try:
        started = start_crawl(ctx, source, user.id)
    except UserError as exc:
        audit(request, "source.crawl", source_id, "denied", {"busy": str(exc)})
        raise HTTPException(409, f"already being crawled: {exc}") from None
    audit(request, "source.crawl", source_id, details={"pid": started.process.pid, "lease_owner": started.owner})
    return JSONResponse(crawl_state(ctx, source_id), status_code=202)


@router.post("/api/sources/check", response_model=dict[str, Any], tags=["sources"],
             responses={**_ADMIN, 400: {"description": "The page could not be fetched, or was refused (one line)"}},
             summary="What extraction finds at a URL, as `mediawatch extract URL --json` prints it (SSRF guard, "
                     "deadline and size cap applied)")
def check_api(request: Request, body: CheckIn, user: User = Depends(require_admin)):
    result, error = run_check(request, body.url.strip(), body.engine or None)
    if error is not None:
        raise HTTPException(400, error)
    return result
