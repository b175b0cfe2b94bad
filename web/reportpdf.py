"""A report's PDF, printed by headless Chromium from the app's own print view, on this machine.

:func:`render_pdf` opens the print view's HTML in Chromium (Debian's ``chromium``; Playwright drives it and
never downloads a browser) under a made-up origin whose requests are all answered here: the page itself (with
the app's Content-Security-Policy), files of ``web/static/``, and nothing else — every other request is
aborted, so printing needs no network. ``page.pdf()`` prints A4 with a page number in each footer.

Chromium is the one the settings name (``web.chromium``, passed in by the caller), else ``chromium`` /
``chromium-browser`` / ``google-chrome`` on ``PATH``, else Playwright's own browser when one is installed.
:class:`PdfUnavailable` says, in one line, when none can be started.
"""

from __future__ import annotations

import mimetypes
import shutil
import threading
from pathlib import Path

from mediawatch.errors import UserError
from web.render import STATIC_DIR

ORIGIN = "http://mediawatch.print"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FOOTER = ('<div style="width:100%;font-size:8pt;font-family:\'Liberation Serif\',\'DejaVu Serif\',serif;'
          'color:#333;text-align:center"><span class="pageNumber"></span> / <span class="totalPages"></span></div>')
_PRINTING = threading.BoundedSemaphore(2)  # at most two Chromium processes printing at once


class PdfUnavailable(UserError):
    """No Chromium could be started to print the PDF."""

    exit_code = 1


def chromium_path(configured: str | Path | None = None) -> str | None:
    """The Chromium to print with: ``configured`` (``web.chromium``), else the first on ``PATH``; None:
    Playwright's own, if it has one."""
    if configured:
        return str(configured)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _static_file(path: str) -> Path | None:
    """A file under ``web/static/`` for a URL path ``/static/…``; None for anything else (no way out of it)."""
    if not path.startswith("/static/"):
        return None
    candidate = (STATIC_DIR / path.removeprefix("/static/")).resolve()
    if STATIC_DIR.resolve() not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def render_pdf(html: str, *, chromium: str | Path | None = None, timeout_s: float = 60.0) -> bytes:
    """``html`` (a print view that links its styles from ``/static/``) printed to A4 PDF bytes, page numbers in
    the footer, by ``chromium`` (the ``web.chromium`` setting; see :func:`chromium_path`). :class:`PdfUnavailable`
    when Chromium cannot be started."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise PdfUnavailable("printing a report needs the playwright package: pip install playwright") from None
    from web.app import CONTENT_SECURITY_POLICY

    def answer(route) -> None:  # noqa: ANN001 - playwright's Route
        url = route.request.url
        if not url.startswith(ORIGIN + "/"):
            route.abort()
            return
        path = url[len(ORIGIN):].split("?", 1)[0].split("#", 1)[0]
        if path == "/report":
            route.fulfill(status=200, body=html.encode("utf-8"),
                          headers={"content-type": "text/html; charset=utf-8",
                                   "content-security-policy": CONTENT_SECURITY_POLICY})
            return
        found = _static_file(path)
        if found is None:
            route.fulfill(status=404, body=b"not found", headers={"content-type": "text/plain"})
            return
        kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        route.fulfill(status=200, body=found.read_bytes(), headers={"content-type": kind})

    executable = chromium_path(chromium)
    with _PRINTING:
        manager = sync_playwright().start()
        try:
            try:
                browser = manager.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True,
                                                  timeout=timeout_s * 1000)
            except PlaywrightError as exc:
                where = executable or "Playwright's own chromium"
                raise PdfUnavailable(f"cannot start Chromium ({where}) to print the report: "
                                     f"{' '.join(str(exc).split())[:300]}; install Debian's chromium or set "
                                     "web.chromium (MEDIAWATCH_WEB__CHROMIUM)") from None
            try:
                context = browser.new_context(offline=False, java_script_enabled=False)
                page = context.new_page()
                page.set_default_timeout(timeout_s * 1000)
                page.route("**/*", answer)
                page.goto(ORIGIN + "/report", wait_until="load")
                page.emulate_media(media="print")
                return page.pdf(format="A4", print_background=True, prefer_css_page_size=True,
                                display_header_footer=True, header_template="<span></span>",
                                footer_template=FOOTER,
                                margin={"top": "18mm", "bottom": "20mm", "left": "22mm", "right": "18mm"})
            finally:
                browser.close()
        finally:
            manager.stop()
