"""Search: the page (``/search``), the API (``/api/search``, ``/api/search/options``) and exports
(``/api/search/export``, ``/api/exports``).

The URL holds the whole search (``q``, ``from``, ``to``, ``preset``, ``source``, ``kind``, ``language``, ``topic``,
``sentiment``, ``sort``, ``size``, ``after``), so a search can be bookmarked and shared. Searching is
``index.search``'s: the API answers ``SearchResult.to_json()``, the one hit shape ``mediawatch search --json``
prints. Filter values are checked against the values documents can carry and refused with the valid ones.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.routing import NoMatchFound

from enrich.labels import searchable_sentiments, searchable_topics
from index.search import BadFilter, NothingIndexed, SearchRequest, SearchResult, parse_when, search
from mediawatch.errors import QuerySyntaxError, UserError
from web import exports
from web.accounts import User
from web.auth import audit, ctx_of, current_user, owned_by
from web.context import WebContext, source_registry
from web.i18n import gettext
from web.render import NavItem, language_of, render

router = APIRouter()
NAV = [NavItem("nav.search", "/search", 10)]

KINDS = ("news", "forum")
PRESETS = ("today", "yesterday", "7d", "30d")
SORTS = ("relevance", "date")
_LANGUAGE = re.compile(r"^([a-z]{2}|unknown)$")
_TRAIL_START = "~"


@dataclass
class SearchForm:
    """A search as the URL states it (raw values, checked by :func:`build_request`)."""

    q: str = ""
    date_from: str = ""
    date_to: str = ""
    preset: str = ""
    sources: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    sentiments: list[str] = field(default_factory=list)
    sort: str = "relevance"
    size: int | None = None
    after: str | None = None

    def params(self) -> list[tuple[str, str]]:
        """The URL parameters of this search (without paging)."""
        items = [("q", self.q)] if self.q else []
        items += [(k, v) for k, v in (("from", self.date_from), ("to", self.date_to), ("preset", self.preset)) if v]
        for name, values in (("source", self.sources), ("kind", self.kinds), ("language", self.languages),
                             ("topic", self.topics), ("sentiment", self.sentiments)):
            items += [(name, v) for v in values]
        if self.sort != "relevance":
            items.append(("sort", self.sort))
        return items

    @property
    def has_filters(self) -> bool:
        return bool(self.date_from or self.date_to or self.preset or self.sources or self.kinds or self.languages
                    or self.topics or self.sentiments)


def search_form(
    q: str = Query("", max_length=2000, description='Boolean query: words (ANDed), "phrase", prefix*, OR, NOT/-x, '
                                                     "( ), title:/text:/author:/section:. Empty: everything."),
    date_from: str | None = Query(None, alias="from", max_length=40,
                                  description="Published on/after (local time): YYYY-MM-DD, ISO datetime, today, "
                                              "yesterday, 12h, 7d, 2w"),
    to: str | None = Query(None, max_length=40,
                           description="Published on/before (same forms; a day includes all of it)"),
    preset: str | None = Query(None, max_length=20,
                               description="today | yesterday | 7d | 30d: local calendar days up to today "
                                           "(from/to, when given, win)"),
    source: list[str] = Query([], description="Source ids (repeatable); see /api/search/options"),
    kind: list[str] = Query([], description="news | forum (repeatable)"),
    language: list[str] = Query([], description="Two-letter language codes or unknown (repeatable)"),
    topic: list[str] = Query([], description="Topic labels (repeatable); see /api/search/options"),
    sentiment: list[str] = Query([], description="negative | neutral | positive | unknown (repeatable)"),
    sort: Literal["relevance", "date"] = Query("relevance", description="relevance (exact diacritics first) or date"),
    size: int | None = Query(None, ge=1, le=100, description="Hits per page (default: web.page_size)"),
    after: str | None = Query(None, max_length=2000, description="The 'next' cursor of the previous page"),
) -> SearchForm:
    """Dependency: the search in the URL."""
    return SearchForm(q=q, date_from=(date_from or "").strip(), date_to=(to or "").strip(),
                      preset=(preset or "").strip(), sources=_clean(source), kinds=_clean(kind),
                      languages=_clean(language), topics=_clean(topic), sentiments=_clean(sentiment), sort=sort,
                      size=size, after=after or None)


def _clean(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


@dataclass
class Choices:
    """The values each filter takes, as search validates them; ``counts`` from the whole index."""

    sources: list[str]
    source_names: dict[str, str]
    kinds: list[str]
    languages: list[str]
    topics: list[str] | None
    sentiments: list[str]
    counts: dict[str, dict[str, int]]
    indexed: bool


def choices(ctx: WebContext) -> Choices:
    settings = ctx.settings
    try:
        facets = ctx.index_facets()
        indexed = True
    except NothingIndexed:
        facets, indexed = {}, False
    names: dict[str, str] = {}
    try:
        names = {s.id: s.name for s in source_registry(settings, ctx.client)}
    except UserError:
        pass
    counts = {k: v for k, v in facets.items() if isinstance(v, dict)}
    sources = sorted(set(names) | set(counts.get("source", {})))
    languages = sorted(set(counts.get("language", {})) | {"vi", "en"})
    topics = searchable_topics(settings.enrich.topic_model, settings.enrich.topic_labels)
    return Choices(sources=sources, source_names=names, kinds=list(KINDS), languages=[*languages, "unknown"],
                   topics=topics, sentiments=searchable_sentiments(settings.enrich.sentiment_model), counts=counts,
                   indexed=indexed)


def preset_range(preset: str, ctx: WebContext) -> tuple[datetime, datetime]:
    """A preset as local calendar days: today, yesterday, the last 7 or 30 days up to the end of today."""
    zone = ctx.zone
    today = datetime.now(zone).date()
    first = {"today": today, "yesterday": today - timedelta(days=1), "7d": today - timedelta(days=6),
             "30d": today - timedelta(days=29)}[preset]
    last = today - timedelta(days=1) if preset == "yesterday" else today
    return parse_when(first.isoformat(), zone), parse_when(last.isoformat(), zone, end_of_day=True)


def build_request(ctx: WebContext, form: SearchForm, ch: Choices, lang: str) -> tuple[SearchRequest, dict[str, str]]:
    """The ``SearchRequest`` for ``form``, and what is wrong with it (field -> one line in ``lang``)."""
    errors: dict[str, str] = {}

    def pick(name: str, label_key: str, values: list[str], valid: list[str] | None) -> list[str]:
        if valid is None:
            return values
        by_lower = {v.lower(): v for v in valid}
        out = []
        for value in values:
            if value.lower() in by_lower:
                out.append(by_lower[value.lower()])
            else:
                errors[name] = gettext("search.bad_value", lang, value=repr(value), field=gettext(label_key, lang),
                                       valid=", ".join(valid) or "-")
        return out

    start = end = None
    if form.preset:
        if form.preset in PRESETS:
            start, end = preset_range(form.preset, ctx)
        else:
            errors["preset"] = gettext("search.bad_value", lang, value=repr(form.preset),
                                       field=gettext("search.date", lang), valid=", ".join(PRESETS))
    for name, raw, is_end in (("from", form.date_from, False), ("to", form.date_to, True)):
        if raw:
            try:
                when = parse_when(raw, ctx.zone, end_of_day=is_end)
            except BadFilter:
                errors[name] = gettext("search.bad_date", lang, value=repr(raw))
                continue
            if is_end:
                end = when
            else:
                start = when
    if start and end and start > end and "from" not in errors:
        errors["from"] = gettext("search.date_order", lang)
    languages = []
    for code in form.languages:
        if _LANGUAGE.match(code.lower()):
            languages.append(code.lower())
        else:
            errors["language"] = gettext("search.bad_value", lang, value=repr(code),
                                         field=gettext("search.language", lang), valid="vi, en, …, unknown")
    req = SearchRequest(
        query=form.q,
        date_from=start,
        date_to=end,
        sources=pick("source", "search.sources", form.sources, ch.sources if ch.sources else None),
        kinds=pick("kind", "search.kind", form.kinds, ch.kinds),
        languages=languages,
        topics=pick("topic", "search.topics", form.topics, ch.topics),
        sentiments=pick("sentiment", "search.sentiment", form.sentiments, ch.sentiments),
        sort=form.sort if form.sort in SORTS else "relevance",  # type: ignore[arg-type]
        size=form.size or ctx.settings.web.page_size,
        after=form.after,
    )
    return req, errors


def group_by_story(result: SearchResult) -> list[dict[str, Any]]:
    """Rows of the page: a hit, then the other hits of the same story on this page folded under it."""
    rows: list[dict[str, Any]] = []
    first: dict[str, dict[str, Any]] = {}
    for hit in result.hits:
        if hit.story and hit.story in first:
            first[hit.story]["copies"].append(hit)
            continue
        row = {"hit": hit, "copies": []}
        rows.append(row)
        if hit.story:
            first[hit.story] = row
    for row in rows:
        hit = row["hit"]
        row["more"] = max(hit.story_outlets - 1, len(row["copies"]), len(hit.also_at))
    return rows


def doc_link(request: Request, hit: Any) -> str:
    """Where a hit's title leads: the app's document page when a route named ``document`` (with ``doc_id``) is
    registered, else the original article."""
    try:
        return str(request.app.url_path_for("document", doc_id=hit.id))
    except NoMatchFound:
        return hit.url


def _trail(request: Request) -> list[str]:
    raw = request.query_params.get("trail", "")
    return [part for part in raw.split(".") if part][:200] if raw else []


@router.get("/search", include_in_schema=False)
def search_page(request: Request, form: SearchForm = Depends(search_form), user: User = Depends(current_user)):
    ctx = ctx_of(request)
    lang = language_of(request)
    ch = choices(ctx)
    req, errors = build_request(ctx, form, ch, lang)
    result = None
    syntax: dict[str, Any] | None = None
    nothing_indexed = not ch.indexed
    if not errors and ch.indexed:
        try:
            result = search(ctx.client, ctx.settings, req)
        except QuerySyntaxError as exc:
            position = getattr(exc, "offset", None)
            syntax = {"position": position + 1 if position is not None else None, "message": str(exc)}
            errors["q"] = str(exc)
        except NothingIndexed:
            nothing_indexed = True
        except BadFilter as exc:
            errors["after"] = str(exc)
    trail = _trail(request)
    page_number = len(trail) + 1 if form.after else 1
    base = form.params() + ([("size", str(form.size))] if form.size else [])
    paging: dict[str, Any] = {"number": page_number}
    if result is not None and result.next_cursor:
        next_trail = [*trail, form.after or _TRAIL_START] if form.after else [_TRAIL_START]
        paging["next"] = base + [("after", result.next_cursor), ("trail", ".".join(next_trail))]
    if form.after:
        previous = trail[-1] if trail else _TRAIL_START
        paging["prev"] = base + ([("after", previous), ("trail", ".".join(trail[:-1]))]
                                 if previous != _TRAIL_START else [])
        paging["first"] = base
    undated = [item for item in base if item[0] not in ("from", "to", "preset")]
    custom = bool(form.date_from or form.date_to)
    preset_links = [{"key": "any", "params": undated, "active": not form.preset and not custom}]
    preset_links += [{"key": p, "params": [*undated, ("preset", p)], "active": form.preset == p and not custom}
                     for p in PRESETS]
    return render(request, "search.html", {
        "preset_links": preset_links, "lambda_kind": lambda kind: gettext(f"kind.{kind}", lang),
        "source_label": lambda source: ch.source_names.get(source, source),
        "doc_link": lambda hit: doc_link(request, hit),
        "form": form, "choices": ch, "errors": errors, "syntax": syntax, "result": result,
        "rows": group_by_story(result) if result else [], "nothing_indexed": nothing_indexed, "paging": paging,
        "presets": PRESETS, "sorts": SORTS, "export_params": base,
        "export_limit": ctx.settings.web.export_max_rows, "page_size": req.size,
    }, status_code=400 if errors else 200)


class SearchOut(BaseModel):
    total: int
    hits: list[dict[str, Any]]
    next: str | None


class OptionsOut(BaseModel):
    kinds: list[str]
    sources: list[str]
    languages: list[str]
    topics: list[str] | None
    sentiments: list[str]
    presets: list[str]
    sorts: list[str]
    timezone: str


def _api_request(request: Request, form: SearchForm) -> SearchRequest:
    ctx = ctx_of(request)
    req, errors = build_request(ctx, form, choices(ctx), "en")
    if errors:
        raise HTTPException(400, "; ".join(f"{k}: {v}" for k, v in errors.items()))
    return req


def _syntax_error(exc: QuerySyntaxError) -> JSONResponse:
    position = getattr(exc, "offset", None)
    return JSONResponse({"detail": str(exc), "position": position + 1 if position is not None else None},
                        status_code=400)


@router.get("/api/search", response_model=SearchOut, tags=["search"],
            summary="Search: {total, hits, next}; each hit as `mediawatch search --json` prints it",
            responses={400: {"description": "Bad query syntax (with its 1-based position) or a filter value that "
                                            "cannot match (with the valid values)"},
                       404: {"description": "Nothing is indexed yet"}})
def search_api(request: Request, form: SearchForm = Depends(search_form), user: User = Depends(current_user)):
    ctx = ctx_of(request)
    req = _api_request(request, form)
    try:
        result = search(ctx.client, ctx.settings, req)
    except QuerySyntaxError as exc:
        return _syntax_error(exc)
    return JSONResponse(result.to_json())


@router.get("/api/search/options", response_model=OptionsOut, tags=["search"],
            summary="The values each search filter accepts")
def search_options(request: Request, user: User = Depends(current_user)):
    ctx = ctx_of(request)
    ch = choices(ctx)
    return OptionsOut(kinds=ch.kinds, sources=ch.sources, languages=ch.languages, topics=ch.topics,
                      sentiments=ch.sentiments, presets=list(PRESETS), sorts=list(SORTS), timezone=str(ctx.zone))


def _filename(fmt: str, ctx: WebContext) -> str:
    return f"mediawatch-{datetime.now(ctx.zone).strftime('%Y%m%d-%H%M')}.{fmt}"


def _export_details(form: SearchForm, fmt: str, rows: int) -> dict[str, Any]:
    return {"format": fmt, "rows": rows, "query": form.q, "params": form.params()}


@router.get("/api/search/export", tags=["search"],
            summary="Download the results as CSV (UTF-8 with BOM, streamed) or XLSX; audited",
            responses={200: {"content": {"text/csv": {}, exports.MEDIA_TYPES["xlsx"]: {}},
                             "description": "The file"}, 400: {"description": "Bad query or filter"}})
def export_direct(request: Request, format: Literal["csv", "xlsx"] = Query("csv"),
                  form: SearchForm = Depends(search_form), user: User = Depends(current_user)):
    ctx = ctx_of(request)
    lang = language_of(request)
    req = _api_request(request, form)
    limit = ctx.settings.web.export_max_rows
    try:
        rows = exports.count(ctx, req, limit)
    except QuerySyntaxError as exc:
        return _syntax_error(exc)
    audit(request, "export", form.q, details=_export_details(form, format, rows))
    disposition = {"Content-Disposition": f'attachment; filename="{_filename(format, ctx)}"',
                   "X-Total-Rows": str(rows)}
    if format == "csv":
        return StreamingResponse(exports.csv_chunks(ctx, req, limit, lang), media_type=exports.MEDIA_TYPES["csv"],
                                 headers=disposition)
    handle, path = tempfile.mkstemp(dir=exports.jobs_of(ctx).directory, suffix=".xlsx")
    os.close(handle)
    exports.write_xlsx(ctx, req, limit, lang, path)
    return FileResponse(path, media_type=exports.MEDIA_TYPES["xlsx"], headers=disposition,
                        background=BackgroundTask(os.unlink, path))


class ExportJobOut(BaseModel):
    id: str
    format: str
    status: str
    done: int
    total: int
    error: str | None
    download: str | None


@router.post("/api/exports", response_model=ExportJobOut, status_code=202, tags=["search"],
             summary="Start an export of a search (same parameters as /api/search); poll it for progress")
def export_start(request: Request, format: Literal["csv", "xlsx"] = Query("csv"),
                 form: SearchForm = Depends(search_form), user: User = Depends(current_user)):
    ctx = ctx_of(request)
    req = _api_request(request, form)
    try:
        job = exports.jobs_of(ctx).start(ctx, req, owner=user.id, fmt=format, lang=language_of(request),
                                         limit=ctx.settings.web.export_max_rows)
    except QuerySyntaxError as exc:
        return _syntax_error(exc)
    audit(request, "export", form.q, details=_export_details(form, format, job.total) | {"job": job.id})
    return JSONResponse(job.to_json(), status_code=202)


def _own_job(request: Request, user: User, job_id: str) -> exports.ExportJob:
    job = exports.jobs_of(ctx_of(request)).get(job_id)
    owned_by(user, {"owner": job.owner} if job else None)
    assert job is not None
    return job


@router.get("/api/exports/{job_id}", response_model=ExportJobOut, tags=["search"],
            summary="An export's progress (someone else's: 404)", responses={404: {"description": "No such export"}})
def export_status(request: Request, job_id: str, user: User = Depends(current_user)):
    return _own_job(request, user, job_id).to_json()


@router.get("/api/exports/{job_id}/file", tags=["search"], summary="Download a finished export",
            responses={404: {"description": "No such export"}, 409: {"description": "Not finished"}})
def export_file(request: Request, job_id: str, user: User = Depends(current_user)):
    job = _own_job(request, user, job_id)
    if job.status != "done" or not job.path:
        raise HTTPException(409, f"export {job_id} is {job.status}")
    ctx = ctx_of(request)
    return FileResponse(job.path, media_type=exports.MEDIA_TYPES[job.format],
                        headers={"Content-Disposition": f'attachment; filename="{_filename(job.format, ctx)}"'})
