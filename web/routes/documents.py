"""Reading one document, and correcting its tags.

* ``/documents/{doc_id}`` (route name ``document``; the search page links titles to it) and
  ``/api/documents/{doc_id}``: the extracted text in paragraphs, the metadata, topic and sentiment with the
  models' scores (a correction shown instead of the models' tags, with who and when), places, the models'
  versions, the link to the original, the other copies of the story (the earliest publisher marked) and, for a
  forum post, the posts before and after it in the thread. An unknown id is a 404 page (API: 404).
* ``POST /documents/{doc_id}/correction`` (the page's form, CSRF-protected) and
  ``POST /api/documents/{doc_id}/correction`` (JSON): a person sets the topic and/or sentiment to one of the
  labels the models can give (``enrich.labels``). The correction is stored in ``<prefix>-corrections`` with who
  and when, written onto the document (``index.corrections.record_correction``), audited as ``correction``,
  and kept across re-crawls and re-tagging (the enrichment step re-applies it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from enrich.labels import UNKNOWN, searchable_sentiments, searchable_topics
from index import corrections as store
from index.reading import read_document, stored_source
from web.accounts import User
from web.auth import audit, ctx_of, current_user
from web.context import WebContext
from web.i18n import gettext, register
from web.render import language_of, render

router = APIRouter()

register({
    "doc.title": {"vi": "Bài viết", "en": "Document"},
    "doc.original": {"vi": "Mở bài gốc", "en": "Open the original"},
    "doc.back": {"vi": "← Quay lại tìm kiếm", "en": "← Back to search"},
    "doc.no_text": {"vi": "Không có nội dung trích xuất.", "en": "No extracted text."},
    "doc.details": {"vi": "Thông tin", "en": "Details"},
    "doc.source": {"vi": "Nguồn", "en": "Source"},
    "doc.kind": {"vi": "Loại", "en": "Kind"},
    "doc.published": {"vi": "Ngày đăng", "en": "Published"},
    "doc.updated": {"vi": "Cập nhật", "en": "Updated"},
    "doc.author": {"vi": "Tác giả", "en": "Author"},
    "doc.section": {"vi": "Chuyên mục", "en": "Section"},
    "doc.language": {"vi": "Ngôn ngữ", "en": "Language"},
    "doc.crawled": {"vi": "Thu thập lúc", "en": "Crawled"},
    "doc.words": {"vi": "Số từ", "en": "Words"},
    "doc.topic": {"vi": "Chủ đề", "en": "Topic"},
    "doc.sentiment": {"vi": "Sắc thái", "en": "Sentiment"},
    "doc.places": {"vi": "Địa danh", "en": "Places"},
    "doc.models": {"vi": "Phiên bản mô hình", "en": "Model versions"},
    "doc.model_said": {"vi": "Mô hình: {label}", "en": "Model: {label}"},
    "doc.model_scores": {"vi": "Điểm của mô hình", "en": "Model scores"},
    "doc.corrected": {"vi": "đã sửa", "en": "corrected"},
    "doc.corrected_note": {"vi": "Nhãn đã sửa bởi {name} lúc {when}", "en": "Tags corrected by {name} at {when}"},
    "doc.copies": {"vi": "Cùng câu chuyện ở các nguồn khác ({n})", "en": "The same story elsewhere ({n})"},
    "doc.no_copies": {"vi": "Không có bản nào khác của câu chuyện này.", "en": "No other copy of this story."},
    "doc.earliest": {"vi": "đăng đầu tiên", "en": "first published"},
    "doc.this_earliest": {"vi": "Bài này được đăng đầu tiên.", "en": "This document was published first."},
    "doc.origin": {"vi": "Đăng đầu tiên: {source}, {when}", "en": "First published by {source}, {when}"},
    "doc.thread": {"vi": "Chủ đề diễn đàn", "en": "Forum thread"},
    "doc.thread_open": {"vi": "Mở chủ đề gốc", "en": "Open the thread"},
    "doc.thread_position": {"vi": "Bài số {n} / {total} bài đã thu thập", "en": "Post {n} of {total} collected"},
    "doc.previous_post": {"vi": "← Bài trước", "en": "← Previous post"},
    "doc.next_post": {"vi": "Bài sau →", "en": "Next post →"},
    "doc.first_post": {"vi": "Đây là bài đầu tiên đã thu thập.", "en": "This is the first post collected."},
    "doc.last_post": {"vi": "Đây là bài cuối cùng đã thu thập.", "en": "This is the last post collected."},
    "doc.correct": {"vi": "Sửa nhãn", "en": "Correct the tags"},
    "doc.correct_help": {
        "vi": "Nếu mô hình gán sai chủ đề hoặc sắc thái, hãy chọn nhãn đúng. Nhãn đã sửa được giữ lại khi thu thập "
              "và gán nhãn lại, và được dùng để huấn luyện mô hình.",
        "en": "If the model got the topic or sentiment wrong, choose the right label. Corrections are kept through "
              "re-crawls and re-tagging, and used to train the model.",
    },
    "doc.note": {"vi": "Ghi chú (không bắt buộc)", "en": "Note (optional)"},
    "doc.save": {"vi": "Lưu nhãn đã sửa", "en": "Save the correction"},
    "doc.saved": {"vi": "Đã lưu nhãn đã sửa.", "en": "The correction is saved."},
    "doc.unchanged": {"vi": "Chưa thay đổi nhãn nào.", "en": "No tag was changed."},
    "doc.bad_label": {"vi": "Nhãn {value} không hợp lệ cho {field}; dùng: {valid}",
                      "en": "{value} cannot be used for {field}; use: {valid}"},
    "doc.no_topics": {"vi": "Không đọc được danh sách chủ đề của mô hình; chỉ sửa được sắc thái.",
                      "en": "The topic model's labels cannot be read; only the sentiment can be corrected."},
    "doc.history": {"vi": "Lịch sử sửa nhãn", "en": "Correction history"},
    "doc.not_found": {"vi": "Không tìm thấy bài viết này. Có thể bài đã bị xóa theo chính sách lưu trữ.",
                      "en": "This document does not exist. It may have been deleted by the retention policy."},
})


def correctable(ctx: WebContext) -> tuple[list[str] | None, list[str]]:
    """(topic labels, sentiment labels) a person may choose: the models' labels, without ``unknown``; topics are
    None when the topic model's labels cannot be read."""
    settings = ctx.settings.enrich
    topics = searchable_topics(settings.topic_model, settings.topic_labels)
    sentiments = searchable_sentiments(settings.sentiment_model)
    return ([t for t in topics if t != UNKNOWN] if topics is not None else None,
            [s for s in sentiments if s != UNKNOWN])


def _document_or_404(request: Request, doc_id: str) -> dict[str, Any]:
    ctx = ctx_of(request)
    doc = read_document(ctx.client, ctx.settings, doc_id)
    if doc is None:
        raise HTTPException(404, "not found")
    return doc


class CorrectionError(Exception):
    """What is wrong with a correction: ``field`` and one line."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def correct(request: Request, user: User, doc_id: str, topic: str | None, sentiment: str | None,
            note: str | None, lang: str) -> dict[str, Any]:
    """Check and store a correction of ``doc_id`` by ``user``; returns the record. Raises HTTPException(404) for an
    unknown document and :class:`CorrectionError` for a label that cannot be used or nothing changed."""
    ctx = ctx_of(request)
    source = stored_source(ctx.client, ctx.settings, doc_id)
    if source is None:
        raise HTTPException(404, "not found")
    topics, sentiments = correctable(ctx)
    topic, sentiment = (topic or "").strip() or None, (sentiment or "").strip() or None
    for field, value, valid, label in (("topic", topic, topics, "doc.topic"),
                                       ("sentiment", sentiment, sentiments, "doc.sentiment")):
        if value is None:
            continue
        if valid is None:
            raise CorrectionError(field, gettext("doc.no_topics", lang))
        if value not in valid:
            raise CorrectionError(field, gettext("doc.bad_label", lang, value=repr(value),
                                                 field=gettext(label, lang), valid=", ".join(valid)))
    shown = store.shown_tags(source)
    changes = {}
    if topic and topic != shown["topic"]:
        changes["topic"] = {"from": shown["topic"], "to": topic}
    if sentiment and sentiment != shown["sentiment"]:
        changes["sentiment"] = {"from": shown["sentiment"], "to": sentiment}
    if not changes:
        raise CorrectionError("topic", gettext("doc.unchanged", lang))
    record = store.record_correction(ctx.client, ctx.settings, doc_id, source, by=user.id,
                                     topic=topic if "topic" in changes else None,
                                     sentiment=sentiment if "sentiment" in changes else None, note=note)
    audit(request, "correction", doc_id, details={**changes, "note": record.get("note"), "url": source.get("url")})
    return record


def _names(ctx: WebContext, user_ids: list[str]) -> dict[str, str]:
    names = {}
    for uid in set(filter(None, user_ids)):
        record = ctx.users.get(uid)
        names[uid] = (record or {}).get("display_name") or uid
    return names


def _page(request: Request, doc: dict[str, Any], *, errors: dict[str, str] | None = None, saved: bool = False,
          form: dict[str, str] | None = None, status_code: int = 200):
    ctx = ctx_of(request)
    topics, sentiments = correctable(ctx)
    history = store.history(ctx.client, ctx.settings, doc["id"])
    names = _names(ctx, [h.get("by", "") for h in history] + [(doc.get("corrected") or {}).get("by", "")])
    earliest = [c for c in doc["copies"] if c["earliest"]]
    return render(request, "document.html", {
        "doc": doc, "topics": topics, "sentiments": sentiments, "history": history, "names": names,
        "errors": errors or {}, "saved": saved, "form": form or {}, "is_earliest": bool(doc["copies"]) and not earliest,
        "percent": lambda score: f"{round(float(score or 0) * 100)}%",
    }, status_code=status_code)


@router.get("/documents/{doc_id}", name="document", include_in_schema=False)
def document_page(request: Request, doc_id: str, user: User = Depends(current_user)):
    ctx = ctx_of(request)
    doc = read_document(ctx.client, ctx.settings, doc_id)
    if doc is None:
        lang = language_of(request)
        return render(request, "error.html", {"status": 404, "heading": gettext("error.404", lang),
                                              "message": gettext("doc.not_found", lang)}, status_code=404)
    return _page(request, doc, saved=request.query_params.get("corrected") == "1")


@router.post("/documents/{doc_id}/correction", include_in_schema=False)
def correction_form(request: Request, doc_id: str, topic: str = Form(""), sentiment: str = Form(""),
                    note: str = Form("", max_length=500), user: User = Depends(current_user)):
    lang = language_of(request)
    try:
        correct(request, user, doc_id, topic, sentiment, note, lang)
    except CorrectionError as exc:
        doc = _document_or_404(request, doc_id)
        return _page(request, doc, errors={exc.field: str(exc)}, status_code=400,
                     form={"topic": topic, "sentiment": sentiment, "note": note})
    target = str(request.app.url_path_for("document", doc_id=doc_id))
    return RedirectResponse(target + "?corrected=1#tags", status_code=303)


class DocumentOut(BaseModel):
    id: str
    url: str | None
    title: str
    source: str | None
    source_name: str | None
    kind: str | None
    language: str | None
    published: str | None
    updated: str | None
    author: str | None
    section: str | None
    text: str
    paragraphs: list[str]
    topic: str | None
    topics: list[dict[str, Any]]
    sentiment: dict[str, Any] | None
    corrected: dict[str, Any] | None
    model_tags: dict[str, Any] | None
    models: dict[str, Any]
    places: list[dict[str, Any]]
    story: str | None
    story_origin: dict[str, Any] | None
    copies: list[dict[str, Any]]
    thread: dict[str, Any] | None


@router.get("/api/documents/{doc_id}", response_model=DocumentOut, tags=["documents"],
            summary="One document: text and paragraphs, metadata, tags (corrected ones win), places, model versions, "
                    "the story's other copies and a forum post's neighbours in its thread",
            responses={404: {"description": "No such document"}})
def document_api(request: Request, doc_id: str, user: User = Depends(current_user)):
    return JSONResponse(_document_or_404(request, doc_id))


class CorrectionIn(BaseModel):
    topic: str | None = Field(None, max_length=100, description="A topic label (see /api/search/options)")
    sentiment: str | None = Field(None, max_length=100, description="negative | neutral | positive")
    note: str | None = Field(None, max_length=500, description="Why (optional)")


class CorrectionOut(BaseModel):
    correction: dict[str, Any]
    document: dict[str, Any]


@router.post("/api/documents/{doc_id}/correction", response_model=CorrectionOut, tags=["documents"],
             summary="Correct a document's topic and/or sentiment (stored with who and when, kept across re-crawls "
                     "and re-tagging, audited)",
             responses={400: {"description": "A label the models cannot give, or nothing changed"},
                        404: {"description": "No such document"}})
def correction_api(request: Request, doc_id: str, body: CorrectionIn, user: User = Depends(current_user)):
    try:
        record = correct(request, user, doc_id, body.topic, body.sentiment, body.note, "en")
    except CorrectionError as exc:
        return JSONResponse({"detail": f"{exc.field}: {exc}"}, status_code=400)
    doc = _document_or_404(request, doc_id)
    return JSONResponse({"correction": {k: v for k, v in record.items() if k != "text"},
                         "document": {k: doc[k] for k in ("id", "topic", "sentiment", "corrected", "model_tags")}})
