"""Pages: the Jinja2 environment, the navigation registry, and :func:`render`, which gives every template
the same context (language, ``t()``, the user, the CSRF token, the navigation, time formatting).

A page module renders with ``render(request, "trends.html", {...})``; its template starts with
``{% extends "base.html" %}`` and fills the blocks ``title``, ``content`` (and optionally ``head``,
``scripts``, ``main_class``). See ``web/templates/base.html``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from enrich.labels import sentiment_name, topic_name
from web.auth import LANG_COOKIE, Principal, csrf_token
from web.i18n import gettext, normalise

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True)
templates = Jinja2Templates(env=_env)


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation. ``key`` is the i18n key of its label (``nav.trends``); ``admin``: shown
    to administrators only; ``order``: position (search 10, trends 20, alerts 30, reports 40, sources 50, users
    60, audit 70, account 90)."""

    key: str
    path: str
    order: int = 50
    admin: bool = False


def language_of(request: Request) -> str:
    """``?lang=`` for this page, else the account's choice, else the ``mw_lang`` cookie, else ``web.language``."""
    asked = normalise(request.query_params.get("lang"))
    if asked:
        return asked
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        return normalise(principal.user.language) or "vi"
    return normalise(request.cookies.get(LANG_COOKIE)) or request.app.state.ctx.settings.web.language


def translator(lang: str):
    def t(key: str, **params: Any) -> str:
        return gettext(key, lang, **params)
    return t


def format_time(moment: datetime | None, lang: str, zone: Any, *, seconds: bool = False) -> str:
    """A local date and time: ``31/10/2026 06:30`` (vi) or ``2026-10-31 06:30`` (en); ``-`` for none."""
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return local.strftime(("%d/%m/%Y " if lang == "vi" else "%Y-%m-%d ") + clock)


_MARK = re.compile(r"&lt;(/?)mark&gt;")


def marked(snippet: str) -> Markup:
    """A snippet from ``index.search`` as safe HTML: everything escaped except ``<mark>``/``</mark>``."""
    return Markup(_MARK.sub(r"<\1mark>", str(escape(html.unescape(snippet or "")))))


def with_params(request: Request, drop: tuple[str, ...] = (), **changes: Any) -> str:
    """This page's URL with query parameters changed (None removes one; a list repeats it)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes and k not in drop]
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            items.extend((key, str(v)) for v in value)
        else:
            items.append((key, str(value)))
    query = urlencode(items)
    return request.url.path + (f"?{query}" if query else "")


def nav_for(request: Request) -> list[dict[str, Any]]:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return []
    path = request.url.path
    out = []
    for item in sorted(request.app.state.nav, key=lambda i: (i.order, i.path)):
        if item.admin and not principal.user.is_admin:
            continue
        current = path == item.path or path.startswith(item.path.rstrip("/") + "/")
        out.append({"key": item.key, "path": item.path, "current": current})
    return out


def context(request: Request, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every template sees (``extra`` added on top)."""
    lang = language_of(request)
    ctx = request.app.state.ctx
    principal: Principal | None = getattr(request.state, "principal", None)
    zone = ctx.zone
    data: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "other_lang": "en" if lang == "vi" else "vi",
        "t": translator(lang),
        "user": principal.user if principal else None,
        "csrf": csrf_token(request),
        "nav": nav_for(request),
        "zone": str(zone),
        "when": lambda moment, seconds=False: format_time(moment, lang, zone, seconds=seconds),
        "topic_name": lambda label: topic_name(label, lang),  # type: ignore[arg-type]
        "sentiment_name": lambda label: sentiment_name(label, lang),  # type: ignore[arg-type]
        "marked": marked,
        "instant": lambda text: datetime.fromisoformat(text) if text else None,
        "with_params": lambda **changes: with_params(request, **changes),
        "qs": lambda items: ("?" + urlencode(list(items))) if items else "",
    }
    data.update(extra or {})
    return data


def render(request: Request, name: str, extra: dict[str, Any] | None = None, status_code: int = 200,
           headers: dict[str, str] | None = None):
    """A page from ``web/templates/<name>`` with :func:`context`."""
    return templates.TemplateResponse(request, name, context(request, extra), status_code=status_code,
                                      headers=headers)
