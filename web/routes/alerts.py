"""Alerts in the browser (issue 12, point 6): pages under ``/alerts`` and the API under ``/api/subscriptions``.

* **Save as alert**: ``/alerts/new`` takes the search page's URL parameters (``q``, ``source``, ``kind``,
  ``language``, ``topic``, ``sentiment``) and prefills the form; the search page links to it through
  ``alert_save_link.html``.
* **Checked as the CLI checks** (``mediawatch alerts add``): the query parses, filter values can match (sources
  from the registry, topics and sentiments from the models), one delivery mode, a time of day for a daily digest,
  a real time zone, at least one channel, well-formed addresses and URLs, a known webhook template, spike bounds,
  a name the owner does not use yet; then ``alerts.subscriptions.new_subscription`` itself. Every problem is one
  line next to its field and nothing is saved.
* **Whose**: an analyst sees and changes only their own subscriptions and notifications; anyone else's id answers
  404 as if it did not exist (``web.auth.owned_by``), pages and API alike. An administrator may list everyone's
  (``?all=1``, labelled with the owner), read them, pause, resume and delete them; editing, the feed address and
  the webhook secret stay with the owner. Every change is audited (``alert.create``, ``alert.update``,
  ``alert.pause``, ``alert.resume``, ``alert.delete``, ``alert.feed_rotate``).
* **Test**: "what would have matched in the last N days" is ``index.search.search`` with the alert's query and
  filters from local midnight N-1 days ago, sorted by date: exactly what ``mediawatch alerts test`` and the search
  page return.
* **Feed**: each subscription has a private Atom feed (``web/routes/feeds.py``) at ``/feeds/{id}.atom?token=…``;
  rotating the token here revokes the old address at once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from alerts import channels
from alerts.service import Stores
from alerts.subscriptions import (
    Filters,
    Spike,
    Subscription,
    channel_key,
    check_filters,
    new_subscription,
    parse_subscription,
)
from enrich.labels import searchable_sentiments, searchable_topics
from index.alertstore import Stale
from index.mappings import NOTIFICATIONS, SUBSCRIPTIONS, ensure_indices
from index.query import parse
from index.search import NothingIndexed, SearchRequest, format_instant, search
from mediawatch.config import check_timezone
from mediawatch.errors import QuerySyntaxError, UserError
from web.accounts import User
from web.auth import audit, ctx_of, current_user, owned_by
from web.context import WebContext
from web.i18n import gettext, register
from web.render import NavItem, language_of, render

router = APIRouter()
NAV = [NavItem("nav.alerts", "/alerts", 30)]

WEBHOOK_TEMPLATES = ("json", "slack", "discord", "teams", "google_chat", "mattermost")
DELIVERIES = ("instant", "hourly", "daily")
KINDS = ("news", "forum")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_SPLIT = re.compile(r"[\n,;]+")
NOTIFICATIONS_SHOWN = 30
TEST_DAYS_MAX = 3650

register({
    "alerts.title": {"vi": "Cảnh báo", "en": "Alerts"},
    "alerts.mine": {"vi": "Cảnh báo của tôi", "en": "My alerts"},
    "alerts.all": {"vi": "Tất cả cảnh báo (mọi người)", "en": "All alerts (everyone's)"},
    "alerts.all_note": {"vi": "Bạn đang xem cảnh báo của mọi người dùng (quyền quản trị).",
                        "en": "You are viewing every user's alerts (administrator)."},
    "alerts.new": {"vi": "Tạo cảnh báo", "en": "New alert"},
    "alerts.save_search": {"vi": "Lưu thành cảnh báo", "en": "Save as alert"},
    "alerts.none": {"vi": "Chưa có cảnh báo nào. Hãy tìm kiếm rồi bấm “Lưu thành cảnh báo”.",
                    "en": "No alerts yet. Search, then press “Save as alert”."},
    "alerts.name": {"vi": "Tên cảnh báo", "en": "Alert name"},
    "alerts.query": {"vi": "Từ khóa (cú pháp như trang tìm kiếm)", "en": "Query (same syntax as search)"},
    "alerts.owner": {"vi": "Người tạo", "en": "Owner"},
    "alerts.others": {"vi": "của {owner}", "en": "{owner}'s"},
    "alerts.filters": {"vi": "Bộ lọc", "en": "Filters"},
    "alerts.no_filters": {"vi": "Không lọc", "en": "No filters"},
    "alerts.dates_ignored": {
        "vi": "Khoảng thời gian của lượt tìm kiếm không được lưu: cảnh báo chỉ báo tin mới xuất hiện sau khi tạo.",
        "en": "The search's dates are not kept: an alert reports only coverage first seen after it is created."},
    "alerts.delivery": {"vi": "Gửi khi nào", "en": "Delivery"},
    "alerts.delivery.instant": {"vi": "Ngay lập tức", "en": "At once"},
    "alerts.delivery.hourly": {"vi": "Tổng hợp mỗi giờ", "en": "Hourly digest"},
    "alerts.delivery.daily": {"vi": "Tổng hợp hằng ngày lúc", "en": "Daily digest at"},
    "alerts.daily_at": {"vi": "Giờ gửi (HH:MM)", "en": "Time (HH:MM)"},
    "alerts.timezone": {"vi": "Múi giờ", "en": "Time zone"},
    "alerts.channels": {"vi": "Gửi tới", "en": "Channels"},
    "alerts.emails": {"vi": "E-mail (mỗi dòng một địa chỉ)", "en": "E-mail (one address a line)"},
    "alerts.webhooks": {"vi": "Webhook (mỗi dòng một URL)", "en": "Webhooks (one URL a line)"},
    "alerts.template": {"vi": "Mẫu nội dung webhook", "en": "Webhook body template"},
    "alerts.copies": {"vi": "Báo cả các bản đăng lại của cùng một tin (mặc định: ghi “+N nguồn”)",
                      "en": "Notify syndicated copies too (default: “+N outlets”)"},
    "alerts.spike": {"vi": "Cảnh báo khi số tin trong ngày tăng đột biến", "en": "Alert when today's volume spikes"},
    "alerts.spike_factor": {"vi": "Gấp bao nhiêu lần ngày thường", "en": "Times the usual day"},
    "alerts.spike_min": {"vi": "Ít nhất bao nhiêu tin", "en": "At least this many documents"},
    "alerts.spike_window": {"vi": "Số ngày so sánh", "en": "Days compared"},
    "alerts.options": {"vi": "Tùy chọn", "en": "Options"},
    "alerts.copies_on": {"vi": "Báo cả các bản đăng lại", "en": "Syndicated copies notified too"},
    "alerts.copies_off": {"vi": "Bản đăng lại của cùng tin: ghi “+N nguồn”", "en": "Syndicated copies: “+N outlets”"},
    "alerts.save": {"vi": "Lưu cảnh báo", "en": "Save alert"},
    "alerts.cancel": {"vi": "Hủy", "en": "Cancel"},
    "alerts.edit": {"vi": "Sửa", "en": "Edit"},
    "alerts.edit_title": {"vi": "Sửa cảnh báo", "en": "Edit alert"},
    "alerts.pause": {"vi": "Tạm dừng", "en": "Pause"},
    "alerts.resume": {"vi": "Tiếp tục", "en": "Resume"},
    "alerts.delete": {"vi": "Xóa", "en": "Delete"},
    "alerts.delete_confirm": {"vi": "Xóa cảnh báo này và nhật ký gửi của nó?",
                              "en": "Delete this alert and its notification log?"},
    "alerts.state": {"vi": "Trạng thái", "en": "State"},
    "alerts.active": {"vi": "Đang chạy", "en": "Active"},
    "alerts.paused": {"vi": "Tạm dừng", "en": "Paused"},
    "alerts.failing": {"vi": "Kênh đang lỗi", "en": "Failing channel"},
    "alerts.health": {"vi": "Tình trạng kênh gửi", "en": "Channel health"},
    "alerts.health.ok": {"vi": "Hoạt động tốt", "en": "Working"},
    "alerts.health.failing": {"vi": "Đang lỗi ({n} lần liên tiếp)", "en": "Failing ({n} in a row)"},
    "alerts.health.unused": {"vi": "Chưa gửi lần nào", "en": "Not used yet"},
    "alerts.last_error": {"vi": "Lỗi gần nhất", "en": "Last error"},
    "alerts.last_success": {"vi": "Gửi được lần cuối", "en": "Last delivered"},
    "alerts.feed": {"vi": "Nguồn tin Atom riêng", "en": "Private Atom feed"},
    "alerts.feed_help": {
        "vi": "Địa chỉ này chứa mã bí mật: ai có nó đều đọc được các tin của cảnh báo. Đổi mã để thu hồi địa chỉ cũ.",
        "en": "This address holds a secret: anyone who has it can read the alert's items. Rotate it to revoke the "
              "old address."},
    "alerts.feed_rotate": {"vi": "Đổi mã (thu hồi địa chỉ cũ)", "en": "Rotate (revoke the old address)"},
    "alerts.feed_rotate_confirm": {"vi": "Địa chỉ cũ sẽ ngừng hoạt động. Tiếp tục?",
                                   "en": "The old address will stop working. Continue?"},
    "alerts.secret": {"vi": "Khóa ký webhook", "en": "Webhook signing secret"},
    "alerts.secret_help": {"vi": "Dùng để kiểm tra chữ ký X-Mediawatch-Signature của mỗi lần gọi webhook.",
                           "en": "Checks the X-Mediawatch-Signature of every webhook call."},
    "alerts.show_secret": {"vi": "Hiện khóa", "en": "Show the secret"},
    "alerts.test": {"vi": "Thử với dữ liệu đã có", "en": "Test against stored coverage"},
    "alerts.test_days": {"vi": "Số ngày gần đây", "en": "Last N days"},
    "alerts.test_run": {"vi": "Thử", "en": "Test"},
    "alerts.test_title": {"vi": "Cảnh báo “{name}” trong {days} ngày qua", "en": "“{name}” over the last {days} days"},
    "alerts.test_total": {"vi": "{n} tin khớp từ {since}", "en": "{n} documents matched since {since}"},
    "alerts.test_open": {"vi": "Mở trong trang tìm kiếm", "en": "Open in search"},
    "alerts.test_more": {"vi": "Hiện {shown} tin đầu tiên; xem hết trong trang tìm kiếm.",
                         "en": "Showing the first {shown}; see them all in search."},
    "alerts.test_note": {
        "vi": "Đây đúng là những gì trang tìm kiếm trả về cho cùng từ khóa và bộ lọc; cảnh báo chỉ gửi tin mới.",
        "en": "Exactly what search returns for the same query and filters; the alert itself sends only new "
              "coverage."},
    "alerts.notifications": {"vi": "Thông báo gần đây", "en": "Recent notifications"},
    "alerts.notifications_none": {"vi": "Chưa có thông báo nào.", "en": "No notifications yet."},
    "alerts.when": {"vi": "Lúc", "en": "When"},
    "alerts.what": {"vi": "Nội dung", "en": "What"},
    "alerts.status": {"vi": "Trạng thái", "en": "Status"},
    "alerts.kind.match": {"vi": "Tin khớp", "en": "Match"},
    "alerts.kind.digest": {"vi": "Bản tổng hợp", "en": "Digest"},
    "alerts.kind.spike": {"vi": "Tăng đột biến", "en": "Spike"},
    "alerts.status.pending": {"vi": "Đang chờ gửi", "en": "Pending"},
    "alerts.status.queued": {"vi": "Chờ bản tổng hợp", "en": "Queued for the digest"},
    "alerts.status.digested": {"vi": "Đã vào bản tổng hợp", "en": "In a digest"},
    "alerts.status.sent": {"vi": "Đã gửi", "en": "Sent"},
    "alerts.status.failed": {"vi": "Gửi thất bại", "en": "Failed"},
    "alerts.digest_items": {"vi": "{n} tin", "en": "{n} documents"},
    "alerts.spike_summary": {"vi": "{today} tin hôm nay, gấp {factor} lần ngày thường ({baseline})",
                             "en": "{today} documents today, {factor}× the usual day ({baseline})"},
    "alerts.created": {"vi": "Đã tạo cảnh báo.", "en": "Alert saved."},
    "alerts.updated": {"vi": "Đã lưu thay đổi.", "en": "Changes saved."},
    "alerts.paused_done": {"vi": "Đã tạm dừng cảnh báo.", "en": "Alert paused."},
    "alerts.resumed_done": {"vi": "Cảnh báo chạy lại.", "en": "Alert resumed."},
    "alerts.deleted_done": {"vi": "Đã xóa cảnh báo.", "en": "Alert deleted."},
    "alerts.rotated_done": {"vi": "Đã đổi mã nguồn tin; địa chỉ cũ không còn dùng được.",
                            "en": "Feed token rotated; the old address no longer works."},
    "alerts.fix_errors": {"vi": "Chưa lưu: hãy sửa các ô được đánh dấu.", "en": "Not saved: fix the marked fields."},
    "alerts.err.name": {"vi": "Cần đặt tên cho cảnh báo (tối đa 200 ký tự).",
                        "en": "The alert needs a name (at most 200 characters)."},
    "alerts.err.duplicate": {"vi": "Bạn đã có cảnh báo tên “{name}”; hãy chọn tên khác.",
                             "en": "You already have an alert named “{name}”; choose another name."},
    "alerts.err.query": {"vi": "Lỗi cú pháp: {reason}", "en": "Syntax error: {reason}"},
    "alerts.err.delivery": {"vi": "Chọn một trong: ngay lập tức, mỗi giờ, hằng ngày.",
                            "en": "Choose one of: instant, hourly, daily."},
    "alerts.err.daily_missing": {"vi": "Bản tổng hợp hằng ngày cần giờ gửi, dạng HH:MM (ví dụ 07:30).",
                                 "en": "A daily digest needs its time of day: HH:MM (e.g. 07:30)."},
    "alerts.err.daily_bad": {"vi": "“{value}” không phải giờ trong ngày; viết HH:MM, ví dụ 07:30.",
                             "en": "“{value}” is not a time of day; write HH:MM, e.g. 07:30."},
    "alerts.err.timezone": {"vi": "Múi giờ không hợp lệ: {reason}", "en": "Invalid time zone: {reason}"},
    "alerts.err.channels": {"vi": "Cảnh báo cần nơi nhận: một địa chỉ e-mail và/hoặc một URL webhook.",
                            "en": "An alert needs somewhere to go: an e-mail address and/or a webhook URL."},
    "alerts.err.email": {"vi": "E-mail không hợp lệ: {reason}", "en": "Invalid e-mail: {reason}"},
    "alerts.err.webhook": {"vi": "Webhook không hợp lệ: {reason}", "en": "Invalid webhook: {reason}"},
    "alerts.err.template": {"vi": "Mẫu “{value}” không có; dùng: {valid}",
                            "en": "Unknown template “{value}”; use: {valid}"},
    "alerts.err.filter": {"vi": "Giá trị không hợp lệ: {reason}", "en": "Invalid value: {reason}"},
    "alerts.err.registry": {"vi": "Không đọc được danh sách nguồn: {reason}",
                            "en": "The source registry cannot be read: {reason}"},
    "alerts.err.number": {"vi": "“{value}” không phải là số.", "en": "“{value}” is not a number."},
    "alerts.err.spike": {"vi": "Giá trị ngoài khoảng cho phép: {reason}", "en": "Out of range: {reason}"},
    "alerts.err.stale": {"vi": "Cảnh báo vừa được thay đổi ở nơi khác; hãy tải lại trang rồi sửa lại.",
                         "en": "The alert was changed elsewhere meanwhile; reload the page and edit again."},
    "alerts.all_values": {"vi": "Tất cả", "en": "Any"},
    "alerts.back": {"vi": "← Danh sách cảnh báo", "en": "← All alerts"},
    "alerts.open": {"vi": "Chi tiết", "en": "Details"},
    "alerts.more_outlets": {"vi": "+{n} nguồn", "en": "+{n} outlets"},
})


# -- stores --------------------------------------------------------------------------------------------------------

def stores_of(ctx: WebContext) -> Stores:
    """The alert stores, with their indices created on first use."""
    if not ctx.extras.get("alerts.ready"):
        ensure_indices(ctx.client, ctx.settings, (SUBSCRIPTIONS, NOTIFICATIONS))
        ctx.extras["alerts.ready"] = True
    return Stores(ctx.client, ctx.settings)


def load_subscription(ctx: WebContext, user: User, sub_id: str, *, admin_may: bool = False
                      ) -> tuple[Subscription, tuple[int, int]]:
    """The subscription ``sub_id`` when ``user`` owns it (``admin_may``: or is an administrator) and its version;
    404 otherwise, exactly as for an id that does not exist."""
    found = stores_of(ctx).subscriptions.get(sub_id) if ID_PATTERN.match(sub_id) else None
    owned_by(user, found[0] if found else None, admin_may=admin_may)
    assert found is not None
    return parse_subscription(found[0]), found[1]


# -- the form ------------------------------------------------------------------------------------------------------

@dataclass
class AlertForm:
    """An alert as a person types it (raw text, checked by :func:`check_alert`)."""

    name: str = ""
    query: str = ""
    sources: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    sentiments: list[str] = field(default_factory=list)
    delivery: str = "instant"
    daily_at: str = ""
    timezone: str = ""
    emails: list[str] = field(default_factory=list)
    webhooks: list[str] = field(default_factory=list)
    template: str = "json"
    copies: bool = False
    spike: bool = False
    spike_factor: str = "3"
    spike_min: str = "5"
    spike_window: str = "14"
    #: The stored version the edit form was opened at (``"seq_no.primary_term"``); a save is refused when the
    #: subscription changed since. Empty: the version read when the form is saved (the API).
    version: str = ""

    @classmethod
    def from_search(cls, params: Any, timezone: str) -> AlertForm:
        """The search page's URL parameters as a new alert: query and filters (its dates are not kept)."""
        def values(name: str) -> list[str]:
            return [v.strip() for v in params.getlist(name) if v and v.strip()]
        query = (params.get("q") or "").strip()
        return cls(name=query[:80], query=query, sources=values("source"), kinds=values("kind"),
                   languages=[v.lower() for v in values("language")], topics=values("topic"),
                   sentiments=values("sentiment"), timezone=timezone)

    @classmethod
    def from_subscription(cls, sub: Subscription) -> AlertForm:
        f = sub.filters
        return cls(name=sub.name, query=sub.query, sources=list(f.sources), kinds=list(f.kinds),
                   languages=list(f.languages), topics=list(f.topics), sentiments=list(f.sentiments),
                   delivery=sub.delivery, daily_at=sub.daily_at or "", timezone=sub.timezone,
                   emails=[c["to"] for c in sub.channels if c.get("type") == "email"],
                   webhooks=[c["url"] for c in sub.channels if c.get("type") == "webhook"],
                   template=next((c.get("template", "json") for c in sub.channels if c.get("type") == "webhook"),
                                 "json"),
                   copies=sub.notify_copies, spike=sub.spike.enabled, spike_factor=f"{sub.spike.factor:g}",
                   spike_min=str(sub.spike.min_count), spike_window=str(sub.spike.window_days))

    @classmethod
    def from_post(cls, data: Any) -> AlertForm:
        """A submitted form (``request.form()``)."""
        def text(name: str, default: str = "") -> str:
            value = data.get(name)
            return value.strip() if isinstance(value, str) else default

        def many(name: str) -> list[str]:
            return [v.strip() for v in data.getlist(name) if isinstance(v, str) and v.strip()]

        return cls(name=text("name"), query=text("query"), sources=many("source"), kinds=many("kind"),
                   languages=[v.lower() for v in many("language")], topics=many("topic"),
                   sentiments=many("sentiment"), delivery=text("delivery", "instant"), daily_at=text("daily_at"),
                   timezone=text("timezone"), emails=split_lines(text("emails")),
                   webhooks=split_lines(text("webhooks")), template=text("template", "json") or "json",
                   copies=bool(data.get("copies")), spike=bool(data.get("spike")),
                   spike_factor=text("spike_factor", "3") or "3", spike_min=text("spike_min", "5") or "5",
                   spike_window=text("spike_window", "14") or "14", version=text("version"))


def split_lines(text: str) -> list[str]:
    """Addresses or URLs typed one a line (commas and semicolons separate too)."""
    return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]


@dataclass
class Choices:
    """The values each filter may take, as the CLI checks them (None: not checked)."""

    sources: dict[str, str]  # id -> name, from the registry (the file alone when Elasticsearch is away)
    source_error: str | None
    topics: list[str] | None
    sentiments: list[str]
    languages: list[str]


def choices_of(ctx: WebContext) -> Choices:
    from crawlers.sources import load_registry

    settings = ctx.settings
    sources: dict[str, str] = {}
    error = None
    try:
        sources = {s.id: s.name for s in load_registry(settings, ctx.client, file_if_unreachable=True)}
    except UserError as exc:
        error = str(exc)
    topics = searchable_topics(settings.enrich.topic_model, settings.enrich.topic_labels)
    return Choices(sources=sources, source_error=error, topics=topics,
                   sentiments=searchable_sentiments(settings.enrich.sentiment_model), languages=["vi", "en", "unknown"])


def _number(value: str, cast: type, errors: dict[str, str], name: str, lang: str) -> Any:
    try:
        number = cast(value)
    except (TypeError, ValueError, OverflowError):
        errors[name] = gettext("alerts.err.number", lang, value=value)
        return None
    return number


def check_alert(ctx: WebContext, form: AlertForm, *, owner: str, lang: str, current: Subscription | None = None,
                ch: Choices | None = None) -> tuple[Subscription | None, dict[str, str]]:
    """``form`` as a checked subscription of ``owner`` (a new one, or ``current`` changed), or what is wrong with
    it: field -> one line in ``lang``. The checks are ``mediawatch alerts add``'s, ending with its own
    ``new_subscription``; nothing is saved here."""
    errors: dict[str, str] = {}
    ch = ch or choices_of(ctx)
    name = form.name.strip()
    if not name or len(name) > 200:
        errors["name"] = gettext("alerts.err.name", lang)
    try:
        parse(form.query)
    except QuerySyntaxError as exc:
        position = getattr(exc, "offset", None)
        errors["query"] = (gettext("search.syntax_error", lang, position=position + 1) + " " + str(exc)
                           if position is not None else gettext("alerts.err.query", lang, reason=str(exc)))
    if form.delivery not in DELIVERIES:
        errors["delivery"] = gettext("alerts.err.delivery", lang)
    daily_at = None
    if form.delivery == "daily":
        match = _HHMM.match(form.daily_at)
        if not form.daily_at:
            errors["daily_at"] = gettext("alerts.err.daily_missing", lang)
        elif not match:
            errors["daily_at"] = gettext("alerts.err.daily_bad", lang, value=form.daily_at)
        else:
            daily_at = f"{int(match.group(1)):02d}:{match.group(2)}"
    timezone = form.timezone or ctx.settings.crawl.timezone
    try:
        check_timezone(timezone)
    except (ValueError, OSError) as exc:
        errors["timezone"] = gettext("alerts.err.timezone", lang, reason=str(exc))
    if not form.emails and not form.webhooks:
        errors["channels"] = gettext("alerts.err.channels", lang)
    if form.template not in WEBHOOK_TEMPLATES:
        errors["template"] = gettext("alerts.err.template", lang, value=form.template,
                                     valid=", ".join(WEBHOOK_TEMPLATES))
    configs: list[dict[str, Any]] = []
    for address in form.emails:
        try:
            configs.append(channels.validate({"type": "email", "to": address}))
        except ValueError as exc:
            errors.setdefault("emails", gettext("alerts.err.email", lang, reason=str(exc)))
    for url in form.webhooks:
        try:
            configs.append(channels.validate({"type": "webhook", "url": url,
                                              "template": form.template if "template" not in errors else "json"}))
        except ValueError as exc:
            errors.setdefault("webhooks", gettext("alerts.err.webhook", lang, reason=str(exc)))
    filters = Filters(sources=form.sources, kinds=form.kinds, languages=[v.lower() for v in form.languages],
                      topics=form.topics, sentiments=form.sentiments)
    if form.sources and ch.source_error:
        errors["source"] = gettext("alerts.err.registry", lang, reason=ch.source_error)
    one_at_a_time = (("source", Filters(sources=filters.sources)), ("kind", Filters(kinds=filters.kinds)),
                     ("topic", Filters(topics=filters.topics)), ("sentiment", Filters(sentiments=filters.sentiments)),
                     ("language", Filters(languages=filters.languages)))
    for name_, only in one_at_a_time:
        if name_ in errors:
            continue
        try:
            check_filters(only, known_sources=set(ch.sources), topics=ch.topics, sentiments=ch.sentiments)
        except UserError as exc:
            errors[name_] = gettext("alerts.err.filter", lang, reason=str(exc))
    factor = _number(form.spike_factor, float, errors, "spike_factor", lang)
    min_count = _number(form.spike_min, int, errors, "spike_min", lang)
    window = _number(form.spike_window, int, errors, "spike_window", lang)
    spike = Spike()
    if None not in (factor, min_count, window):
        try:
            spike = Spike(enabled=form.spike, factor=factor, min_count=min_count, window_days=window)
        except ValidationError as exc:
            for err in exc.errors():
                where = {"factor": "spike_factor", "min_count": "spike_min", "window_days": "spike_window"}.get(
                    str(err["loc"][0]) if err["loc"] else "", "spike_factor")
                errors.setdefault(where, gettext("alerts.err.spike", lang, reason=err["msg"]))
    if "name" not in errors:
        taken = [s for s in stores_of(ctx).subscriptions.find(name=name, owner=owner)
                 if current is None or s["id"] != current.id]
        if taken:
            errors["name"] = gettext("alerts.err.duplicate", lang, name=name)
    if errors:
        return None, errors
    try:
        fresh = new_subscription(owner=owner, name=name, query=form.query, filters=filters,
                                 delivery=form.delivery, daily_at=daily_at, timezone=timezone,  # type: ignore[arg-type]
                                 channel_configs=configs, notify_copies=form.copies, spike=spike)
    except UserError as exc:
        return None, {_field_of(str(exc)): str(exc)}
    if current is None:
        return fresh, {}
    keep = {"id": current.id, "secret": current.secret, "feed_token": current.feed_token, "created": current.created,
            "active": current.active, "last_digest": current.last_digest,
            "last_spike_check": current.last_spike_check}
    keys = {channel_key(c) for c in fresh.channels}
    health = {k: v for k, v in current.channel_health.items() if k in keys}
    return fresh.model_copy(update={**keep, "channel_health": health}), {}


def _field_of(message: str) -> str:
    """The form field a ``parse_subscription`` line is about (``invalid alert channels.0: …``)."""
    match = re.match(r"invalid alert ([a-z_]+)", message)
    where = match.group(1) if match else ""
    return {"query": "query", "daily_at": "daily_at", "timezone": "timezone", "channels": "channels",
            "name": "name", "owner": "name", "spike": "spike_factor"}.get(where, "form")


# -- records as JSON and as rows -------------------------------------------------------------------------------------

def subscription_json(request: Request, sub: Subscription, user: User, *, full: bool = False) -> dict[str, Any]:
    """The API's view of a subscription. The owner sees channel addresses; with ``full`` also the feed address
    and the webhook signing secret. Anyone else (an administrator) sees channel names only."""
    mine = sub.owner == user.id
    health = {key: {k: state.get(k) for k in ("failing", "failures", "last_error", "last_failure", "last_success")}
              for key, state in sub.channel_health.items()}
    out: dict[str, Any] = {
        "id": sub.id, "owner": sub.owner, "name": sub.name, "query": sub.query,
        "filters": sub.filters.model_dump(), "delivery": sub.delivery, "daily_at": sub.daily_at,
        "timezone": sub.timezone, "active": sub.active, "notify_copies": sub.notify_copies,
        "spike": sub.spike.model_dump(),
        "channels": [{**({k: v for k, v in c.items() if k != "secret"} if mine else {"type": c.get("type")}),
                      "key": channel_key(c)} for c in sub.channels],
        "channel_health": health, "failing_channels": sub.failing_channels,
        "created": format_instant(sub.created), "updated": format_instant(sub.updated),
    }
    if full and mine:
        out["feed_url"] = feed_url(request, sub)
        out["webhook_secret"] = sub.secret
    return out


def feed_url(request: Request, sub: Subscription) -> str:
    """The subscription's private feed address (absolute: ``web.base_url`` when set, else as reached now)."""
    base = ctx_of(request).settings.web.base_url or str(request.base_url).rstrip("/")
    return f"{base}/feeds/{sub.id}.atom?token={quote(sub.feed_token)}"


def notification_rows(records: list[dict[str, Any]], sub: Subscription) -> list[dict[str, Any]]:
    """The log's records as the page and the API show them: local time, status per channel, "+N outlets"."""
    zone = ZoneInfo(sub.timezone)
    rows = []
    for record in records:
        created = parse_instant(record.get("created"))
        rows.append({
            "id": record.get("id"), "kind": record.get("kind", "match"), "status": record.get("status", "?"),
            "created": format_instant(created.astimezone(zone)) if created else None,
            "title": record.get("title") or record.get("url") or "", "url": record.get("url"),
            "source": record.get("source"), "doc_id": record.get("doc_id"),
            "more_outlets": len(record.get("copies") or []), "items": len(record.get("items") or []),
            "attempts": record.get("attempts", 0), "error": record.get("last_error"),
            "channels": {key: {"status": state.get("status"), "attempts": state.get("attempts"),
                               "error": state.get("error")}
                         for key, state in (record.get("channels") or {}).items()},
            "spike": record.get("spike"),
        })
    return rows


def parse_instant(value: Any) -> datetime | None:
    """A stored ISO instant as an aware datetime (UTC when it has no offset); None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def test_request(sub: Subscription, days: int, *, size: int = 50, after: str | None = None) -> SearchRequest:
    """What ``mediawatch alerts test --days N`` searches: the query and filters from local midnight N-1 days ago,
    newest first."""
    start = datetime.now(ZoneInfo(sub.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=days - 1)
    f = sub.filters
    return SearchRequest(query=sub.query, sources=f.sources, kinds=f.kinds, languages=f.languages, topics=f.topics,
                         sentiments=f.sentiments, date_from=start.astimezone(UTC), sort="date", size=size,
                         after=after)


def search_params(sub: Subscription, since: datetime | None = None) -> list[tuple[str, str]]:
    """The search page's URL parameters for the alert's query and filters (and a start date)."""
    f = sub.filters
    items = [("q", sub.query)] if sub.query else []
    for name, values in (("source", f.sources), ("kind", f.kinds), ("language", f.languages), ("topic", f.topics),
                         ("sentiment", f.sentiments)):
        items += [(name, v) for v in values]
    if since is not None:
        items += [("from", since.astimezone(ZoneInfo(sub.timezone)).date().isoformat()), ("sort", "date")]
    return items


# -- changes (shared by pages and API) ---------------------------------------------------------------------------------

def create_alert(request: Request, user: User, form: AlertForm, lang: str) -> tuple[Subscription | None, dict]:
    ctx = ctx_of(request)
    sub, errors = check_alert(ctx, form, owner=user.id, lang=lang)
    if sub is None:
        audit(request, "alert.create", form.name[:200], "failed", {"fields": sorted(errors)})
        return None, errors
    stores_of(ctx).subscriptions.create(sub.to_doc())
    audit(request, "alert.create", sub.id, details={"name": sub.name, "query": sub.query, "delivery": sub.delivery,
                                                     "channels": [channel_key(c) for c in sub.channels]})
    return sub, {}


def update_alert(request: Request, user: User, sub_id: str, form: AlertForm, lang: str
                 ) -> tuple[Subscription | None, dict]:
    ctx = ctx_of(request)
    current, version = load_subscription(ctx, user, sub_id)
    sub, errors = check_alert(ctx, form, owner=current.owner, lang=lang, current=current)
    if sub is None:
        return None, errors
    sub = sub.model_copy(update={"updated": datetime.now(UTC)})
    if form.version:
        opened = _version(form.version)
        if opened != version:  # changed since the form was opened (or an unreadable version): nothing is written
            return None, {"form": gettext("alerts.err.stale", lang)}
    try:  # a whole-record write at the version read, so channels dropped from the alert lose their health too
        stores_of(ctx).subscriptions.replace(sub.to_doc(), version)
    except Stale:
        return None, {"form": gettext("alerts.err.stale", lang)}
    changed = sorted(k for k, v in sub.to_doc().items() if current.to_doc().get(k) != v and k != "updated")
    audit(request, "alert.update", sub.id, details={"name": sub.name, "changed": changed})
    return sub, {}


def _version(text: str) -> tuple[int, int] | None:
    """``"seq_no.primary_term"`` as a version, or None when unreadable."""
    seq, _, term = text.partition(".")
    return (int(seq), int(term)) if seq.isdigit() and term.isdigit() else None


def set_active(request: Request, user: User, sub_id: str, active: bool) -> Subscription:
    ctx = ctx_of(request)
    sub, version = load_subscription(ctx, user, sub_id, admin_may=True)
    now = datetime.now(UTC)
    try:
        stores_of(ctx).subscriptions.update(sub.id, {"active": active, "updated": now.isoformat()}, version)
    except Stale:  # changed meanwhile: set it anyway (pausing is idempotent), on the latest version
        stores_of(ctx).subscriptions.update(sub.id, {"active": active, "updated": now.isoformat()})
    audit(request, "alert.resume" if active else "alert.pause", sub.id, details={"name": sub.name, "owner": sub.owner})
    return sub.model_copy(update={"active": active, "updated": now})


def delete_alert(request: Request, user: User, sub_id: str) -> Subscription:
    ctx = ctx_of(request)
    sub, _ = load_subscription(ctx, user, sub_id, admin_may=True)
    stores = stores_of(ctx)
    stores.subscriptions.delete(sub.id)
    removed = stores.log.delete_for(sub.id)
    audit(request, "alert.delete", sub.id, details={"name": sub.name, "owner": sub.owner, "log_records": removed})
    return sub


def rotate_feed(request: Request, user: User, sub_id: str) -> Subscription:
    """A new feed token for the owner's subscription; the old address stops working at once."""
    ctx = ctx_of(request)
    sub, _ = load_subscription(ctx, user, sub_id)
    token = secrets.token_urlsafe(24)
    stores_of(ctx).subscriptions.update(sub.id, {"feed_token": token})
    audit(request, "alert.feed_rotate", sub.id, details={"name": sub.name})
    return sub.model_copy(update={"feed_token": token})


def visible_subscriptions(ctx: WebContext, user: User, everyone: bool) -> list[Subscription]:
    owner = None if (everyone and user.is_admin) else user.id
    subs = [parse_subscription(s) for s in stores_of(ctx).subscriptions.find(owner=owner)]
    return sorted(subs, key=lambda s: (s.owner != user.id, s.owner, s.name.lower()))


# -- pages -----------------------------------------------------------------------------------------------------------

DONE = {"created": "alerts.created", "updated": "alerts.updated", "paused": "alerts.paused_done",
        "resumed": "alerts.resumed_done", "deleted": "alerts.deleted_done", "rotated": "alerts.rotated_done"}


def _form_page(request: Request, form: AlertForm, *, errors: dict[str, str] | None = None,
               sub: Subscription | None = None, from_search: bool = False, status: int = 200):
    ctx = ctx_of(request)
    ch = choices_of(ctx)
    sources = dict(ch.sources)
    for value in form.sources:
        sources.setdefault(value, value)
    topics = list(ch.topics or [])
    if ch.topics is None:
        try:
            topics = sorted(ctx.index_facets().get("topic", {}))
        except NothingIndexed:
            topics = []
    languages = list(dict.fromkeys([*ch.languages, *form.languages]))
    lang = language_of(request)
    return render(request, "alert_form.html", {
        "lambda_kind": lambda kind: gettext(f"kind.{kind}", lang), "source_label": lambda s: sources.get(s, s),
        "form": form, "errors": errors or {}, "sub": sub, "from_search": from_search, "sources": sources,
        "kinds": KINDS, "languages": languages, "topics": list(dict.fromkeys([*topics, *form.topics])),
        "sentiments": list(dict.fromkeys([*ch.sentiments, *form.sentiments])), "deliveries": DELIVERIES,
        "templates": WEBHOOK_TEMPLATES,
    }, status_code=status)


@router.get("/alerts", include_in_schema=False)
def alerts_page(request: Request, all: bool = Query(False), user: User = Depends(current_user)):  # noqa: A002
    ctx = ctx_of(request)
    everyone = all and user.is_admin
    subs = visible_subscriptions(ctx, user, everyone)
    notice = DONE.get(request.query_params.get("done", ""))
    return render(request, "alerts.html", {"subs": subs, "everyone": everyone, "notice": notice})


@router.get("/alerts/new", include_in_schema=False)
def new_alert_page(request: Request, user: User = Depends(current_user)):
    params = request.query_params
    form = AlertForm.from_search(params, ctx_of(request).settings.crawl.timezone)
    dated = any(params.get(k) for k in ("from", "to", "preset"))
    return _form_page(request, form, from_search=dated)


@router.post("/alerts/new", include_in_schema=False)
async def new_alert_submit(request: Request, user: User = Depends(current_user)):
    form = AlertForm.from_post(await request.form())
    lang = language_of(request)
    sub, errors = await run_in_threadpool(create_alert, request, user, form, lang)
    if sub is None:
        return await run_in_threadpool(lambda: _form_page(request, form, errors=errors, status=400))
    return RedirectResponse(f"/alerts/{sub.id}?done=created", status_code=303)


@router.get("/alerts/{sub_id}", include_in_schema=False)
def alert_page(request: Request, sub_id: str, user: User = Depends(current_user)):
    ctx = ctx_of(request)
    sub, _ = load_subscription(ctx, user, sub_id, admin_may=True)
    records = stores_of(ctx).log.recent(subscription_id=sub.id, size=NOTIFICATIONS_SHOWN)
    sources = choices_of(ctx).sources
    return render(request, "alert.html", {
        "sub": sub, "mine": sub.owner == user.id, "rows": notification_rows(records, sub),
        "feed": feed_url(request, sub) if sub.owner == user.id and sub.feed_token else None,
        "keys": [(c, channel_key(c)) for c in sub.channels], "source_names": sources,
        "notice": DONE.get(request.query_params.get("done", "")), "search_link": "/search?" + urlencode(
            search_params(sub)),
    })


@router.get("/alerts/{sub_id}/edit", include_in_schema=False)
def edit_alert_page(request: Request, sub_id: str, user: User = Depends(current_user)):
    sub, version = load_subscription(ctx_of(request), user, sub_id)
    form = AlertForm.from_subscription(sub)
    form.version = f"{version[0]}.{version[1]}"
    return _form_page(request, form, sub=sub)


@router.post("/alerts/{sub_id}/edit", include_in_schema=False)
async def edit_alert_submit(request: Request, sub_id: str, user: User = Depends(current_user)):
    form = AlertForm.from_post(await request.form())
    lang = language_of(request)
    sub, errors = await run_in_threadpool(update_alert, request, user, sub_id, form, lang)
    if sub is None:
        current, _ = await run_in_threadpool(load_subscription, ctx_of(request), user, sub_id)
        return await run_in_threadpool(lambda: _form_page(request, form, errors=errors, sub=current, status=400))
    return RedirectResponse(f"/alerts/{sub.id}?done=updated", status_code=303)


@router.post("/alerts/{sub_id}/pause", include_in_schema=False)
def pause_alert(request: Request, sub_id: str, user: User = Depends(current_user)):
    sub = set_active(request, user, sub_id, False)
    return RedirectResponse(f"/alerts/{sub.id}?done=paused", status_code=303)


@router.post("/alerts/{sub_id}/resume", include_in_schema=False)
def resume_alert(request: Request, sub_id: str, user: User = Depends(current_user)):
    sub = set_active(request, user, sub_id, True)
    return RedirectResponse(f"/alerts/{sub.id}?done=resumed", status_code=303)


@router.post("/alerts/{sub_id}/delete", include_in_schema=False)
def delete_alert_form(request: Request, sub_id: str, user: User = Depends(current_user)):
    sub = delete_alert(request, user, sub_id)
    back = "/alerts?all=1&done=deleted" if sub.owner != user.id else "/alerts?done=deleted"
    return RedirectResponse(back, status_code=303)


@router.post("/alerts/{sub_id}/feed", include_in_schema=False)
def rotate_feed_form(request: Request, sub_id: str, user: User = Depends(current_user)):
    sub = rotate_feed(request, user, sub_id)
    return RedirectResponse(f"/alerts/{sub.id}?done=rotated#feed", status_code=303)


@router.get("/alerts/{sub_id}/test", include_in_schema=False)
def test_alert_page(request: Request, sub_id: str, days: int = Query(7, ge=1, le=TEST_DAYS_MAX),
                    user: User = Depends(current_user)):
    ctx = ctx_of(request)
    sub, _ = load_subscription(ctx, user, sub_id, admin_may=True)
    req = test_request(sub, days, size=50)
    try:
        result = search(ctx.client, ctx.settings, req)
    except NothingIndexed:
        result = None
    assert req.date_from is not None
    return render(request, "alert_test.html", {
        "sub": sub, "days": days, "result": result, "since": req.date_from,
        "search_link": "/search?" + urlencode(search_params(sub, req.date_from)),
        "source_names": choices_of(ctx).sources,
    })


# -- API ---------------------------------------------------------------------------------------------------------------

class FiltersIn(BaseModel):
    sources: list[str] = Field([], max_length=200)
    kinds: list[str] = Field([], max_length=10)
    languages: list[str] = Field([], max_length=50)
    topics: list[str] = Field([], max_length=200)
    sentiments: list[str] = Field([], max_length=10)


class SpikeIn(BaseModel):
    enabled: bool = False
    factor: float = 3.0
    min_count: int = 5
    window_days: int = 14


class SubscriptionIn(BaseModel):
    """A subscription as the API takes it; checked exactly as ``mediawatch alerts add`` checks its options."""

    name: str = Field(max_length=1000)
    query: str = Field(max_length=2000, description="Search syntax, as /api/search q")
    filters: FiltersIn = Field(default_factory=FiltersIn)
    delivery: str = Field("instant", max_length=20, description="instant | hourly | daily")
    daily_at: str | None = Field(None, max_length=20, description="HH:MM local, for a daily digest")
    timezone: str | None = Field(None, max_length=100, description="IANA zone (default: crawl.timezone)")
    emails: list[str] = Field([], max_length=50)
    webhooks: list[str] = Field([], max_length=20)
    template: str = Field("json", max_length=40, description=", ".join(WEBHOOK_TEMPLATES))
    notify_copies: bool = False
    spike: SpikeIn = Field(default_factory=SpikeIn)

    def to_form(self) -> AlertForm:
        f = self.filters
        return AlertForm(name=self.name, query=self.query, sources=f.sources, kinds=f.kinds,
                         languages=[v.lower() for v in f.languages], topics=f.topics, sentiments=f.sentiments,
                         delivery=self.delivery, daily_at=(self.daily_at or "").strip(),
                         timezone=(self.timezone or "").strip(), emails=[e.strip() for e in self.emails if e.strip()],
                         webhooks=[u.strip() for u in self.webhooks if u.strip()], template=self.template,
                         copies=self.notify_copies, spike=self.spike.enabled, spike_factor=repr(self.spike.factor),
                         spike_min=str(self.spike.min_count), spike_window=str(self.spike.window_days))


class SubscriptionOut(BaseModel):
    id: str
    owner: str
    name: str
    query: str
    filters: dict[str, list[str]]
    delivery: str
    daily_at: str | None
    timezone: str
    active: bool
    notify_copies: bool
    spike: dict[str, Any]
    channels: list[dict[str, Any]]
    channel_health: dict[str, dict[str, Any]]
    failing_channels: list[str]
    created: str
    updated: str
    feed_url: str | None = None
    webhook_secret: str | None = None


class NotificationOut(BaseModel):
    id: str | None
    kind: str
    status: str
    created: str | None
    title: str
    url: str | None
    source: str | None
    doc_id: str | None
    more_outlets: int
    items: int
    attempts: int | None
    error: str | None
    channels: dict[str, dict[str, Any]]
    spike: dict[str, Any] | None


class FeedOut(BaseModel):
    feed_url: str


class TestOut(BaseModel):
    total: int
    hits: list[dict[str, Any]]
    next: str | None
    days: int
    since: str


_NOT_FOUND = {404: {"description": "No such subscription of yours"}}


def _invalid(errors: dict[str, str]) -> JSONResponse:
    first = next(iter(errors.items()))
    return JSONResponse({"detail": f"{first[0]}: {first[1]}", "errors": errors}, status_code=400)


@router.get("/api/subscriptions", response_model=list[SubscriptionOut], tags=["alerts"],
            summary="The caller's alert subscriptions (an administrator: everyone's with all=true)")
def list_api(request: Request, all: bool = Query(False, description="Administrators: every user's"),  # noqa: A002
             user: User = Depends(current_user)):
    return [subscription_json(request, s, user) for s in visible_subscriptions(ctx_of(request), user, all)]


@router.post("/api/subscriptions", response_model=SubscriptionOut, status_code=201, tags=["alerts"],
             summary="Save an alert (checked as `mediawatch alerts add` checks; nothing saved on any error)",
             responses={400: {"description": "What is wrong: {detail, errors: {field: message}}"}})
def create_api(request: Request, body: SubscriptionIn, user: User = Depends(current_user)):
    sub, errors = create_alert(request, user, body.to_form(), "en")
    if sub is None:
        return _invalid(errors)
    return JSONResponse(subscription_json(request, sub, user, full=True), status_code=201)


@router.get("/api/subscriptions/{sub_id}", response_model=SubscriptionOut, tags=["alerts"],
            summary="One subscription (the owner also gets its feed address and webhook secret)",
            responses=_NOT_FOUND)
def get_api(request: Request, sub_id: str, user: User = Depends(current_user)):
    sub, _ = load_subscription(ctx_of(request), user, sub_id, admin_may=True)
    return subscription_json(request, sub, user, full=True)


@router.put("/api/subscriptions/{sub_id}", response_model=SubscriptionOut, tags=["alerts"],
            summary="Change one of the caller's subscriptions (same checks as creating it)",
            responses={**_NOT_FOUND, 400: {"description": "What is wrong"}, 409: {"description": "Changed meanwhile"}})
def update_api(request: Request, sub_id: str, body: SubscriptionIn, user: User = Depends(current_user)):
    sub, errors = update_alert(request, user, sub_id, body.to_form(), "en")
    if sub is None:
        if set(errors) == {"form"}:
            raise HTTPException(409, errors["form"])
        return _invalid(errors)
    return subscription_json(request, sub, user, full=True)


@router.post("/api/subscriptions/{sub_id}/pause", response_model=SubscriptionOut, tags=["alerts"],
             summary="Pause a subscription (kept; nothing is matched or sent until resumed)", responses=_NOT_FOUND)
def pause_api(request: Request, sub_id: str, user: User = Depends(current_user)):
    return subscription_json(request, set_active(request, user, sub_id, False), user)


@router.post("/api/subscriptions/{sub_id}/resume", response_model=SubscriptionOut, tags=["alerts"],
             summary="Resume a paused subscription", responses=_NOT_FOUND)
def resume_api(request: Request, sub_id: str, user: User = Depends(current_user)):
    return subscription_json(request, set_active(request, user, sub_id, True), user)


@router.delete("/api/subscriptions/{sub_id}", status_code=204, tags=["alerts"],
               summary="Delete a subscription and its notification log", responses=_NOT_FOUND)
def delete_api(request: Request, sub_id: str, user: User = Depends(current_user)):
    delete_alert(request, user, sub_id)


@router.post("/api/subscriptions/{sub_id}/feed-token", response_model=FeedOut, tags=["alerts"],
             summary="Rotate the private feed's token (the old feed address stops working at once)",
             responses=_NOT_FOUND)
def rotate_api(request: Request, sub_id: str, user: User = Depends(current_user)):
    return {"feed_url": feed_url(request, rotate_feed(request, user, sub_id))}


@router.get("/api/subscriptions/{sub_id}/notifications", response_model=list[NotificationOut], tags=["alerts"],
            summary="A subscription's recent notifications, newest first: status per channel, errors, +N outlets",
            responses=_NOT_FOUND)
def notifications_api(request: Request, sub_id: str, limit: int = Query(30, ge=1, le=500),
                      user: User = Depends(current_user)):
    ctx = ctx_of(request)
    sub, _ = load_subscription(ctx, user, sub_id, admin_may=True)
    return notification_rows(stores_of(ctx).log.recent(subscription_id=sub.id, size=limit), sub)


@router.get("/api/subscriptions/{sub_id}/test", response_model=TestOut, tags=["alerts"],
            summary="What would have matched in the last N days: exactly what /api/search returns for the alert's "
                    "query and filters from local midnight N-1 days ago, newest first",
            responses={**_NOT_FOUND, 400: {"description": "Bad paging cursor"}})
def test_api(request: Request, sub_id: str, days: int = Query(7, ge=1, le=TEST_DAYS_MAX),
             size: int = Query(20, ge=1, le=100), after: str | None = Query(None, max_length=2000),
             user: User = Depends(current_user)):
    from index.search import BadFilter

    ctx = ctx_of(request)
    sub, _ = load_subscription(ctx, user, sub_id, admin_may=True)
    req = test_request(sub, days, size=size, after=after)
    try:
        result = search(ctx.client, ctx.settings, req)
    except BadFilter as exc:
        raise HTTPException(400, str(exc)) from None
    assert req.date_from is not None
    return {**result.to_json(), "days": days, "since": format_instant(req.date_from.astimezone(ctx.zone))}

