"""Exports of search results: CSV (UTF-8 with a byte-order mark, so Excel reads Vietnamese) streamed as it is
written, XLSX (openpyxl, write-only), and export jobs that run in a thread and report progress for the page
to poll.

Cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR: titles and snippets
come from crawled pages) are prefixed with ``'``. Jobs live in the app process (a restart forgets them; the
files are removed after :data:`JOB_TTL` seconds).
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from enrich.labels import sentiment_name, topic_name
from index.search import Hit, SearchRequest, iter_hits, search
from web.context import WebContext

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
JOB_TTL = 3600.0
_TAG = re.compile(r"</?mark>")
HEADERS = {
    "vi": ["Thời gian đăng", "Nguồn", "Loại", "Ngôn ngữ", "Tiêu đề", "Địa chỉ", "Tác giả", "Chuyên mục", "Chủ đề",
           "Sắc thái", "Trích đoạn", "Số nguồn cùng tin", "Bản sao ở"],
    "en": ["Published", "Source", "Kind", "Language", "Title", "URL", "Author", "Section", "Topic", "Sentiment",
           "Snippet", "Outlets with the story", "Also at"],
}


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet shows as text: a leading ``= + - @`` (or tab/CR) gets a ``'`` in front."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def row_of(hit: Hit, lang: str) -> list[Any]:
    published = hit.published.strftime("%Y-%m-%d %H:%M:%S %z") if hit.published else ""
    snippet = html.unescape(_TAG.sub("", hit.snippet or ""))
    return [safe_cell(v) for v in (
        published, hit.source, hit.kind, hit.language or "", hit.title, hit.url, hit.author or "", hit.section or "",
        topic_name(hit.topic, lang) if hit.topic else "",  # type: ignore[arg-type]
        sentiment_name(hit.sentiment, lang) if hit.sentiment else "",  # type: ignore[arg-type]
        snippet, hit.story_outlets, " ".join(hit.also_at))]


def export_request(req: SearchRequest) -> SearchRequest:
    """The request an export runs: large pages, from the first hit, documents not collapsed."""
    return replace(req, size=500, after=None, collapse_stories=False, facets=False)


def count(ctx: WebContext, req: SearchRequest, limit: int) -> int:
    """How many rows an export of ``req`` writes (at most ``limit``)."""
    return min(search(ctx.client, ctx.settings, replace(export_request(req), size=0)).total, limit)


def csv_chunks(ctx: WebContext, req: SearchRequest, limit: int, lang: str,
               progress: Any = None) -> Iterator[bytes]:
    """The CSV file in pieces: BOM and header first, then rows as the search pages come in."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS.get(lang, HEADERS["vi"]))
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    done = 0
    for hit in iter_hits(ctx.client, ctx.settings, export_request(req), limit):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row_of(hit, lang))
        done += 1
        if progress is not None:
            progress(done)
        yield buffer.getvalue().encode("utf-8")


def write_xlsx(ctx: WebContext, req: SearchRequest, limit: int, lang: str, path: str, progress: Any = None) -> int:
    """Write the results to an XLSX file at ``path``; returns the rows written."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("mediawatch")
    sheet.append(HEADERS.get(lang, HEADERS["vi"]))
    done = 0
    for hit in iter_hits(ctx.client, ctx.settings, export_request(req), limit):
        sheet.append(row_of(hit, lang))
        done += 1
        if progress is not None and done % 100 == 0:
            progress(done)
    book.save(path)
    return done


@dataclass
class ExportJob:
    id: str
    owner: str
    format: str
    total: int
    created: float = field(default_factory=time.monotonic)
    done: int = 0
    status: str = "running"  # running | done | failed
    error: str | None = None
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "format": self.format, "status": self.status, "done": self.done, "total": self.total,
                "error": self.error,
                "download": f"/api/exports/{self.id}/file" if self.status == "done" else None}


class ExportJobs:
    """Export jobs of one app process, by id."""

    def __init__(self) -> None:
        self._jobs: dict[str, ExportJob] = {}
        self._lock = threading.Lock()
        self.directory = tempfile.mkdtemp(prefix="mediawatch-exports-")

    def get(self, job_id: str) -> ExportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, ctx: WebContext, req: SearchRequest, *, owner: str, fmt: str, lang: str, limit: int) -> ExportJob:
        self._expire()
        job = ExportJob(id=secrets.token_urlsafe(12), owner=owner, format=fmt, total=count(ctx, req, limit))
        job.path = os.path.join(self.directory, f"{job.id}.{fmt}")
        with self._lock:
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, ctx, req, lang, limit), daemon=True,
                         name=f"export-{job.id}").start()
        return job

    def _run(self, job: ExportJob, ctx: WebContext, req: SearchRequest, lang: str, limit: int) -> None:
        def progress(done: int) -> None:
            job.done = done

        try:
            if job.format == "xlsx":
                job.done = write_xlsx(ctx, req, limit, lang, job.path or "", progress)
            else:
                with open(job.path or "", "wb") as out:
                    for chunk in csv_chunks(ctx, req, limit, lang, progress):
                        out.write(chunk)
            job.status = "done"
        except Exception as exc:  # the page shows the reason; the job must never take the app down
            job.status, job.error = "failed", " ".join(str(exc).split())[:300] or type(exc).__name__

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            old = [j for j in self._jobs.values() if now - j.created > JOB_TTL]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            if job.path and os.path.exists(job.path):
                os.unlink(job.path)


def jobs_of(ctx: WebContext) -> ExportJobs:
    jobs = ctx.extras.get("exports")
    if jobs is None:
        jobs = ctx.extras.setdefault("exports", ExportJobs())
    return jobs
