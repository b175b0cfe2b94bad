"""Corrections for administrators: the latest ones (``/admin/corrections``, ``/api/corrections``) and their export
as labeled JSONL for ``mediawatch enrich train`` (``/api/corrections/export?task=topic|sentiment``, audited as
``corrections.export``). Staff make corrections on the document view (``web/routes/documents.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from index import corrections as store
from web.accounts import User
from web.auth import audit, ctx_of, require_admin
from web.i18n import register
from web.render import NavItem, render

router = APIRouter()
NAV = [NavItem("nav.corrections", "/admin/corrections", 75, admin=True)]

register({
    "nav.corrections": {"vi": "Nhãn đã sửa", "en": "Corrections"},
    "corrections.title": {"vi": "Nhãn đã sửa", "en": "Tag corrections"},
    "corrections.intro": {
        "vi": "Các nhãn chủ đề và sắc thái do cán bộ sửa trên trang bài viết. Tải về dạng JSONL để huấn luyện lại "
              "mô hình: <code>mediawatch enrich train --data corrections-topic.jsonl --data &lt;dữ liệu cũ&gt; "
              "--out &lt;thư mục&gt;</code>.",
        "en": "Topic and sentiment labels staff corrected on document pages. Download them as JSONL to retrain the "
              "models: <code>mediawatch enrich train --data corrections-topic.jsonl --data &lt;existing data&gt; "
              "--out &lt;dir&gt;</code>.",
    },
    "corrections.export_topic": {"vi": "Tải nhãn chủ đề (JSONL)", "en": "Download topic labels (JSONL)"},
    "corrections.export_sentiment": {"vi": "Tải nhãn sắc thái (JSONL)", "en": "Download sentiment labels (JSONL)"},
    "corrections.total": {"vi": "{n} lần sửa", "en": "{n} corrections"},
    "corrections.none": {"vi": "Chưa có nhãn nào được sửa.", "en": "No tag has been corrected yet."},
    "corrections.document": {"vi": "Bài viết", "en": "Document"},
    "corrections.by": {"vi": "Người sửa", "en": "By"},
    "corrections.at": {"vi": "Lúc", "en": "At"},
    "corrections.change": {"vi": "Thay đổi", "en": "Change"},
})


def _filename(task: str, ctx: Any) -> str:
    return f"corrections-{task}-{datetime.now(ctx.zone).strftime('%Y%m%d-%H%M')}.jsonl"


def _lines(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for row in rows:
        yield (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")


@router.get("/api/corrections/export", tags=["corrections"],
            summary="Corrected labels as JSONL for `mediawatch enrich train` (administrators; audited): one line per "
                    "corrected document, {id, title, text, <task>}",
            responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON lines"},
                       403: {"description": "Administrators only"}})
def export_corrections(request: Request, task: Literal["topic", "sentiment"] = Query(...),
                       user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    rows = list(store.export_rows(ctx.client, ctx.settings, task))
    audit(request, "corrections.export", task, details={"task": task, "rows": len(rows)})
    return StreamingResponse(_lines(iter(rows)), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="{_filename(task, ctx)}"',
                                      "X-Total-Rows": str(len(rows))})


class CorrectionsOut(BaseModel):
    total: int
    corrections: list[dict[str, Any]]


@router.get("/api/corrections", response_model=CorrectionsOut, tags=["corrections"],
            summary="The latest corrections, newest first (administrators)",
            responses={403: {"description": "Administrators only"}})
def list_corrections(request: Request, limit: int = Query(50, ge=1, le=500), user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    total, records = store.recent(ctx.client, ctx.settings, limit)
    return {"total": total, "corrections": records}


@router.get("/admin/corrections", include_in_schema=False)
def corrections_page(request: Request, user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    total, records = store.recent(ctx.client, ctx.settings, 100)
    names = {uid: ((ctx.users.get(uid) or {}).get("display_name") or uid) for uid in {r.get("by") for r in records}
             if uid}
    return render(request, "corrections.html", {"total": total, "records": records, "names": names})
