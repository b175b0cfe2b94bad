"""Situation reports (issue 12.8): list, create, edit, delete; a report's view for a chosen day or week, its
print view and its PDF; "send now"; the same under ``/api/reports``.

A report belongs to its creator: an analyst sees and changes only their own (someone else's answers 404), an
administrator sees all. Every change, PDF download and sending is audited.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from enrich.labels import sentiment_name, topic_name
from index.reports import FILTER_FIELDS, ReportStore, ensure_report_index
from index.users import iso, now_utc
from mediawatch.errors import QuerySyntaxError, UserError
from web.accounts import User
from web.auth import audit, ctx_of, current_user, owned_by
from web.context import WebContext, source_registry
from web.i18n import gettext, register
from web.render import NavItem, language_of, render
from web.report import (
    MAX_SEARCHES,
    PERIODS,
    build_view,
    choices_of,
    clean_report,
    parse_period,
    periods_around,
    print_html,
    zone_of,
)

router = APIRouter()
NAV = [NavItem("nav.reports", "/reports", order=40)]
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FORM_ROWS = 3  # empty search rows a new form shows

register({
    "reports.title": {"vi": "Báo cáo tình hình", "en": "Situation reports"},
    "reports.intro": {"vi": "Báo cáo hằng ngày hoặc hằng tuần về các nội dung bạn theo dõi: số liệu chính, diễn biến "
                            "tăng giảm, tin được đưa nhiều nhất, sắc thái dư luận và các chủ đề diễn đàn tiêu cực. Xem "
                            "trên trang, in, tải PDF hoặc gửi e-mail theo lịch.",
                      "en": "A daily or weekly report on the subjects you follow: headline numbers, what rose and "
                            "fell, the most-covered stories, the tone and negative forum threads. Read it here, print "
                            "it, download a PDF or have it e-mailed on a schedule."},
    "reports.new": {"vi": "Tạo báo cáo", "en": "New report"},
    "reports.edit": {"vi": "Sửa báo cáo", "en": "Edit report"},
    "reports.add_search": {"vi": "Thêm vào báo cáo", "en": "Add to a report"},
    "reports.add_intro": {"vi": "Chọn báo cáo để thêm nội dung theo dõi này; báo cáo chỉ thay đổi khi bạn bấm Lưu.",
                          "en": "Choose the report to add this subject to; the report changes only when you save it."},
    "reports.add_dropped": {"vi": "Ngày, ngôn ngữ và giá trị lọc thứ hai trở đi của tìm kiếm không được đưa vào báo "
                                  "cáo: báo cáo tính theo kỳ của nó, mỗi bộ lọc một giá trị.",
                            "en": "The search's dates, language and any second value of a filter are not kept: a "
                                  "report counts its own period, one value per filter."},
    "reports.add_new": {"vi": "Tạo báo cáo mới với nội dung này", "en": "Start a new report with it"},
    "reports.add_none": {"vi": "Bạn chưa có báo cáo nào.", "en": "You have no reports yet."},
    "reports.added": {"vi": "Đã thêm nội dung theo dõi số {n}; kiểm tra rồi bấm Lưu.",
                      "en": "Subject {n} added; check it, then save."},
    "reports.full": {"vi": "Báo cáo đã có {n} nội dung theo dõi, không thêm được nữa.",
                     "en": "The report already has {n} subjects; no more can be added."},
    "reports.none": {"vi": "Chưa có báo cáo nào. Hãy tạo báo cáo đầu tiên.", "en": "No reports yet: create one."},
    "reports.name": {"vi": "Tên báo cáo", "en": "Name"},
    "reports.period": {"vi": "Kỳ báo cáo", "en": "Period"},
    "reports.period.daily": {"vi": "Hằng ngày", "en": "Daily"},
    "reports.period.weekly": {"vi": "Hằng tuần", "en": "Weekly"},
    "reports.searches": {"vi": "Nội dung theo dõi", "en": "Subjects"},
    "reports.searches_hint": {"vi": "Mỗi nội dung là một tìm kiếm (cú pháp như trang Tìm kiếm). Báo cáo tính các bài "
                                    "khớp với ít nhất một nội dung. Để trống một dòng để bỏ qua.",
                              "en": "Each subject is a search (the syntax of the Search page). The report counts "
                                    "documents matching at least one. Leave a row empty to skip it."},
    "reports.search_n": {"vi": "Nội dung {n}", "en": "Subject {n}"},
    "reports.label": {"vi": "Tên nội dung", "en": "Label"},
    "reports.query": {"vi": "Truy vấn", "en": "Query"},
    "reports.kind": {"vi": "Loại", "en": "Kind"},
    "reports.topic": {"vi": "Chủ đề", "en": "Topic"},
    "reports.sentiment": {"vi": "Sắc thái", "en": "Tone"},
    "reports.source": {"vi": "Nguồn", "en": "Source"},
    "reports.place": {"vi": "Địa bàn (tên hoặc mã)", "en": "Place (name or code)"},
    "reports.any": {"vi": "Tất cả", "en": "Any"},
    "reports.add_row": {"vi": "Thêm nội dung", "en": "Add a subject"},
    "reports.schedule": {"vi": "Gửi e-mail theo lịch", "en": "E-mail on a schedule"},
    "reports.schedule_hint": {"vi": "Báo cáo ngày gửi mỗi sáng cho ngày hôm trước; báo cáo tuần gửi sáng thứ Hai cho "
                                    "tuần trước, kèm tệp PDF. Để trống để không gửi.",
                              "en": "A daily report is sent each day for the day before; a weekly one on Mondays "
                                    "for the week before, with the PDF. Leave empty to send nothing."},
    "reports.send_at": {"vi": "Giờ gửi", "en": "Send at"},
    "reports.recipients": {"vi": "Người nhận (mỗi dòng một địa chỉ)", "en": "Recipients (one address a line)"},
    "reports.timezone": {"vi": "Múi giờ", "en": "Time zone"},
    "reports.save": {"vi": "Lưu báo cáo", "en": "Save report"},
    "reports.cancel": {"vi": "Huỷ", "en": "Cancel"},
    "reports.delete": {"vi": "Xoá báo cáo", "en": "Delete report"},
    "reports.deleted": {"vi": "Đã xoá báo cáo “{name}”.", "en": "Report “{name}” deleted."},
    "reports.saved": {"vi": "Đã lưu báo cáo.", "en": "Report saved."},
    "reports.errors": {"vi": "Chưa lưu được: hãy sửa các mục đánh dấu bên dưới.",
                       "en": "Not saved: fix the fields marked below."},
    "reports.owner": {"vi": "Người tạo", "en": "Owner"},
    "reports.sending": {"vi": "Gửi e-mail", "en": "E-mail"},
    "reports.no_sending": {"vi": "Không gửi", "en": "Not sent"},
    "reports.sends": {"vi": "{time}, {n} người nhận", "en": "{time}, {n} recipient(s)"},
    "reports.last_sent": {"vi": "Gửi lần cuối", "en": "Last sent"},
    "reports.open": {"vi": "Xem", "en": "Open"},
    "reports.choose_day": {"vi": "Chọn ngày", "en": "Choose a day"},
    "reports.choose_week": {"vi": "Chọn tuần", "en": "Choose a week"},
    "reports.show": {"vi": "Xem kỳ này", "en": "Show"},
    "reports.prev": {"vi": "Kỳ trước", "en": "Previous"},
    "reports.next": {"vi": "Kỳ sau", "en": "Next"},
    "reports.print": {"vi": "Bản in", "en": "Print view"},
    "reports.pdf": {"vi": "Tải PDF", "en": "Download PDF"},
    "reports.send_now": {"vi": "Gửi ngay cho người nhận", "en": "Send to recipients now"},
    "reports.sent_now": {"vi": "Đã gửi báo cáo {period} tới {n} người nhận.", "en": "Report {period} sent to {n} "
                                                                                    "recipient(s)."},
    "reports.send_failed": {"vi": "Chưa gửi được: {error}", "en": "Not sent: {error}"},
    "reports.back": {"vi": "Tất cả báo cáo", "en": "All reports"},
    "reports.bad_search": {"vi": "Báo cáo có nội dung không đọc được: {error}. Hãy sửa báo cáo.",
                           "en": "A subject of this report cannot be read: {error}. Edit the report."},
})


# --------------------------------------------------------------------------------------------- records


def _store(ctx: WebContext) -> ReportStore:
    if not ctx.extras.get("reports_ready"):
        ensure_report_index(ctx.client, ctx.settings)
        ctx.extras["reports_ready"] = True
    return ReportStore.of(ctx.client, ctx.settings)


def _own(request: Request, user: User, report_id: str) -> dict[str, Any]:
    """The report when ``user`` may see it (its owner, or an administrator); else 404."""
    if not _ID.match(report_id):
        raise HTTPException(404, "not found")
    record = _store(ctx_of(request)).get(report_id)
    return owned_by(user, record, admin_may=True)


def _visible(request: Request, user: User) -> list[dict[str, Any]]:
    return _store(ctx_of(request)).for_owner(None if user.is_admin else user.id)


def _save_new(request: Request, user: User, fields: dict[str, Any]) -> dict[str, Any]:
    now = iso(now_utc())
    record = {"id": secrets.token_hex(8), "owner": user.id, **fields, "created": now, "updated": now,
              "last_sent": None}
    _store(ctx_of(request)).create(record["id"], record)
    audit(request, "report.create", record["id"], details={"name": record["name"], "period": record["period"],
                                                           "recipients": len(record["recipients"])})
    return record


def _save_existing(request: Request, record: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    changed = sorted(k for k, v in fields.items() if record.get(k) != v)
    updated = {**record, **fields, "updated": iso(now_utc())}
    if record.get("send_at") != fields.get("send_at") or record.get("period") != fields.get("period"):
        updated["last_sent"] = record.get("last_sent")  # the next slot still counts from the last sending
    _store(ctx_of(request)).replace(updated)
    audit(request, "report.update", record["id"], details={"name": updated["name"], "changed": changed})
    return updated


def _delete(request: Request, record: dict[str, Any]) -> None:
    _store(ctx_of(request)).delete(record["id"])
    audit(request, "report.delete", record["id"], details={"name": record.get("name")})


def _period(request: Request, record: dict[str, Any], text: str | None):
    ctx = ctx_of(request)
    return parse_period(record.get("period") or "daily", text, zone_of(record.get("timezone"), ctx.settings),
                        lang="en" if request.url.path.startswith("/api/") else language_of(request))


def _view(request: Request, record: dict[str, Any], period_text: str | None, lang: str) -> dict[str, Any]:
    ctx = ctx_of(request)
    period = _period(request, record, period_text)
    return build_view(ctx.client, ctx.settings, record, period, lang)


# --------------------------------------------------------------------------------------------- form


def _form_rows(record: dict[str, Any] | None, extra: int) -> list[dict[str, Any]]:
    rows = []
    for search in (record or {}).get("searches") or []:
        filters = search.get("filters") or {}
        rows.append({"label": search.get("label") or "", "query": search.get("query") or "",
                     **{name: ", ".join(filters.get(name) or []) if name == "places" else
                        ((filters.get(name) or [""])[0]) for name in FILTER_FIELDS}})
    empty = {"label": "", "query": "", **{name: "" for name in FILTER_FIELDS}}
    rows += [dict(empty) for _ in range(extra)]
    return rows[:MAX_SEARCHES]


def _form_data(form: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the HTML form sent, as :func:`web.report.clean_report` reads it, and the rows to show again."""
    try:
        count = min(max(int(form.get("rows") or 0), 1), MAX_SEARCHES)
    except ValueError:
        count = FORM_ROWS
    searches, rows = [], []
    for i in range(count):
        row = {"label": str(form.get(f"s{i}-label") or ""), "query": str(form.get(f"s{i}-query") or "")}
        filters: dict[str, list[str]] = {}
        for name in FILTER_FIELDS:
            value = str(form.get(f"s{i}-{name}") or "").strip()
            row[name] = value
            if value:
                filters[name] = [p.strip() for p in value.split(",") if p.strip()] if name == "places" else [value]
        rows.append(row)
        searches.append({"label": row["label"], "query": row["query"], "filters": filters})
    data = {"name": form.get("name"), "period": form.get("period"), "searches": searches,
            "send_at": form.get("send_at"), "recipients": form.get("recipients"), "timezone": form.get("timezone")}
    return data, rows


def _source_choices(ctx: WebContext) -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    try:
        names = {s.id: s.name for s in source_registry(ctx.settings, ctx.client)}
    except UserError:
        pass
    try:
        names.update({k: names.get(k, k) for k in (ctx.index_facets().get("source") or {})})
    except UserError:
        pass
    return sorted(names.items(), key=lambda item: item[1].lower())


def _form_page(request: Request, *, record: dict[str, Any] | None, fields: dict[str, Any], rows: list[dict[str, Any]],
               errors: dict[str, str], status: int = 200, added: int | None = None):
    ctx = ctx_of(request)
    lang = language_of(request)
    ch = choices_of(ctx.settings)
    # a row's errors are keyed by the submitted row number; rows the checker skipped (empty) have none
    return render(request, "report_form.html", {
        "record": record, "fields": fields, "rows": rows, "errors": errors, "periods": PERIODS,
        "kinds": ["news", "forum"], "topics": ch.topics or [], "sentiments": ch.sentiments,
        "sources": _source_choices(ctx), "max_rows": MAX_SEARCHES,
        "topic_label": lambda v: topic_name(v, lang),  # type: ignore[arg-type]
        "sentiment_label": lambda v: sentiment_name(v, lang),  # type: ignore[arg-type]
        "action": f"/reports/{record['id']}/edit" if record else "/reports/new", "added": added,
    }, status_code=status)


def _row_errors(errors: dict[str, str], data: dict[str, Any]) -> dict[str, str]:
    """Errors of ``clean_report`` keyed by the form's row numbers (it numbers only the rows it kept)."""
    kept = [i for i, s in enumerate(data["searches"])
            if s["label"].strip() or s["query"].strip() or s["filters"]]
    out = {}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] == "searches" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(kept):
            out[f"s{kept[int(parts[1])]}-{parts[2]}"] = message
        else:
            out[key] = message
    return out


# --------------------------------------------------------------------------------------------- pages


@router.get("/reports", include_in_schema=False)
def reports_page(request: Request, user: User = Depends(current_user)):
    notice = {"deleted": gettext("reports.deleted", language_of(request),
                                 name=request.query_params.get("name", ""))}.get(request.query_params.get("done", ""))
    return render(request, "reports.html", {"reports": _visible(request, user), "notice": notice,
                                            "zone_of": lambda r: zone_of(r.get("timezone"), ctx_of(request).settings)})


@router.get("/reports/new", include_in_schema=False)
def new_report_page(request: Request, user: User = Depends(current_user)):
    ctx = ctx_of(request)
    search = _search_of(request.query_params)
    prefill = {"searches": [search]} if search else None
    fields = {"name": "", "period": "daily", "send_at": "", "recipients": "", "timezone": ctx.settings.crawl.timezone}
    return _form_page(request, record=None, fields=fields, rows=_form_rows(prefill, FORM_ROWS), errors={})


_SEARCH_PARAMS = (("kinds", "kind"), ("topics", "topic"), ("sentiments", "sentiment"), ("sources", "source"),
                  ("places", "place"))


def _search_of(params: Any) -> dict[str, Any] | None:
    """The search page's URL parameters (``q`` and the first value of each filter a report search keeps) as one of
    a report's searches; None when they name no search."""
    if params.get("q") is None and not any(params.get(key) for _, key in _SEARCH_PARAMS):
        return None
    query = (params.get("q") or "").strip()
    return {"label": query[:80], "query": query,
            "filters": {name: [params[key]] for name, key in _SEARCH_PARAMS if params.get(key)}}


@router.get("/reports/add", include_in_schema=False)
def add_search_page(request: Request, user: User = Depends(current_user)):
    """"Thêm vào báo cáo" from the search page: the caller's reports, each linking to its edit form with the search
    added as a new row (saved only when the form is), and a new report starting from it."""
    search = _search_of(request.query_params)
    if search is None:
        return RedirectResponse("/reports/new", status_code=303)
    keep = [(key, value) for key, value in request.query_params.multi_items()
            if key in ("q", *(k for _, k in _SEARCH_PARAMS))]
    params = request.query_params
    dropped = any(params.get(k) for k in ("from", "to", "preset", "language")) or any(
        len(params.getlist(key)) > 1 for _, key in _SEARCH_PARAMS)
    reports = _store(ctx_of(request)).for_owner(user.id)
    return render(request, "report_add.html", {"search": search, "params": keep, "reports": reports,
                                               "max_rows": MAX_SEARCHES, "dropped": dropped,
                                               "back": [(k, v) for k, v in params.multi_items()]})


async def _submitted(request: Request) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    form = await request.form()
    data, rows = _form_data(form)
    return data, rows, str(form.get("action") or "save")


def _fields_for_form(data: dict[str, Any]) -> dict[str, Any]:
    recipients = data.get("recipients") or ""
    return {"name": data.get("name") or "", "period": data.get("period") or "daily", "send_at": data.get("send_at")
            or "", "recipients": recipients, "timezone": data.get("timezone") or ""}


@router.post("/reports/new", include_in_schema=False)
async def create_report_form(request: Request, user: User = Depends(current_user)):
    data, rows, action = await _submitted(request)
    lang = language_of(request)
    if action == "add_row":
        rows.append({"label": "", "query": "", **{name: "" for name in FILTER_FIELDS}})
        return _form_page(request, record=None, fields=_fields_for_form(data), rows=rows[:MAX_SEARCHES], errors={})
    fields, errors = clean_report(data, ctx_of(request).settings, lang)
    if errors:
        return _form_page(request, record=None, fields=_fields_for_form(data), rows=rows,
                          errors=_row_errors(errors, data), status=400)
    record = await run_in_threadpool(_save_new, request, user, fields)
    return RedirectResponse(f"/reports/{record['id']}?saved=1", status_code=303)


@router.get("/reports/{report_id}.pdf", include_in_schema=False)
def report_pdf(request: Request, report_id: str, period: str | None = None, user: User = Depends(current_user)):
    from web.report_mail import pdf_filename
    from web.reportpdf import render_pdf

    record = _own(request, user, report_id)
    lang = language_of(request)
    view = _view(request, record, period, lang)
    pdf = render_pdf(print_html(view), chromium=ctx_of(request).settings.web.chromium)
    audit(request, "report.pdf", record["id"], details={"period": view["period"].key, "bytes": len(pdf)})
    name = pdf_filename(record, view["period"])
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/reports/{report_id}/print", include_in_schema=False)
def report_print(request: Request, report_id: str, period: str | None = None, user: User = Depends(current_user)):
    record = _own(request, user, report_id)
    view = _view(request, record, period, language_of(request))
    return Response(print_html(view), media_type="text/html; charset=utf-8")


@router.get("/reports/{report_id}/edit", include_in_schema=False)
def edit_report_page(request: Request, report_id: str, user: User = Depends(current_user)):
    record = _own(request, user, report_id)
    fields = {"name": record.get("name") or "", "period": record.get("period") or "daily",
              "send_at": record.get("send_at") or "", "recipients": "\n".join(record.get("recipients") or []),
              "timezone": record.get("timezone") or ""}
    search = _search_of(request.query_params)  # "add to a report": the search comes as the next row, unsaved
    if search is None:
        return _form_page(request, record=record, fields=fields, rows=_form_rows(record, 1), errors={})
    searches = list(record.get("searches") or [])
    if len(searches) >= MAX_SEARCHES:
        return _form_page(request, record=record, fields=fields, rows=_form_rows(record, 0), errors={
            "searches": gettext("reports.full", language_of(request), n=MAX_SEARCHES)})
    rows = _form_rows({"searches": [*searches, search]}, 0)
    return _form_page(request, record=record, fields=fields, rows=rows, errors={}, added=len(rows) - 1)


@router.post("/reports/{report_id}/edit", include_in_schema=False)
async def edit_report_form(request: Request, report_id: str, user: User = Depends(current_user)):
    record = await run_in_threadpool(_own, request, user, report_id)
    data, rows, action = await _submitted(request)
    if action == "add_row":
        rows.append({"label": "", "query": "", **{name: "" for name in FILTER_FIELDS}})
        return _form_page(request, record=record, fields=_fields_for_form(data), rows=rows[:MAX_SEARCHES], errors={})
    fields, errors = clean_report(data, ctx_of(request).settings, language_of(request))
    if errors:
        return _form_page(request, record=record, fields=_fields_for_form(data), rows=rows,
                          errors=_row_errors(errors, data), status=400)
    await run_in_threadpool(_save_existing, request, record, fields)
    return RedirectResponse(f"/reports/{report_id}?saved=1", status_code=303)


@router.post("/reports/{report_id}/delete", include_in_schema=False)
def delete_report_form(request: Request, report_id: str, user: User = Depends(current_user)):
    from urllib.parse import quote

    record = _own(request, user, report_id)
    _delete(request, record)
    return RedirectResponse(f"/reports?done=deleted&name={quote(record.get('name') or '')}", status_code=303)


@router.post("/reports/{report_id}/send", include_in_schema=False)
async def send_report_form(request: Request, report_id: str, user: User = Depends(current_user)):
    from alerts.channels.base import ChannelError
    from web.report_mail import send_report

    record = await run_in_threadpool(_own, request, user, report_id)
    form = await request.form()
    period_text = str(form.get("period") or "") or None
    lang = language_of(request)

    def send() -> str:
        ctx = ctx_of(request)
        period = _period(request, record, period_text)
        try:
            send_report(ctx.client, ctx.settings, record, period, lang=lang)
        except ChannelError as exc:
            audit(request, "report.send", record["id"], outcome="failed", details={"period": period.key,
                                                                                   "error": str(exc)})
            return "error=" + _q(gettext("reports.send_failed", lang, error=str(exc)))
        audit(request, "report.send", record["id"], details={"period": period.key,
                                                             "recipients": len(record.get("recipients") or [])})
        return "sent=" + _q(gettext("reports.sent_now", lang, period=period.label(lang),
                                    n=len(record.get("recipients") or [])))

    outcome = await run_in_threadpool(send)
    period_part = f"&period={_q(period_text)}" if period_text else ""
    return RedirectResponse(f"/reports/{report_id}?{outcome}{period_part}", status_code=303)


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@router.get("/reports/{report_id}", include_in_schema=False)
def report_page(request: Request, report_id: str, period: str | None = None, user: User = Depends(current_user)):
    record = _own(request, user, report_id)
    lang = language_of(request)
    try:
        view = _view(request, record, period, lang)
    except QuerySyntaxError as exc:
        raise UserError(gettext("reports.bad_search", lang, error=str(exc))) from None
    around = periods_around(view["period"], datetime.now(UTC))
    params = request.query_params
    return render(request, "report.html", {
        "record": record, "view": view, "around": around, "period_key": view["period"].key,
        "saved": params.get("saved") == "1", "sent": params.get("sent"), "send_error": params.get("error"),
        "doc_t": lambda key, **kw: gettext(key, lang, **kw),
    })


# --------------------------------------------------------------------------------------------- API


class SearchIn(BaseModel):
    label: str = Field("", max_length=200)
    query: str = Field("", max_length=2000)
    filters: dict[str, list[str]] = Field(default_factory=dict)


class ReportIn(BaseModel):
    name: str = Field(..., max_length=500)
    period: Literal["daily", "weekly"] = "daily"
    searches: list[SearchIn] = Field(..., max_length=50)
    send_at: str | None = Field(None, max_length=10, description="HH:MM local time; null: not e-mailed")
    recipients: list[str] = Field(default_factory=list, max_length=100)
    timezone: str | None = Field(None, max_length=100, description="default: crawl.timezone")


class ReportOut(BaseModel):
    id: str
    owner: str
    name: str
    period: str
    searches: list[dict[str, Any]]
    send_at: str | None
    recipients: list[str]
    timezone: str
    created: str
    updated: str
    last_sent: str | None


class ReportListOut(BaseModel):
    reports: list[ReportOut]


def _out(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record.get(key) for key in ReportOut.model_fields} | {
        "searches": record.get("searches") or [], "recipients": record.get("recipients") or []}


def _checked(request: Request, body: ReportIn) -> dict[str, Any]:
    fields, errors = clean_report(body.model_dump(), ctx_of(request).settings, "en")
    if errors:
        raise HTTPException(400, "; ".join(f"{k}: {v}" for k, v in errors.items()))
    return fields


_NOT_FOUND = {404: {"description": "No such report (or someone else's)"}}


@router.get("/api/reports", response_model=ReportListOut, tags=["reports"],
            summary="Your reports (administrators: everyone's)")
def list_reports_api(request: Request, user: User = Depends(current_user)):
    return {"reports": [_out(r) for r in _visible(request, user)]}


@router.post("/api/reports", response_model=ReportOut, status_code=201, tags=["reports"],
             summary="Create a report; audited", responses={400: {"description": "What is wrong, field by field"}})
def create_report_api(request: Request, body: ReportIn, user: User = Depends(current_user)):
    record = _save_new(request, user, _checked(request, body))
    return JSONResponse(_out(record), status_code=201)


@router.get("/api/reports/{report_id}", response_model=ReportOut, tags=["reports"], summary="One report",
            responses=_NOT_FOUND)
def get_report_api(request: Request, report_id: str, user: User = Depends(current_user)):
    return _out(_own(request, user, report_id))


@router.put("/api/reports/{report_id}", response_model=ReportOut, tags=["reports"],
            summary="Replace a report's settings; audited",
            responses={**_NOT_FOUND, 400: {"description": "What is wrong, field by field"}})
def update_report_api(request: Request, report_id: str, body: ReportIn, user: User = Depends(current_user)):
    record = _own(request, user, report_id)
    return _out(_save_existing(request, record, _checked(request, body)))


@router.delete("/api/reports/{report_id}", status_code=204, tags=["reports"], summary="Delete a report; audited",
               responses=_NOT_FOUND)
def delete_report_api(request: Request, report_id: str, user: User = Depends(current_user)):
    _delete(request, _own(request, user, report_id))
    return Response(status_code=204)


def _json_view(view: dict[str, Any]) -> dict[str, Any]:
    period = view["period"]
    numbers = view["numbers"]

    def counts(c: Any) -> dict[str, Any]:
        return {"documents": c.documents, "news": c.news, "forum": c.forum, "outlets": c.outlets,
                "stories": c.stories, "per_search": c.per_search, "sentiment": c.sentiment, "topic": c.topic,
                "place": c.place, "source": c.source}

    return {
        "period": {"kind": period.kind, "key": period.key, "label": view["period_label"],
                   "start": period.window.start.astimezone(period.zone).isoformat(),
                   "end": period.window.end.astimezone(period.zone).isoformat(), "partial": view["partial"],
                   "previous_start": period.previous.start.astimezone(period.zone).isoformat(),
                   "previous_end": period.previous.end.astimezone(period.zone).isoformat()},
        "current": counts(numbers.current), "previous": counts(numbers.previous),
        "overview": view["overview"], "moves": view["moves_text"], "tone": view["tone_text"],
        "movers": [{k: m[k] for k in ("dim", "key", "name", "current", "previous", "delta")} for m in view["movers"]],
        "stories": view["stories"], "threads": view["threads"],
    }


@router.get("/api/reports/{report_id}/view", tags=["reports"],
            summary="A report's numbers and sentences for one period (daily: YYYY-MM-DD; weekly: YYYY-Www)",
            responses={**_NOT_FOUND, 400: {"description": "A period that cannot be read or has not started"}})
def report_view_api(request: Request, report_id: str, user: User = Depends(current_user),
                    period: str | None = Query(None, max_length=40)):
    record = _own(request, user, report_id)
    try:
        view = _view(request, record, period, language_of(request))
    except QuerySyntaxError as exc:
        raise HTTPException(400, str(exc)) from None
    return _json_view(view)
